import { layerFromKeras } from '@normkit/core';
import type { KerasImportOptions, KerasLayer } from '@normkit/core';
import { RMSNorm } from './layer.js';
import type { RmsNormInputOptions } from './options.js';
import { rmsNorm } from './plugin.js';

/**
 * An {@link RMSNorm} holding a trained Keras 3 `keras.layers.RMSNormalization` layer: its options
 * read from the config (see {@link rmsNormKeras}) and `scale` copied unchanged as `weight`.
 *
 * @param layer - `{ config, weights }`: `get_config()` (it must have `axis`) and `get_weights()`
 *   (`[scale]`, or `{ scale }`); `inputShape` (batch axis included) when `axis` is non-negative,
 *   as a layer built by current Keras stores it (`[2]` for the default on rank 3)
 * @param options - `dtype` (default float32, or the config's float64), `overrides` (normkit
 *   options that win over the config's; `undefined` values are ignored)
 * @returns the layer
 * @throws NormkitError `E_OPTION` for a config normkit cannot reproduce (axes that are not the
 *   trailing ones, no `axis`: see {@link rmsNormKeras} for KerasHub's `1 + scale` layers);
 *   `E_STATE` for weights of the wrong number, names or shapes; `E_NONFINITE` for NaN or
 *   ±Infinity in `scale`
 * @example
 * ```ts
 * // Keras RMSNormalization() on (N, T, 64) inputs: normalizedShape [64], eps 1e-6
 * const rms = rmsNormFromKeras({ config: { axis: -1, epsilon: 1e-6 }, weights: [scale] });
 * ```
 */
export function rmsNormFromKeras(layer: KerasLayer, options: KerasImportOptions<RmsNormInputOptions> = {}): RMSNorm {
  return layerFromKeras(rmsNorm, (resolved, init) => new RMSNorm(resolved, init), layer, options);
}
