import type { Dtype, Shape, Tensor } from '@normkit/core';

/**
 * An accelerated implementation of layer norm's kernels (for example WebAssembly SIMD,
 * from `@normkit/wasm`), plugged in without changing the plugin contract. Every hook is
 * optional and returns `true` when it handled the call; on `false` (a dtype or layout it
 * does not support) the plugin runs its TypeScript kernel. Arguments are validated before
 * any hook is called. Rows are indexed by the first `leadingRank` axes of `x`.
 */
export interface LayerNormBackend {
  /** A name for diagnostics, e.g. `"wasm-simd"`. */
  readonly name: string;
  /**
   * A row-major output in the backend's memory, or `null` to allocate on the JS heap.
   * Not called when the caller passed a preallocated `out`.
   *
   * @param shape - the output's shape (the input's)
   * @param dtype - the output's dtype (the input's)
   * @returns a new tensor whose contents the kernel will overwrite, or `null`
   */
  allocate?(shape: Shape, dtype: Dtype): Tensor | null;
  /**
   * Per-row statistics with the biased variance (see {@link rowStatisticsKernel}):
   * $`\mu_r = \tfrac1H \sum_j x_{rj}`$ and $`\mathrm{invStd}_r = 1/\sqrt{\tfrac1H \sum_j (x_{rj} - \mu_r)^2 + \epsilon}`$.
   *
   * @param x - the validated input (any dtype and strides; decline what you do not support)
   * @param leadingRank - how many leading axes of `x` index the rows
   * @param eps - added to the variance inside the square root
   * @param mean - output, one float64 per row
   * @param invStd - output, one float64 per row
   * @returns `true` when the outputs were written, `false` to run the TypeScript kernel
   */
  statistics?(x: Tensor, leadingRank: number, eps: number, mean: Float64Array, invStd: Float64Array): boolean;
  /**
   * The forward map $`y_{rj} = (x_{rj} - \mu_r)\,\mathrm{invStd}_r\,\mathrm{scale}_j + \mathrm{shift}_j`$
   * into the row-major `y` (see {@link layerNormForwardKernel}).
   *
   * @param x - the validated input
   * @param leadingRank - how many leading axes of `x` index the rows
   * @param mean - per-row mean
   * @param invStd - per-row $`1/\sqrt{\sigma_r^2 + \epsilon}`$
   * @param scale - per-feature γ, row-major over the normalized axes (ones without affine)
   * @param shift - per-feature β, same layout (zeros without bias)
   * @param y - the row-major output, of `x`'s shape and dtype
   * @returns `true` when `y` was written, `false` to run the TypeScript kernel
   */
  forward?(x: Tensor, leadingRank: number, mean: Float64Array, invStd: Float64Array, scale: Float64Array, shift: Float64Array, y: Tensor): boolean;
  /**
   * `dx` into the row-major `dx`, and **adds** `Σ_rows dy·x̂` to `dscale` and `Σ_rows dy` to
   * `dshift` (both start at zero), with `g = dy·scale`, `dx = invStd·(g − mean(g) − x̂·mean(g·x̂))`:
   *
   * $$dx_{rj} = \mathrm{invStd}_r\Big(g_{rj} - \tfrac1H\textstyle\sum_k g_{rk} - \hat x_{rj}\,\tfrac1H\sum_k g_{rk}\hat x_{rk}\Big)$$
   *
   * (see {@link layerNormBackwardKernel}).
   *
   * @param x - the forward input
   * @param dy - the upstream gradient, of `x`'s shape
   * @param leadingRank - how many leading axes of `x` index the rows
   * @param mean - per-row mean saved by forward
   * @param invStd - per-row `1/√(var + eps)` saved by forward
   * @param scale - per-feature γ (ones without affine)
   * @param dx - the row-major output, of `x`'s shape and dtype
   * @param dscale - per-feature accumulator for ∂L/∂γ (zeros on entry)
   * @param dshift - per-feature accumulator for ∂L/∂β (zeros on entry)
   * @returns `true` when `dx`, `dscale` and `dshift` were written; `false`, having written
   *   nothing, to run the TypeScript kernel
   */
  backward?(
    x: Tensor,
    dy: Tensor,
    leadingRank: number,
    mean: Float64Array,
    invStd: Float64Array,
    scale: Float64Array,
    dx: Tensor,
    dscale: Float64Array,
    dshift: Float64Array,
  ): boolean;
}

let activeBackend: LayerNormBackend | null = null;

/**
 * Installs an accelerated backend for every layer-norm call in this process (`null` restores
 * the TypeScript kernels). `@normkit/wasm`'s `enableWasm()` calls this.
 *
 * @param backend - the hooks to route calls through, or `null`
 */
export function setLayerNormBackend(backend: LayerNormBackend | null): void {
  activeBackend = backend;
}

/**
 * The installed backend, or `null` when the TypeScript kernels run.
 *
 * @returns what {@link setLayerNormBackend} installed last
 */
export function getLayerNormBackend(): LayerNormBackend | null {
  return activeBackend;
}
