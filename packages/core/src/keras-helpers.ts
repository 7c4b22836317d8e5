import { NormkitError } from './errors.js';
import type { KerasConfig } from './keras-config.js';
import type { KerasContext } from './keras.js';
import type { Shape } from './tensor.js';
import { formatShape, shapesEqual } from './tensor.js';

/**
 * Keras's `center` / `scale` as normkit's single `affine` switch.
 *
 * @param context - the import context (its `fillMissingAffine`)
 * @returns `true` when either is on (a missing one is filled), `false` when both are off
 * @throws NormkitError `E_OPTION` when they differ and `fillMissingAffine` is off
 */
export function kerasAffine(context: KerasContext): boolean {
  const { config } = context;
  const center = config.boolean('center', true);
  const scale = config.boolean('scale', true);
  if (center !== scale && !context.fillMissingAffine) {
    throw new NormkitError(
      'E_OPTION',
      `keras ${config.className} config: center=${center}, scale=${scale} (${center ? 'β without γ' : 'γ without β'}) has no normkit option; ` +
        `pass { fillMissingAffine: true } to create the missing ${center ? 'γ at 1' : 'β at 0'} (exact for inference; normkit trains it)`,
      center ? 'config.scale' : 'config.center',
    );
  }
  return center || scale;
}

/**
 * A Keras axis list resolved to non-negative axes, when the rank is known, or left negative.
 *
 * @param axes - the config's axes
 * @param rank - the input's rank, when known
 * @param className - for messages
 * @returns the axes, each `< rank` (non-negative) when `rank` is known
 * @throws NormkitError `E_OPTION` for a non-negative axis without a rank, or an axis outside the rank
 */
export function kerasAxes(axes: readonly number[], rank: number | undefined, className: string): number[] {
  return axes.map((axis) => {
    if (rank === undefined) {
      if (axis >= 0) {
        throw new NormkitError(
          'E_OPTION',
          `keras ${className} config.axis: ${axis} counts from the batch axis, and normkit needs the input's rank to place it; pass layer.inputShape ` +
            `(a built layer stores non-negative axes: Keras layer.get_build_config()['input_shape'] or layer.input.shape, TF.js layer.input.shape)`,
          'config.axis',
        );
      }
      return axis;
    }
    if (axis < -rank || axis >= rank) {
      throw new NormkitError('E_OPTION', `keras ${className} config.axis: expected an axis in [${-rank}, ${rank - 1}] for input rank ${rank}, got ${axis}`, 'config.axis');
    }
    return axis < 0 ? axis + rank : axis;
  });
}

/**
 * The one shape all the weights that came share (a normalization layer's γ, β and statistics
 * all have the parameter shape), or `null` when none came.
 *
 * @param context - the import context (its `shapes`)
 * @returns the common shape, or `null`
 * @throws NormkitError `E_STATE` listing every weight's shape when they differ
 */
export function kerasCommonShape(context: KerasContext): Shape | null {
  const shapes = [...context.shapes];
  if (shapes.length === 0) return null;
  const [, first] = shapes[0];
  if (shapes.some(([, shape]) => !shapesEqual(shape, first))) {
    throw new NormkitError(
      'E_STATE',
      `keras ${context.config.className} weights: expected one shape for all, got ${shapes.map(([name, shape]) => `${name} ${formatShape(shape)}`).join(', ')}`,
      'weights',
    );
  }
  return first;
}

/** One of a Keras layer's affine weights: Keras's name and normkit's parameter. */
export interface KerasAffineWeight {
  /** Keras's name: `gamma` (γ) or `beta` (β). */
  readonly keras: 'gamma' | 'beta';
  /** normkit's parameter: `weight` (γ) or `bias` (β). */
  readonly entry: 'weight' | 'bias';
}

/**
 * The affine weights of a Keras normalization layer, in `get_weights()` order: `gamma` (γ,
 * normkit's `weight`) when `scale`, then `beta` (β, `bias`) when `center` (both default on).
 *
 * @param config - the config, read
 * @returns the weights present
 */
export function kerasAffineWeights(config: KerasConfig): KerasAffineWeight[] {
  const affine: KerasAffineWeight[] = [];
  if (config.boolean('scale', true)) affine.push({ keras: 'gamma', entry: 'weight' });
  if (config.boolean('center', true)) affine.push({ keras: 'beta', entry: 'bias' });
  return affine;
}
