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
  /** A row-major output in the backend's memory, or `null` to allocate on the JS heap. */
  allocate?(shape: Shape, dtype: Dtype): Tensor | null;
  /** Per-row `mean` and `invStd = 1/√(var + eps)` (biased variance). */
  statistics?(x: Tensor, leadingRank: number, eps: number, mean: Float64Array, invStd: Float64Array): boolean;
  /** `y = (x − mean[r])·invStd[r]·scale[f] + shift[f]` into the row-major `y`. */
  forward?(x: Tensor, leadingRank: number, mean: Float64Array, invStd: Float64Array, scale: Float64Array, shift: Float64Array, y: Tensor): boolean;
  /**
   * `dx` into the row-major `dx`, and **adds** `Σ_rows dy·x̂` to `dscale` and `Σ_rows dy` to
   * `dshift` (both start at zero), with `g = dy·scale`, `dx = invStd·(g − mean(g) − x̂·mean(g·x̂))`.
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

/** Installs an accelerated backend for every layer-norm call (`null` restores the TypeScript kernels). */
export function setLayerNormBackend(backend: LayerNormBackend | null): void {
  activeBackend = backend;
}

/** The installed backend, or `null`. */
export function getLayerNormBackend(): LayerNormBackend | null {
  return activeBackend;
}
