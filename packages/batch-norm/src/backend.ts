import type { Dtype, Shape, Tensor } from '@normkit/core';

/**
 * An accelerated implementation of batch norm's kernels (for example WebAssembly SIMD,
 * from `@normkit/wasm`), plugged in without changing the plugin contract. Every hook is
 * optional and returns `true` when it handled the call; on `false` (a dtype or layout it
 * does not support) the plugin runs its TypeScript kernel, which stays the reference and
 * the float64 path. Arguments are validated before any hook is called; hooks must not throw
 * on valid input.
 */
export interface BatchNormBackend {
  /** A name for diagnostics, e.g. `"wasm-simd"`. */
  readonly name: string;
  /**
   * A row-major output tensor of this shape and dtype in the backend's memory (so the next
   * kernel reads it without a copy), or `null` to let the plugin allocate on the JS heap.
   */
  allocate?(shape: Shape, dtype: Dtype): Tensor | null;
  /** Per-channel mean and biased variance of `x` (see core's `groupMomentsKernel`). */
  statistics?(x: Tensor, channelAxis: number, mean: Float64Array, variance: Float64Array): boolean;
  /** `y = (x − mean[c])·scale[c] + shift[c]` into the row-major `y`. */
  normalize?(x: Tensor, channelAxis: number, mean: Float64Array, scale: Float64Array, shift: Float64Array, y: Tensor): boolean;
  /** `sumDy[c] = Σ dy`, `sumDyCentered[c] = Σ dy·(x − mean[c])`. */
  gradientSums?(x: Tensor, dy: Tensor, channelAxis: number, mean: Float64Array, sumDy: Float64Array, sumDyCentered: Float64Array): boolean;
  /** `dx = a[c]·dy + b[c]·(x − mean[c]) + k[c]` into the row-major `dx`. */
  inputGradient?(
    x: Tensor,
    dy: Tensor,
    channelAxis: number,
    mean: Float64Array,
    a: Float64Array,
    b: Float64Array,
    k: Float64Array,
    dx: Tensor,
  ): boolean;
}

let activeBackend: BatchNormBackend | null = null;

/**
 * Installs an accelerated backend for every batch-norm call in this process (`null`
 * restores the TypeScript kernels). `@normkit/wasm`'s `enableWasm()` calls this.
 */
export function setBatchNormBackend(backend: BatchNormBackend | null): void {
  activeBackend = backend;
}

/** The installed backend, or `null` when the TypeScript kernels run. */
export function getBatchNormBackend(): BatchNormBackend | null {
  return activeBackend;
}
