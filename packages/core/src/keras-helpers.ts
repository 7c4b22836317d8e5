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

/**
 * The sizes of the trailing axes a Keras layer normalizes over (its `axis`, default `-1`), as
 * normkit's `normalizedShape`: layer norm's and RMS norm's. The axes must be the trailing ones in
 * increasing order (`-1`, `[-2, -1]`, or `[1, 2]` for a rank-3 `inputShape`); their sizes come
 * from `inputShape` when it gives them all, else from the weights (one size per axis).
 *
 * @param context - the import context (config, weights' shapes, input shape)
 * @param sortAxes - read the axes as a set, as Keras's `RMSNormalization` builds them
 *   (`sorted(set(resolved axes))`, the weight shaped by that order): resolved against the rank
 *   when it is known, duplicates dropped, sorted. Default `false`: as given, in order (Keras's
 *   `LayerNormalization` shapes γ and β by the order given)
 * @returns the sizes of the normalized axes
 * @throws NormkitError `E_OPTION` for axes that are not the trailing ones (normalize a transposed
 *   view instead), a non-negative axis without `inputShape`, or sizes that neither the input
 *   shape nor the weights give; `E_STATE` when `inputShape` and the weights disagree
 */
export function kerasTrailingShape(context: KerasContext, sortAxes = false): number[] {
  const { config, inputShape } = context;
  const className = config.className;
  const rank = inputShape?.length;
  const given = config.axes('axis', -1);
  const resolved = kerasAxes(given, rank, className);
  const axes = sortAxes ? [...new Set(resolved)].sort((a, b) => a - b) : resolved;
  const trailing = axes.map((_, i) => (rank === undefined ? -axes.length + i : rank - axes.length + i));
  const written = JSON.stringify(config.value('axis') ?? -1);
  if (axes.some((axis, i) => axis !== trailing[i])) {
    throw new NormkitError(
      'E_OPTION',
      `keras ${className} config.axis: normkit normalizes the trailing axes in order (${JSON.stringify(trailing)} here), got ${written}; ` +
        'normalize a transposed view that puts those axes last (see the conventions guide)',
      'config.axis',
    );
  }
  const fromInput = inputShape === undefined ? undefined : trailing.map((axis) => inputShape[axis]);
  const weightShape = kerasCommonShape(context);
  if (fromInput !== undefined && weightShape !== null && weightShape.length === fromInput.length && fromInput.some((size, i) => size !== null && size !== weightShape[i])) {
    throw new NormkitError('E_STATE', `keras ${className}: layer.inputShape has sizes ${JSON.stringify(fromInput)} at axis ${written}, the weights [${weightShape.join(', ')}]`, 'layer.inputShape');
  }
  if (fromInput !== undefined && fromInput.every((size): size is number => size !== null)) return fromInput;
  if (weightShape !== null && weightShape.length === axes.length) return [...weightShape];
  const names = [...context.shapes.keys()].join(' / ');
  const why =
    weightShape === null
      ? fromInput === undefined
        ? ', and there are none; pass layer.inputShape'
        : `, and there are none, and layer.inputShape has unknown sizes there (${JSON.stringify(fromInput)})`
      : `, got shape [${weightShape.join(', ')}]; pass layer.inputShape`;
  throw new NormkitError('E_OPTION', `keras ${className}: the sizes of axis ${written} come from the weights${names === '' ? '' : ` (${names})`}, one size per axis${why}`, 'layer.inputShape');
}
