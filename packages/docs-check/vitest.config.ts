import { defineConfig } from 'vitest/config';

// The guides' example code lives under docs/examples/ (where a reader finds it next to
// the guide); its own tests run here, so `npm test` proves the guide right.
export default defineConfig({
  test: {
    dir: '../..',
    include: ['packages/docs-check/src/**/*.test.ts', 'docs/examples/**/*.test.ts'],
    // Compiling an example with the TypeScript API takes seconds (more under turbo's parallel load).
    hookTimeout: 120_000,
  },
});
