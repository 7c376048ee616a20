import { defineConfig } from 'tsup';

export default defineConfig({
  // The data-parallel worker is its own entry: worker threads load it by URL next to index.js.
  entry: ['src/index.ts', 'src/data-parallel-worker.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  // import.meta.url in the CommonJS build (used to find the worker script).
  shims: true,
});
