import { describe, expect, it } from 'vitest';
import { initBackend, activeBackend, backendReport, runMain } from './backend';
import { ModelError } from './errors';

describe('initBackend', () => {
  it('falls back from the absent native package to wasm and reports why', async () => {
    const report = await initBackend({ backend: 'auto' });
    expect(['tensorflow', 'wasm']).toContain(report.backend);
    if (report.backend === 'wasm') {
      expect(report.fallbacks[0]?.backend).toBe('tensorflow');
      expect(report.fixedKernels).toBe(true);
    }
    expect(activeBackend()).toBe(report.backend);
    expect(backendReport()).toBe(report);
  });

  it('honours an explicit option and FLEX_BACKEND', async () => {
    expect((await initBackend({ backend: 'cpu' })).backend).toBe('cpu');
    expect(activeBackend()).toBe('cpu');
    expect((await initBackend({ backend: 'wasm' })).source).toBe('option');
    expect(activeBackend()).toBe('wasm');
  });

  it('rejects a bad option with a typed error', async () => {
    await expect(initBackend({ backend: 'gpu' as never })).rejects.toSatisfy((e) => ModelError.isInstance(e) && e.code === 'invalid_options');
  });

  it('runMain turns a throw into a short message and exit code', async () => {
    const previous = process.exitCode;
    const write = process.stderr.write;
    let written = '';
    process.stderr.write = ((chunk: string) => {
      written += chunk;
      return true;
    }) as typeof process.stderr.write;
    try {
      await runMain(async () => {
        throw new ModelError('shape_error', 'bad shape');
      });
    } finally {
      process.stderr.write = write;
    }
    expect(written).toContain('[shape_error]');
    expect(process.exitCode).toBe(1);
    process.exitCode = previous;
  });
});
