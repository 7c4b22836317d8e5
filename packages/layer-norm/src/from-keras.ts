import { layerFromKeras } from '@normkit/core';
import type { KerasImportOptions, KerasLayer } from '@normkit/core';
import { LayerNorm } from './layer.js';
import type { LayerNormInputOptions } from './options.js';
import { layerNorm } from './plugin.js';

/**
 * A {@link LayerNorm} holding a trained Keras / TF.js `LayerNormalization` layer: its options
 * read from the config (see {@link layerNormKeras}) and `gamma` / `beta` copied unchanged.
 *
 * @param layer - `{ config, weights }`: `get_config()` / `getConfig()` and `get_weights()` /
 *   `getWeights()` (a list, or an object keyed by weight name); `inputShape` (batch axis
 *   included) when `axis` is non-negative, as a built layer stores it
 * @param options - `dtype` (default float32, or the config's float64), `overrides` (normkit
 *   options that win over the config's; `undefined` values are ignored), `fillMissingAffine`
 *   (accept `center` without `scale`)
 * @returns the layer
 * @throws NormkitError `E_OPTION` for a config normkit cannot reproduce (axes that are not the
 *   trailing ones, `rms_scaling`); `E_STATE` for weights of the wrong number, names or shapes;
 *   `E_NONFINITE` for NaN or ±Infinity in a weight
 * @example
 * ```ts
 * // Keras LayerNormalization(axis=[1, 2]) on (N, T, D) inputs: normalizedShape [T, D]
 * const ln = layerNormFromKeras({ config, weights, inputShape: [null, 16, 64] });
 * ```
 */
export function layerNormFromKeras(layer: KerasLayer, options: KerasImportOptions<LayerNormInputOptions> = {}): LayerNorm {
  return layerFromKeras(layerNorm, (resolved, init) => new LayerNorm(resolved, init), layer, options);
}
