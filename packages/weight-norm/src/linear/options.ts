import { booleanOption, formatShape, numberOption, readOptions } from '@normkit/core';
import type { ForwardSpec, Shape } from '@normkit/core';
import type { GInit } from '../options.js';
import { epsOption, gInitOption } from '../options.js';

/** The name the weight-normalized dense layer uses in messages and registries. */
export const WEIGHT_NORM_LINEAR_NAME = 'weight-norm-linear';

/** What a user passes to {@link resolveWeightNormLinearOptions}. */
export interface WeightNormLinearInputOptions {
  /** The size of the last axis of the input (required, integer ≥ 1). */
  readonly inFeatures: number;
  /** The number of output units (required, integer ≥ 1). */
  readonly outFeatures: number;
  /** Learn a bias (default true). */
  readonly bias?: boolean;
  /** Added to `Σv²` inside the root of each row's norm; absent or `null` (default): none. */
  readonly eps?: number | null;
  /** `g` at `init`: `'norm'` (default, `g = ‖v‖`, so `W = v`) or `'one'` (`W = v/‖v‖`). */
  readonly gInit?: GInit;
  /** Seed of the N(0, initStd²) draw of `v` at `init` (default 0; an unsigned 32-bit integer). */
  readonly seed?: number;
  /** Standard deviation of the entries of `v` at `init` (default 0.05, as in the paper). */
  readonly initStd?: number;
}

/** The resolved options of the weight-normalized dense layer. */
export interface WeightNormLinearOptions {
  /** Size of the input's last axis. */
  readonly inFeatures: number;
  /** Number of output units. */
  readonly outFeatures: number;
  /** Is there a bias? */
  readonly bias: boolean;
  /** eps inside the root, or `null`. */
  readonly eps: number | null;
  /** `g` at `init`. */
  readonly gInit: GInit;
  /** Seed of `v` at `init`. */
  readonly seed: number;
  /** Standard deviation of `v` at `init`. */
  readonly initStd: number;
}

const KNOWN = ['inFeatures', 'outFeatures', 'bias', 'eps', 'gInit', 'seed', 'initStd'] as const;

/**
 * Validates the dense layer's options and fills the defaults
 * (`bias: true`, `eps: null`, `gInit: 'norm'`, `seed: 0`, `initStd: 0.05`).
 *
 * @param input - the user's options; `inFeatures` and `outFeatures` are required
 * @returns the resolved options
 * @throws NormkitError `E_OPTION` for an unknown key, a missing or non-positive-integer
 *   `inFeatures`/`outFeatures`, a non-boolean `bias`, an `eps` that is not > 0, a bad `gInit`,
 *   a `seed` outside [0, 2³² − 1] or an `initStd` that is not > 0
 */
export function resolveWeightNormLinearOptions(input?: WeightNormLinearInputOptions): WeightNormLinearOptions {
  const name = WEIGHT_NORM_LINEAR_NAME;
  const record = readOptions(input, KNOWN, name);
  return {
    inFeatures: numberOption(record, 'inFeatures', undefined, { integer: true, min: 1 }, name),
    outFeatures: numberOption(record, 'outFeatures', undefined, { integer: true, min: 1 }, name),
    bias: booleanOption(record, 'bias', true, name),
    eps: epsOption(record, name),
    gInit: gInitOption(record, name),
    seed: numberOption(record, 'seed', 0, { integer: true, min: 0, max: 2 ** 32 - 1 }, name),
    initStd: numberOption(record, 'initStd', 0.05, { greaterThan: 0 }, name),
  };
}

/**
 * The parameter shapes of the dense layer: `v (out, in)`, `g (out)` and, with a bias, `bias (out)`.
 *
 * @param options - resolved options
 * @returns parameter name → shape
 */
export function linearParamShapes(options: WeightNormLinearOptions): { v: Shape; g: Shape; bias?: Shape } {
  const { inFeatures, outFeatures } = options;
  const shapes: { v: Shape; g: Shape; bias?: Shape } = { v: [outFeatures, inFeatures], g: [outFeatures] };
  if (options.bias) shapes.bias = [outFeatures];
  return shapes;
}

/**
 * What core's `checkForward` checks for the dense layer: an input `(..., inFeatures)` and the
 * parameters of {@link linearParamShapes} in the input's dtype, no state.
 *
 * @param options - resolved options
 * @returns the forward spec
 */
export function linearForwardSpec(options: WeightNormLinearOptions): ForwardSpec {
  const checkShape = (shape: Shape) =>
    shape[shape.length - 1] === options.inFeatures ? null : `expected a last axis of size inFeatures = ${options.inFeatures}, got shape ${formatShape(shape)}`;
  return { plugin: WEIGHT_NORM_LINEAR_NAME, minRank: 1, checkShape, paramShapes: linearParamShapes(options), stateShapes: {} };
}
