import { NormkitError, kerasTrailingShape } from '@normkit/core';
import type { KerasNames } from '@normkit/core';
import type { RmsNormInputOptions } from './options.js';
import type { RmsNormTypes } from './plugin.js';

/**
 * RMS norm's Keras names: Keras 3's `keras.layers.RMSNormalization(axis=-1, epsilon=1e-6)`,
 * `y = x / √(mean(x²) + ε) · scale` over `axis`, whose one weight `scale` (initialized to ones)
 * is normkit's `weight`. TF.js has no such layer.
 *
 * Config → options: `axis`, read as Keras builds it (resolved, duplicates dropped, sorted),
 * must be the trailing axes (`-1`, `[-2, -1]`, or `[1, 2]` for a rank-3 input given as
 * `inputShape`; a layer built by current Keras stores non-negative axes, so pass `inputShape`);
 * their sizes become `normalizedShape`. `epsilon` → `eps` (default 1e-6, where normkit's own default is the
 * dtype's machine epsilon).
 *
 * A config without `axis` is refused: Keras's `get_config()` always has it, while KerasHub's
 * model-specific `RMSNormalization` layers have none, and some of them (Gemma's) multiply by
 * `1 + scale` (initialized to zeros). Importing one of those as Keras's would be wrong by
 * exactly that 1; the refusal says how to import either kind (`axis: -1`, weights `1 + scale`
 * or `scale`, after reading the layer's `call`).
 */
export const rmsNormKeras: KerasNames<RmsNormTypes> = {
  className: 'RMSNormalization',
  refuse(config) {
    if (!config.has('axis')) {
      throw new NormkitError(
        'E_OPTION',
        "keras RMSNormalization config: no axis. Keras's RMSNormalization.get_config() always has one (pass the config it returns); " +
          "KerasHub's model-specific RMSNormalization layers have none, and some multiply by 1 + scale (Gemma's, scale initialized to zeros), others by scale: " +
          "read the layer's call, then pass config.axis -1 and weights [1 + scale] or [scale]",
        'config.axis',
      );
    }
  },
  weights: () => [{ keras: 'scale', entry: 'weight' }],
  options(context): RmsNormInputOptions {
    return { normalizedShape: kerasTrailingShape(context, true), eps: context.config.number('epsilon', 1e-6, { above: 0 }) };
  },
};
