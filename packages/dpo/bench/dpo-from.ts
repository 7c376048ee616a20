// Experiment: the DPO stage of the bench (curate the judge's own samples, then DPO) from a given SFT checkpoint, saved
// to <out>/dpo/final so `diagnose-judge.ts --out <out>/dpo` measures it free-running like the SFT judge.
//   node ../../scripts/run-ts.mjs bench/dpo-from.ts --judge <sft checkpoint> --data <train folder with traces> --out DIR
//        [--pairs 64] [--samples 4] [--steps 40] [--lr 2e-4] [--beta 0.1] [--rpo 0.2] [--seed 0]
// Measured (26 Nov, docs/sft.md session 4), from the judge SFT'd after the preceding-category lookup blocks: curation
// sample accuracy 0.50, 80 pairs (76 judge-vs-judge); after 40 steps free-running 0.516 -> 0.570 on 93 test pairs
// (one s.e. ~0.05), "Image 1" 0.81 -> 0.34.
// Session 6 (367 test pairs, docs/sft.md): the defaults cost 0.05 on a judge at 0.578 ("Image 1" 0.48 -> 0.21); from a
// judge at 0.602, --pairs 256 --lr 1e-4 gave 0.632 and --pairs 512 --steps 80 --lr 1e-4 --seed 1 gave 0.608 (neither significant).
import { join } from 'node:path';
import { initBackend, runMain } from '@flex/model';
import { curate, dpo } from '../src/index';
import { arg } from './args';

runMain(async () => {
  await initBackend();
  const out = arg('out');
  const prefs = join(out, 'preferences.jsonl');
  const curated = await curate({ model: arg('judge'), data: arg('data'), out: prefs, limit: Number(arg('pairs', '64')), samples: Number(arg('samples', '4')), temperature: 1, seed: Number(arg('seed', '0')), teacherPairs: 'when-no-chosen', maxPairsPerPrompt: 2, maxNewTokens: 560 });
  process.stderr.write(`${JSON.stringify({ preferences: curated.preferences, stats: curated.stats })}\n`);
  const result = await dpo({
    model: arg('judge'),
    data: arg('data'),
    preferences: prefs,
    out: join(out, 'dpo'),
    evalShare: 0,
    seed: Number(arg('seed', '0')),
    config: { maxSteps: Number(arg('steps', '40')), batchSize: 8, learningRate: Number(arg('lr', '2e-4')), warmupSteps: 5, loggingSteps: 10, beta: Number(arg('beta', '0.1')), rpoAlpha: Number(arg('rpo', '0.2')) },
    callbacks: [{ onLog: (e) => process.stderr.write(`${JSON.stringify(e)}\n`) }],
  });
  console.log(JSON.stringify({ checkpoint: result.checkpoint, last: result.train.lastLog }));
});
