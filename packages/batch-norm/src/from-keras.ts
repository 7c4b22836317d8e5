import { layerFromKeras } from '@normkit/core';
import type { KerasImportOptions, KerasLayer } from '@normkit/core';
import { BatchNorm } from './layer.js';
import type { BatchNormInputOptions } from './options.js';
import { batchNorm } from './plugin.js';

/**
 * A {@link BatchNorm} holding a trained Keras / TF.js `BatchNormalization` layer: its options
 * read from the config (see {@link batchNormKeras}) and its four weights copied unchanged, so
 * that `eval()` reproduces Keras's inference. The layer starts in train mode, as every new
 * normkit layer does (eval mode when the Keras layer was frozen, `trainable: false`): call
 * `eval()` before inference.
 *
 * @param layer - `{ config, weights }`: `get_config()` / `getConfig()` and `get_weights()` /
 *   `getWeights()` (a list, or an object keyed by weight name); `className` and `inputShape` optional
 * @param options - `dtype` (default float32, or the config's float64), `overrides` (normkit
 *   options that win over the config's; `undefined` values are ignored), `fillMissingAffine`
 *   (accept `center` ≠ `scale`)
 * @returns the layer
 * @throws NormkitError `E_OPTION` for a config normkit cannot reproduce; `E_STATE` for weights
 *   of the wrong number, names or shapes; `E_NONFINITE` for NaN or ±Infinity in a weight
 * @example
 * ```ts
 * // Python: json.dump({'config': bn.get_config(), 'weights': [w.tolist() for w in bn.get_weights()]}, f)
 * const bn = batchNormFromKeras(JSON.parse(text)).eval();   // eps 1e-3, momentum 0.01, channelAxis -1
 * ```
 */
export function batchNormFromKeras(layer: KerasLayer, options: KerasImportOptions<BatchNormInputOptions> = {}): BatchNorm {
  return layerFromKeras(batchNorm, (resolved, init) => new BatchNorm(resolved, init), layer, options);
}
