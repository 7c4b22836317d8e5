import { defineConfig } from 'vitest/config';

// The docs' live page (docs/live/) is checked here: its computation runs in Node too.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    // Bundling and a headless browser under turbo's parallel load on two cores.
    hookTimeout: 120_000,
  },
});
