// Experiment (docs/sft.md, session 5): a perception phase (descriptions only, fresh pairs) on top of a base, optionally
// growing the vision stem with residual blocks first (they start as the identity).
//   node ../../scripts/run-ts.mjs scripts/see-phase.ts --init <checkpoint> --out DIR [--blocks 2] [--shape-weight 4] [--steps 1500] [--pairs 12000] [--lr 1e-3] [--batch 32]
// --shape-weight weights the loss of every shape word (singular and plural) of the vocabulary.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend, runMain } from '@flex/model';
import { shapes } from '@flex/synth';
import { pretrain } from '../src/index';
import { arg } from './args';


runMain(async () => {
  await initBackend();
  const blocks = process.argv.includes('--blocks') ? Number(arg('blocks')) : undefined;
  const shapeWeight = Number(arg('shape-weight', '1'));
  // Without --init: from scratch, with --channels 24,48 (the stem; one entry fewer = a twice finer token grid) and --blocks.
  const init = process.argv.includes('--init') ? arg('init') : undefined;
  const vocabulary = init ? (JSON.parse(readFileSync(join(init, 'config.json'), 'utf8')) as { tokenizer: { vocabulary: string[] } }).tokenizer.vocabulary : [];
  if (!init && shapeWeight !== 1) throw new Error('--shape-weight needs --init (the vocabulary)');
  const channels = arg('channels', '24,48,64').split(',').map(Number);
  const words = new Set(shapes.flatMap((s) => [s, `${s}s`, `${s}es`]));
  const tokenWeights = shapeWeight === 1 ? {} : Object.fromEntries(vocabulary.filter((p) => words.has(p.trim())).map((p) => [p, shapeWeight]));
  const result = await pretrain({
    out: arg('out'),
    ...(init
      ? { initFrom: init, ...(blocks !== undefined ? { residualBlocks: blocks } : {}) }
      : { modelConfig: { maxTextLength: 576, vision: { channels, residualBlocks: blocks ?? 0 } } }),
    seed: 0,
    pairs: Number(arg('pairs', '12000')),
    drawOffset: Number(arg('offset', '60000')),
    evalImages: Number(arg('eval', '300')),
    questionsPerPair: 0,
    checks: false,
    intents: false,
    descriptions: true,
    resume: process.argv.includes('--resume'),
    trainer: { tokenWeights, maxSteps: Number(arg('steps', '1500')), batchSize: Number(arg('batch', '32')), learningRate: Number(arg('lr', '1e-3')), warmupSteps: 50, loggingSteps: 50, saveSteps: 250, saveTotalLimit: 3, evalSteps: 100000 },
    callbacks: [{ onLog: (e) => process.stderr.write(`${JSON.stringify(e)}\n`) }],
  });
  console.log(JSON.stringify({ captionAccuracy: result.captionAccuracy, steps: result.steps }));
});
