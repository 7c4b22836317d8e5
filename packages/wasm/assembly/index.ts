// normkit's WebAssembly SIMD kernels (AssemblyScript, compiled by `asc` during `npm run build`).
//
// Conventions
// - Every pointer is a byte offset into the imported linear memory (`env.memory`); the
//   JavaScript pool (src/pool.ts) owns all allocation. The module has no data segments
//   and uses no runtime allocator.
// - Tensors are float32, row-major. The "cells" kernels (statistics, normalize, gradient sums,
//   input gradient) see one `(B, C, D)` slice of core's `Blocks {A, B, C, D}`: `outer = B`
//   reduced, `C` kept, `inner = D` reduced (inner = 1: the columns form, e.g. channels last
//   or (N, C)); the JS side loops over A. The "rows" kernels see `rows × F`.
// - Per-channel / per-row statistics and the parameter-gradient sums are float64 arrays,
//   and every reduction accumulates in float64 lanes (f64x2). Element-wise passes
//   (normalize, input gradient, LN forward, dx) run in float32 lanes from float32 copies
//   of their per-channel constants (prepared by the JS side). The float64 mean is split into
//   two floats `m + mLo`, and `(x − m) − mLo` is computed: x − m is exact when x is near the
//   mean (Sterbenz), so inputs far from zero with a small spread keep their accuracy.
// - Centered statistics: biased variance clamped at 0. Runs of one group: cache-sized chunks,
//   each one pass of unshifted sums Σx, Σx² (exact terms in float64 lanes), merged with Chan's
//   formula; a chunk too ill-conditioned for it ((mean/σ)² > UNSHIFTED_LIMIT) takes a second,
//   exact pass of deviations from its mean (see `moments`). Columns: one pass in memory order
//   into float64 accumulator arrays, and the same test per column, redone with two exact passes
//   down it (see `columnMoments`).
// - Tails (sizes not a multiple of 4 or of the unroll) run scalar.

// @ts-ignore: decorator
@inline const TILE: i32 = 16384;

// How far the mean may sit from zero, in standard deviations squared, before the one-pass
// sums Σx, Σx² (no shift) are replaced by an exact pass of deviations from that mean. A float32
// x and its square are exact in float64, so the only rounding is the float64 summation,
// relative 2⁻⁵³ per addition; over a chunk of at most 2¹⁴ values in four lanes (2¹² additions
// each), m2 = Σx² − (Σx)²/n is then within about 2⁻⁴¹·(1 + 3μ²/σ²) of itself: under 2⁻³⁰
// (9.3e-10) at this limit, at least 64 times below the float32 results' own rounding (2⁻²⁴).
// (Core's TypeScript kernel shifts by a chunk's first value instead, with its own limit of 64
// on (mean − shift)²/σ², for float64 results.)
// @ts-ignore: decorator
@inline const UNSHIFTED_LIMIT: f64 = 512;

// Two results of the centred pass (globals: no memory, one copy per instance/thread).
let gDrift: f64 = 0;
let gSquares: f64 = 0;

// @ts-ignore: decorator
@inline function lo64(v: v128): v128 {
  return f64x2.promote_low_f32x4(v);
}
// @ts-ignore: decorator
@inline function hi64(v: v128): v128 {
  return f64x2.promote_low_f32x4(f32x4.shuffle(v, v, 2, 3, 2, 3));
}
// @ts-ignore: decorator
@inline function hsum(v: v128): f64 {
  return f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1);
}
// @ts-ignore: decorator
@inline function ld(p: usize): v128 {
  return v128.load(p);
}
// @ts-ignore: decorator
@inline function f32At(p: usize, i: i32): f32 {
  return load<f32>(p + (<usize>i << 2));
}
// @ts-ignore: decorator
@inline function f64At(p: usize, i: i32): f64 {
  return load<f64>(p + (<usize>i << 3));
}
// @ts-ignore: decorator
@inline function f64Set(p: usize, i: i32, v: f64): void {
  store<f64>(p + (<usize>i << 3), v);
}

/** Σ x² over `n` contiguous floats, float64 lanes. */
function squaresRun(p: usize, n: i32): f64 {
  let q0 = f64x2.splat(0);
  let q1 = f64x2.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = ld(p + (<usize>i << 2));
    const a = lo64(v);
    const b = hi64(v);
    q0 = f64x2.add(q0, f64x2.mul(a, a));
    q1 = f64x2.add(q1, f64x2.mul(b, b));
  }
  let q = hsum(f64x2.add(q0, q1));
  for (; i < n; i++) {
    const v = <f64>f32At(p, i);
    q += v * v;
  }
  return q;
}

/**
 * Σ (x − m) → gDrift and Σ (x − m)² → gSquares over `n` contiguous floats, float64 lanes.
 * Inlined with a constant `shifted`: false drops the subtraction (m = 0), which the
 * optimizer removes from the loop.
 */
// @ts-ignore: decorator
@inline function momentsRun(p: usize, n: i32, m: f64, shifted: bool): void {
  const mv = f64x2.splat(m);
  let d0 = f64x2.splat(0);
  let d1 = f64x2.splat(0);
  let q0 = f64x2.splat(0);
  let q1 = f64x2.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = ld(p + (<usize>i << 2));
    const e0 = shifted ? f64x2.sub(lo64(v), mv) : lo64(v);
    const e1 = shifted ? f64x2.sub(hi64(v), mv) : hi64(v);
    d0 = f64x2.add(d0, e0);
    d1 = f64x2.add(d1, e1);
    q0 = f64x2.add(q0, f64x2.mul(e0, e0));
    q1 = f64x2.add(q1, f64x2.mul(e1, e1));
  }
  let d = hsum(f64x2.add(d0, d1));
  let q = hsum(f64x2.add(q0, q1));
  for (; i < n; i++) {
    const e = <f64>f32At(p, i) - m;
    d += e;
    q += e * e;
  }
  gDrift = d;
  gSquares = q;
}

/** {@link momentsRun} around `m`: deviations from a mean (the exact second pass). */
function centredRun(p: usize, n: i32, m: f64): void {
  momentsRun(p, n, m, true);
}

/** {@link momentsRun} with no shift: Σ x and Σ x² (the one-pass sums). */
function plainRun(p: usize, n: i32): void {
  momentsRun(p, n, 0, false);
}

/** Chan's merge of a chunk `(countB, meanB, m2B)` into group g's running moments (count countA). */
// @ts-ignore: decorator
@inline function mergeInto(mean: usize, m2: usize, g: i32, countA: f64, countB: f64, meanB: f64, m2B: f64): void {
  const total = countA + countB;
  const m = f64At(mean, g);
  const delta = meanB - m;
  f64Set(mean, g, m + (delta * countB) / total);
  f64Set(m2, g, f64At(m2, g) + m2B + (delta * delta * countA * countB) / total);
}

/**
 * Columns form of `moments` (`inner = 1`: a row-major `(rows, groups)` block, e.g. channels
 * last). Streams the block in memory order, four rows at a time (the last few one by one),
 * into float64 accumulator arrays `mean[g] ← Σx`, `m2[g] ← Σx²`, then per group
 * `mean = S/n` and `m2 = Q − S²/n`. A group whose mean sits too far from zero for that
 * (`(S/n)² > limit·spread`, see UNSHIFTED_LIMIT; lower past ~5,500 rows) is redone with an
 * exact pass of deviations from S/n, down its four columns at once (`exactColumns4`). The
 * accumulators live in memory, not registers, so no addition waits on the one before it; four
 * rows per visit pay their loads and stores once per 16 values.
 */
function columnMoments(x: usize, rows: i32, groups: i32, mean: usize, m2: usize): void {
  const wide = groups & ~3;
  const rowBytes = <usize>groups << 2;
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    const p = x + <usize>r * rowBytes;
    const p2 = p + rowBytes;
    const p3 = p2 + rowBytes;
    const p4 = p3 + rowBytes;
    for (let g = 0; g < wide; g += 4) {
      const o = <usize>g << 2;
      const v = ld(p + o);
      const w = ld(p2 + o);
      const u = ld(p3 + o);
      const z = ld(p4 + o);
      const a0 = lo64(v);
      const a1 = hi64(v);
      const b0 = lo64(w);
      const b1 = hi64(w);
      const c0 = lo64(u);
      const c1 = hi64(u);
      const d0 = lo64(z);
      const d1 = hi64(z);
      const s = mean + (<usize>g << 3);
      const q = m2 + (<usize>g << 3);
      v128.store(s, f64x2.add(v128.load(s), f64x2.add(f64x2.add(a0, b0), f64x2.add(c0, d0))));
      v128.store(s + 16, f64x2.add(v128.load(s + 16), f64x2.add(f64x2.add(a1, b1), f64x2.add(c1, d1))));
      const q0 = f64x2.add(f64x2.add(f64x2.mul(a0, a0), f64x2.mul(b0, b0)), f64x2.add(f64x2.mul(c0, c0), f64x2.mul(d0, d0)));
      const q1 = f64x2.add(f64x2.add(f64x2.mul(a1, a1), f64x2.mul(b1, b1)), f64x2.add(f64x2.mul(c1, c1), f64x2.mul(d1, d1)));
      v128.store(q, f64x2.add(v128.load(q), q0));
      v128.store(q + 16, f64x2.add(v128.load(q + 16), q1));
    }
  }
  for (; r < rows; r++) {
    const p = x + <usize>r * rowBytes;
    for (let g = 0; g < wide; g += 4) {
      const v = ld(p + (<usize>g << 2));
      const d0 = lo64(v);
      const d1 = hi64(v);
      const s = mean + (<usize>g << 3);
      const q = m2 + (<usize>g << 3);
      v128.store(s, f64x2.add(v128.load(s), d0));
      v128.store(s + 16, f64x2.add(v128.load(s + 16), d1));
      v128.store(q, f64x2.add(v128.load(q), f64x2.mul(d0, d0)));
      v128.store(q + 16, f64x2.add(v128.load(q + 16), f64x2.mul(d1, d1)));
    }
  }
  for (let g = wide; g < groups; g++) {
    let s: f64 = 0;
    let q: f64 = 0;
    let p = x + (<usize>g << 2);
    for (let i = 0; i < rows; i++, p += rowBytes) {
      const d = <f64>load<f32>(p);
      s += d;
      q += d * d;
    }
    f64Set(mean, g, s);
    f64Set(m2, g, q);
  }
  const n = <f64>rows;
  // The scalar tail columns (and the leftover rows) add one row at a time, up to n additions
  // where a run adds n/4 per lane: for the same 2⁻³⁰ bound, n·2⁻⁵³·(1 + 3μ²/σ²) ≤ 2⁻³⁰, a lower
  // limit past about 5,500 rows (applied to every column; the vector columns would allow 4×).
  // One row never fails: q − s·s/1 is exactly 0 (a streamed piece of a very wide tensor is one row).
  const limit = min<f64>(UNSHIFTED_LIMIT, (8388608.0 / n - 1) / 3);
  const nv = f64x2.splat(n);
  const lv = f64x2.splat(limit);
  for (let g = 0; g < wide; g += 4) {
    const sp = mean + (<usize>g << 3);
    const qp = m2 + (<usize>g << 3);
    const s0 = v128.load(sp);
    const s1 = v128.load(sp + 16);
    const q0 = v128.load(qp);
    const q1 = v128.load(qp + 16);
    const c0 = f64x2.div(s0, nv);
    const c1 = f64x2.div(s1, nv);
    const t0 = f64x2.mul(c0, c0);
    const t1 = f64x2.mul(c1, c1);
    // (S/n)² > limit·(Q/n − (S/n)²), per lane
    const f0 = f64x2.gt(t0, f64x2.mul(lv, f64x2.sub(f64x2.div(q0, nv), t0)));
    const f1 = f64x2.gt(t1, f64x2.mul(lv, f64x2.sub(f64x2.div(q1, nv), t1)));
    if (rows > 1 && v128.any_true(v128.or(f0, f1))) {
      exactColumns4(x, rows, rowBytes, g, mean, m2);
      continue;
    }
    v128.store(sp, c0);
    v128.store(sp + 16, c1);
    v128.store(qp, f64x2.sub(q0, f64x2.div(f64x2.mul(s0, s0), nv)));
    v128.store(qp + 16, f64x2.sub(q1, f64x2.div(f64x2.mul(s1, s1), nv)));
  }
  for (let j = wide; j < groups; j++) {
    const s = f64At(mean, j);
    const q = f64At(m2, j);
    const meanShift = s / n;
    if (rows > 1 && meanShift * meanShift > limit * (q / n - meanShift * meanShift)) {
      // A tail column, ill-conditioned for the one-pass sums: an exact pass down it.
      let p = x + (<usize>j << 2);
      let drift: f64 = 0;
      let squares: f64 = 0;
      for (let i = 0; i < rows; i++, p += rowBytes) {
        const d = <f64>load<f32>(p) - meanShift;
        drift += d;
        squares += d * d;
      }
      f64Set(mean, j, meanShift + drift / n);
      f64Set(m2, j, squares - (drift * drift) / n);
    } else {
      f64Set(mean, j, meanShift);
      f64Set(m2, j, q - (s * s) / n);
    }
  }
}

/**
 * The exact pass of `columnMoments` for four columns `g … g+3` of which at least one failed the
 * one-pass test: with c = Σx/n from the first pass (in `mean`), `mean = c + Σ(x − c)/n` and
 * `m2 = Σ(x − c)² − (Σ(x − c))²/n`, down the rows two at a time in float64 lanes.
 */
function exactColumns4(x: usize, rows: i32, rowBytes: usize, g: i32, mean: usize, m2: usize): void {
  const n = f64x2.splat(<f64>rows);
  const s = mean + (<usize>g << 3);
  const q = m2 + (<usize>g << 3);
  const c0 = f64x2.div(v128.load(s), n);
  const c1 = f64x2.div(v128.load(s + 16), n);
  let d0 = f64x2.splat(0);
  let d1 = f64x2.splat(0);
  let q0 = f64x2.splat(0);
  let q1 = f64x2.splat(0);
  let p = x + (<usize>g << 2);
  let r = 0;
  for (; r + 2 <= rows; r += 2, p += rowBytes << 1) {
    const v = ld(p);
    const w = ld(p + rowBytes);
    const a0 = f64x2.sub(lo64(v), c0);
    const a1 = f64x2.sub(hi64(v), c1);
    const b0 = f64x2.sub(lo64(w), c0);
    const b1 = f64x2.sub(hi64(w), c1);
    d0 = f64x2.add(d0, f64x2.add(a0, b0));
    d1 = f64x2.add(d1, f64x2.add(a1, b1));
    q0 = f64x2.add(q0, f64x2.add(f64x2.mul(a0, a0), f64x2.mul(b0, b0)));
    q1 = f64x2.add(q1, f64x2.add(f64x2.mul(a1, a1), f64x2.mul(b1, b1)));
  }
  if (r < rows) {
    const v = ld(p);
    const a0 = f64x2.sub(lo64(v), c0);
    const a1 = f64x2.sub(hi64(v), c1);
    d0 = f64x2.add(d0, a0);
    d1 = f64x2.add(d1, a1);
    q0 = f64x2.add(q0, f64x2.mul(a0, a0));
    q1 = f64x2.add(q1, f64x2.mul(a1, a1));
  }
  v128.store(s, f64x2.add(c0, f64x2.div(d0, n)));
  v128.store(s + 16, f64x2.add(c1, f64x2.div(d1, n)));
  v128.store(q, f64x2.sub(q0, f64x2.div(f64x2.mul(d0, d0), n)));
  v128.store(q + 16, f64x2.sub(q1, f64x2.div(f64x2.mul(d1, d1), n)));
}

/**
 * Per-group mean and biased variance of a row-major float32 block `(outer, groups, inner)`
 * in float64 lanes (core's centered `moments` kernel on one `(B, C, D)` slice; layer norm's
 * statistics are `(1, rows, F)`). `mean` and `variance` are float64 arrays of `groups`.
 */
export function moments(x: usize, outer: i32, groups: i32, inner: i32, mean: usize, variance: usize): void {
  const m2 = variance;
  memory.fill(mean, 0, <usize>groups << 3);
  memory.fill(m2, 0, <usize>groups << 3);
  if (inner > 1) {
    const chunk = min(inner, TILE);
    for (let o = 0; o < outer; o++) {
      const countA0 = <f64>o * <f64>inner;
      for (let g = 0; g < groups; g++) {
        const base = x + ((<usize>o * <usize>groups + <usize>g) * <usize>inner << 2);
        for (let start = 0; start < inner; start += chunk) {
          const length = min(chunk, inner - start);
          const p = base + (<usize>start << 2);
          const len = <f64>length;
          // One pass, unshifted: mean = Σx/n, m2 = Σx² − (Σx)²/n (float32 values and their
          // squares are exact in float64 lanes; see UNSHIFTED_LIMIT). Its rounding error grows
          // with (mean/σ)²; past the limit the chunk, still in cache, takes the second of the
          // exact two passes (deviations from that mean).
          let center: f64 = 0;
          plainRun(p, length);
          const meanShift = gDrift / len;
          const spread = gSquares / len - meanShift * meanShift;
          if (meanShift * meanShift > UNSHIFTED_LIMIT * spread) {
            center = meanShift;
            centredRun(p, length, center);
          }
          const chunkMean = center + gDrift / len;
          mergeInto(mean, m2, g, countA0 + <f64>start, len, chunkMean, gSquares - (gDrift * gDrift) / len);
        }
      }
    }
  } else {
    columnMoments(x, outer, groups, mean, m2);
  }
  const count = <f64>outer * <f64>inner;
  for (let g = 0; g < groups; g++) f64Set(variance, g, max<f64>(0, f64At(m2, g)) / count);
}

/**
 * Uncentered moments (RMS norm) of a row-major float32 block `(outer, groups, inner)`:
 * `mean[g] = 0` and `variance[g] = Σ x² / (outer·inner)`, the mean square, summed in float64
 * lanes. `mean` and `variance` are float64 arrays of `groups`.
 */
export function squareMoments(x: usize, outer: i32, groups: i32, inner: i32, mean: usize, variance: usize): void {
  memory.fill(mean, 0, <usize>groups << 3);
  memory.fill(variance, 0, <usize>groups << 3);
  if (inner > 1) {
    let p = x;
    const plane = <usize>inner << 2;
    for (let o = 0; o < outer; o++) {
      for (let g = 0; g < groups; g++, p += plane) f64Set(variance, g, f64At(variance, g) + squaresRun(p, inner));
    }
  } else {
    // Columns: tiles of rows, 4 groups at a time with float64 sums in registers.
    const tileRows = max(1, TILE / groups);
    const wide = groups & ~3;
    const rowBytes = <usize>groups << 2;
    for (let t0 = 0; t0 < outer; t0 += tileRows) {
      const rows = min(tileRows, outer - t0);
      const tile = x + <usize>t0 * rowBytes;
      for (let g = 0; g < wide; g += 4) {
        let q0 = f64x2.splat(0);
        let q1 = f64x2.splat(0);
        let p = tile + (<usize>g << 2);
        for (let r = 0; r < rows; r++, p += rowBytes) {
          const v = ld(p);
          const a = lo64(v);
          const b = hi64(v);
          q0 = f64x2.add(q0, f64x2.mul(a, a));
          q1 = f64x2.add(q1, f64x2.mul(b, b));
        }
        const out = variance + (<usize>g << 3);
        v128.store(out, f64x2.add(v128.load(out), q0));
        v128.store(out + 16, f64x2.add(v128.load(out + 16), q1));
      }
      for (let g = wide; g < groups; g++) {
        let q: f64 = 0;
        let p = tile + (<usize>g << 2);
        for (let r = 0; r < rows; r++, p += rowBytes) {
          const v = <f64>load<f32>(p);
          q += v * v;
        }
        f64Set(variance, g, f64At(variance, g) + q);
      }
    }
  }
  const count = <f64>outer * <f64>inner;
  for (let g = 0; g < groups; g++) f64Set(variance, g, f64At(variance, g) / count);
}

/**
 * `y = ((x − m) − mLo)·s + b` over `n` contiguous floats with scalar constants. The mean is
 * split into float32 `m + mLo` (see the header): `x − m` is exact when x is near the mean.
 */
function affineRun(x: usize, y: usize, n: i32, m: f32, mLo: f32, s: f32, b: f32): void {
  const mv = f32x4.splat(m);
  const lv = f32x4.splat(mLo);
  const sv = f32x4.splat(s);
  const bv = f32x4.splat(b);
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const o = <usize>i << 2;
    const v = ld(x + o);
    const w = ld(x + o + 16);
    v128.store(y + o, f32x4.add(f32x4.mul(f32x4.sub(f32x4.sub(v, mv), lv), sv), bv));
    v128.store(y + o + 16, f32x4.add(f32x4.mul(f32x4.sub(f32x4.sub(w, mv), lv), sv), bv));
  }
  if (i + 4 <= n) {
    const o = <usize>i << 2;
    v128.store(y + o, f32x4.add(f32x4.mul(f32x4.sub(f32x4.sub(ld(x + o), mv), lv), sv), bv));
    i += 4;
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, (load<f32>(x + o) - m - mLo) * s + b);
  }
}

/**
 * The cells forward map (core's `normalizeCells` on one `(B, C, D)` slice; batch norm's
 * forward in train and eval): `y = ((x − mean[c]) − meanLo[c])·scale[c] + shift[c]` over
 * `(outer, C, inner)`; `mean`, `meanLo`, `scale`, `shift` are float32 arrays of C.
 */
export function bnNormalize(x: usize, outer: i32, channels: i32, inner: i32, mean: usize, meanLo: usize, scale: usize, shift: usize, y: usize): void {
  if (inner > 1) {
    const plane = <usize>inner << 2;
    let p = x;
    let q = y;
    for (let o = 0; o < outer; o++) {
      for (let c = 0; c < channels; c++, p += plane, q += plane) {
        affineRun(p, q, inner, f32At(mean, c), f32At(meanLo, c), f32At(scale, c), f32At(shift, c));
      }
    }
    return;
  }
  // Columns: two rows per load of the per-channel constants.
  const wide = channels & ~3;
  const rowBytes = <usize>channels << 2;
  let r = 0;
  for (; r + 2 <= outer; r += 2) {
    const p = x + <usize>r * rowBytes;
    const q = y + <usize>r * rowBytes;
    for (let c = 0; c < wide; c += 4) {
      const o = <usize>c << 2;
      const mv = ld(mean + o);
      const lv = ld(meanLo + o);
      const sv = ld(scale + o);
      const bv = ld(shift + o);
      v128.store(q + o, f32x4.add(f32x4.mul(f32x4.sub(f32x4.sub(ld(p + o), mv), lv), sv), bv));
      v128.store(q + rowBytes + o, f32x4.add(f32x4.mul(f32x4.sub(f32x4.sub(ld(p + rowBytes + o), mv), lv), sv), bv));
    }
  }
  for (; r < outer; r++) {
    const p = x + <usize>r * rowBytes;
    const q = y + <usize>r * rowBytes;
    for (let c = 0; c < wide; c += 4) {
      const o = <usize>c << 2;
      v128.store(q + o, f32x4.add(f32x4.mul(f32x4.sub(f32x4.sub(ld(p + o), ld(mean + o)), ld(meanLo + o)), ld(scale + o)), ld(shift + o)));
    }
  }
  for (let c = wide; c < channels; c++) {
    const o = <usize>c << 2;
    const m = load<f32>(mean + o);
    const ml = load<f32>(meanLo + o);
    const sc = load<f32>(scale + o);
    const sh = load<f32>(shift + o);
    for (let i = 0; i < outer; i++) {
      const e = <usize>i * rowBytes + o;
      store<f32>(y + e, (load<f32>(x + e) - m - ml) * sc + sh);
    }
  }
}

/**
 * The cells backward reductions (core's `gradientSums` on one `(B, C, D)` slice):
 * `sumDy[c] = Σ dy`, `sumDyCentered[c] = Σ dy·(x − mean[c])` in float64 lanes (`mean`,
 * `sumDy`, `sumDyCentered`: float64 arrays of C; overwritten).
 */
export function bnGradientSums(x: usize, dy: usize, outer: i32, channels: i32, inner: i32, mean: usize, sumDy: usize, sumDyCentered: usize): void {
  memory.fill(sumDy, 0, <usize>channels << 3);
  memory.fill(sumDyCentered, 0, <usize>channels << 3);
  if (inner > 1) {
    let p = x;
    let q = dy;
    for (let o = 0; o < outer; o++) {
      for (let c = 0; c < channels; c++) {
        const m = f64At(mean, c);
        const mv = f64x2.splat(m);
        let s0 = f64x2.splat(0);
        let s1 = f64x2.splat(0);
        let t0 = f64x2.splat(0);
        let t1 = f64x2.splat(0);
        let i = 0;
        for (; i + 4 <= inner; i += 4) {
          const o4 = <usize>i << 2;
          const v = ld(p + o4);
          const g = ld(q + o4);
          const g0 = lo64(g);
          const g1 = hi64(g);
          s0 = f64x2.add(s0, g0);
          s1 = f64x2.add(s1, g1);
          t0 = f64x2.add(t0, f64x2.mul(g0, f64x2.sub(lo64(v), mv)));
          t1 = f64x2.add(t1, f64x2.mul(g1, f64x2.sub(hi64(v), mv)));
        }
        let s = hsum(f64x2.add(s0, s1));
        let t = hsum(f64x2.add(t0, t1));
        for (; i < inner; i++) {
          const g = <f64>f32At(q, i);
          s += g;
          t += g * (<f64>f32At(p, i) - m);
        }
        f64Set(sumDy, c, f64At(sumDy, c) + s);
        f64Set(sumDyCentered, c, f64At(sumDyCentered, c) + t);
        p += <usize>inner << 2;
        q += <usize>inner << 2;
      }
    }
    return;
  }
  // Channels last: the block streamed in memory order, two rows at a time, into the float64
  // sums (accumulators in memory: no addition waits on the one before it).
  const wide = channels & ~3;
  const rowBytes = <usize>channels << 2;
  let r = 0;
  for (; r + 2 <= outer; r += 2) {
    const px = x + <usize>r * rowBytes;
    const pd = dy + <usize>r * rowBytes;
    for (let c = 0; c < wide; c += 4) {
      const o = <usize>c << 2;
      const o8 = <usize>c << 3;
      const m0 = v128.load(mean + o8);
      const m1 = v128.load(mean + o8 + 16);
      const v = ld(px + o);
      const w = ld(px + rowBytes + o);
      const g = ld(pd + o);
      const h = ld(pd + rowBytes + o);
      const g0 = lo64(g);
      const g1 = hi64(g);
      const h0 = lo64(h);
      const h1 = hi64(h);
      const a = sumDy + o8;
      const b = sumDyCentered + o8;
      v128.store(a, f64x2.add(v128.load(a), f64x2.add(g0, h0)));
      v128.store(a + 16, f64x2.add(v128.load(a + 16), f64x2.add(g1, h1)));
      const u0 = f64x2.add(f64x2.mul(g0, f64x2.sub(lo64(v), m0)), f64x2.mul(h0, f64x2.sub(lo64(w), m0)));
      const u1 = f64x2.add(f64x2.mul(g1, f64x2.sub(hi64(v), m1)), f64x2.mul(h1, f64x2.sub(hi64(w), m1)));
      v128.store(b, f64x2.add(v128.load(b), u0));
      v128.store(b + 16, f64x2.add(v128.load(b + 16), u1));
    }
  }
  for (; r < outer; r++) {
    const px = x + <usize>r * rowBytes;
    const pd = dy + <usize>r * rowBytes;
    for (let c = 0; c < wide; c += 4) {
      const o = <usize>c << 2;
      const o8 = <usize>c << 3;
      const v = ld(px + o);
      const g = ld(pd + o);
      const g0 = lo64(g);
      const g1 = hi64(g);
      const a = sumDy + o8;
      const b = sumDyCentered + o8;
      v128.store(a, f64x2.add(v128.load(a), g0));
      v128.store(a + 16, f64x2.add(v128.load(a + 16), g1));
      v128.store(b, f64x2.add(v128.load(b), f64x2.mul(g0, f64x2.sub(lo64(v), v128.load(mean + o8)))));
      v128.store(b + 16, f64x2.add(v128.load(b + 16), f64x2.mul(g1, f64x2.sub(hi64(v), v128.load(mean + o8 + 16)))));
    }
  }
  for (let c = wide; c < channels; c++) {
    const m = f64At(mean, c);
    let s: f64 = 0;
    let u: f64 = 0;
    let p = x + (<usize>c << 2);
    let q = dy + (<usize>c << 2);
    for (let i = 0; i < outer; i++, p += rowBytes, q += rowBytes) {
      const g = <f64>load<f32>(q);
      s += g;
      u += g * (<f64>load<f32>(p) - m);
    }
    f64Set(sumDy, c, s);
    f64Set(sumDyCentered, c, u);
  }
}

/**
 * The cells input gradient (core's `inputGradient` on one `(B, C, D)` slice):
 * `dx = a[c]·dy + b[c]·((x − mean[c]) − meanLo[c]) + k[c]` over `(outer, C, inner)`;
 * `mean`, `meanLo`, `a`, `b`, `k` are float32 arrays of C.
 */
export function bnInputGradient(x: usize, dy: usize, outer: i32, channels: i32, inner: i32, mean: usize, meanLo: usize, a: usize, b: usize, k: usize, dx: usize): void {
  if (inner > 1) {
    let p = x;
    let q = dy;
    let r = dx;
    for (let o = 0; o < outer; o++) {
      for (let c = 0; c < channels; c++) {
        const m = f32At(mean, c);
        const ml = f32At(meanLo, c);
        const lv = f32x4.splat(ml);
        const ac = f32At(a, c);
        const bc = f32At(b, c);
        const kc = f32At(k, c);
        const mv = f32x4.splat(m);
        const av = f32x4.splat(ac);
        const bv = f32x4.splat(bc);
        const kv = f32x4.splat(kc);
        let i = 0;
        for (; i + 8 <= inner; i += 8) {
          const o4 = <usize>i << 2;
          v128.store(r + o4, f32x4.add(f32x4.add(f32x4.mul(av, ld(q + o4)), f32x4.mul(bv, f32x4.sub(f32x4.sub(ld(p + o4), mv), lv))), kv));
          v128.store(r + o4 + 16, f32x4.add(f32x4.add(f32x4.mul(av, ld(q + o4 + 16)), f32x4.mul(bv, f32x4.sub(f32x4.sub(ld(p + o4 + 16), mv), lv))), kv));
        }
        if (i + 4 <= inner) {
          const o4 = <usize>i << 2;
          v128.store(r + o4, f32x4.add(f32x4.add(f32x4.mul(av, ld(q + o4)), f32x4.mul(bv, f32x4.sub(f32x4.sub(ld(p + o4), mv), lv))), kv));
          i += 4;
        }
        for (; i < inner; i++) {
          const o4 = <usize>i << 2;
          store<f32>(r + o4, ac * load<f32>(q + o4) + bc * (load<f32>(p + o4) - m - ml) + kc);
        }
        const plane = <usize>inner << 2;
        p += plane;
        q += plane;
        r += plane;
      }
    }
    return;
  }
  // Columns: two rows per load of the per-channel constants.
  const wide = channels & ~3;
  const rowBytes = <usize>channels << 2;
  let row = 0;
  for (; row + 2 <= outer; row += 2) {
    const p = x + <usize>row * rowBytes;
    const q = dy + <usize>row * rowBytes;
    const r = dx + <usize>row * rowBytes;
    for (let c = 0; c < wide; c += 4) {
      const o = <usize>c << 2;
      const av = ld(a + o);
      const bv = ld(b + o);
      const mv = ld(mean + o);
      const lv = ld(meanLo + o);
      const kv = ld(k + o);
      v128.store(r + o, f32x4.add(f32x4.add(f32x4.mul(av, ld(q + o)), f32x4.mul(bv, f32x4.sub(f32x4.sub(ld(p + o), mv), lv))), kv));
      const o2 = o + rowBytes;
      v128.store(r + o2, f32x4.add(f32x4.add(f32x4.mul(av, ld(q + o2)), f32x4.mul(bv, f32x4.sub(f32x4.sub(ld(p + o2), mv), lv))), kv));
    }
  }
  for (; row < outer; row++) {
    const p = x + <usize>row * rowBytes;
    const q = dy + <usize>row * rowBytes;
    const r = dx + <usize>row * rowBytes;
    for (let c = 0; c < wide; c += 4) {
      const o = <usize>c << 2;
      v128.store(r + o, f32x4.add(f32x4.add(f32x4.mul(ld(a + o), ld(q + o)), f32x4.mul(ld(b + o), f32x4.sub(f32x4.sub(ld(p + o), ld(mean + o)), ld(meanLo + o)))), ld(k + o)));
    }
  }
  for (let c = wide; c < channels; c++) {
    const o = <usize>c << 2;
    const ac = load<f32>(a + o);
    const bc = load<f32>(b + o);
    const m = load<f32>(mean + o);
    const ml = load<f32>(meanLo + o);
    const kc = load<f32>(k + o);
    for (let i = 0; i < outer; i++) {
      const e = <usize>i * rowBytes + o;
      store<f32>(dx + e, ac * load<f32>(dy + e) + bc * (load<f32>(x + e) - m - ml) + kc);
    }
  }
}

/**
 * The rows forward map (core's `normalizeRows`, leading rows; layer norm, RMS norm):
 * `y = (x − mean[r])·invStd[r]·scale[f] + shift[f]` over `rows × F`; `mean`, `invStd`
 * float64 arrays of rows, `scale`, `shift` float32 arrays of F.
 */
export function lnForward(x: usize, rows: i32, features: i32, mean: usize, invStd: usize, scale: usize, shift: usize, y: usize): void {
  const rowBytes = <usize>features << 2;
  let p = x;
  let q = y;
  for (let r = 0; r < rows; r++, p += rowBytes, q += rowBytes) {
    const m64 = f64At(mean, r);
    const m = <f32>m64;
    const ml = <f32>(m64 - <f64>m);
    const s = <f32>f64At(invStd, r);
    const mv = f32x4.splat(m);
    const lv = f32x4.splat(ml);
    const sv = f32x4.splat(s);
    let i = 0;
    for (; i + 8 <= features; i += 8) {
      const o = <usize>i << 2;
      v128.store(q + o, f32x4.add(f32x4.mul(f32x4.mul(f32x4.sub(f32x4.sub(ld(p + o), mv), lv), sv), ld(scale + o)), ld(shift + o)));
      v128.store(q + o + 16, f32x4.add(f32x4.mul(f32x4.mul(f32x4.sub(f32x4.sub(ld(p + o + 16), mv), lv), sv), ld(scale + o + 16)), ld(shift + o + 16)));
    }
    if (i + 4 <= features) {
      const o = <usize>i << 2;
      v128.store(q + o, f32x4.add(f32x4.mul(f32x4.mul(f32x4.sub(f32x4.sub(ld(p + o), mv), lv), sv), ld(scale + o)), ld(shift + o)));
      i += 4;
    }
    for (; i < features; i++) {
      const o = <usize>i << 2;
      store<f32>(q + o, (load<f32>(p + o) - m - ml) * s * load<f32>(scale + o) + load<f32>(shift + o));
    }
  }
}

/**
 * Rows backward over `rows × F` (core's `backwardRows`): writes `dx` and **adds**
 * `Σ_rows dy·x̂` to `dscale` and `Σ_rows dy` to `dshift` (float64 arrays of F). With
 * `g = dy·scale` and `x̂ = (x − mean[r])·invStd[r]`:
 * `dx = invStd·(g − meanFactor·Σ_r g − x̂·xhatFactor·Σ_r g·x̂)`, where `meanFactor = 1/m`
 * when centered with batch statistics (else 0) and `xhatFactor = 1/m` with batch statistics
 * (else 0; then `dx = invStd·g`). Row sums and parameter sums accumulate in float64 lanes;
 * `scale` is a float32 array of F.
 */
export function lnBackward(
  x: usize,
  dy: usize,
  rows: i32,
  features: i32,
  mean: usize,
  invStd: usize,
  scale: usize,
  dx: usize,
  dscale: usize,
  dshift: usize,
  meanFactor: f64,
  xhatFactor: f64,
): void {
  const rowBytes = <usize>features << 2;
  const wide = features & ~3;
  let p = x;
  let q = dy;
  let w = dx;
  for (let r = 0; r < rows; r++, p += rowBytes, q += rowBytes, w += rowBytes) {
    const m64 = f64At(mean, r);
    const m = <f32>m64;
    const ml = <f32>(m64 - <f64>m);
    const s = <f32>f64At(invStd, r);
    const mv = f32x4.splat(m);
    const lv = f32x4.splat(ml);
    const sv = f32x4.splat(s);
    let g0 = f64x2.splat(0);
    let g1 = f64x2.splat(0);
    let h0 = f64x2.splat(0);
    let h1 = f64x2.splat(0);
    let i = 0;
    for (; i < wide; i += 4) {
      const o = <usize>i << 2;
      const xhat = f32x4.mul(f32x4.sub(f32x4.sub(ld(p + o), mv), lv), sv);
      const up = ld(q + o);
      const g = f32x4.mul(up, ld(scale + o));
      const gx = f32x4.mul(g, xhat);
      const ux = f32x4.mul(up, xhat);
      g0 = f64x2.add(g0, lo64(g));
      g1 = f64x2.add(g1, hi64(g));
      h0 = f64x2.add(h0, lo64(gx));
      h1 = f64x2.add(h1, hi64(gx));
      const a = dscale + (<usize>i << 3);
      const b = dshift + (<usize>i << 3);
      v128.store(a, f64x2.add(v128.load(a), lo64(ux)));
      v128.store(a + 16, f64x2.add(v128.load(a + 16), hi64(ux)));
      v128.store(b, f64x2.add(v128.load(b), lo64(up)));
      v128.store(b + 16, f64x2.add(v128.load(b + 16), hi64(up)));
    }
    let sumG = hsum(f64x2.add(g0, g1));
    let sumGX = hsum(f64x2.add(h0, h1));
    for (; i < features; i++) {
      const o = <usize>i << 2;
      const xhat = (load<f32>(p + o) - m - ml) * s;
      const up = load<f32>(q + o);
      const g = up * load<f32>(scale + o);
      sumG += <f64>g;
      sumGX += <f64>(g * xhat);
      f64Set(dscale, i, f64At(dscale, i) + <f64>(up * xhat));
      f64Set(dshift, i, f64At(dshift, i) + <f64>up);
    }
    const meanG = <f32>(sumG * meanFactor);
    const meanGX = <f32>(sumGX * xhatFactor);
    const mgv = f32x4.splat(meanG);
    const mgxv = f32x4.splat(meanGX);
    i = 0;
    for (; i < wide; i += 4) {
      const o = <usize>i << 2;
      const xhat = f32x4.mul(f32x4.sub(f32x4.sub(ld(p + o), mv), lv), sv);
      const g = f32x4.mul(ld(q + o), ld(scale + o));
      v128.store(w + o, f32x4.mul(sv, f32x4.sub(f32x4.sub(g, mgv), f32x4.mul(xhat, mgxv))));
    }
    for (; i < features; i++) {
      const o = <usize>i << 2;
      const xhat = (load<f32>(p + o) - m - ml) * s;
      const g = load<f32>(q + o) * load<f32>(scale + o);
      store<f32>(w + o, s * (g - meanG - xhat * meanGX));
    }
  }
}
