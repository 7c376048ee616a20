/**
 * Why did the quick pipeline's grpo stage read 0.346 → 0.253 after 2 steps at lr 1e-4 (issue #6)? Compares two
 * flow generators (default: the shipped image generator and the one a `flex grpo` run saved) on the same held-out
 * prompts and the same ODE noise: how far the weights moved, how far the samples moved, and per prompt the oracle
 * and its presence gate before and after — on the stage's 8 prompts and on a larger set.
 *
 *   node --conditions=@flex/source --import tsx scripts/diagnose-drop.ts -- --after <folder> [--before <folder>]
 *     [--held-out 8,128] [--seed 0]
 *   … -- --random 2e-4   (control: instead of a trained generator, the "before" one with every weight moved by
 *                          ±2e-4 with a random sign — what two Adam steps of lr 1e-4 do to each weight, direction aside)
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Media, RgbImage } from '@flex/criteria';
import { createFlowGenerator, initBackend, loadFlowGenerator, runMain, tf } from '@flex/model';
import { perceiveMedia, scaleByPresence, scoreFacts, scoreGeneration, type PromptSpec } from '@flex/synth';
import { createFlowPolicy, deriveSeed, pairedChange, SeededRandom } from '../src/index';
import { worldPrompts } from './world';

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 && process.argv[index + 1] !== undefined ? (process.argv[index + 1] as string) : fallback;
}
const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
const here = dirname(fileURLToPath(import.meta.url));

/** The oracle as it was before the colour × shape gate (B, C, D scaled by objects found / objects asked). */
function countGateUtility(spec: PromptSpec, media: Media): number {
  const facts = perceiveMedia(media);
  const asked = spec.subjects.reduce((a, s) => a + s.count, 0);
  return scaleByPresence(scoreFacts({ spec, facts }), Math.min(1, facts.objects.length / Math.max(1, asked))).utility;
}

await runMain(async () => {
  await initBackend();
  const beforeFolder = argument('before', join(here, '..', 'generators', 'image-32'));
  const afterFolder = argument('after', '');
  const randomStep = Number(argument('random', '0'));
  if (!afterFolder && !(randomStep > 0)) throw new Error('--after <generator folder> or --random <step> is required');
  const { generator: a } = await loadFlowGenerator({ folder: beforeFolder });
  let b = a;
  if (afterFolder) b = (await loadFlowGenerator({ folder: afterFolder })).generator;
  else {
    const rng = new SeededRandom(Number(argument('seed', '0')) + 17);
    b = createFlowGenerator(a.config);
    b.parameters.assign(
      Object.fromEntries(
        a.parameters.entries().map(([name, t]) => {
          const v = Float32Array.from(t.dataSync(), (x) => x + ((rng.nextUint32() & 1) === 1 ? randomStep : -randomStep));
          return [name, tf.tensor(v, t.shape)];
        }),
      ),
    );
  }
  // Weight movement: per tensor max |Δ| and the overall relative L2 change.
  let diff2 = 0;
  let norm2 = 0;
  let maxAbs = 0;
  const bEntries = new Map(b.parameters.entries());
  for (const [name, tensor] of a.parameters.entries()) {
    const x = tensor.dataSync();
    const y = (bEntries.get(name) as typeof tensor).dataSync();
    for (let i = 0; i < x.length; i++) {
      const d = (y[i] as number) - (x[i] as number);
      diff2 += d * d;
      norm2 += (x[i] as number) ** 2;
      maxAbs = Math.max(maxAbs, Math.abs(d));
    }
  }
  console.log(`weights: relative L2 change ${Math.sqrt(diff2 / norm2).toExponential(2)}, max |Δ| ${maxAbs.toExponential(2)}`);
  const seed = Number(argument('seed', '0'));
  const summary: Record<string, number> = { relative_weight_change: Math.sqrt(diff2 / norm2), max_weight_change: maxAbs };
  for (const count of argument('held-out', '8,128').split(',').map(Number)) {
    // The CLI's held-out prompts: seeds 1,000,000 + i (worldPrompts with heldOut and seed 0 gives the same).
    const held = worldPrompts({ modality: 'image', count, seed: 0, heldOut: true });
    const sample = async (generator: typeof a) =>
      (await createFlowPolicy({ generator }).sample({ prompts: held.map((p) => p.text), groupSize: 1, seed: deriveSeed(seed, 0, 4), mode: 'eval' })).map((g) => g.rollouts[0]!.sample as Media);
    const before = await sample(a);
    const after = await sample(b);
    const rows = held.map((p, i) => {
      const x = before[i] as RgbImage;
      const y = after[i] as RgbImage;
      let d = 0;
      let dmax = 0;
      for (let k = 0; k < x.data.length; k++) {
        const v = Math.abs((y.data[k] as number) - (x.data[k] as number));
        d += v;
        dmax = Math.max(dmax, v);
      }
      const s0 = scoreGeneration({ spec: p.spec, media: x });
      const s1 = scoreGeneration({ spec: p.spec, media: y });
      return { c0: countGateUtility(p.spec, x), c1: countGateUtility(p.spec, y), pixel: d / x.data.length, pixelMax: dmax, u0: s0.utility, u1: s1.utility, p0: s0.presence, p1: s1.presence, a0: s0.categories.A ?? 0, a1: s1.categories.A ?? 0, n0: s0.facts.objects.length, n1: s1.facts.objects.length };
    });
    if (count <= 16) {
      rows.forEach((r, i) =>
        console.log(
          `  prompt ${i}: mean |Δpixel| ${r.pixel.toFixed(4)} (max ${r.pixelMax.toFixed(3)}), oracle ${r.u0.toFixed(3)} → ${r.u1.toFixed(3)}, A ${r.a0.toFixed(3)} → ${r.a1.toFixed(3)}, presence ${r.p0.toFixed(2)} → ${r.p1.toFixed(2)}, objects ${r.n0} → ${r.n1}`,
        ),
      );
    }
    const changed = rows.filter((r) => Math.abs(r.u1 - r.u0) > 0.05).length;
    console.log(
      `${count} prompts: oracle ${mean(rows.map((r) => r.u0)).toFixed(4)} → ${mean(rows.map((r) => r.u1)).toFixed(4)}, mean |Δpixel| ${mean(rows.map((r) => r.pixel)).toFixed(4)}, ` +
        `prompts whose oracle moved > 0.05: ${changed}, mean |Δoracle| ${mean(rows.map((r) => Math.abs(r.u1 - r.u0))).toFixed(4)}; ` +
        `with the old count gate ${mean(rows.map((r) => r.c0)).toFixed(4)} → ${mean(rows.map((r) => r.c1)).toFixed(4)} (mean |Δ| ${mean(rows.map((r) => Math.abs(r.c1 - r.c0))).toFixed(4)})`,
    );
    // Paired standard error of the mean change (what `flex grpo` reports).
    const se = (before: number[], after: number[]) => pairedChange(before, after).stdError ?? Number.NaN;
    const countGateSe = se(rows.map((r) => r.c0), rows.map((r) => r.c1));
    console.log(`  paired s.e. of the change: ${se(rows.map((r) => r.u0), rows.map((r) => r.u1)).toFixed(4)} (count gate ${countGateSe.toFixed(4)})`);
    summary[`count_gate_change_se_${count}`] = countGateSe;
    summary[`count_gate_before_${count}`] = mean(rows.map((r) => r.c0));
    summary[`count_gate_after_${count}`] = mean(rows.map((r) => r.c1));
    summary[`oracle_before_${count}`] = mean(rows.map((r) => r.u0));
    summary[`oracle_after_${count}`] = mean(rows.map((r) => r.u1));
    summary[`mean_abs_pixel_change_${count}`] = mean(rows.map((r) => r.pixel));
    summary[`mean_abs_oracle_change_${count}`] = mean(rows.map((r) => Math.abs(r.u1 - r.u0)));
  }
  console.log(JSON.stringify(summary));
});
