import { defineConfig } from 'tsup';

export default defineConfig({
  // The update worker is its own entry: `GRPOTrainer` with `updateInWorker` starts dist/update-worker.js.
  entry: { index: 'src/index.ts', 'update-worker': 'src/trainer/update-worker.ts' },
  format: ['esm', 'cjs'],
  dts: { entry: { index: 'src/index.ts' } },
  clean: true,
  sourcemap: true,
  shims: true,
  target: 'node20',
});
