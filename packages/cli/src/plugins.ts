import { batchNorm } from '@normkit/batch-norm';
import { createRegistry } from '@normkit/core';
import type { Registry } from '@normkit/core';
import { layerNorm } from '@normkit/layer-norm';
import { weightNorm, weightNormLinear } from '@normkit/weight-norm';

/**
 * A registry holding every built-in normkit plugin.
 *
 * @returns a new registry with `batch-norm`, `layer-norm`, `weight-norm` and `weight-norm-linear`
 */
export function builtinRegistry(): Registry {
  return createRegistry([batchNorm, layerNorm, weightNorm, weightNormLinear]);
}
