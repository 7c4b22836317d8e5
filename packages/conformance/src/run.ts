import { dtypeOf, fromArray, isNormkitError, toTypedArray } from '@normkit/core';
import type { Dtype, Normalizer, Shape, Tensor, TensorMap } from '@normkit/core';
import type { ArrayComparison } from './compare.js';
import { compareArray, toleranceFor } from './compare.js';
import type { GoldenArray, GoldenCase, GoldenValue } from './format.js';

/** The verdict on one case. */
export interface CaseResult {
  /** The case id. */
  readonly id: string;
  /** The golden layer. */
  readonly layer: string;
  /** `skipped` when no plugin implements the layer. */
  readonly status: 'pass' | 'fail' | 'skipped';
  /** Largest absolute error over every compared array (0 when none). */
  readonly maxAbsErr: number;
  /** Largest relative error over every compared array (see {@link ArrayComparison.maxRelErr}). */
  readonly maxRelErr: number;
  /** What failed, or what was not checked. */
  readonly message: string;
  /**
   * Present on second-order cases: `'checked'` when the second-order arrays (`dsdx`, `dsd<param>`,
   * `dsddy`) were compared through the plugin's `doubleBackward`, `'skipped'` when the plugin
   * has no such member (its first-order arrays are still compared).
   */
  readonly secondOrder?: 'checked' | 'skipped';
}

/** Options of {@link runCase}. */
export interface RunCaseOptions {
  /** The dtype inputs are loaded in (inputs are float32-exact). Default `'float64'`. */
  readonly dtype?: Dtype;
}

/** The vectors' names for the contract's input, output, upstream gradient and input gradient. */
const DEFAULT_VECTOR_NAMES = { input: 'x', output: 'y', upstream: 'dy', inputGrad: 'dx' } as const;

/**
 * The plugin among `plugins` that declares the case's layer (its `pytorch.layer`), if any:
 * plugins declare their own PyTorch names, so no table of layers lives here.
 *
 * @param c - the case
 * @param plugins - the candidates
 * @returns the first plugin whose `pytorch.layer` is `c.layer`, or `undefined`
 */
export function pluginFor(c: GoldenCase, plugins: readonly Normalizer[]): Normalizer | undefined {
  return plugins.find((p) => p.pytorch?.layer === c.layer);
}

function asArray(value: GoldenValue | undefined): GoldenArray | undefined {
  return value === undefined || Array.isArray(value) ? undefined : (value as GoldenArray);
}

function asList(value: GoldenValue | undefined): readonly GoldenArray[] | undefined {
  return Array.isArray(value) ? (value as readonly GoldenArray[]) : undefined;
}

function load(a: GoldenArray, dtype: Dtype): Tensor {
  return fromArray(a.data, a.shape, dtype);
}

/** The state dtype: running statistics follow the load dtype; the step counter is float64. */
function loadState(name: string, a: GoldenArray, dtype: Dtype): Tensor {
  return load(a, name === 'numBatchesTracked' ? 'float64' : dtype);
}

class Tally {
  maxAbsErr = 0;
  maxRelErr = 0;
  failures: string[] = [];
  add(name: string, c: ArrayComparison): void {
    this.maxAbsErr = Math.max(this.maxAbsErr, c.maxAbsErr);
    this.maxRelErr = Math.max(this.maxRelErr, c.maxRelErr);
    if (!c.ok) this.failures.push(`${name}: ${c.message}`);
  }
  compare(name: string, actual: Tensor | undefined, expected: GoldenArray | undefined, hard: boolean, dtype: Dtype): void {
    if (expected === undefined) return;
    if (actual === undefined) {
      this.failures.push(`${name}: expected an array, got none`);
      return;
    }
    // numBatchesTracked is an integer: compare exactly.
    const tolerance = name.startsWith('numBatchesTracked') ? { rtol: 0, atol: 0 } : toleranceFor(dtype, hard);
    this.add(name, compareArray(toTypedArray(actual), actual.shape, expected, tolerance));
  }
}

/**
 * Runs one golden case through a plugin and compares every output at the README's
 * tolerances for the dtype: the forward output, the next state, and (when the case
 * has an upstream gradient) `dx` and the parameter gradients. Second-order cases also
 * compare `dsdx`, `dsd<param>` and `dsddy` (the gradients of s = Σ dx⊙r) with the plugin's
 * `doubleBackward` (cotangent `r` for `dx`, none for the parameter gradients); a plugin
 * without that member gets `secondOrder: 'skipped'` and only its first-order arrays
 * compared. Multi-step cases run
 * their steps in order on one state. An error case passes when the call throws a
 * `NormkitError` and leaves the state untouched.
 *
 * Never throws for a bad plugin: an unexpected error (a `NormkitError` in a case that
 * should pass, or a crash) is reported as a failure with infinite errors.
 *
 * @param c - the case
 * @param plugin - the plugin implementing `c.layer` (its `pytorch.layer`; see {@link pluginFor})
 * @param options - dtype
 * @returns the verdict, with the largest errors over every compared array
 * @example
 * ```ts
 * const plugins = [batchNorm, layerNorm];
 * for (const c of loadCases()) {
 *   const plugin = pluginFor(c, plugins);
 *   const result = plugin !== undefined ? runCase(c, plugin, { dtype: 'float32' }) : skippedCase(c);
 *   if (result.status === 'fail') console.log(c.id, result.message);
 * }
 * ```
 */
export function runCase(c: GoldenCase, plugin: Normalizer, options: RunCaseOptions = {}): CaseResult {
  const dtype = options.dtype ?? 'float64';
  const hard = c.numericallyHard === true;
  const tally = new Tally();
  const base = { id: c.id, layer: c.layer };
  let secondOrder: { secondOrder?: 'checked' | 'skipped' } = c.secondOrder !== undefined ? { secondOrder: 'skipped' } : {};
  try {
    const names = plugin.pytorch;
    if (names === undefined || names.layer !== c.layer) {
      throw new Error(`plugin ${plugin.meta.name} does not declare the PyTorch layer ${c.layer} (its pytorch.layer)`);
    }
    const vectorNames = names.vectors ?? DEFAULT_VECTOR_NAMES;
    const inputShapes: Record<string, Shape> = {};
    for (const [name, value] of Object.entries(c.inputs)) {
      const a = Array.isArray(value) ? (value as readonly GoldenArray[])[0] : (value as GoldenArray);
      if (a !== undefined) inputShapes[name] = a.shape;
    }
    let bound;
    try {
      bound = plugin.create(names.options(c.options, inputShapes));
    } catch (e) {
      // PyTorch refuses some configurations when the layer is built (nn.GroupNorm(4, 6)); so do we.
      if (c.expectError && isNormkitError(e)) return { ...base, status: 'pass', maxAbsErr: 0, maxRelErr: 0, message: `raised ${e.code} at creation` };
      throw e;
    }
    const adapter = { ...vectorNames, state: Object.keys(bound.stateShapes()) };
    if (c.secondOrder !== undefined) secondOrder = { secondOrder: typeof bound.doubleBackward === 'function' ? 'checked' : 'skipped' };
    const fresh = bound.init(dtype);
    const params: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(fresh.params as Record<string, Tensor | undefined>)) {
      if (t === undefined) continue;
      const given = asArray(c.inputs[name]);
      params[name] = given !== undefined ? load(given, dtype) : t;
    }
    let state: TensorMap<string> = {};
    for (const [name, t] of Object.entries(fresh.state as Record<string, Tensor | undefined>)) {
      if (t === undefined) continue;
      const given = asArray(c.inputs[name]);
      state = { ...state, [name]: given !== undefined ? loadState(name, given, dtype) : t };
    }
    const steps = asList(c.inputs[`${adapter.input}s`]);
    const single = asArray(c.inputs[adapter.input]);
    if (steps === undefined && single === undefined) {
      throw new Error(
        `the case has no input ${JSON.stringify(adapter.input)} (or ${JSON.stringify(`${adapter.input}s`)}), the name plugin ${plugin.meta.name} gives x in its pytorch.vectors (default x, y, dy, dx)`,
      );
    }
    const inputs = steps ?? [single as GoldenArray];
    if (c.expectError) {
      const before = snapshot(state) + snapshot(params);
      try {
        bound.forward({ x: load(inputs[0], dtype), params, state, mode: c.mode });
      } catch (e) {
        if (!isNormkitError(e)) throw e;
        const unchanged = snapshot(state) + snapshot(params) === before;
        return {
          ...base,
          status: unchanged ? 'pass' : 'fail',
          maxAbsErr: 0,
          maxRelErr: 0,
          message: unchanged ? `raised ${e.code}` : `raised ${e.code} but changed the state`,
        };
      }
      return { ...base, status: 'fail', maxAbsErr: 0, maxRelErr: 0, message: 'expected an error, got none' };
    }
    const expected = c.expected ?? {};
    inputs.forEach((input, step) => {
      const x = load(input, dtype);
      const result = bound.forward({ x, params, state, mode: c.mode });
      state = result.state;
      const suffix = steps !== undefined ? `s[${step}]` : '';
      const pick = (name: string) => (steps !== undefined ? asList(expected[`${name}s`])?.[step] : asArray(expected[name]));
      if (dtypeOf(result.y) !== dtype) tally.failures.push(`${adapter.output}: dtype ${dtypeOf(result.y)} ≠ input dtype ${dtype}`);
      tally.compare(`${adapter.output}${suffix}`, result.y, pick(adapter.output), hard, dtype);
      for (const name of adapter.state) {
        tally.compare(`${name}${suffix}`, (state as Record<string, Tensor | undefined>)[name], pick(name), hard, dtype);
      }
      const dy = asArray(c.inputs[adapter.upstream]);
      if (dy !== undefined) {
        const { dx, grads } = bound.backward({ dy: load(dy, dtype), params, saved: result.saved });
        tally.compare(adapter.inputGrad, dx, asArray(expected[adapter.inputGrad]), hard, dtype);
        for (const paramName of Object.keys(params)) {
          const goldenName = `d${paramName}`;
          tally.compare(goldenName, (grads as Record<string, Tensor | undefined>)[paramName], asArray(expected[goldenName]), hard, dtype);
        }
        // Second order: s = Σ dx⊙r, differentiated with respect to x, the parameters and dy.
        const r = asArray(c.inputs.r);
        if (secondOrder.secondOrder === 'checked' && bound.doubleBackward !== undefined) {
          if (r === undefined) throw new Error('the second-order case has no input r (the cotangent of dx)');
          const second = bound.doubleBackward({ dy: load(dy, dtype), params, saved: result.saved, ddx: load(r, dtype) });
          tally.compare(`dsd${adapter.input}`, second.dx, asArray(expected[`dsd${adapter.input}`]), hard, dtype);
          tally.compare(`dsd${adapter.upstream}`, second.ddy, asArray(expected[`dsd${adapter.upstream}`]), hard, dtype);
          for (const paramName of Object.keys(params)) {
            const goldenName = `dsd${paramName}`;
            tally.compare(goldenName, (second.grads as Record<string, Tensor | undefined>)[paramName], asArray(expected[goldenName]), hard, dtype);
          }
        }
      }
    });
  } catch (e) {
    const message = isNormkitError(e) ? `unexpected ${e.code}: ${e.message}` : `crashed: ${(e as Error).message ?? String(e)}`;
    return { ...base, ...secondOrder, status: 'fail', maxAbsErr: Infinity, maxRelErr: Infinity, message };
  }
  const ok = tally.failures.length === 0;
  return {
    ...base,
    ...secondOrder,
    status: ok ? 'pass' : 'fail',
    maxAbsErr: tally.maxAbsErr,
    maxRelErr: tally.maxRelErr,
    message: ok ? (hard && dtype === 'float32' ? 'hard case: shapes and finiteness only in float32' : '') : tally.failures.join('; '),
  };
}

function snapshot(tensors: TensorMap<string>): string {
  // String() keeps NaN and -0 apart from null and 0, which JSON.stringify would not.
  return JSON.stringify(Object.entries(tensors as Record<string, Tensor>).map(([k, t]) => [k, Array.from(toTypedArray(t), (v) => (Object.is(v, -0) ? '-0' : String(v)))]));
}

/**
 * The verdict for a case whose layer no plugin implements.
 *
 * @param c - the case
 * @returns a `skipped` result with zero errors
 */
export function skippedCase(c: GoldenCase): CaseResult {
  return { id: c.id, layer: c.layer, status: 'skipped', maxAbsErr: 0, maxRelErr: 0, message: `no plugin implements ${c.layer}` };
}

