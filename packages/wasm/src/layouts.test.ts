import { CONDITION_LIMIT, batchStatistics, fromArray, normalizeBackward, normalizeBatch, normalizeForward, planNormalization, viewOf, zeros } from '@normkit/core';
import type { BackwardMode, NormPlan, Shape, Tensor } from '@normkit/core';
import { randn, relativeError, scaledError, uniform } from '@normkit/testkit';
import { describe, expect, it } from 'vitest';
import { useExplicitBackend, vector } from '../test/explicit-backend.js';

// The engine ops on plans no plugin of this repository's batch norm / layer norm produces,
// wasm vs TypeScript kernels: blocks with A > 1 (instance norm channels last, kept axes on both
// sides of a reduced one), group-norm style planes, uncentered statistics (RMS norm), rows
// backward with constant statistics and with another divisor m, no parameters. Tolerances as in
// property.test.ts: outputs to float32 accuracy, statistics to 1e-11 relative.

const explicit = useExplicitBackend(32 * 1024 * 1024);
const onTypeScript = <T>(fn: () => T): T => explicit.onTypeScript(fn);

interface Case {
  readonly what: string;
  readonly shape: Shape;
  readonly groupAxes: readonly number[];
  readonly paramAxes: readonly number[] | null;
  readonly centered: boolean;
  readonly mode: BackwardMode;
}

const int = (rand: () => number, lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));

function cases(): Case[] {
  const rand = uniform(424242);
  const out: Case[] = [];
  const modes: BackwardMode[] = [
    { centered: true, batchStats: true },
    { centered: true, batchStats: false },
    { centered: true, batchStats: true, count: 1 },
  ];
  for (let i = 0; i < 48; i++) {
    const mode = modes[i % 3];
    const kind = Math.floor(i / 3) % 8;
    const n = int(rand, 1, 4);
    switch (kind) {
      case 0: // instance norm, channels last: blocks (N, H·W, C, 1), A = N
        out.push({ what: 'instance norm NHWC', shape: [n, int(rand, 1, 5), int(rand, 1, 6), int(rand, 1, 11)], groupAxes: [0, 3], paramAxes: [3], centered: true, mode });
        break;
      case 1: // kept axes around a reduced one, planes: blocks (N, L, C, M), A = N
        out.push({ what: 'A > 1 planes', shape: [n, int(rand, 1, 5), int(rand, 1, 7), int(rand, 2, 13)], groupAxes: [0, 2], paramAxes: [2], centered: true, mode });
        break;
      case 2: // group norm (N, G, C/G, S): statistics per (n, g), parameters per channel
        out.push({ what: 'group norm', shape: [n, int(rand, 1, 4), int(rand, 1, 5), int(rand, 1, 17)], groupAxes: [0, 1], paramAxes: [1, 2], centered: true, mode });
        break;
      case 3: // RMS norm rows
        out.push({ what: 'RMS rows', shape: [int(rand, 1, 9), int(rand, 2, 70)], groupAxes: [0], paramAxes: [1], centered: false, mode: { ...mode, centered: false } });
        break;
      case 4: // RMS norm, two leading axes, two trailing
        out.push({ what: 'RMS rows rank 4', shape: [n, int(rand, 1, 3), int(rand, 1, 4), int(rand, 2, 9)], groupAxes: [0, 1], paramAxes: [2, 3], centered: false, mode: { ...mode, centered: false } });
        break;
      case 5: // uncentered, no parameters, A > 1 columns
        out.push({ what: 'uncentered A > 1 columns', shape: [n, int(rand, 1, 9), int(rand, 1, 10)], groupAxes: [0, 2], paramAxes: null, centered: false, mode: { ...mode, centered: false } });
        break;
      case 6: // uncentered, channels first planes (weight-norm style statistics)
        out.push({ what: 'uncentered planes', shape: [int(rand, 1, 9), int(rand, 2, 40)], groupAxes: [0], paramAxes: null, centered: false, mode: { ...mode, centered: false } });
        break;
      case 7: // layer-norm rows with constant statistics / another divisor
        out.push({ what: 'centered rows', shape: [int(rand, 1, 6), int(rand, 1, 3), int(rand, 2, 30)], groupAxes: [0, 1], paramAxes: [2], centered: true, mode });
        break;
    }
  }
  out.push({ what: 'instance norm NHWC, C % 4 = 3 and long columns', shape: [3, 70, 80, 7], groupAxes: [0, 3], paramAxes: [3], centered: true, mode: modes[0] });
  out.push({ what: 'uncentered planes longer than a chunk', shape: [2, 3, 17000], groupAxes: [0, 1], paramAxes: [1], centered: false, mode: { centered: false, batchStats: true } });
  return out.filter((c) => {
    const plan = planNormalization(c.shape, c.groupAxes, c.paramAxes);
    return plan.count > 1;
  });
}

interface Run {
  readonly stats: ReturnType<typeof batchStatistics>;
  readonly y: Tensor;
  readonly dx: Tensor;
  readonly sums: ReturnType<typeof normalizeBackward>;
  /** The fused `normalizeBatch`'s statistics and output. */
  readonly fused: { readonly stats: ReturnType<typeof normalizeBatch>; readonly y: Tensor };
}

function run(c: Case, plan: NormPlan, x: Tensor, dy: Tensor, weight: Float64Array | null, bias: Float64Array | null): Run {
  const stats = batchStatistics(viewOf(x), plan, c.centered, 1e-5);
  const y = zeros(c.shape, 'float32');
  normalizeForward(viewOf(x), plan, stats, weight, bias, viewOf(y));
  const dx = zeros(c.shape, 'float32');
  const sums = normalizeBackward(viewOf(x), viewOf(dy), plan, stats, weight, c.mode, viewOf(dx));
  const fusedY = zeros(c.shape, 'float32');
  const fusedStats = normalizeBatch(viewOf(x), plan, c.centered, 1e-5, weight, bias, viewOf(fusedY));
  return { stats, y, dx, sums, fused: { stats: fusedStats, y: fusedY } };
}

describe('engine layouts: wasm agrees with the TypeScript kernels', () => {
  const all = cases();
  it('covers A > 1 blocks, uncentered statistics, both backward modes and C % 4 tails', () => {
    const plans = all.map((c) => planNormalization(c.shape, c.groupAxes, c.paramAxes));
    expect(plans.some((p) => p.statsBlocks !== null && p.statsBlocks.A > 1 && p.statsBlocks.D === 1)).toBe(true);
    expect(plans.some((p) => p.statsBlocks !== null && p.statsBlocks.A > 1 && p.statsBlocks.D > 1)).toBe(true);
    expect(plans.some((p) => p.affine.kind === 'rows' && p.affine.leadingRows)).toBe(true);
    expect(all.some((c) => !c.centered)).toBe(true);
    expect(all.some((c) => !c.mode.batchStats)).toBe(true);
    expect(plans.some((p) => p.statsBlocks !== null && p.statsBlocks.C % 4 !== 0)).toBe(true);
  });
  it.each(all.map((c, i) => [i, c.what, c.shape.join('×'), c] as const))('case %i: %s %s', (i, _w, _s, c) => {
    const plan = planNormalization(c.shape, c.groupAxes, c.paramAxes);
    const x = randn(c.shape, 1000 + i, 'float32', c.centered ? 2 : 0.5, 1.5);
    const dy = randn(c.shape, 2000 + i, 'float32');
    const weight = plan.params === 0 ? null : vector(plan.params, 3000 + i, 1, 0.5);
    const bias = plan.params === 0 ? null : vector(plan.params, 4000 + i, 0, 1);
    const before = { handled: explicit.backend.counters.handled, declined: explicit.backend.counters.declined, kernels: { ...explicit.backend.counters.kernels } };
    const wasm = run(c, plan, x, dy, weight, bias);
    // Rows whose groups are not the leading axes (group norm with one value per channel and
    // position) are declined by both rows kernels and by the fused normalizeBatch, whose
    // fallback then runs moments (in wasm) and normalizeRows (declined); everything else runs in
    // wasm: the split forward, the fused backward (backwardCells) or backwardRows, and the fused
    // normalizeBatch.
    const otherRows = plan.affine.kind === 'rows' && !plan.affine.leadingRows;
    const calls = (name: keyof typeof before.kernels) => explicit.backend.counters.kernels[name] - before.kernels[name];
    expect(explicit.backend.counters.declined - before.declined).toBe(otherRows ? 4 : 0);
    expect(calls('moments')).toBe(otherRows ? 2 : 1);
    expect(calls('normalizeBatch')).toBe(otherRows ? 0 : 1);
    if (!otherRows) expect(calls(plan.affine.kind === 'rows' ? 'backwardRows' : 'backwardCells')).toBe(1);
    expect(explicit.backend.counters.handled - before.handled).toBe(otherRows ? 2 : 4);
    const ts = onTypeScript(() => run(c, plan, x, dy, weight, bias));

    if (c.centered) expect(relativeError(wasm.stats.center, ts.stats.center)).toBeLessThan(1e-11);
    else expect(Array.from(wasm.stats.center)).toEqual(Array.from(ts.stats.center));
    expect(relativeError(wasm.stats.variance, ts.stats.variance)).toBeLessThan(1e-11);
    expect(relativeError(wasm.stats.invStd, ts.stats.invStd)).toBeLessThan(1e-10);
    expect(scaledError(wasm.y, ts.y)).toBeLessThan(2e-6);
    // the fused forward: the same statistics, and y to float32 accuracy
    for (const key of ['center', 'variance', 'invStd'] as const) expect(Array.from(wasm.fused.stats[key])).toEqual(Array.from(wasm.stats[key]));
    expect(relativeError(wasm.fused.stats.invStd, ts.fused.stats.invStd)).toBeLessThan(1e-10);
    expect(scaledError(wasm.fused.y, ts.y)).toBeLessThan(2e-6);
    expect(scaledError(wasm.fused.y, ts.fused.y)).toBeLessThan(2e-6);
    if (plan.affine.kind === 'rows') {
      expect(scaledError(wasm.dx, ts.dx)).toBeLessThan(4e-6);
    } else {
      // dx = a·dy + b·(x − c) + k cancels (see property.test.ts): float32 rounding relative
      // to the size of its terms, max |γ·invStd|·max |dy|, times m / count when the
      // divisor is smaller than the group.
      const gammaMax = weight === null ? 1 : Math.max(...Array.from(weight, Math.abs));
      const terms = gammaMax * Math.max(...ts.stats.invStd) * Math.max(...Array.from(dy.data, Math.abs)) * (plan.count / (c.mode.count ?? plan.count));
      expect(scaledError(wasm.dx, ts.dx)).toBeLessThan(2e-6 * (1 + terms));
    }
    if (plan.params === 0) {
      expect(wasm.sums).toBeNull();
      expect(ts.sums).toBeNull();
    } else {
      expect(scaledError(wasm.sums!.sumDy, ts.sums!.sumDy)).toBeLessThan(2e-6);
      expect(scaledError(wasm.sums!.sumDyXhat, ts.sums!.sumDyXhat)).toBeLessThan(2e-6);
    }
  });
});

/**
 * The exact biased variance of float32 values that are multiples of 1/scale (scale = 2^14 by
 * default: |x| < 1024 holds it for the values used here): with integers u = x·scale,
 * σ² = (n·Σu² − (Σu)²) / (n²·scale²), in BigInt, rounded once.
 */
function exactVariance(values: Float32Array, from: number, n: number, step = 1, scale = 16384): number {
  let s = 0n;
  let q = 0n;
  for (let i = 0; i < n; i++) {
    const u = values[from + i * step] * scale;
    expect(Number.isInteger(u)).toBe(true);
    const b = BigInt(u);
    s += b;
    q += b * b;
  }
  const N = BigInt(n);
  return Number(N * q - s * s) / (n * n * scale * scale);
}

/** [f(0), …, f(n − 1)]. */
function range(n: number, f: (i: number) => number): number[] {
  return Array.from({ length: n }, (_, i) => f(i));
}

describe('ill-conditioned groups: the one-pass sums fall back to two exact passes', () => {
  // Each group starts with an outlier (1001) among values 1000 ± 0.001: its first value, the
  // shift of the TypeScript kernel's one-pass formula, sits ~100 standard deviations from the
  // mean, far past core's CONDITION_LIMIT of 64 (squared), and the mean sits ~10⁵ standard
  // deviations from zero, far past the wasm kernels' unshifted limit of 512 (squared), so the
  // TypeScript kernel takes its two exact passes and each wasm chunk or column its exact pass
  // of deviations from the first pass's mean. Their variance is then within 1e-13 of the exact
  // value (n·2⁻⁵³ for the long columns); the TypeScript kernel's shifted one-pass formula on the
  // same data misses by more than 5e-13 on some group (checked below, so the data stays hard
  // for it; the wasm one-pass sums, unshifted, would miss by far more).
  // Each case lists the flat indices of group g's values, its first (the shift) first.
  // `bound`: the relative error allowed against the exact variance. The columns case sums 7001
  // values down each column; the exact pass's own rounding there measured up to 3.3e-13
  // (TypeScript) and differs from wasm's by up to 6.3e-13 (wasm centers on the first pass's
  // Σx/n, four columns at a time), both within the summation bound n·2⁻⁵³ = 7.8e-13.
  const shapes: Array<{ shape: Shape; groupAxes: number[]; what: string; members: (g: number) => number[]; bound: number }> = [
    { shape: [3, 16000], groupAxes: [0], what: 'rows of one chunk', members: (g) => range(16000, (i) => g * 16000 + i), bound: 1e-13 },
    { shape: [2, 3, 7001], groupAxes: [1], what: 'NCHW planes', members: (g) => range(2 * 7001, (i) => (Math.floor(i / 7001) * 3 + g) * 7001 + (i % 7001)), bound: 1e-13 },
    // columns (channels last): the shift is the first row; 6 channels = one vector of 4 and a scalar tail
    { shape: [7001, 6], groupAxes: [1], what: 'columns, channels last', members: (g) => range(7001, (i) => i * 6 + g), bound: 7001 * 2 ** -53 },
  ];
  it.each(shapes)('$what $shape', ({ shape, groupAxes, members, bound }) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const rand = uniform(99);
    const values = new Float32Array(size);
    for (let i = 0; i < size; i++) values[i] = Math.fround(1000 + 0.002 * (rand() - 0.5));
    // an outlier at the start of every contiguous run (rows, planes) or in the whole first row (columns)
    const D = shape[shape.length - 1];
    if (groupAxes[0] === shape.length - 1) values.fill(1001, 0, D);
    else for (let i = 0; i < size; i += D) values[i] = 1001;
    const x = fromArray(values, shape, 'float32');
    const plan = planNormalization(shape, groupAxes, null);
    const wasm = batchStatistics(viewOf(x), plan, true, 0);
    const ts = onTypeScript(() => batchStatistics(viewOf(x), plan, true, 0));
    let shiftedError = 0;
    for (let g = 0; g < plan.groups; g++) {
      const group = Float32Array.from(members(g), (i) => values[i]);
      expect(group.length).toBe(plan.count);
      const exact = exactVariance(group, 0, plan.count);
      // the shift (first value) is far from the mean: ((mean − K)/σ)² > CONDITION_LIMIT
      let sum = 0;
      for (const v of group) sum += v;
      const mean = sum / plan.count;
      expect((mean - group[0]) ** 2).toBeGreaterThan(CONDITION_LIMIT * exact);
      // the one-pass shifted formula would lose accuracy here
      let s = 0;
      let q = 0;
      for (const v of group) {
        s += v - group[0];
        q += (v - group[0]) ** 2;
      }
      const shifted = q / plan.count - (s / plan.count) ** 2;
      shiftedError = Math.max(shiftedError, Math.abs(shifted - exact) / exact);
      expect(Math.abs(ts.variance[g] - exact) / exact, `typescript, group ${g}`).toBeLessThan(bound);
      expect(Math.abs(wasm.variance[g] - exact) / exact, `wasm, group ${g}`).toBeLessThan(bound);
      expect(Math.abs(wasm.center[g] - mean) / mean).toBeLessThan(1e-15);
    }
    expect(shiftedError).toBeGreaterThan(5e-13);
  });
});

describe('offset groups below the limit: the unshifted one-pass sums keep float64 accuracy', () => {
  // The wasm statistics sum x and x² with no shift (float32 values and their squares are exact
  // in float64 lanes), and take an exact pass of deviations only when (mean/σ)² passes 512
  // (less for columns of more than ~5,500 rows). Just below that limit, mean = 20σ
  // ((mean/σ)² ≈ 400), the one-pass variance must stay within its bound of the exact one, and
  // the mean within 1e-13 of σ. The values are float32 in [16, 32), multiples of 2^-19, so the
  // exact variance is computable, and their float64 partial sums round (they would not on a
  // coarser grid), so the summation error is what is checked.
  const cases: Array<{ what: string; shape: Shape; groupAxes: number[]; members: (g: number) => number[] }> = [
    { what: 'rows of one chunk', shape: [3, 16000], groupAxes: [0], members: (g) => range(16000, (i) => g * 16000 + i) },
    { what: 'NCHW planes', shape: [2, 3, 7001], groupAxes: [1], members: (g) => range(2 * 7001, (i) => (Math.floor(i / 7001) * 3 + g) * 7001 + (i % 7001)) },
    { what: 'columns, channels last', shape: [4099, 6], groupAxes: [1], members: (g) => range(4099, (i) => i * 6 + g) },
  ];
  it.each(cases)('$what $shape', ({ shape, groupAxes, members }) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const rand = uniform(2024);
    // uniform on 20 ± √3: σ = 1
    const values = Float32Array.from({ length: size }, () => Math.fround(20 + Math.sqrt(3) * (2 * rand() - 1)));
    const x = fromArray(values, shape, 'float32');
    const plan = planNormalization(shape, groupAxes, null);
    const wasm = batchStatistics(viewOf(x), plan, true, 0);
    for (let g = 0; g < plan.groups; g++) {
      const group = Float32Array.from(members(g), (i) => values[i]);
      const exact = exactVariance(group, 0, plan.count, 1, 2 ** 19);
      let sum = 0;
      for (const v of group) sum += v;
      const mean = sum / plan.count;
      // below the limit (so the one-pass sums are what is checked), and far from zero
      expect(mean ** 2 / exact).toBeGreaterThan(350);
      expect(mean ** 2 / exact).toBeLessThan(450);
      // The bound at (mean/σ)² = 450 is 2⁻⁴¹·1351 = 6.1e-10; these data measured at most 4.2e-12
      // (deterministic: fixed data and summation order), so 1e-10 catches a kernel that loses
      // digits while staying inside the bound.
      expect(Math.abs(wasm.variance[g] - exact) / exact, `variance, group ${g}`).toBeLessThan(1e-10);
      expect(Math.abs(wasm.center[g] - mean) / Math.sqrt(exact), `mean, group ${g}`).toBeLessThan(1e-13);
    }
  });
});
