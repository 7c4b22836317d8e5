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
   * Not called when the caller passed a preallocated `out`.
   *
   * @param shape - the output's shape (the input's)
   * @param dtype - the output's dtype (the input's)
   * @returns a new tensor whose contents the kernel will overwrite, or `null`
   */
  allocate?(shape: Shape, dtype: Dtype): Tensor | null;
  /**
   * Per-channel mean and biased variance of `x` (as core's `groupMomentsKernel`):
   * $`\mu_c = \tfrac1m \sum x`$, $`\sigma_c^2 = \tfrac1m \sum (x - \mu_c)^2`$ over the $`m`$
   * values of channel $`c`$.
   *
   * @param x - the validated input (any dtype and strides; decline what you do not support)
   * @param channelAxis - the non-negative channel axis
   * @param mean - output, one float64 per channel
   * @param variance - output, one biased float64 variance per channel
   * @returns `true` when the outputs were written, `false` to run the TypeScript kernel
   */
  statistics?(x: Tensor, channelAxis: number, mean: Float64Array, variance: Float64Array): boolean;
  /**
   * The forward map $`y = (x - \mathrm{mean}_c)\cdot\mathrm{scale}_c + \mathrm{shift}_c`$
   * into the row-major `y` (see {@link normalizeKernel}).
   *
   * @param x - the validated input
   * @param channelAxis - the non-negative channel axis
   * @param mean - per-channel mean to subtract (batch or running)
   * @param scale - per-channel $`\gamma_c / \sqrt{\sigma_c^2 + \epsilon}`$
   * @param shift - per-channel $`\beta_c`$ (zeros without `affine`)
   * @param y - the row-major output, of `x`'s shape and dtype
   * @returns `true` when `y` was written, `false` to run the TypeScript kernel
   */
  normalize?(x: Tensor, channelAxis: number, mean: Float64Array, scale: Float64Array, shift: Float64Array, y: Tensor): boolean;
  /**
   * The backward reductions $`\mathrm{sumDy}_c = \sum dy`$ and
   * $`\mathrm{sumDyCentered}_c = \sum dy\,(x - \mathrm{mean}_c)`$ (see {@link gradientSumsKernel}).
   *
   * @param x - the forward input
   * @param dy - the upstream gradient, of `x`'s shape
   * @param channelAxis - the non-negative channel axis
   * @param mean - the per-channel mean used in forward
   * @param sumDy - output, one float64 per channel
   * @param sumDyCentered - output, one float64 per channel
   * @returns `true` when the outputs were written, `false` to run the TypeScript kernel
   */
  gradientSums?(x: Tensor, dy: Tensor, channelAxis: number, mean: Float64Array, sumDy: Float64Array, sumDyCentered: Float64Array): boolean;
  /**
   * The elementwise backward pass $`dx = a_c\,dy + b_c\,(x - \mathrm{mean}_c) + k_c`$ into the
   * row-major `dx` (see {@link inputGradientKernel} for the coefficients).
   *
   * @param x - the forward input
   * @param dy - the upstream gradient, of `x`'s shape
   * @param channelAxis - the non-negative channel axis
   * @param mean - the per-channel mean used in forward
   * @param a - per-channel coefficient of `dy`
   * @param b - per-channel coefficient of `x − mean`
   * @param k - per-channel constant
   * @param dx - the row-major output, of `x`'s shape and dtype
   * @returns `true` when `dx` was written, `false` to run the TypeScript kernel
   */
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
 *
 * @param backend - the hooks to route calls through, or `null`
 */
export function setBatchNormBackend(backend: BatchNormBackend | null): void {
  activeBackend = backend;
}

/**
 * The installed backend, or `null` when the TypeScript kernels run.
 *
 * @returns what {@link setBatchNormBackend} installed last
 */
export function getBatchNormBackend(): BatchNormBackend | null {
  return activeBackend;
}
