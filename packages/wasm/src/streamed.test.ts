import { batchStatistics, normalizeBackward, normalizeBatch, normalizeForward, planNormalization, viewOf, zeros } from '@normkit/core';
import type { BackwardMode, NormPlan, Shape, Tensor } from '@normkit/core';
import { maxAbs, randn, relativeError, scaledError } from '@normkit/testkit';
import { describe, expect, it } from 'vitest';
import { useExplicitBackend, vector } from '../test/explicit-backend.js';
import { PIECE_LIMIT } from './streaming.js';
import { STREAM_MIN_ELEMENTS } from './streamed-kernels.js';

// Calls on JS-heap tensors of at least 2²⁰ elements stream through wasm memory in pieces
// (streamed-kernels.ts): the statistics of a group split over pieces are merged in float64,
// the gradient sums added up, the element-wise maps run piece by piece. Each layout below
// against the TypeScript kernels, with the tolerances of layouts.test.ts: statistics to 1e-11
// relative (float64 sums in another order), outputs to float32 accuracy (2e-6 of the output's
// scale; dx relative to the size of its terms, which cancel).

const explicit = useExplicitBackend(16 * 1024 * 1024);
const onTypeScript = <T>(fn: () => T): T => explicit.onTypeScript(fn);

interface Case {
  readonly what: string;
  readonly shape: Shape;
  readonly groupAxes: readonly number[];
  readonly paramAxes: readonly number[] | null;
  readonly centered: boolean;
  /** Mean and standard deviation of x (default 3 and 1.5 centered, 0.5 and 1.5 uncentered). */
  readonly x?: readonly [number, number];
}

const cases: Case[] = [
  // planes of 16384 (one piece holds two channels' runs)
  { what: 'batch norm NCHW', shape: [4, 16, 128, 128], groupAxes: [1], paramAxes: [1], centered: true },
  // columns: pieces of 32 whole rows, a channel's statistics merged over 33 pieces
  { what: 'batch norm (N, C)', shape: [1030, 1024], groupAxes: [1], paramAxes: [1], centered: true },
  { what: 'layer norm rows', shape: [1400, 768], groupAxes: [0], paramAxes: [1], centered: true },
  { what: 'RMS norm rows', shape: [1400, 768], groupAxes: [0], paramAxes: [1], centered: false },
  { what: 'group norm', shape: [4, 8, 8, 4100], groupAxes: [0, 1], paramAxes: [1, 2], centered: true },
  // statistics blocks with A = N > 1, columns of 16 channels
  { what: 'instance norm NHWC', shape: [4, 128, 129, 16], groupAxes: [0, 3], paramAxes: [3], centered: true },
  // a mean 60 000 standard deviations from zero: each piece's columns take the exact passes, and their merge stays exact enough
  { what: 'batch norm (N, C), mean far from zero', shape: [1030, 1024], groupAxes: [1], paramAxes: [1], centered: true, x: [3000, 0.05] },
  // runs longer than a piece: split along D
  { what: 'runs longer than a piece', shape: [2, 2, 270001], groupAxes: [1], paramAxes: [1], centered: true },
];

interface Run {
  readonly stats: ReturnType<typeof normalizeBatch>;
  /** The statistics alone (`moments`). */
  readonly momentsOnly: ReturnType<typeof batchStatistics>;
  readonly y: Tensor;
  /** normalizeForward with the same statistics (normalizeCells / normalizeRows). */
  readonly ySplit: Tensor;
  readonly dx: Tensor;
  readonly sums: ReturnType<typeof normalizeBackward>;
  /** The cells backward with a (no-op) group-sums hook: gradientSums then inputGradient. */
  readonly dxHook: Tensor | null;
}

function run(c: Case, plan: NormPlan, x: Tensor, dy: Tensor, weight: Float64Array | null, bias: Float64Array | null): Run {
  const y = zeros(c.shape, 'float32');
  const stats = normalizeBatch(viewOf(x), plan, c.centered, 1e-5, weight, bias, viewOf(y));
  const momentsOnly = batchStatistics(viewOf(x), plan, c.centered, 1e-5);
  const ySplit = zeros(c.shape, 'float32');
  normalizeForward(viewOf(x), plan, stats, weight, bias, viewOf(ySplit));
  const mode: BackwardMode = { centered: c.centered, batchStats: true };
  const dx = zeros(c.shape, 'float32');
  const sums = normalizeBackward(viewOf(x), viewOf(dy), plan, stats, weight, mode, viewOf(dx));
  let dxHook: Tensor | null = null;
  if (plan.affine.kind === 'cells') {
    dxHook = zeros(c.shape, 'float32');
    normalizeBackward(viewOf(x), viewOf(dy), plan, stats, weight, { ...mode, reduceGroupSums: () => {} }, viewOf(dxHook));
  }
  return { stats, momentsOnly, y, ySplit, dx, sums, dxHook };
}

describe('streamed calls: wasm on JS-heap tensors of 2²⁰ elements and more agrees with the TypeScript kernels', () => {
  it.each(cases.map((c, i) => [i, c.what, c.shape.join('×'), c] as const))('case %i: %s %s', (i, _w, _s, c) => {
    const size = c.shape.reduce((a, b) => a * b, 1);
    expect(size).toBeGreaterThanOrEqual(STREAM_MIN_ELEMENTS);
    const plan = planNormalization(c.shape, c.groupAxes, c.paramAxes);
    const [mean, std] = c.x ?? [c.centered ? 3 : 0.5, 1.5];
    const x = randn(c.shape, 100 + i, 'float32', mean, std);
    const dy = randn(c.shape, 200 + i, 'float32');
    const weight = plan.params === 0 ? null : vector(plan.params, 300 + i, 1, 0.5);
    const bias = plan.params === 0 ? null : vector(plan.params, 400 + i, 0, 1);
    const memory = explicit.backend.pool.stats().capacityBytes;
    const before = { ...explicit.backend.counters, kernels: { ...explicit.backend.counters.kernels } };
    const wasm = run(c, plan, x, dy, weight, bias);
    const cells = plan.affine.kind === 'cells';
    // every call streamed: normalizeBatch, moments, normalizeCells/Rows, the fused backward,
    // and (cells) gradientSums and inputGradient around the hook
    const streamedCalls = cells ? 6 : 4;
    expect(explicit.backend.counters.declined - before.declined).toBe(0);
    expect(explicit.backend.counters.streamed - before.streamed).toBe(streamedCalls);
    expect(explicit.backend.pool.stats().capacityBytes).toBe(memory);
    const ts = onTypeScript(() => run(c, plan, x, dy, weight, bias));

    // moments alone merges the same pieces in the same order as the fused call
    for (const key of ['center', 'variance', 'invStd'] as const) expect(Array.from(wasm.momentsOnly[key])).toEqual(Array.from(wasm.stats[key]));
    if (c.centered) expect(relativeError(wasm.stats.center, ts.stats.center)).toBeLessThan(1e-11);
    else expect(Array.from(wasm.stats.center)).toEqual(Array.from(ts.stats.center));
    expect(relativeError(wasm.stats.variance, ts.stats.variance)).toBeLessThan(1e-11);
    expect(relativeError(wasm.stats.invStd, ts.stats.invStd)).toBeLessThan(1e-10);
    expect(scaledError(wasm.y, ts.y)).toBeLessThan(2e-6);
    expect(scaledError(wasm.ySplit, ts.y)).toBeLessThan(2e-6);
    const terms = maxAbs(weight ?? [1]) * maxAbs(ts.stats.invStd) * maxAbs(dy.data);
    const dxBound = cells ? 2e-6 * (1 + terms) : 4e-6;
    expect(scaledError(wasm.dx, ts.dx)).toBeLessThan(dxBound);
    if (wasm.dxHook !== null) expect(scaledError(wasm.dxHook, ts.dx)).toBeLessThan(dxBound);
    expect(scaledError(wasm.sums!.sumDy, ts.sums!.sumDy)).toBeLessThan(2e-6);
    expect(scaledError(wasm.sums!.sumDyXhat, ts.sums!.sumDyXhat)).toBeLessThan(2e-6);
  });

  it('covers pieces of whole rows, of channel runs and of parts of one run', () => {
    expect(128 * 128).toBeLessThanOrEqual(PIECE_LIMIT); // NCHW: channel runs
    expect(1024).toBeLessThanOrEqual(PIECE_LIMIT); // (N, C): whole rows
    expect(270001).toBeGreaterThan(PIECE_LIMIT); // parts of one run
  });

  it('a beforeWrite check that throws leaves y untouched and frees the staging buffers', () => {
    const shape = [1100, 1000];
    const plan = planNormalization(shape, [1], [1]);
    const x = randn(shape, 7, 'float32');
    const y = zeros(shape, 'float32');
    y.data.fill(5);
    const free = explicit.backend.pool.stats().freeBytes;
    const streamed = explicit.backend.counters.streamed;
    expect(() =>
      normalizeBatch(viewOf(x), plan, true, 1e-5, null, null, viewOf(y), () => {
        throw new Error('refused');
      }),
    ).toThrow('refused');
    expect(y.data.every((v) => v === 5)).toBe(true);
    expect(explicit.backend.pool.stats().freeBytes).toBe(free);
    expect(explicit.backend.counters.streamed).toBe(streamed);
  });
});
