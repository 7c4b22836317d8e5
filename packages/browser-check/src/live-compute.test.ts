/**
 * The live page's computation (docs/live/compute.ts) against closed forms, in Node: what the
 * page shows must be what the normalizers are known to do.
 */
import { toTypedArray } from '@normkit/core';
import { describe, expect, it } from 'vitest';
import { BINS, CHANNELS, CHANNEL_MEANS, SIDE, computeLiveView, liveBatch, liveUpstreamGradient } from '../../../docs/live/compute.js';
import type { LiveInput } from '../../../docs/live/compute.js';

const N = 8;
const plane = SIDE * SIDE;

/** Σ over one channel of a row-major (N, C, H, W) array. */
function channelSum(values: ArrayLike<number>, c: number): number {
  let sum = 0;
  for (let n = 0; n < N; n++) for (let p = 0; p < plane; p++) sum += values[(n * CHANNELS + c) * plane + p];
  return sum;
}

describe("the live page's numbers", () => {
  for (const kernels of ['wasm', 'typescript'] as const) {
    it(`batch norm (${kernels}): channels at mean 0 and std σ/√(σ² + ε) ≈ 1; Σ dx = 0 per channel; ∂L/∂β = Σ dy per channel`, () => {
      const input: LiveInput = { normalizer: 'batch-norm', batchSize: N, seed: 4, kernels };
      const view = computeLiveView(input);
      const dy = toTypedArray(liveUpstreamGradient(N, 5));
      for (const c of view.channels) {
        // float32 outputs of magnitude ≤ ~4: their mean is 0 to float32 rounding (~1e-7 each).
        expect(Math.abs(c.meanAfter)).toBeLessThan(1e-6);
        const sigma2 = c.stdBefore ** 2;
        expect(c.stdAfter).toBeCloseTo(Math.sqrt(sigma2 / (sigma2 + 1e-5)), 5);
        // Σ dx over a channel is exactly 0 in real arithmetic; float32 dx of size ~1/σ over 128 values.
        expect(Math.abs(c.sumDx)).toBeLessThan(1e-4);
        expect(c.dbias).toBeCloseTo(channelSum(dy, c.channel), 4);
      }
      expect(view.before.counts.reduce((a, b) => a + b, 0)).toBe(N * CHANNELS * plane);
      expect(view.after.counts).toHaveLength(BINS);
    });
  }

  it('layer norm: each sample at mean 0 over its channels and positions, so the channel means stay apart', () => {
    const view = computeLiveView({ normalizer: 'layer-norm', batchSize: N, seed: 9, kernels: 'wasm' });
    // Per sample the output has mean 0; the channels keep their order (means −3, 0, 2, 5 before).
    const after = view.channels.map((c) => c.meanAfter);
    expect(Math.abs(after.reduce((a, b) => a + b, 0))).toBeLessThan(1e-5);
    expect([...after].sort((a, b) => a - b)).toEqual(after);
    expect(view.channels[0].dweight).toBeNull(); // layer norm's γ is per element of (C, H, W), not per channel
  });

  it('the batch: channel means as set, and the same numbers for the same seed', () => {
    const x = toTypedArray(liveBatch(N, 3));
    for (let c = 0; c < CHANNELS; c++) expect(channelSum(x, c) / (N * plane)).toBeCloseTo(CHANNEL_MEANS[c], 0);
    expect(Array.from(toTypedArray(liveBatch(N, 3)))).toEqual(Array.from(x));
  });
});
