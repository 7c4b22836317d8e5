import { NormkitError, assertFinite, batchStatistics, checkForward, formatShape, fromArray, isContiguous, planNormalization, sizeOf, tensor, toContiguous, viewOf } from '@normkit/core';
import type { Tensor } from '@normkit/core';
import { linearForwardKernel } from './matmul.js';
import type { WeightNormLinearInputOptions } from './options.js';
import { linearForwardSpec, resolveWeightNormLinearOptions } from './options.js';
import type { WeightNormLinearParams } from './weight.js';
import { rowPlan, rowStatistics, weightRows } from './weight.js';

/** The largest finite float32. */
const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * Data-dependent initialization (Salimans & Kingma 2016, §3). On one batch `x`, the
 * pre-activations `t = x·v̂ᵀ` with `v̂ = v/‖v‖` have per-unit mean `μ` and standard deviation
 * `σ` (biased, over every row of `x`, by core's engine moments); then
 *
 * ```
 * g ← 1/σ        bias ← −μ/σ
 * ```
 *
 * so the layer's outputs on that batch, `y = g·t + bias = (t − μ)/σ`, have mean 0 and
 * variance 1 per unit. Without a bias only `g` is set (variance 1, mean `μ/σ`).
 *
 * Pure: the given parameters are not touched; `v` is returned as given (same tensor),
 * `g` and `bias` are new tensors of their dtype.
 *
 * @param params - the current `v`, `g` (and `bias`), in `x`'s dtype
 * @param x - one batch, `(..., inFeatures)` with at least 2 rows
 * @param options - the layer's options
 * @returns the new parameters
 * @throws NormkitError `E_DTYPE`/`E_SHAPE` for bad tensors (last axis of `x` ≠ `inFeatures`,
 *   parameters of another dtype than `x`), `E_STATE` for a missing or unexpected parameter;
 *   `E_DEGENERATE` for fewer than 2 rows, a zero row of `v` without eps, or a unit whose
 *   pre-activations are constant over the batch (σ = 0); `E_NONFINITE` for NaN or ±Infinity in
 *   `x`, or a `g` or `bias` its dtype cannot hold; `E_OPTION` for bad options
 */
export function initFromBatch(params: WeightNormLinearParams, x: Tensor, options: WeightNormLinearInputOptions): WeightNormLinearParams {
  const resolved = resolveWeightNormLinearOptions(options);
  const { inFeatures, outFeatures } = resolved;
  const checked = checkForward({ x, params, state: {}, mode: 'train' }, linearForwardSpec(resolved));
  const input = checked.x;
  assertFinite(input, 'x');
  const { v, bias } = checked.params;
  const rows = sizeOf(input.shape) / inFeatures;
  if (rows < 2) {
    throw new NormkitError('E_DEGENERATE', `x: expected at least 2 rows to estimate a variance, got shape ${formatShape(input.shape)}`, 'x');
  }
  const plan = rowPlan(resolved);
  const direction = weightRows(v, plan, rowStatistics(v, plan, resolved), null, new Float64Array(outFeatures * inFeatures));
  const xc = isContiguous(input) ? input : toContiguous(input);
  const preActivations = new Float64Array(rows * outFeatures);
  linearForwardKernel(xc.data, xc.offset, rows, inFeatures, direction, null, outFeatures, preActivations);
  const t = tensor(preActivations, [rows, outFeatures]);
  const { center: mean, variance } = batchStatistics(viewOf(t), planNormalization(t.shape, [1], null), true, 0);
  const gNew = new Float64Array(outFeatures);
  const biasNew = new Float64Array(outFeatures);
  for (let o = 0; o < outFeatures; o++) {
    const sigma = Math.sqrt(variance[o]);
    if (!(sigma > 0 && sigma < Infinity)) {
      throw new NormkitError(
        'E_DEGENERATE',
        `x: expected the pre-activations of unit ${o} to vary over the batch, got standard deviation ${sigma}`,
        'x',
      );
    }
    gNew[o] = 1 / sigma;
    biasNew[o] = -mean[o] / sigma;
    const largest = checked.dtype === 'float32' ? FLOAT32_MAX : Number.MAX_VALUE;
    if (!(Math.abs(gNew[o]) <= largest && Math.abs(biasNew[o]) <= largest)) {
      throw new NormkitError(
        'E_NONFINITE',
        `x: the pre-activations of unit ${o} have standard deviation ${sigma} and mean ${mean[o]}, so g = 1/σ = ${gNew[o]} and bias = −mean/σ = ${biasNew[o]}, which ${checked.dtype} cannot hold; initialize from a batch of larger spread, or in float64`,
        'x',
      );
    }
  }
  const next: WeightNormLinearParams = { v, g: fromArray(gNew, [outFeatures], checked.dtype) };
  return bias === undefined ? next : { ...next, bias: fromArray(biasNew, [outFeatures], checked.dtype) };
}
