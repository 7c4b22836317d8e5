import { layerFromKeras } from '@normkit/core';
import type { KerasImportOptions, KerasLayer } from '@normkit/core';
import { GroupNorm } from './layer.js';
import type { GroupNormInputOptions } from './options.js';
import { groupNorm } from './plugin.js';

/**
 * A {@link GroupNorm} holding a trained Keras `GroupNormalization` layer: its options read from
 * the config (see {@link groupNormKeras}) and `gamma` / `beta` copied unchanged.
 *
 * @param layer - `{ config, weights }`: `get_config()` and `get_weights()` (a list, or an object
 *   keyed by weight name); `inputShape` when there are no weights or `axis` is neither `-1` nor `1`
 * @param options - `dtype` (default float32, or the config's float64), `overrides` (normkit
 *   options that win over the config's; `undefined` values are ignored), `fillMissingAffine`
 *   (accept `center` ≠ `scale`)
 * @returns the layer
 * @throws NormkitError `E_OPTION` for a config normkit cannot reproduce; `E_STATE` for weights
 *   of the wrong number, names or shapes; `E_NONFINITE` for NaN or ±Infinity in a weight
 * @example
 * ```ts
 * const gn = groupNormFromKeras({ config: { groups: 8, axis: -1, epsilon: 1e-3 }, weights: [gamma, beta] });
 * ```
 */
export function groupNormFromKeras(layer: KerasLayer, options: KerasImportOptions<GroupNormInputOptions> = {}): GroupNorm {
  return layerFromKeras(groupNorm, (resolved, init) => new GroupNorm(resolved, init), layer, options);
}
