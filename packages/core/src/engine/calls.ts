import type { CellsLayout, NormPlan, RowsLayout } from './plan.js';
import type { StridedView } from './view.js';

/**
 * `moments`: per-group statistics, accumulated in float64 whatever the data's dtype.
 *
 * - centered: $`\mathrm{mean}_g = \tfrac1m \sum x`$ and the **biased** variance
 *   $`\mathrm{variance}_g = \tfrac1m \sum (x - \mathrm{mean}_g)^2`$ (never $`E[x^2] - E[x]^2`$ in
 *   float32; a one-pass form in float64 only with a guard that redoes an ill-conditioned chunk
 *   exactly: the TypeScript kernel shifts by a chunk's first value, the wasm kernels sum x and
 *   x² unshifted; see their docs for the bounds);
 * - uncentered (RMS norm): $`\mathrm{mean}_g = 0`$ and $`\mathrm{variance}_g = \tfrac1m \sum x^2`$,
 *   the second moment about 0.
 */
export interface MomentsCall {
  /** The input. */
  readonly x: StridedView;
  /** The plan (groups, count, blocking). */
  readonly plan: NormPlan;
  /** Subtract the mean (`true`) or take moments about 0 (`false`). */
  readonly centered: boolean;
  /** Output: one value per group. */
  readonly mean: Float64Array;
  /** Output: one value per group. */
  readonly variance: Float64Array;
}

/**
 * `normalizeCells`: the forward map with coefficients folded per cell,
 * $`y = (x - \mathrm{center}_j)\cdot \mathrm{scale}_j + \mathrm{shift}_j`$ for the cell $`j`$ of
 * each position (see {@link CellsLayout}).
 */
export interface NormalizeCellsCall {
  /** The input. */
  readonly x: StridedView;
  /** The output, of `x`'s shape (written in full). */
  readonly y: StridedView;
  /** The plan. */
  readonly plan: NormPlan;
  /** The cells layout (`plan.affine`). */
  readonly cells: CellsLayout;
  /** Per cell: the value subtracted (the group's mean; 0 when uncentered). */
  readonly center: Float64Array;
  /** Per cell: $`\gamma_p / \sqrt{\sigma_g^2 + \epsilon}`$. */
  readonly scale: Float64Array;
  /** Per cell: $`\beta_p`$ (0 without a bias). */
  readonly shift: Float64Array;
}

/**
 * `normalizeRows`: the forward map when the parameters vary inside a group (layer norm,
 * RMS norm): $`y = (x - \mathrm{center}_r)\cdot \mathrm{invStd}_r \cdot \gamma_j + \beta_j`$.
 */
export interface NormalizeRowsCall {
  /** The input. */
  readonly x: StridedView;
  /** The output, of `x`'s shape. */
  readonly y: StridedView;
  /** The plan. */
  readonly plan: NormPlan;
  /** The rows layout (`plan.affine`). */
  readonly rows: RowsLayout;
  /** Per row (group): the value subtracted. */
  readonly center: Float64Array;
  /** Per row: $`1/\sqrt{\sigma_r^2 + \epsilon}`$. */
  readonly invStd: Float64Array;
  /** Per parameter entry: γ, or `null` for ones. */
  readonly weight: Float64Array | null;
  /** Per parameter entry: β, or `null` for zeros. */
  readonly bias: Float64Array | null;
}

/**
 * `gradientSums`: the reductions of the backward pass, per cell $`j`$:
 * $`\mathrm{sumDy}_j = \sum dy`$ and $`\mathrm{sumDyCentered}_j = \sum dy\,(x - \mathrm{center}_j)`$.
 */
export interface GradientSumsCall {
  /** The forward input. */
  readonly x: StridedView;
  /** The upstream gradient, of `x`'s shape. */
  readonly dy: StridedView;
  /** The plan. */
  readonly plan: NormPlan;
  /** The cells layout (`plan.affine`). */
  readonly cells: CellsLayout;
  /** Per cell: the center used in forward. */
  readonly center: Float64Array;
  /** Output, per cell. */
  readonly sumDy: Float64Array;
  /** Output, per cell. */
  readonly sumDyCentered: Float64Array;
}

/**
 * `inputGradient`: the elementwise backward pass with per-cell coefficients,
 * $`dx = a_j\,dy + b_j\,(x - \mathrm{center}_j) + k_j`$.
 */
export interface InputGradientCall {
  /** The forward input. */
  readonly x: StridedView;
  /** The upstream gradient. */
  readonly dy: StridedView;
  /** The output, of `x`'s shape. */
  readonly dx: StridedView;
  /** The plan. */
  readonly plan: NormPlan;
  /** The cells layout (`plan.affine`). */
  readonly cells: CellsLayout;
  /** Per cell: the center used in forward. */
  readonly center: Float64Array;
  /** Per cell: the coefficient of `dy`. */
  readonly a: Float64Array;
  /** Per cell: the coefficient of `x − center`. */
  readonly b: Float64Array;
  /** Per cell: the constant. */
  readonly k: Float64Array;
}

/**
 * `backwardRows`: the fused backward pass of the rows layout. With $`\hat x = (x - c_r)\,s_r`$,
 * $`g = dy\,\gamma_j`$ and $`m`$ values per row:
 *
 * $$dx = s_r\Big(g - \tfrac{\kappa}{m}\textstyle\sum_r g - \hat x\,\tfrac1m \sum_r g \hat x\Big)$$
 *
 * with $`\kappa = 1`$ when centered and 0 when not; $`dx = s_r\,g`$ when the statistics are
 * constants (`batchStats: false`). It also **adds** $`\sum dy`$ and $`\sum dy\,\hat x`$ per
 * parameter entry into `sumDy` and `sumDyXhat` (zero on entry).
 */
export interface BackwardRowsCall {
  /** The forward input. */
  readonly x: StridedView;
  /** The upstream gradient. */
  readonly dy: StridedView;
  /** The output, of `x`'s shape. */
  readonly dx: StridedView;
  /** The plan. */
  readonly plan: NormPlan;
  /** The rows layout (`plan.affine`). */
  readonly rows: RowsLayout;
  /** Per row: the center used in forward. */
  readonly center: Float64Array;
  /** Per row: the inverse standard deviation used in forward. */
  readonly invStd: Float64Array;
  /** Per parameter entry: γ, or `null` for ones. */
  readonly weight: Float64Array | null;
  /** Whether the mean was subtracted in forward. */
  readonly centered: boolean;
  /** Whether the statistics depend on `x` (batch statistics). */
  readonly batchStats: boolean;
  /** The divisor m of the statistics (the plan's count per group, unless the normalizer defines its statistics otherwise). */
  readonly count: number;
  /** Accumulator per parameter entry (zero on entry). */
  readonly sumDy: Float64Array;
  /** Accumulator per parameter entry (zero on entry). */
  readonly sumDyXhat: Float64Array;
}

/**
 * `normalizeBatch` (fused): the batch statistics per group (as `moments`, with
 * $`\mathrm{invStd}_g = 1/\sqrt{\sigma_g^2 + \epsilon}`$) and the forward map
 * $`y = (x - c_g)\,\mathrm{invStd}_g\,\gamma_p + \beta_p`$ in one call, so a backend reads `x`
 * once. Without a backend it is `moments` then `normalizeCells` / `normalizeRows`.
 */
export interface NormalizeBatchCall {
  /** The input. */
  readonly x: StridedView;
  /** The output, of `x`'s shape. */
  readonly y: StridedView;
  /** The plan. */
  readonly plan: NormPlan;
  /** Subtract the mean (`true`) or not (RMS norm). */
  readonly centered: boolean;
  /** Added to the variance inside the square root. */
  readonly eps: number;
  /** Per parameter entry: γ, or `null` for ones. */
  readonly weight: Float64Array | null;
  /** Per parameter entry: β, or `null` for zeros. */
  readonly bias: Float64Array | null;
  /** Output, per group: the center (mean, or 0). */
  readonly center: Float64Array;
  /** Output, per group: the biased variance (or the mean square). */
  readonly variance: Float64Array;
  /** Output, per group: $`1/\sqrt{\sigma^2 + \epsilon}`$. */
  readonly invStd: Float64Array;
  /**
   * Optional: called with the statistics (the three outputs above, filled) before anything is
   * written to `y`. It may throw — batch norm refuses running statistics that would not be
   * finite — and then `y` must stay untouched; implementations call it exactly once, between
   * their statistics and their forward map, and let its error propagate.
   */
  readonly beforeWrite?: (center: Float64Array, variance: Float64Array, invStd: Float64Array) => void;
}

/**
 * `backwardCells` (fused): the whole backward pass of the cells layout in one call —
 * `gradientSums`, the folding into per-group sums and per-cell coefficients
 * (`cellGradientCoefficients`), and `inputGradient` — so a backend reads `x` and `dy` once. It also
 * **adds** $`\sum dy`$ and $`\sum dy\,\hat x`$ per parameter entry into `sumDy` and `sumDyXhat`
 * (zero on entry; empty without parameters) — once: a backend that declines the call after
 * folding must leave them as they came (fold with `cellInputGradientCoefficients`, add with
 * `addCellParamSums` only once the call is kept).
 */
export interface BackwardCellsCall {
  /** The forward input. */
  readonly x: StridedView;
  /** The upstream gradient. */
  readonly dy: StridedView;
  /** The output, of `x`'s shape. */
  readonly dx: StridedView;
  /** The plan. */
  readonly plan: NormPlan;
  /** The cells layout (`plan.affine`). */
  readonly cells: CellsLayout;
  /** Per group: the center used in forward. */
  readonly center: Float64Array;
  /** Per group: the inverse standard deviation used in forward. */
  readonly invStd: Float64Array;
  /** Per parameter entry: γ, or `null` for ones. */
  readonly weight: Float64Array | null;
  /** Whether the mean was subtracted in forward. */
  readonly centered: boolean;
  /** Whether the statistics depend on `x`. */
  readonly batchStats: boolean;
  /** The divisor m of the statistics. */
  readonly count: number;
  /** Accumulator per parameter entry (zero on entry). */
  readonly sumDy: Float64Array;
  /** Accumulator per parameter entry (zero on entry). */
  readonly sumDyXhat: Float64Array;
}

/**
 * `doubleBackwardSums`: the reductions of the second-order pass (the VJP of the backward
 * pass), per cell $`j`$, with $`a`$ the cotangent of `dx` and $`d = x - \mathrm{center}_j`$:
 * $`\sum a`$, $`\sum a\,d`$, $`\sum dy`$, $`\sum dy\,d`$ and $`\sum dy\,a`$ (one read of
 * `x`, `dy` and `ddx`).
 */
export interface DoubleBackwardSumsCall {
  /** The forward input. */
  readonly x: StridedView;
  /** The upstream gradient of the backward call, of `x`'s shape. */
  readonly dy: StridedView;
  /** The cotangent of backward's `dx` ($`a`$), of `x`'s shape. */
  readonly ddx: StridedView;
  /** The plan. */
  readonly plan: NormPlan;
  /** The cells layout (`plan.affine`). */
  readonly cells: CellsLayout;
  /** Per cell: the center used in forward. */
  readonly center: Float64Array;
  /** Output, per cell: $`\sum a`$. */
  readonly sumDdx: Float64Array;
  /** Output, per cell: $`\sum a\,(x - \mathrm{center}_j)`$. */
  readonly sumDdxCentered: Float64Array;
  /** Output, per cell: $`\sum dy`$. */
  readonly sumDy: Float64Array;
  /** Output, per cell: $`\sum dy\,(x - \mathrm{center}_j)`$. */
  readonly sumDyCentered: Float64Array;
  /** Output, per cell: $`\sum dy\,a`$. */
  readonly sumDyDdx: Float64Array;
}

/**
 * `doubleBackwardInput`: the elementwise outputs of the second-order pass with per-cell
 * coefficients, with $`a`$ the cotangent of `dx` and $`d = x - \mathrm{center}_j`$:
 *
 * $$\partial S/\partial x = p_j\,dy + q_j\,a + r_j\,d + k_j,\qquad \partial S/\partial dy = e_j\,a + f_j\,d + h_j .$$
 */
export interface DoubleBackwardInputCall {
  /** The forward input. */
  readonly x: StridedView;
  /** The upstream gradient of the backward call. */
  readonly dy: StridedView;
  /** The cotangent of backward's `dx`. */
  readonly ddx: StridedView;
  /** Output: $`\partial S/\partial x`$, of `x`'s shape. */
  readonly dx: StridedView;
  /** Output: $`\partial S/\partial dy`$, of `x`'s shape. */
  readonly ddy: StridedView;
  /** The plan. */
  readonly plan: NormPlan;
  /** The cells layout (`plan.affine`). */
  readonly cells: CellsLayout;
  /** Per cell: the center used in forward. */
  readonly center: Float64Array;
  /** Per cell: $`p_j`$, the coefficient of `dy` in `dx`. */
  readonly dxDy: Float64Array;
  /** Per cell: $`q_j`$, the coefficient of `ddx` in `dx`. */
  readonly dxDdx: Float64Array;
  /** Per cell: $`r_j`$, the coefficient of `x − center` in `dx`. */
  readonly dxCentered: Float64Array;
  /** Per cell: $`k_j`$, the constant of `dx`. */
  readonly dxConstant: Float64Array;
  /** Per cell: $`e_j`$, the coefficient of `ddx` in `ddy`. */
  readonly ddyDdx: Float64Array;
  /** Per cell: $`f_j`$, the coefficient of `x − center` in `ddy`. */
  readonly ddyCentered: Float64Array;
  /** Per cell: $`h_j`$, the constant of `ddy`. */
  readonly ddyConstant: Float64Array;
}

/**
 * `doubleBackwardRows`: the fused second-order pass of the rows layout. With
 * $`\hat x = (x - c_r)\,s_r`$, $`g = dy\,\gamma_j`$, the cotangents $`a`$ (of `dx`),
 * $`\Gamma_j`$ (of ∂L/∂γ) and $`B_j`$ (of ∂L/∂β), $`\langle\cdot\rangle = \tfrac1m\sum_r`$ and
 * $`\kappa`$ = 1 centered, 0 not: per row
 * $`A = \langle a\hat x\rangle`$, $`H = \langle g\hat x\rangle`$,
 * $`K = s(\langle g a\rangle - \kappa\langle a\rangle\langle g\rangle - AH)`$,
 * $`w = \Gamma\,dy - s(Ha + Ag)`$ and $`t = s(a - \kappa\langle a\rangle - \hat x A)`$; then
 *
 * $$\partial S/\partial x = -sK\hat x + s\big(w - \kappa\langle w\rangle - \hat x\langle \hat x w\rangle\big),\qquad
 *   \partial S/\partial dy = \gamma t + \Gamma\hat x + B,$$
 *
 * and it **adds** $`\sum dy\,t`$ per parameter entry into `weightGrad` (= ∂S/∂γ; zero on entry).
 * With constant statistics (`batchStats: false`) $`A = H = K = 0`$ and the κ terms vanish:
 * $`\partial S/\partial x = s\Gamma\,dy`$, $`t = s\,a`$.
 */
export interface DoubleBackwardRowsCall {
  /** The forward input. */
  readonly x: StridedView;
  /** The upstream gradient of the backward call. */
  readonly dy: StridedView;
  /** The cotangent of backward's `dx` ($`a`$). */
  readonly ddx: StridedView;
  /** Output: $`\partial S/\partial x`$, of `x`'s shape. */
  readonly dx: StridedView;
  /** Output: $`\partial S/\partial dy`$, of `x`'s shape. */
  readonly ddy: StridedView;
  /** The plan. */
  readonly plan: NormPlan;
  /** The rows layout (`plan.affine`). */
  readonly rows: RowsLayout;
  /** Per row: the center used in forward. */
  readonly center: Float64Array;
  /** Per row: the inverse standard deviation used in forward. */
  readonly invStd: Float64Array;
  /** Per parameter entry: γ, or `null` for ones. */
  readonly weight: Float64Array | null;
  /** Per parameter entry: Γ, the cotangent of ∂L/∂γ, or `null` for zeros. */
  readonly dgradWeight: Float64Array | null;
  /** Per parameter entry: B, the cotangent of ∂L/∂β, or `null` for zeros. */
  readonly dgradBias: Float64Array | null;
  /** Whether the mean was subtracted in forward. */
  readonly centered: boolean;
  /** Whether the statistics depend on `x` (batch statistics). */
  readonly batchStats: boolean;
  /** The divisor m of the statistics. */
  readonly count: number;
  /** Accumulator per parameter entry (zero on entry): $`\partial S/\partial \gamma`$. */
  readonly weightGrad: Float64Array;
}

/** Each engine kernel's name and the call it receives. */
export interface KernelCalls {
  /** See {@link NormalizeBatchCall}. */
  normalizeBatch: NormalizeBatchCall;
  /** See {@link BackwardCellsCall}. */
  backwardCells: BackwardCellsCall;
  /** See {@link MomentsCall}. */
  moments: MomentsCall;
  /** See {@link NormalizeCellsCall}. */
  normalizeCells: NormalizeCellsCall;
  /** See {@link NormalizeRowsCall}. */
  normalizeRows: NormalizeRowsCall;
  /** See {@link GradientSumsCall}. */
  gradientSums: GradientSumsCall;
  /** See {@link InputGradientCall}. */
  inputGradient: InputGradientCall;
  /** See {@link BackwardRowsCall}. */
  backwardRows: BackwardRowsCall;
  /** See {@link DoubleBackwardSumsCall}. */
  doubleBackwardSums: DoubleBackwardSumsCall;
  /** See {@link DoubleBackwardInputCall}. */
  doubleBackwardInput: DoubleBackwardInputCall;
  /** See {@link DoubleBackwardRowsCall}. */
  doubleBackwardRows: DoubleBackwardRowsCall;
}
