import { NormkitError, describeValue } from './errors.js';
import type { Tensor } from './tensor.js';
import { assertTensor, formatShape, isTensor, shapesEqual } from './tensor.js';

/**
 * What the forward pass of every normalizer on the engine keeps for its backward pass: the
 * input by reference and two float64 numbers per statistics group. Extra memory: 16 bytes per
 * group, independent of the reduced size (no copy of `x`, no `x̂`). Do not mutate `x` between
 * forward and backward.
 */
export interface NormSaved {
  /** The forward input itself (a reference, not a copy). */
  readonly x: Tensor;
  /** Per group, the value subtracted: the mean used (batch or running), or 0 for RMS norm. */
  readonly center: Float64Array;
  /** Per group, $`1/\sqrt{\sigma^2 + \epsilon}`$ as used. */
  readonly invStd: Float64Array;
  /** True when the statistics were computed from `x` (so backward differentiates through them). */
  readonly batchStats: boolean;
}

/**
 * Checks that `saved` is what a forward call of this plugin returned.
 *
 * @param saved - what came
 * @param plugin - the plugin name, for the message
 * @param fits - a check of the saved input's shape against the options (`null` when it fits, else what is wrong)
 * @param groupsOf - the number of statistics groups for an input shape
 * @param allowEmpty - accept an empty saved input (a plugin whose forward accepts one, see
 *   `ForwardSpec.allowEmpty`). Default `false`
 * @returns `saved`, typed
 * @throws NormkitError `E_STATE` otherwise
 */
export function checkNormSaved(
  saved: unknown,
  plugin: string,
  fits: (shape: readonly number[]) => string | null,
  groupsOf: (shape: readonly number[]) => number,
  allowEmpty = false,
): NormSaved {
  const fail = (what: string): never => {
    throw new NormkitError('E_STATE', `saved: expected the saved value of a ${plugin} forward call with these options, got ${what}`, 'saved');
  };
  if (typeof saved !== 'object' || saved === null) return fail(describeValue(saved));
  const s = saved as Partial<Record<keyof NormSaved, unknown>>;
  if (!isTensor(s.x)) return fail('no input tensor x');
  // The full check (strides inside the buffer, no empty axes): backward reads x through its strides.
  try {
    assertTensor(s.x, 'saved.x', { allowEmpty });
  } catch (e) {
    return fail(`an input tensor x that is not readable (${(e as Error).message})`);
  }
  const problem = fits(s.x.shape);
  if (problem !== null) return fail(`an input of shape ${formatShape(s.x.shape)} (${problem})`);
  const groups = groupsOf(s.x.shape);
  for (const name of ['center', 'invStd'] as const) {
    const v = s[name];
    if (!(v instanceof Float64Array) || v.length !== groups) return fail(`${name} that is not a Float64Array of ${groups} values`);
  }
  if (typeof s.batchStats !== 'boolean') return fail('no batchStats flag');
  return saved as NormSaved;
}

/**
 * The shape check shared by normalizers whose input ends in a fixed shape (layer norm, RMS
 * norm): `null` when `shape` ends in `trailing`, else what is wrong.
 *
 * @param shape - the input's shape
 * @param trailing - the shape its last axes must have
 * @param what - the option's name, for the message (e.g. `"normalizedShape"`)
 * @returns `null`, or a sentence saying what was expected and what came
 */
export function trailingShapeProblem(shape: readonly number[], trailing: readonly number[], what: string): string | null {
  const rank = trailing.length;
  if (shape.length < rank) {
    return `expected rank ≥ ${rank} ending in ${what} ${formatShape(trailing)}, got rank ${shape.length} (shape ${formatShape(shape)})`;
  }
  const last = shape.slice(shape.length - rank);
  if (!shapesEqual(last, trailing)) {
    return `expected trailing shape ${formatShape(trailing)} (${what}), got shape ${formatShape(shape)} whose last ${rank} axes are ${formatShape(last)}`;
  }
  return null;
}
