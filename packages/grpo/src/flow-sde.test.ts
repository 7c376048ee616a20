import { describe, expect, it } from 'vitest';
import { cpsStep, flowSchedule, flowSdeLogProb, flowSdeStd, flowSdeStep, flowStepCoefficients, gaussianNoise, GrpoError, SeededRandom } from './index';

describe('flowSdeStep', () => {
  it('matches the REFERENCE scalar check', () => {
    const step = flowSdeStep({ sample: [0.5], velocity: [-1.2], sigma: 0.8, sigmaNext: 0.7, noiseLevel: 0.7, noise: [0.3] });
    expect(step.mean[0]).toBeCloseTo(0.58815, 6);
    expect(step.std).toBeCloseTo(0.442719, 6);
    expect(step.nextSample[0]).toBeCloseTo(0.720966, 6);
    expect(step.logProb).toBeCloseTo(-0.149118, 6);
    expect(step.sigmaT).toBeCloseTo(1.4, 12);
  });
  it('averages the log-prob over elements and recomputes it from the recorded transition', () => {
    const step = flowSdeStep({ sample: [0.5, 0.5], velocity: [-1.2, -1.2], sigma: 0.8, sigmaNext: 0.7, noise: [0.3, -0.3] });
    expect(step.logProb).toBeCloseTo(-0.149118, 6);
    const again = flowSdeLogProb({ sample: [0.5, 0.5], velocity: [-1.2, -1.2], nextSample: step.nextSample, sigma: 0.8, sigmaNext: 0.7 });
    expect(again).toBeCloseTo(step.logProb!, 12);
    const other = flowSdeLogProb({ sample: [0.5, 0.5], velocity: [-1, -1.4], nextSample: step.nextSample, sigma: 0.8, sigmaNext: 0.7 });
    expect(other).toBeLessThan(step.logProb!);
  });
  it('is the Euler ODE at noise level 0', () => {
    const step = flowSdeStep({ sample: [0.5], velocity: [-1.2], sigma: 0.8, sigmaNext: 0.7, noiseLevel: 0 });
    expect(step.nextSample[0]).toBeCloseTo(0.5 + -1.2 * -0.1, 12);
    expect(step.logProb).toBeNull();
  });
  it('uses the next σ in the denominator at σ = 1 and is seeded', () => {
    const { sigmaT } = flowSdeStd({ sigma: 1, sigmaNext: 0.75, noiseLevel: 0.7 });
    expect(sigmaT).toBeCloseTo(0.7 * Math.sqrt(1 / 0.25), 12);
    const a = flowSdeStep({ sample: [0, 0, 0], velocity: [1, 1, 1], sigma: 1, sigmaNext: 0.75, seed: 3 });
    const b = flowSdeStep({ sample: [0, 0, 0], velocity: [1, 1, 1], sigma: 1, sigmaNext: 0.75, seed: 3 });
    expect(Array.from(a.nextSample)).toEqual(Array.from(b.nextSample));
    expect(Number.isFinite(a.logProb)).toBe(true);
  });
  it('rejects a step that does not go down in σ, and a stochastic step without noise', () => {
    expect(() => flowSdeStep({ sample: [0], velocity: [0], sigma: 0.5, sigmaNext: 0.6, noise: [0] })).toThrow(GrpoError);
    expect(() => flowSdeStep({ sample: [0], velocity: [0], sigma: 0.5, sigmaNext: 0.4 })).toThrow(/noise/);
    expect(() => flowSdeStep({ sample: [0, 1], velocity: [0], sigma: 0.5, sigmaNext: 0.4, noise: [0, 0] })).toThrow(/velocity/);
  });
});

describe('schedule and noise', () => {
  it('runs from 1 to 0 and shifts toward noise', () => {
    expect(flowSchedule({ steps: 4 })).toEqual([1, 0.75, 0.5, 0.25, 0]);
    const shifted = flowSchedule({ steps: 4, shift: 3 });
    expect(shifted[0]).toBe(1);
    expect(shifted[4]).toBe(0);
    expect(shifted[2]).toBeCloseTo(0.75, 12);
  });
  it('draws standard normals deterministically', () => {
    const a = gaussianNoise({ seed: 11, length: 20000 });
    expect(Array.from(a.slice(0, 5))).toEqual(Array.from(gaussianNoise({ seed: 11, length: 5 })));
    expect(Array.from(a.slice(0, 5))).not.toEqual(Array.from(gaussianNoise({ seed: 12, length: 5 })));
    const m = a.reduce((s, v) => s + v, 0) / a.length;
    const v = a.reduce((s, x) => s + (x - m) ** 2, 0) / a.length;
    expect(Math.abs(m)).toBeLessThan(0.03);
    expect(Math.abs(v - 1)).toBeLessThan(0.05);
    const r = new SeededRandom(1);
    for (let i = 0; i < 100; i++) expect(r.integer(3)).toBeLessThan(3);
  });
});

describe('cpsStep', () => {
  it('matches the scalar check of docs/grpo.md', () => {
    const step = cpsStep({ sample: [0.5], velocity: [-1.2], sigma: 0.8, sigmaNext: 0.7, noiseLevel: 0.5, noise: [0.3] });
    expect(step.mean[0]).toBeCloseTo(0.566693, 6);
    expect(step.std).toBeCloseTo(0.494975, 6);
    expect(step.nextSample[0]).toBeCloseTo(0.715186, 6);
    expect(step.logProb).toBeCloseTo(-0.26069, 5);
  });
  it('keeps the coefficients of clean sample and noise: with the exact velocity x\' = (1 − σ\')·x₀ + σ\'·(unit noise)', () => {
    const x0 = 0.4;
    const e = -1.1;
    const xi = 0.6;
    const sigma = 0.9;
    const sigmaNext = 0.6;
    const step = cpsStep({ sample: [(1 - sigma) * x0 + sigma * e], velocity: [e - x0], sigma, sigmaNext, noiseLevel: 0.7, noise: [xi] });
    const s = sigmaNext * Math.sin(0.35 * Math.PI);
    const r = Math.sqrt(sigmaNext ** 2 - s ** 2);
    expect(step.nextSample[0]).toBeCloseTo((1 - sigmaNext) * x0 + r * e + s * xi, 12);
    expect(r * r + s * s).toBeCloseTo(sigmaNext ** 2, 12);
    // The first of 10 steps, from x = ε (σ = 1) with v = ε − x₀ for a zero-mean x₀: the noise in x' is ε through the
    // mean (cx + cv) plus the step noise. CPS gives the flow's σ'² = 0.81; Flow-GRPO's SDE (a = 0.7) gives 0.919.
    const cps = flowStepCoefficients('cps', 1, 0.9, 0.7);
    expect((cps.cx + cps.cv) ** 2 + cps.std ** 2).toBeCloseTo(0.81, 12);
    const sde = flowStepCoefficients('flow-sde', 1, 0.9, 0.7);
    expect((sde.cx + sde.cv) ** 2 + sde.std ** 2).toBeCloseTo(0.919, 3);
  });
  it('is the Euler step at η = 0 and deterministic at σ\' = 0; recomputes a recorded transition', () => {
    const euler = cpsStep({ sample: [0.5], velocity: [-1.2], sigma: 0.8, sigmaNext: 0.7, noiseLevel: 0 });
    expect(euler.nextSample[0]).toBeCloseTo(0.5 + -1.2 * -0.1, 12);
    expect(euler.logProb).toBeNull();
    const last = cpsStep({ sample: [0.5], velocity: [-1.2], sigma: 0.1, sigmaNext: 0, noiseLevel: 0.7, noise: [1] });
    expect(last.std).toBe(0);
    expect(last.nextSample[0]).toBeCloseTo(0.5 - 0.1 * -1.2, 12);
    const step = cpsStep({ sample: [0.5, 0.2], velocity: [-1.2, 0.3], sigma: 0.8, sigmaNext: 0.7, seed: 4 });
    const again = cpsStep({ sample: [0.5, 0.2], velocity: [-1.2, 0.3], sigma: 0.8, sigmaNext: 0.7, nextSample: step.nextSample });
    expect(again.logProb).toBeCloseTo(step.logProb!, 12);
    const other = cpsStep({ sample: [0.5, 0.2], velocity: [20, -20], sigma: 0.8, sigmaNext: 0.7, nextSample: step.nextSample });
    expect(other.logProb!).toBeLessThan(step.logProb!);
  });
  it('rejects η above 1, a step up in σ and mismatched lengths', () => {
    expect(() => cpsStep({ sample: [0], velocity: [0], sigma: 0.5, sigmaNext: 0.4, noiseLevel: 1.5, noise: [0] })).toThrow(GrpoError);
    expect(() => cpsStep({ sample: [0], velocity: [0], sigma: 0.5, sigmaNext: 0.6, noise: [0] })).toThrow(/sigmaNext/);
    expect(() => cpsStep({ sample: [0, 1], velocity: [0], sigma: 0.5, sigmaNext: 0.4, noise: [0, 0] })).toThrow(/velocity/);
    expect(() => cpsStep({ sample: [0], velocity: [0], sigma: 0.5, sigmaNext: 0.4 })).toThrow(/noise/);
  });
});
