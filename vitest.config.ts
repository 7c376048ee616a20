import { defineConfig } from 'vitest/config';

// One project per workspace package; each package has its own vitest.config.ts.
export default defineConfig({
  test: {
    projects: ['packages/*/vitest.config.ts', 'examples/*/vitest.config.ts'],
  },
});
