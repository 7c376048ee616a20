import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * Shared vitest settings. Sibling packages resolve to their TypeScript source through the private
 * `@flex/source` export condition, so a clean checkout tests without building anything first.
 * (Top-level `resolve.conditions` does nothing for Node tests; `ssr.resolve.conditions` does.)
 * Temporary folders of a run live under one folder that is removed at the end (`vitest.tmp-setup.ts`).
 */
export function packageTestConfig(name: string, options: { testTimeout?: number } = {}) {
  return defineConfig({
    ssr: { resolve: { conditions: ['@flex/source', 'node', 'import', 'default'] } },
    resolve: { conditions: ['@flex/source', 'node', 'import', 'default'] },
    test: {
      name,
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      environment: 'node',
      testTimeout: options.testTimeout ?? 60_000,
      hookTimeout: 120_000,
      typecheck: { enabled: false },
      globalSetup: [fileURLToPath(new URL('./vitest.tmp-setup.ts', import.meta.url))],
    },
  });
}
