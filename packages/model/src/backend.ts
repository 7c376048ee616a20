import { z } from 'zod';
import { tf } from './engine';
import { ModelError, parseOptions } from './errors';
import { installWasmAllocationGuard, installWasmKernelFixes, installZeroComparisonGradients } from './kernels';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

/** The backends Flex can run on, fastest first: native TensorFlow, WebAssembly (SIMD), plain JavaScript. */
export const backendNames = ['tensorflow', 'wasm', 'cpu'] as const;
/** A backend name. */
export type BackendName = (typeof backendNames)[number];

/** Options of {@link initBackend}. */
export const initBackendOptionsSchema = z.object({
  /**
   * Which backend to use. Default: the `FLEX_BACKEND` environment variable if set, else `auto`
   * (tensorflow when `@tensorflow/tfjs-node-gpu` or `@tensorflow/tfjs-node` is installed and loads, else wasm,
   * else cpu). An explicit name that cannot be started throws `backend_unavailable`.
   */
  backend: z.enum(['auto', ...backendNames]).optional(),
  /** Install the fixed wasm training kernels (TFJS.md). Default true. */
  fixKernels: z.boolean().default(true),
});
/** Input of {@link initBackend}. */
export type InitBackendOptions = z.input<typeof initBackendOptionsSchema>;

/** What {@link initBackend} chose, and why. */
export interface BackendReport {
  /** The active backend. */
  readonly backend: BackendName;
  /** Where the choice came from. */
  readonly source: 'option' | 'environment' | 'auto';
  /** For tensorflow: which native package loaded. */
  readonly nativePackage?: string;
  /** Backends tried before this one and why they failed. */
  readonly fallbacks: readonly { backend: BackendName; reason: string }[];
  /** Whether the fixed wasm kernels are installed. */
  readonly fixedKernels: boolean;
}

let report: BackendReport | undefined;
let pending: Promise<BackendReport> | undefined;

// Held in variables so bundlers and npm never treat the optional native packages as hard dependencies.
const nativePackages = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'];

async function tryTensorflow(): Promise<{ ok: true; name: string } | { ok: false; reason: string }> {
  const reasons: string[] = [];
  for (const specifier of nativePackages) {
    try {
      await import(/* @vite-ignore */ specifier);
      if (await tf.setBackend('tensorflow')) return { ok: true, name: specifier };
      reasons.push(`${specifier}: loaded but the tensorflow backend did not start`);
    } catch (error) {
      reasons.push(`${specifier}: ${(error as Error).message?.split('\n')[0] ?? String(error)}`);
    }
  }
  return { ok: false, reason: reasons.join('; ') };
}

async function tryWasm(): Promise<{ ok: true } | { ok: false; reason: string }> {
  try {
    if (await tf.setBackend('wasm')) return { ok: true };
  } catch (error) {
    // Retry once with the binaries located explicitly in node_modules (bundled or relocated installs).
    try {
      const { createRequire } = await import('node:module');
      const { dirname, join } = await import('node:path');
      const require = createRequire(join(process.cwd(), 'noop.js'));
      const main = require.resolve('@tensorflow/tfjs-backend-wasm');
      setWasmPaths(join(dirname(main), '/'));
      tf.removeBackend('wasm');
      await import('@tensorflow/tfjs-backend-wasm');
      if (await tf.setBackend('wasm')) return { ok: true };
    } catch {
      // fall through with the first reason
    }
    return { ok: false, reason: (error as Error).message?.split('\n')[0] ?? String(error) };
  }
  return { ok: false, reason: 'the wasm backend did not start' };
}

async function start(options: z.output<typeof initBackendOptionsSchema>): Promise<BackendReport> {
  const fromEnvironment = process.env.FLEX_BACKEND?.trim();
  let wanted: 'auto' | BackendName = 'auto';
  let source: BackendReport['source'] = 'auto';
  if (options.backend) {
    wanted = options.backend;
    source = options.backend === 'auto' ? 'auto' : 'option';
  } else if (fromEnvironment) {
    if (fromEnvironment !== 'auto' && !(backendNames as readonly string[]).includes(fromEnvironment)) {
      throw new ModelError('invalid_options', `FLEX_BACKEND must be one of auto, ${backendNames.join(', ')}; got "${fromEnvironment}"`);
    }
    wanted = fromEnvironment as 'auto' | BackendName;
    source = fromEnvironment === 'auto' ? 'auto' : 'environment';
  }
  const order: BackendName[] = wanted === 'auto' ? [...backendNames] : [wanted];
  const fallbacks: { backend: BackendName; reason: string }[] = [];
  for (const backend of order) {
    let result: { ok: true; name?: string } | { ok: false; reason: string };
    if (backend === 'tensorflow') result = await tryTensorflow();
    else if (backend === 'wasm') result = await tryWasm();
    else result = (await tf.setBackend('cpu')) ? { ok: true } : { ok: false, reason: 'the cpu backend did not start' };
    if (result.ok) {
      await tf.ready();
      installZeroComparisonGradients();
      let fixedKernels = false;
      if (backend === 'wasm') installWasmAllocationGuard();
      if (backend === 'wasm' && options.fixKernels) {
        installWasmKernelFixes();
        fixedKernels = true;
      }
      return {
        backend,
        source,
        ...('name' in result && result.name ? { nativePackage: result.name } : {}),
        fallbacks,
        fixedKernels,
      };
    }
    fallbacks.push({ backend, reason: result.reason });
  }
  throw new ModelError('backend_unavailable', `no backend could start: ${fallbacks.map((f) => `${f.backend} (${f.reason})`).join('; ')}`, {
    details: { fallbacks },
  });
}

/**
 * Chooses and starts the TensorFlow.js backend once per process and reports the choice. Later calls return
 * the same report; asking for a different backend after the first call switches to it.
 */
export async function initBackend(options: InitBackendOptions = {}): Promise<BackendReport> {
  const parsed = parseOptions(initBackendOptionsSchema, options, 'initBackend options');
  if (report && (!parsed.backend || parsed.backend === 'auto' || parsed.backend === report.backend)) return report;
  if (pending && !parsed.backend) return pending;
  pending = start(parsed).then(
    (r) => {
      report = r;
      return r;
    },
    (error) => {
      pending = undefined;
      throw error;
    },
  );
  return pending;
}

/** The report of the backend in use, or undefined before {@link initBackend} resolved. */
export function backendReport(): BackendReport | undefined {
  return report;
}

/** The name of the active TensorFlow.js backend (`tf.getBackend()`). */
export function activeBackend(): string {
  return tf.getBackend();
}

/**
 * Runs `main` and prints a short error instead of letting it escape: an uncaught exception after the wasm
 * module has loaded makes Node print the whole minified module. Sets `process.exitCode = 1` on failure.
 */
export async function runMain(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (error) {
    const e = error as Error & { code?: string };
    const stack = (e.stack ?? String(e))
      .split('\n')
      .map((line) => (line.length > 300 ? `${line.slice(0, 300)}…` : line))
      .slice(0, 12)
      .join('\n');
    process.stderr.write(`${e.code ? `[${e.code}] ` : ''}${stack}\n`);
    process.exitCode = 1;
  }
}
