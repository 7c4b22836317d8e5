import { batchNorm } from '@normkit/batch-norm';
import { batchRenorm } from '@normkit/batch-renorm';
import { createRegistry } from '@normkit/core';
import type { Registry } from '@normkit/core';
import { ghostBatchNorm } from '@normkit/ghost-batch-norm';
import { groupNorm } from '@normkit/group-norm';
import { instanceNorm } from '@normkit/instance-norm';
import { layerNorm } from '@normkit/layer-norm';
import { rmsNorm } from '@normkit/rms-norm';
import { syncBatchNorm } from '@normkit/sync-batch-norm';
import { weightNorm, weightNormLinear } from '@normkit/weight-norm';

/** Every built-in normkit plugin, in the order `normkit gradcheck` runs them. */
export const BUILTIN_PLUGINS = [
  batchNorm,
  layerNorm,
  groupNorm,
  instanceNorm,
  rmsNorm,
  weightNorm,
  weightNormLinear,
  batchRenorm,
  ghostBatchNorm,
  syncBatchNorm,
] as const;

/**
 * A registry holding every built-in normkit plugin ({@link BUILTIN_PLUGINS}): batch, layer,
 * group, instance and RMS norm, weight norm and its dense layer, batch renormalization, ghost
 * batch norm and sync batch norm (single worker unless given an all-reduce).
 *
 * @returns a new registry
 */
export function builtinRegistry(): Registry {
  return createRegistry([...BUILTIN_PLUGINS]);
}
