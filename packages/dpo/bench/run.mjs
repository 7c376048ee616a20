// Bundles the TypeScript bench scripts (resolving sibling packages to their source) and runs one.
// Node 20 cannot run TypeScript itself; esbuild comes with tsup.
import { build } from 'esbuild';
import { mkdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const entry = resolve(process.argv[2] ?? 'bench/bench.ts');
// Inside the package so that the external packages resolve from node_modules (git ignores node_modules).
const outdir = resolve('node_modules/.cache/flex-dpo-bench');
mkdirSync(outdir, { recursive: true });
await build({

  entryPoints: [entry],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outdir,
  outExtension: { '.js': '.mjs' },
  conditions: ['@flex/source'],
  external: ['@tensorflow/*', 'zod', 'esbuild'],
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  logLevel: 'warning',
  absWorkingDir: process.cwd(),
});
await import(pathToFileURL(join(outdir, basename(entry).replace(/\.ts$/, '.mjs'))).href);
