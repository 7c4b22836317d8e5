import { recalibrate } from '@normkit/core';
import type { Layer, Tensor, TensorMap } from '@normkit/core';
import type { Network } from './network.js';

/** Eval accuracy with the moving averages and with statistics recalibrated over K batches. */
export interface PreciseBnResult {
  /** Test accuracy with the running statistics training left (exponential moving average). */
  readonly emaAccuracy: number;
  /** The K values, increasing. */
  readonly ks: number[];
  /** Test accuracy after {@link recalibrate} over the first K calibration batches, per K. */
  readonly accuracies: number[];
  /** The calibration batch size. */
  readonly batchSize: number;
}

/**
 * PreciseBN (Wu & Johnson 2021) on a trained network: runs the calibration batches through
 * the network in train mode **without** changing it (pure forward calls; batch statistics
 * do not depend on the running ones, so every layer's input is what `recalibrate` needs),
 * then for each K replaces the running statistics of the `statLayers` by the population
 * statistics of the first K batches (core's `recalibrate`) and measures `evaluate()`. The
 * running statistics are put back afterwards.
 *
 * @param net - the trained network
 * @param statLayers - indices of its layers with running statistics
 * @param batches - at least max(ks) calibration inputs
 * @param ks - the numbers of batches to try
 * @param evaluate - test accuracy of `net` in eval mode
 */
export function preciseBnCurve(net: Network, statLayers: readonly number[], batches: readonly Tensor[], ks: readonly number[], evaluate: () => number): PreciseBnResult {
  const inputs: Tensor[][] = batches.map((x) => {
    let h = x;
    const seen: Tensor[] = [];
    net.layers.forEach((layer, k) => {
      if (statLayers.includes(k)) seen.push(h);
      h = layer.normalizer.forward({ x: h, params: layer.params, state: layer.state, mode: 'train' }).y;
    });
    return seen;
  });
  const layers: Layer[] = statLayers.map((k) => net.layers[k]);
  const saved: TensorMap<string>[] = layers.map((l) => l.state);
  const emaAccuracy = evaluate();
  const accuracies: number[] = [];
  for (const k of ks) {
    recalibrate(layers, inputs.slice(0, k));
    accuracies.push(evaluate());
    layers.forEach((l, i) => {
      l.state = saved[i];
    });
  }
  return { emaAccuracy, ks: [...ks], accuracies, batchSize: batches[0]?.shape[0] ?? 0 };
}
