/**
 * Samples a saved generator on held-out prompts (ODE) and writes a grid: generated samples above correct
 * renders, with the oracle score of each sample.
 *
 *   npm run sample-grid -w @flex/grpo -- --generator generators/image-32 --out grid.png
 */
import { initBackend, loadFlowGenerator, runMain } from '@flex/model';
import { createFlowPolicy } from '../src/index';
import { oracleScore, renderPrompt, worldPrompts, writeGrid } from './world';

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 && process.argv[index + 1] !== undefined ? (process.argv[index + 1] as string) : fallback;
}

await runMain(async () => {
  await initBackend();
  const { generator } = await loadFlowGenerator({ folder: argument('generator', 'generators/image-32') });
  const count = Number(argument('count', '8'));
  const prompts = worldPrompts({ modality: generator.config.modality, count, seed: Number(argument('seed', '0')), heldOut: true });
  const policy = createFlowPolicy({ generator, steps: Number(argument('steps', '10')) });
  const groups = await policy.sample({ prompts: prompts.map((p) => p.text), groupSize: 1, seed: 1, mode: 'eval' });
  const samples = groups.map((g) => g.rollouts[0]!.sample);
  const scores = samples.map((m, i) => oracleScore(prompts[i]!, m));
  prompts.forEach((p, i) => console.log(`${scores[i]!.toFixed(2)}  ${p.text}`));
  await writeGrid({ file: argument('out', 'grid.png'), rows: generator.config.modality === 'image' ? [samples, prompts.map((p, i) => renderPrompt(p, generator.config.size, 77 + i))] : samples.map((s, i) => [s, renderPrompt(prompts[i]!, generator.config.size, 77 + i)]) });
  console.log(JSON.stringify({ oracle_mean: scores.reduce((a, b) => a + b, 0) / scores.length }));
});
