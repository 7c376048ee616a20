/**
 * Pre-trains the shipped image and video flow generators on renders of the embedded world.
 *
 *   npm run pretrain-generators -w @flex/grpo -- --modality image --steps 1500 --seed 0
 *   npm run pretrain-generators -w @flex/grpo -- --modality video --steps 1500 --seed 0
 *
 * Writes packages/grpo/generators/<modality>-<size>/ (config.json with the command and seed that rebuild it,
 * weights) and prints, as its last line, one JSON object: the oracle score of ODE samples on held-out prompts
 * before and after pre-training, and of correct renders (the ceiling).
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createFlowGenerator, initBackend, runMain, saveFlowGenerator } from '@flex/model';
import { createFlowPolicy, pretrainFlowGenerator, type FlowPolicy } from '../src/index';
import { oracleScore, renderPrompt, worldPrompts, type WorldPrompt } from './world';

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 && process.argv[index + 1] !== undefined ? (process.argv[index + 1] as string) : fallback;
}

async function meanOracle(policy: FlowPolicy, prompts: readonly WorldPrompt[], seed: number): Promise<number> {
  let sum = 0;
  for (let start = 0; start < prompts.length; start += 16) {
    const chunk = prompts.slice(start, start + 16);
    const groups = await policy.sample({ prompts: chunk.map((p) => p.text), groupSize: 1, seed: seed + start, mode: 'eval' });
    groups.forEach((g, i) => (sum += oracleScore(chunk[i] as WorldPrompt, g.rollouts[0]!.sample)));
  }
  return sum / prompts.length;
}

await runMain(async () => {
  const modality = argument('modality', 'image') as 'image' | 'video';
  const size = Number(argument('size', modality === 'image' ? '32' : '24'));
  const steps = Number(argument('steps', '1500'));
  const count = Number(argument('examples', modality === 'image' ? '4000' : '2000'));
  const seed = Number(argument('seed', '0'));
  const batchSize = Number(argument('batch', modality === 'image' ? '32' : '16'));
  const learningRate = Number(argument('lr', '2e-3'));
  const here = dirname(fileURLToPath(import.meta.url));
  const out = argument('out', join(here, '..', 'generators', `${modality}-${size}`));
  const backend = await initBackend();
  const t0 = performance.now();
  const prompts = worldPrompts({ modality, count, seed });
  const examples = prompts.map((p, i) => ({ prompt: p.text, media: renderPrompt(p, size, seed * 1_000_003 + i) }));
  const heldOut = worldPrompts({ modality, count: 64, seed, heldOut: true });
  const ceiling = heldOut.reduce((s, p, i) => s + oracleScore(p, renderPrompt(p, size, 77 + i)), 0) / heldOut.length;
  const t1 = performance.now();
  const generator = createFlowGenerator({ modality, size, frames: 8, channels: 32, embeddingDim: 64, promptBuckets: 256, seed });
  const policy = createFlowPolicy({ generator, steps: 10 });
  const before = await meanOracle(policy, heldOut, 5);
  console.log(`${modality}: ${examples.length} renders in ${((t1 - t0) / 1000).toFixed(1)} s on ${backend.backend}; oracle before ${before.toFixed(3)}, ceiling ${ceiling.toFixed(3)}`);
  const { losses } = pretrainFlowGenerator({
    generator,
    examples,
    steps,
    batchSize,
    learningRate,
    seed,
    onStep: ({ step, loss }) => {
      if (step % 50 === 0 || step === steps) console.log(`step ${step}/${steps} loss ${loss.toFixed(4)} (${((performance.now() - t1) / 1000).toFixed(0)} s)`);
    },
  });
  const t2 = performance.now();
  const after = await meanOracle(policy, heldOut, 5);
  const tail = losses.slice(-50);
  const result = {
    modality,
    size,
    steps,
    examples: count,
    seed,
    final_loss: tail.reduce((a, b) => a + b, 0) / tail.length,
    oracle_init: before,
    oracle_pretrained: after,
    oracle_reference_renders: ceiling,
    train_seconds: (t2 - t1) / 1000,
  };
  await saveFlowGenerator({
    generator,
    folder: out,
    provenance: {
      command: `npm run pretrain-generators -w @flex/grpo -- --modality ${modality} --size ${size} --steps ${steps} --examples ${count} --batch ${batchSize} --lr ${learningRate} --seed ${seed}`,
      backend: backend.backend,
      ...result,
    },
  });
  console.log(JSON.stringify(result));
});
