// Bundles a TypeScript bench script (sibling packages resolved to their source) and runs it.
// Node 20 cannot run TypeScript itself; esbuild comes with tsup.
import { build } from 'esbuild';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const entry = resolve(process.argv[2] ?? 'bench/bench.ts');
const outdir = resolve('node_modules/.cache/flex-synth-bench');
mkdirSync(outdir, { recursive: true });
const outfile = join(outdir, 'bench.mjs');
await build({
  entryPoints: [entry],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outfile,
  conditions: ['@flex/source'],
  external: ['zod', 'pngjs', 'esbuild'],
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  logLevel: 'warning',
  absWorkingDir: process.cwd(),
});
await import(pathToFileURL(outfile).href);
