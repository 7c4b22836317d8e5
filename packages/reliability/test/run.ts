import type { Tensor } from '@normkit/core';
import { dtypeOf, isNormkitError } from '@normkit/core';
import type { Built, Expected, ExpectedSaved, Harness } from '../src/index.js';
import { RTOL_FLOAT64, assertClose, changedEntries, maxAbs, recordBytes } from '../src/index.js';

/** What one forward + backward call returned. */
export interface Outcome {
  readonly y: Tensor;
  /** What forward handed to backward. */
  readonly saved: unknown;
  readonly state: Record<string, Tensor>;
  readonly dx: Tensor;
  readonly grads: Record<string, Tensor>;
}

/**
 * Runs forward then backward on built arguments, and checks purity on the way: the call
 * must not change a byte of x, dy, params or state (whole buffers, strides included).
 */
export function runCall(h: Harness<unknown>, b: Built): Outcome {
  const before = recordBytes({ x: b.x, dy: b.dy, ...prefixed('params.', b.params), ...prefixed('state.', b.state) });
  try {
    const fwd = b.bound.forward({ x: b.x, params: b.params, state: b.state, mode: b.mode });
    const bwd = b.bound.backward({ dy: b.dy, params: b.params, saved: fwd.saved });
    return { y: fwd.y, saved: fwd.saved, state: fwd.state as Record<string, Tensor>, dx: bwd.dx, grads: bwd.grads as Record<string, Tensor> };
  } finally {
    const after = recordBytes({ x: b.x, dy: b.dy, ...prefixed('params.', b.params), ...prefixed('state.', b.state) });
    const changed = changedEntries(before, after);
    if (changed.length > 0) throw new Error(`${h.name}: the call mutated ${changed.join(', ')}`);
  }
}

function prefixed(prefix: string, record: Record<string, Tensor>): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(record)) out[prefix + k] = v;
  return out;
}

/** Runs the call and expects a NormkitError with `code`, with nothing mutated. */
export function expectThrows(h: Harness<unknown>, b: Built, code: string): void {
  try {
    runCall(h, b);
  } catch (e) {
    if (isNormkitError(e) && e.code === code) return;
    throw e;
  }
  throw new Error(`${h.name}: expected ${code}, got no error`);
}

/** Checks dtypes and shapes of an outcome against the built arguments. */
export function checkShapesAndDtypes(h: Harness<unknown>, b: Built, out: Outcome): void {
  if (dtypeOf(out.y) !== dtypeOf(b.x)) throw new Error(`${h.name}: y is ${dtypeOf(out.y)}, x is ${dtypeOf(b.x)}`);
  if (dtypeOf(out.dx) !== dtypeOf(b.x)) throw new Error(`${h.name}: dx is ${dtypeOf(out.dx)}, x is ${dtypeOf(b.x)}`);
  if (out.dx.shape.join() !== b.x.shape.join()) throw new Error(`${h.name}: dx shape [${out.dx.shape}] ≠ x shape [${b.x.shape}]`);
  if (out.y.shape.join() !== b.dy.shape.join()) throw new Error(`${h.name}: y shape [${out.y.shape}] ≠ dy shape [${b.dy.shape}]`);
  const names = Object.keys(b.params).sort().join();
  if (Object.keys(out.grads).sort().join() !== names) throw new Error(`${h.name}: grads ${Object.keys(out.grads)} ≠ params ${names}`);
  for (const [name, p] of Object.entries(b.params)) {
    const g = out.grads[name];
    if (dtypeOf(g) !== dtypeOf(p) || g.shape.join() !== p.shape.join()) throw new Error(`${h.name}: grads.${name} is ${dtypeOf(g)} [${g.shape}], param is ${dtypeOf(p)} [${p.shape}]`);
  }
}

/** Compares every result of an outcome with another (or with the reference), each at rtol × its scale. */
export function compareOutcome(
  label: string,
  out: Outcome,
  expected: { y: ArrayLike<number> | Tensor; dx: ArrayLike<number> | Tensor; grads: Record<string, ArrayLike<number> | Tensor>; state: Record<string, ArrayLike<number> | Tensor> | null },
  rtol: (name: string, t: Tensor) => number,
  scale: Record<string, number>,
  input: Built | null,
): void {
  assertClose(`${label} y`, out.y, expected.y, rtol('y', out.y), scale.y ?? 0);
  assertClose(`${label} dx`, out.dx, expected.dx, rtol('dx', out.dx), scale.dx ?? 0);
  for (const [name, g] of Object.entries(expected.grads)) {
    const t = out.grads[name];
    if (t === undefined) throw new Error(`${label}: no grads.${name}`);
    assertClose(`${label} grads.${name}`, t, g, rtol(`grads.${name}`, t), scale[`grads.${name}`] ?? 0);
  }
  if (expected.state === null) {
    if (input === null) return;
    for (const [name, t] of Object.entries(input.state)) {
      if (out.state[name] !== t) throw new Error(`${label}: state.${name} was replaced although nothing should change`);
    }
  } else {
    for (const [name, s] of Object.entries(expected.state)) {
      const t = out.state[name];
      if (t === undefined) throw new Error(`${label}: no state.${name}`);
      assertClose(`${label} state.${name}`, t, s, rtol(`state.${name}`, t), scale[`state.${name}`] ?? 0);
    }
  }
}

/**
 * Checks the saved value of a plugin on core's engine (`NormSaved`) against the reference:
 * the input by reference, and per group the center (1e-10 of max|x|) and 1/√(σ² + ε) (1e-10
 * of its largest value), computed in float64 whatever the dtype, and the batch-statistics flag.
 */
export function compareSaved(label: string, saved: unknown, input: Built, expected: ExpectedSaved): void {
  const s = saved as { x?: unknown; center?: unknown; invStd?: unknown; batchStats?: unknown };
  if (s.x !== input.x) throw new Error(`${label}: saved.x is not the input itself`);
  if (s.batchStats !== expected.batchStats) throw new Error(`${label}: saved.batchStats is ${String(s.batchStats)}, expected ${expected.batchStats}`);
  for (const name of ['center', 'invStd'] as const) {
    if (!(s[name] instanceof Float64Array)) throw new Error(`${label}: saved.${name} is not a Float64Array`);
  }
  assertClose(`${label} saved.center`, s.center as Float64Array, expected.center, RTOL_FLOAT64, maxAbs(input.xValues));
  assertClose(`${label} saved.invStd`, s.invStd as Float64Array, expected.invStd, RTOL_FLOAT64, maxAbs(expected.invStd));
}

/** Narrows a reference result. */
export function isExpected(r: Expected | { readonly throws: string }): r is Expected {
  return !('throws' in r);
}
