import { batchNorm } from '@normkit/batch-norm';
import { batchRenorm } from '@normkit/batch-renorm';
import { fromArray, toTypedArray } from '@normkit/core';
import type { Normalizer, Shape, Tensor, TensorMap } from '@normkit/core';
import { ghostBatchNorm } from '@normkit/ghost-batch-norm';
import { uniformRng } from '@normkit/gradcheck';
import { groupNorm } from '@normkit/group-norm';
import { instanceNorm } from '@normkit/instance-norm';
import { layerNorm } from '@normkit/layer-norm';
import { rmsNorm } from '@normkit/rms-norm';
import { syncBatchNorm } from '@normkit/sync-batch-norm';
import { weightNorm, weightNormLinear } from '@normkit/weight-norm';

/** Every built-in plugin, in the order of `normkit gradcheck` (the CLI's list). */
export const FAMILY: readonly Normalizer[] = [
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
] as unknown as readonly Normalizer[];

/** One plugin's forward and backward on seeded float32 inputs, as plain numbers. */
export interface FamilyRun {
  /** The plugin's name. */
  readonly name: string;
  /** The input shape (the plugin's first example shape). */
  readonly shape: readonly number[];
  /** The forward output, row-major. */
  readonly y: number[];
  /** The input gradient, row-major. */
  readonly dx: number[];
  /** Each parameter's gradient, row-major. */
  readonly grads: Record<string, number[]>;
  /** Each state entry after the forward call, row-major. */
  readonly state: Record<string, number[]>;
}

/**
 * Seeded values in about [−2, 2) from exact arithmetic only (a sum of four mulberry32
 * uniforms, shifted and scaled), so that Node and a browser draw the same numbers.
 */
export function seededTensor(shape: Shape, seed: number, scale = 1, shift = 0): Tensor {
  const next = uniformRng(seed);
  let size = 1;
  for (const d of shape) size *= d;
  const values = new Float64Array(size);
  for (let i = 0; i < size; i++) values[i] = shift + scale * (next() + next() + next() + next() - 2);
  return fromArray(values, shape, 'float32');
}

function plain(map: TensorMap<string>): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [name, t] of Object.entries(map as Record<string, Tensor | undefined>)) if (t !== undefined) out[name] = Array.from(toTypedArray(t));
  return out;
}

/**
 * Runs every plugin of {@link FAMILY} forward (train mode) and backward in float32 on seeded
 * inputs of its first example shape, with its default parameters and state.
 *
 * @param seed - the seed of the inputs
 * @returns one run per plugin, in {@link FAMILY}'s order
 */
export function runFamily(seed: number): FamilyRun[] {
  return FAMILY.map((plugin, k) => {
    const bound = plugin.create(plugin.exampleOptions[0]);
    const shape = bound.exampleShapes()[0];
    const { params, state } = bound.init('float32');
    const x = seededTensor(shape, seed + 17 * k);
    const forward = bound.forward({ x, params, state, mode: 'train' });
    const dy = seededTensor(forward.y.shape, seed + 17 * k + 1);
    const backward = bound.backward({ dy, params, saved: forward.saved });
    return {
      name: plugin.meta.name,
      shape: shape.slice(),
      y: Array.from(toTypedArray(forward.y)),
      dx: Array.from(toTypedArray(backward.dx)),
      grads: plain(backward.grads),
      state: plain(forward.state),
    };
  });
}
