import { NormkitError, describeValue } from './errors.js';
import type { TensorMap } from './normalizer.js';
import type { Tensor } from './tensor.js';
import { dtypeOf, full, packedTensors, shapesEqual, sizeOf } from './tensor.js';
import { Float64Scratch } from './engine/scratch.js';
import { float64ValuesInto } from './validate.js';

/** Float64 copies of the current running statistics, read within one call (see {@link Float64Scratch}). */
const runningScratch = new Float64Scratch(2);

/** The running statistics of batch norm and the normalizers that follow its rules. */
export type RunningStatName = 'runningMean' | 'runningVar' | 'numBatchesTracked';

/**
 * The next running statistics, PyTorch's rule: `numBatchesTracked += 1`, then with
 * `f = momentum` (or `1/numBatchesTracked` when `momentum` is `null`, the cumulative average)
 *
 * $$\mathrm{runningMean} \leftarrow (1 - f)\,\mathrm{runningMean} + f\,\mu,\qquad
 *   \mathrm{runningVar} \leftarrow (1 - f)\,\mathrm{runningVar} + f\,\sigma^2_{\text{unbiased}}$$
 *
 * Computed in float64 and rounded once to the state's dtype. New tensors are returned (the
 * mean and variance over two halves of one new array, see {@link packedTensors}); the given
 * ones are not touched.
 *
 * @param state - the current `runningMean`, `runningVar` (per channel) and 0-d float64 `numBatchesTracked`
 * @param batchMean - per channel, the batch mean
 * @param batchVariance - per channel, the **unbiased** batch variance
 * @param momentum - PyTorch's momentum, or `null` for the cumulative moving average
 * @param countStep - increment `numBatchesTracked` (default true; PyTorch's instance norm keeps
 *   the buffer but never increments it)
 * @returns the next state
 * @throws NormkitError `E_NONFINITE` (argument `x`) when a batch statistic is not finite or a
 *   next value overflows the state's dtype; nothing is returned then
 */
export function nextRunningStatistics(
  state: Readonly<Record<string, Tensor>>,
  batchMean: Float64Array,
  batchVariance: Float64Array,
  momentum: number | null,
  countStep = true,
): TensorMap<RunningStatName> {
  const runningMean = state.runningMean;
  const runningVar = state.runningVar;
  const counter = state.numBatchesTracked;
  const channels = batchMean.length;
  for (let c = 0; c < channels; c++) {
    if (!Number.isFinite(batchMean[c]) || !Number.isFinite(batchVariance[c])) {
      throw new NormkitError(
        'E_NONFINITE',
        `x: expected finite values in a training batch (its statistics update the running statistics), got a non-finite mean or variance in channel ${c} (NaN or ±Infinity in the batch, or |x − mean| above ~1e150, where the variance overflows)`,
        'x',
      );
    }
  }
  const steps = counter.data[counter.offset] + (countStep ? 1 : 0);
  const factor = momentum === null ? 1 / steps : momentum;
  const oldMean = float64ValuesInto(runningMean, runningScratch.take(0, sizeOf(runningMean.shape)));
  const oldVar = float64ValuesInto(runningVar, runningScratch.take(1, sizeOf(runningVar.shape)));
  // Formed in float64 (oldMean, oldVar are scratch copies), checked after rounding to the
  // state's dtype, then copied into new arrays of that dtype.
  const meanIs32 = dtypeOf(runningMean) === 'float32';
  const varIs32 = dtypeOf(runningVar) === 'float32';
  for (let c = 0; c < channels; c++) {
    const m = (1 - factor) * oldMean[c] + factor * batchMean[c];
    const v = (1 - factor) * oldVar[c] + factor * batchVariance[c];
    oldMean[c] = m;
    oldVar[c] = v;
    if (!Number.isFinite(meanIs32 ? Math.fround(m) : m) || !Number.isFinite(varIs32 ? Math.fround(v) : v)) {
      throw new NormkitError(
        'E_NONFINITE',
        `x: expected running statistics that fit their ${dtypeOf(runningVar)} state, got a non-finite running mean or variance for channel ${c} (the batch's values are too large)`,
        'x',
      );
    }
  }
  // One new array for both when their dtypes and shapes match (they do when the state came from init).
  const meanValues = oldMean.subarray(0, channels);
  const varValues = oldVar.subarray(0, channels);
  const [nextMean, nextVar] =
    dtypeOf(runningVar) === dtypeOf(runningMean) && shapesEqual(runningVar.shape, runningMean.shape)
      ? packedTensors([meanValues, varValues], runningMean.shape, dtypeOf(runningMean))
      : [packedTensors([meanValues], runningMean.shape, dtypeOf(runningMean))[0], packedTensors([varValues], runningVar.shape, dtypeOf(runningVar))[0]];
  return {
    runningMean: nextMean,
    runningVar: nextVar,
    numBatchesTracked: countStep ? full([], 'float64', steps) : counter,
  };
}

/**
 * Checks the values of running statistics that shape checks cannot: a step counter that is a
 * non-negative integer, a finite running mean, and a running variance that is finite and not
 * negative. Every forward of the batch-norm family calls it, in both modes: eval normalizes with
 * these values, and training would carry a NaN into every later step.
 *
 * @param state - the state entries present, already checked for names and shapes
 * @throws NormkitError `E_NONFINITE` naming the entry for NaN or ±Infinity in `runningMean` or
 *   `runningVar`; `E_STATE` naming the entry for a negative variance or a bad counter
 */
export function checkRunningStatistics(state: Readonly<Record<string, Tensor | undefined>>): void {
  const steps = state.numBatchesTracked;
  if (steps !== undefined) {
    const value = steps.data[steps.offset];
    if (!Number.isInteger(value) || value < 0) {
      throw new NormkitError('E_STATE', `state.numBatchesTracked: expected a non-negative integer, got ${describeValue(value)}`, 'state.numBatchesTracked');
    }
  }
  const mean = state.runningMean;
  if (mean !== undefined) {
    const values = float64ValuesInto(mean, runningScratch.take(0, sizeOf(mean.shape)));
    let c = 0;
    while (c < values.length && Number.isFinite(values[c])) c++;
    if (c < values.length) {
      throw new NormkitError('E_NONFINITE', `state.runningMean: expected finite values, got ${describeValue(values[c])} for channel ${c}`, 'state.runningMean');
    }
  }
  const variance = state.runningVar;
  if (variance !== undefined) {
    const values = float64ValuesInto(variance, runningScratch.take(0, sizeOf(variance.shape)));
    let c = 0;
    while (c < values.length && values[c] >= 0 && values[c] < Infinity) c++;
    if (c < values.length) {
      const value = values[c];
      const nonFinite = !Number.isFinite(value);
      throw new NormkitError(
        nonFinite ? 'E_NONFINITE' : 'E_STATE',
        `state.runningVar: expected ${nonFinite ? 'finite ' : ''}non-negative values, got ${describeValue(value)} for channel ${c}`,
        'state.runningVar',
      );
    }
  }
}

/** Running statistics as a record of tensors. */
export type RunningStatistics = {
  /** Per channel, the running mean. */
  readonly runningMean: Tensor;
  /** Per channel, the running (unbiased) variance. */
  readonly runningVar: Tensor;
  /** The 0-d float64 step counter. */
  readonly numBatchesTracked: Tensor;
};

/**
 * Fresh running statistics: mean 0, variance 1, counter 0 (PyTorch's initial buffers).
 *
 * @param channels - how many channels
 * @param dtype - the dtype of the mean and variance (the counter is float64)
 * @returns new tensors
 */
export function initialRunningStatistics(channels: number, dtype: 'float32' | 'float64'): RunningStatistics {
  return { runningMean: full([channels], dtype, 0), runningVar: full([channels], dtype, 1), numBatchesTracked: full([], 'float64', 0) };
}
