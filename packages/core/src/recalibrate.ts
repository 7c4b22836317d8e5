import { NormkitError, describeValue } from './errors.js';
import type { Layer } from './layer.js';
import type { Moments } from './moments.js';
import { EMPTY_MOMENTS, mergeMoments } from './moments.js';
import type { BatchMoments, TensorMap } from './normalizer.js';
import type { Tensor } from './tensor.js';
import { dtypeOf, fromArray, isTensor } from './tensor.js';

/** The population statistics {@link recalibrate} computed for one layer (float64, per channel). */
export interface RecalibratedStatistics {
  /** How many batches entered them. */
  readonly batches: number;
  /** The new running mean. */
  readonly mean: Float64Array;
  /** The new running variance (unbiased, or biased for a normalizer that reports `runningVariance: 'biased'`). */
  readonly variance: Float64Array;
}

/** What is accumulated for one layer: per batch, per channel. */
interface Accumulator {
  kind: BatchMoments['kind'] | null;
  /** Whether the running variance is the biased one (every batch must say the same). */
  biased: boolean | null;
  readonly channels: number;
  /** `'pooled'`: per batch, the channel's merged moments. */
  readonly pooled: Moments[][];
  /** `'per-group'`: per batch, the channel's average group mean. */
  readonly groupMeans: Float64Array[];
  /** `'per-group'`: per batch, the channel's average unbiased group variance. */
  readonly groupVariances: Float64Array[];
}

function fail(code: 'E_OPTION' | 'E_STATE' | 'E_SHAPE' | 'E_DTYPE' | 'E_PLUGIN' | 'E_DEGENERATE' | 'E_NONFINITE', message: string, argument: string): never {
  throw new NormkitError(code, message, argument);
}

/** The batch's moments of one layer, checked against the contract. */
function checkedBatchMoments(layer: Layer, x: unknown, where: string, channels: number): BatchMoments {
  const bound = layer.normalizer;
  if (!isTensor(x)) fail('E_SHAPE', `${where}: expected the input tensor of ${bound.meta.name}, got ${describeValue(x)}`, where);
  // As forward: the input in the layer's dtype (a float64 batch for a float32 layer is refused, not silently used).
  if (dtypeOf(x) !== layer.dtype) {
    fail('E_DTYPE', `${where}: expected a ${layer.dtype} input to match the ${bound.meta.name} layer, got ${dtypeOf(x)} (convert it with toDtype(x, '${layer.dtype}'), or move the layer with layer.to('${dtypeOf(x)}'))`, where);
  }
  const result = bound.batchMoments!(x);
  const ok =
    typeof result === 'object' &&
    result !== null &&
    (result.kind === 'pooled' || result.kind === 'per-group') &&
    Array.isArray(result.groups) &&
    result.groups.length === channels &&
    result.groups.every((g) => Array.isArray(g) && g.length > 0) &&
    (result.runningVariance === undefined || result.runningVariance === 'unbiased' || result.runningVariance === 'biased');
  if (!ok) {
    fail(
      'E_PLUGIN',
      `${bound.meta.name}.batchMoments: expected { kind, groups, runningVariance? } with a non-empty list of moments for each of ${channels} channels and runningVariance 'unbiased' or 'biased', got ${describeValue(result)}`,
      where,
    );
  }
  return result;
}

/** The mean of the values, by the exact merge of single values (Welford's update). */
function meanOf(values: readonly number[]): number {
  let m: Moments = EMPTY_MOMENTS;
  for (const v of values) m = mergeMoments(m, { count: 1, mean: v, m2: 0 });
  return m.mean;
}

/**
 * PreciseBN (Wu & Johnson 2021, "Rethinking 'Batch' in BatchNorm", §3): replaces the
 * exponential moving averages of the layers' running statistics by **population
 * statistics** computed over K batches, which are more precise than the moving average (it
 * weights recent batches most and lags a model that is still changing).
 *
 * For each layer, each batch contributes the per-channel {@link Moments} that the layer's
 * normalizer reports ({@link NormalizerMethods.batchMoments}), computed as its train-mode
 * batch statistics would be. **Batches are weighted equally**:
 *
 * - `'pooled'` normalizers (batch norm, batch renorm, ghost batch norm, sync batch norm):
 *   each batch's moments are rescaled to the average count $`\bar n`$ (keeping its mean and
 *   biased variance; with equal batch sizes nothing changes) and merged exactly
 *   ({@link mergeMoments}). A batch with no values (every replica's share of it empty, in
 *   sync batch norm) is left out: K counts the batches with values. `runningMean` is the
 *   merged mean and `runningVar` the merged **unbiased** variance $`m_2/(K\bar n - 1)`$:
 *   with equal batches, the exact mean and unbiased variance of all values seen, the spread
 *   between batch means included (the biased $`m_2/(K\bar n)`$ when the normalizer reports
 *   `runningVariance: 'biased'`).
 * - `'per-group'` normalizers (instance norm with `trackRunningStats`): its running
 *   statistics estimate the average over samples of each sample's mean and unbiased
 *   variance (see instance norm's update), so the population statistics are those averages
 *   over every sample of every batch (each batch weighted equally): the variance **within**
 *   samples, not the spread between them.
 *
 * Only `runningMean` and `runningVar` change; `numBatchesTracked`, the parameters and the
 * mode are left as they were. Run the model on the batches as in training (train mode,
 * batch statistics) to obtain each layer's input: recalibration does not change what a
 * train-mode forward computes, so earlier layers' recalibration does not change later
 * layers' inputs. Nothing is written until every batch has been read and every result
 * checked: when it throws, no layer has changed.
 *
 * @param layers - the layers to recalibrate; each must have running statistics and a
 *   normalizer with `batchMoments`
 * @param batches - K ≥ 1 batches; each is a list with one input tensor per layer, in the
 *   order of `layers` (`batch[i]` is what `layers[i]` receives). A generator can compute
 *   them lazily by running the model.
 * @returns per layer, the statistics written
 * @throws NormkitError `E_OPTION` for a layer without `batchMoments` or no batches;
 *   `E_STATE` for a layer without running statistics; `E_SHAPE` for a batch that is not a
 *   list of one tensor per layer (or what the normalizer's `batchMoments` throws); `E_DTYPE`
 *   for an input of another dtype than its layer's;
 *   `E_DEGENERATE` when a variance has no degrees of freedom (one value per channel in
 *   total, or one value per sample for instance norm; for a biased running variance, no value); `E_NONFINITE` for statistics that
 *   are not finite or do not fit the state's dtype
 * @example
 * ```ts
 * // two batch-norm layers of a model; inputsOf(batch) runs the model in train mode and
 * // returns what each layer received
 * recalibrate([bn1, bn2], (function* () {
 *   for (const batch of calibrationBatches) yield inputsOf(batch);
 * })());
 * bn1.eval(); bn2.eval();
 * ```
 */
export function recalibrate(layers: readonly Layer[], batches: Iterable<readonly Tensor[]>): RecalibratedStatistics[] {
  if (!Array.isArray(layers)) fail('E_OPTION', `recalibrate layers: expected a list of layers, got ${describeValue(layers)}`, 'layers');
  const accumulators: Accumulator[] = layers.map((layer, i) => {
    const where = `layers[${i}]`;
    const bound = (layer as Partial<Layer> | null)?.normalizer;
    if (bound === undefined || bound === null || typeof bound !== 'object' || typeof (bound as Partial<Layer['normalizer']>).meta?.name !== 'string') {
      fail('E_OPTION', `${where}: expected a Layer, got ${describeValue(layer)}`, where);
    }
    if (typeof bound.batchMoments !== 'function') {
      fail('E_OPTION', `${where}: expected a layer whose normalizer reports batch moments (batchMoments), got ${bound.meta.name}, which does not`, where);
    }
    const state = layer.state as TensorMap<string>;
    const mean = state.runningMean;
    const variance = state.runningVar;
    if (!isTensor(mean) || !isTensor(variance)) {
      fail('E_STATE', `${where}: expected running statistics (runningMean, runningVar), got a ${bound.meta.name} layer without them (trackRunningStats off?)`, where);
    }
    return { kind: null, biased: null, channels: mean.shape[0], pooled: [], groupMeans: [], groupVariances: [] };
  });
  if (batches === null || typeof batches !== 'object' || typeof (batches as Iterable<unknown>)[Symbol.iterator] !== 'function') {
    fail('E_OPTION', `recalibrate batches: expected an iterable of batches (one list of input tensors per batch), got ${describeValue(batches)}`, 'batches');
  }

  let k = 0;
  for (const batch of batches) {
    const where = `batches[${k}]`;
    if (!Array.isArray(batch) || batch.length !== layers.length) {
      const hint = isTensor(batch) ? `; a batch is a list even for one layer: [x], so batches is [[xa], [xb], …]` : '';
      fail('E_SHAPE', `${where}: expected a list of ${layers.length} input tensors (one per layer), got ${isTensor(batch) ? 'a tensor' : describeValue(batch)}${hint}`, where);
    }
    layers.forEach((layer, i) => {
      const acc = accumulators[i];
      const moments = checkedBatchMoments(layer, batch[i], `${where}[${i}]`, acc.channels);
      if (acc.kind !== null && acc.kind !== moments.kind) {
        fail('E_PLUGIN', `${layer.normalizer.meta.name}.batchMoments: expected the same kind for every batch, got ${acc.kind} then ${moments.kind}`, `${where}[${i}]`);
      }
      acc.kind = moments.kind;
      const biased = moments.runningVariance === 'biased';
      if (acc.biased !== null && acc.biased !== biased) {
        fail('E_PLUGIN', `${layer.normalizer.meta.name}.batchMoments: expected the same runningVariance for every batch`, `${where}[${i}]`);
      }
      acc.biased = biased;
      if (moments.kind === 'pooled') {
        acc.pooled.push(moments.groups.map((groups) => groups.reduce(mergeMoments, EMPTY_MOMENTS)));
        return;
      }
      const means = new Float64Array(acc.channels);
      const variances = new Float64Array(acc.channels);
      moments.groups.forEach((groups, c) => {
        for (const g of groups) {
          if (biased ? !(g.count > 0) : !(g.count > 1)) {
            const need = biased ? 'at least 1 value per group' : 'more than 1 value per group for an unbiased variance';
            fail('E_DEGENERATE', `${where}[${i}]: expected ${need}, got ${g.count} in channel ${c}`, `${where}[${i}]`);
          }
        }
        means[c] = meanOf(groups.map((g) => g.mean));
        variances[c] = meanOf(groups.map((g) => g.m2 / (biased ? g.count : g.count - 1)));
      });
      acc.groupMeans.push(means);
      acc.groupVariances.push(variances);
    });
    k++;
  }
  if (k === 0) fail('E_OPTION', 'recalibrate batches: expected at least one batch, got none', 'batches');

  const results = accumulators.map((acc, i): RecalibratedStatistics => {
    const mean = new Float64Array(acc.channels);
    const variance = new Float64Array(acc.channels);
    for (let c = 0; c < acc.channels; c++) {
      if (acc.kind === 'pooled') {
        // Every batch weighs the same; a batch with no values here (every share of it empty, as
        // sync batch norm's replicas may have) has no statistics and is left out, not read as 0.
        let total = 0;
        let batchesWithValues = 0;
        for (const perBatch of acc.pooled) {
          total += perBatch[c].count;
          if (perBatch[c].count > 0) batchesWithValues++;
        }
        const share = total / batchesWithValues;
        let merged: Moments = EMPTY_MOMENTS;
        for (const perBatch of acc.pooled) {
          const m = perBatch[c];
          if (m.count > 0) merged = mergeMoments(merged, { count: share, mean: m.mean, m2: (m.m2 * share) / m.count });
        }
        if (acc.biased === true ? !(total > 0) : !(total > 1)) {
          const need = acc.biased === true ? 'at least 1 value' : 'more than 1 value';
          fail('E_DEGENERATE', `layers[${i}]: expected ${need} per channel over all batches for ${acc.biased === true ? 'a' : 'an unbiased'} variance, got ${total} in channel ${c}`, `layers[${i}]`);
        }
        mean[c] = merged.mean;
        variance[c] = merged.m2 / (acc.biased === true ? total : total - 1);
      } else {
        mean[c] = meanOf(acc.groupMeans.map((m) => m[c]));
        variance[c] = meanOf(acc.groupVariances.map((v) => v[c]));
      }
      if (!Number.isFinite(mean[c]) || !Number.isFinite(variance[c])) {
        fail('E_NONFINITE', `layers[${i}]: expected finite population statistics, got mean ${mean[c]} and variance ${variance[c]} in channel ${c} (NaN or ±Infinity in a batch)`, `layers[${i}]`);
      }
    }
    return { batches: k, mean, variance };
  });

  // Everything is computed and checked; build the new states, let each normalizer check its
  // own, and only then write them all.
  const nextStates = layers.map((layer, i) => {
    const state = layer.state as TensorMap<string>;
    const runningMean = state.runningMean as Tensor;
    const runningVar = state.runningVar as Tensor;
    const nextMean = fromArray(results[i].mean, runningMean.shape, dtypeOf(runningMean));
    const nextVar = fromArray(results[i].variance, runningVar.shape, dtypeOf(runningVar));
    for (const t of [nextMean, nextVar]) {
      for (let c = 0; c < t.data.length; c++) {
        if (!Number.isFinite(t.data[c])) {
          fail('E_NONFINITE', `layers[${i}]: expected population statistics that fit the ${dtypeOf(t)} state, got ${results[i].mean[c]}, ${results[i].variance[c]} in channel ${c}`, `layers[${i}]`);
        }
      }
    }
    const next = { ...state, runningMean: nextMean, runningVar: nextVar };
    layer.normalizer.validateState?.(next);
    return next;
  });
  layers.forEach((layer, i) => {
    layer.state = nextStates[i];
  });
  return results;
}

/**
 * The {@link BatchMoments} of engine statistics: group `g` (count values, mean `mean[g]`,
 * **biased** variance `variance[g]`, as {@link batchStatistics} returns them) belongs to
 * channel `g mod channels`, i.e. the group index is row-major over `(…, channel)` (batch
 * norm's channels; instance norm's `(sample, channel)`; ghost batch norm's
 * `(virtual batch, channel)`).
 *
 * @param kind - how the moments become running statistics
 * @param mean - per group, the mean
 * @param variance - per group, the biased variance
 * @param count - values per group
 * @param channels - the number of channels
 * @returns per channel, the moments of its groups in group order
 */
export function batchMomentsOf(kind: BatchMoments['kind'], mean: Float64Array, variance: Float64Array, count: number, channels: number): BatchMoments {
  const groups: Moments[][] = Array.from({ length: channels }, () => []);
  for (let g = 0; g < mean.length; g++) groups[g % channels].push({ count, mean: mean[g], m2: variance[g] * count });
  return { kind, groups };
}
