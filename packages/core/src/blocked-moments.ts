import type { FloatArray } from './tensor.js';

/**
 * Elements per tile of the channel-innermost path: a tile of `⌊TILE / groups⌋` rows
 * (64 KiB of float32) is read from memory once and then stays in cache for the
 * second pass and for every column block.
 */
export const MOMENTS_TILE_ELEMENTS = 16384;

/**
 * Merges the moments `(countB, meanB, m2B)` of a chunk into group `g`'s running moments,
 * which cover `countA` values so far (Chan et al.):
 * `δ = meanB − mean`, `mean += δ·countB/n`, `m2 += m2B + δ²·countA·countB/n`, `n = countA + countB`.
 */
function mergeInto(mean: Float64Array, m2: Float64Array, g: number, countA: number, countB: number, meanB: number, m2B: number): void {
  const total = countA + countB;
  const delta = meanB - mean[g];
  mean[g] += (delta * countB) / total;
  m2[g] += m2B + (delta * delta * countA * countB) / total;
}

/**
 * Per-group mean and biased variance of a row-major block `(outer, groups, inner)`, with
 * one read of the data from memory: the data are cut into cache-sized chunks, each chunk
 * gets an exact two-pass mean and centred sum of squares (its second pass hits the cache),
 * and the chunks merge with Chan's formula. Float64 accumulators throughout.
 *
 * A chunk B of $`n_B`$ values with mean $`\bar x_B`$ and centred sum of squares $`m_{2,B}`$
 * merges into the running $`(n_A, \bar x, m_2)`$ of its group as
 * $`\bar x \mathrel{+}= \delta\, n_B / n`$, $`m_2 \mathrel{+}= m_{2,B} + \delta^2 n_A n_B / n`$
 * with $`\delta = \bar x_B - \bar x`$ and $`n = n_A + n_B`$; finally $`\sigma^2 = m_2 / (\mathrm{outer}\cdot\mathrm{inner})`$.
 *
 * - `inner > 1` (NCHW, layer-norm rows): chunks are runs of ≤ {@link MOMENTS_TILE_ELEMENTS}
 *   elements of one group, summed in registers.
 * - `inner = 1` (channels last, `(N, C)`): chunks are tiles of whole rows; within a tile
 *   four groups at a time are summed in registers down the rows.
 *
 * @param data - the buffer
 * @param offset - index of element (0, 0, 0)
 * @param outer - product of the axes before the group axes
 * @param groups - number of groups
 * @param inner - product of the axes after the group axes
 * @param mean - output, per group (overwritten)
 * @param variance - output, per group (overwritten; biased)
 */
export function blockedMomentsKernel(
  data: FloatArray,
  offset: number,
  outer: number,
  groups: number,
  inner: number,
  mean: Float64Array,
  variance: Float64Array,
): void {
  const m2 = variance; // accumulates Σ(x − mean)² until the final division
  mean.fill(0);
  m2.fill(0);
  if (inner > 1) {
    const chunk = Math.min(inner, MOMENTS_TILE_ELEMENTS);
    for (let o = 0; o < outer; o++) {
      const countA0 = o * inner;
      for (let g = 0; g < groups; g++) {
        const base = offset + (o * groups + g) * inner;
        for (let start = 0; start < inner; start += chunk) {
          const length = Math.min(chunk, inner - start);
          const begin = base + start;
          const end = begin + length;
          let sum = 0;
          for (let p = begin; p < end; p++) sum += data[p];
          const chunkMean = sum / length;
          let drift = 0;
          let squares = 0;
          for (let p = begin; p < end; p++) {
            const d = data[p] - chunkMean;
            drift += d;
            squares += d * d;
          }
          mergeInto(mean, m2, g, countA0 + start, length, chunkMean, squares - (drift * drift) / length);
        }
      }
    }
  } else {
    const tileRows = Math.max(1, Math.floor(MOMENTS_TILE_ELEMENTS / groups));
    const wide = groups - (groups % 4);
    for (let t0 = 0; t0 < outer; t0 += tileRows) {
      const rows = Math.min(tileRows, outer - t0);
      const tileStart = offset + t0 * groups;
      for (let g = 0; g < wide; g += 4) {
        let s0 = 0;
        let s1 = 0;
        let s2 = 0;
        let s3 = 0;
        for (let r = 0, p = tileStart + g; r < rows; r++, p += groups) {
          s0 += data[p];
          s1 += data[p + 1];
          s2 += data[p + 2];
          s3 += data[p + 3];
        }
        const m0 = s0 / rows;
        const m1 = s1 / rows;
        const m2_ = s2 / rows;
        const m3 = s3 / rows;
        let d0 = 0;
        let d1 = 0;
        let d2 = 0;
        let d3 = 0;
        let q0 = 0;
        let q1 = 0;
        let q2 = 0;
        let q3 = 0;
        for (let r = 0, p = tileStart + g; r < rows; r++, p += groups) {
          const e0 = data[p] - m0;
          const e1 = data[p + 1] - m1;
          const e2 = data[p + 2] - m2_;
          const e3 = data[p + 3] - m3;
          d0 += e0;
          d1 += e1;
          d2 += e2;
          d3 += e3;
          q0 += e0 * e0;
          q1 += e1 * e1;
          q2 += e2 * e2;
          q3 += e3 * e3;
        }
        mergeInto(mean, m2, g, t0, rows, m0, q0 - (d0 * d0) / rows);
        mergeInto(mean, m2, g + 1, t0, rows, m1, q1 - (d1 * d1) / rows);
        mergeInto(mean, m2, g + 2, t0, rows, m2_, q2 - (d2 * d2) / rows);
        mergeInto(mean, m2, g + 3, t0, rows, m3, q3 - (d3 * d3) / rows);
      }
      for (let g = wide; g < groups; g++) {
        let sum = 0;
        for (let r = 0, p = tileStart + g; r < rows; r++, p += groups) sum += data[p];
        const tileMean = sum / rows;
        let drift = 0;
        let squares = 0;
        for (let r = 0, p = tileStart + g; r < rows; r++, p += groups) {
          const d = data[p] - tileMean;
          drift += d;
          squares += d * d;
        }
        mergeInto(mean, m2, g, t0, rows, tileMean, squares - (drift * drift) / rows);
      }
    }
  }
  const count = outer * inner;
  for (let g = 0; g < groups; g++) variance[g] = Math.max(0, m2[g]) / count;
}
