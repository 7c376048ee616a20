// Runs a TypeScript script of a package (benchmarks, maintenance scripts) with sibling packages resolved to their
// source: bundles it with esbuild (which comes with tsup; Node 20 cannot run TypeScript itself) and imports the result.
// Usage, from a package folder: node ../../scripts/run-ts.mjs bench/bench.ts [--also bench/worker.ts] [args…]
// (the script reads its own arguments from process.argv[3] on, as before).
// `--also` bundles more entries beside the first (worker threads load them as `new URL('./worker.mjs', import.meta.url)`).
import { build } from 'esbuild';
import { mkdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [entryArgument = 'bench/bench.ts', ...rest] = process.argv.slice(2);
const entry = resolve(entryArgument);
const also = [];
while (rest[0] === '--also' && rest[1]) {
  also.push(resolve(rest[1]));
  rest.splice(0, 2);
}
// Inside the package, so that the external packages resolve from node_modules (git ignores node_modules).
const outdir = resolve('node_modules/.cache', `flex-${basename(process.cwd())}-ts`);
mkdirSync(outdir, { recursive: true });
await build({
  entryPoints: [...new Set([entry, ...also])],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outdir,
  outExtension: { '.js': '.mjs' },
  conditions: ['@flex/source'],
  // Packages with native parts, wasm files or their own workers stay outside the bundle.
  external: ['@tensorflow/*', 'zod', 'pngjs', 'playwright-core', 'esbuild', 'openai', 'fastify'],
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  logLevel: 'warning',
  absWorkingDir: process.cwd(),
});
await import(pathToFileURL(join(outdir, basename(entry).replace(/\.ts$/, '.mjs'))).href);
