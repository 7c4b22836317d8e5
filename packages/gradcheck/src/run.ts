import { dtypeOf, isTensor, shapesEqual, tensor, toContiguous, toTypedArray } from '@normkit/core';
import type { Dtype, Mode, Tensor } from '@normkit/core';
import { firstMismatch, indexText, magnitude } from './compare.js';
import type { AnyBound, TensorRecord } from './problem.js';
import { asFloat64, presentTensors } from './problem.js';
import { savedChanges, snapshotSaved } from './saved-snapshot.js';

/** The inputs of one forward call and the backward call that follows it. */
export interface RunInputs {
  /** The input. */
  readonly x: Tensor;
  /** The parameters. */
  readonly params: TensorRecord;
  /** The state. */
  readonly state: TensorRecord;
  /** The upstream gradient, shaped like y. */
  readonly dy: Tensor;
  /** The parameters handed to backward (default: `params`). */
  readonly backwardParams?: TensorRecord;
  /** A preallocated output for forward. */
  readonly forwardOut?: Tensor;
  /** A preallocated output for backward. */
  readonly backwardOut?: Tensor;
}

/** What a forward call and its backward call returned. */
export interface RunOutputs {
  /** forward's y. */
  readonly y: Tensor;
  /** forward's next state (entries present). */
  readonly state: TensorRecord;
  /** backward's dx. */
  readonly dx: Tensor;
  /** backward's gradients (entries present). */
  readonly grads: TensorRecord;
}

/** A byte copy of the whole typed array behind each named tensor (its view and what lies around it). */
export function bufferBytes(tensors: Readonly<Record<string, Tensor>>): Map<string, Uint8Array> {
  const copies = new Map<string, Uint8Array>();
  for (const [name, t] of Object.entries(tensors)) copies.set(name, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength).slice());
  return copies;
}

/** The names whose typed array no longer holds the bytes of `before`. */
export function changedBuffers(before: Map<string, Uint8Array>, tensors: Readonly<Record<string, Tensor>>): string[] {
  const changed: string[] = [];
  for (const [name, bytes] of before) {
    const t = tensors[name];
    const now = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    let i = 0;
    while (i < bytes.length && bytes[i] === now[i]) i++;
    if (i < bytes.length) changed.push(name);
  }
  return changed;
}

/** The tensors of a record under `prefix.name` keys (for {@link bufferBytes}). */
export function prefixed(prefix: string, record: TensorRecord): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(record)) if (isTensor(t)) out[`${prefix}.${name}`] = t;
  return out;
}

/**
 * One forward call in `mode` and one backward call with `dy` on its `saved`, each watched for
 * writes to its arguments: the whole typed array behind `x`, the parameters and the state
 * (forward), `dy` and the parameters (backward) must hold the same bytes after the call, and
 * `saved` must be unchanged by backward. So every run of a check (float32, layouts, `out`,
 * dtype mixes) also checks purity, not only the float64 contiguous runs of the purity checks.
 *
 * @throws whatever the plugin throws, and Error when y or dx is not a tensor or a call wrote
 *   to its arguments
 */
export function runForwardBackward(bound: AnyBound, mode: Mode, inputs: RunInputs): RunOutputs {
  const forwardArgs = { x: inputs.x, ...prefixed('params', inputs.params), ...prefixed('state', inputs.state) };
  const beforeForward = bufferBytes(forwardArgs);
  const forward = bound.forward({ x: inputs.x, params: inputs.params, state: inputs.state, mode, ...(inputs.forwardOut === undefined ? {} : { out: inputs.forwardOut }) });
  const forwardWrites = changedBuffers(beforeForward, forwardArgs);
  if (forwardWrites.length > 0) throw new Error(`forward wrote to its arguments (${forwardWrites.join(', ')}): forward never writes x, params or state`);
  if (!isTensor(forward.y)) throw new Error('forward: y is not a float tensor');
  const backwardArgs = { dy: inputs.dy, ...prefixed('params', inputs.backwardParams ?? inputs.params) };
  const beforeBackward = bufferBytes(backwardArgs);
  const beforeSaved = snapshotSaved(forward.saved);
  const backward = bound.backward({
    dy: inputs.dy,
    params: inputs.backwardParams ?? inputs.params,
    saved: forward.saved,
    ...(inputs.backwardOut === undefined ? {} : { out: inputs.backwardOut }),
  });
  const backwardWrites = [...changedBuffers(beforeBackward, backwardArgs), ...savedChanges(beforeSaved, forward.saved)];
  if (backwardWrites.length > 0) throw new Error(`backward wrote to its arguments (${backwardWrites.join('; ')}): backward never writes dy, params or saved`);
  if (!isTensor(backward.dx)) throw new Error('backward: dx is not a float tensor');
  return { y: forward.y, state: presentTensors(forward.state ?? {}), dx: backward.dx, grads: presentTensors(backward.grads ?? {}) };
}

/** One output tensor of a run, flattened: its name (`y`, `state.<name>`, `dx`, `grads.<name>`), shape, dtype and row-major float64 values. */
export interface NamedOutput {
  /** `y`, `state.<name>`, `dx` or `grads.<name>`. */
  readonly name: string;
  /** Its shape. */
  readonly shape: readonly number[];
  /** Its dtype. */
  readonly dtype: Dtype;
  /** Its values, row-major, float64. */
  readonly values: Float64Array;
  /** Whether forward produced it (y and the state) rather than backward. */
  readonly forward: boolean;
}

/** Every output of a run, flattened: y, the state entries, dx, the gradients. */
export function namedOutputs(outputs: RunOutputs): NamedOutput[] {
  const flat = (name: string, t: Tensor, forward: boolean): NamedOutput => ({
    name,
    shape: t.shape.slice(),
    dtype: dtypeOf(t),
    values: asFloat64(toTypedArray(t)),
    forward,
  });
  const list = [flat('y', outputs.y, true)];
  for (const [name, t] of Object.entries(outputs.state)) if (isTensor(t)) list.push(flat(`state.${name}`, t, true));
  list.push(flat('dx', outputs.dx, false));
  for (const [name, t] of Object.entries(outputs.grads)) if (isTensor(t)) list.push(flat(`grads.${name}`, t, false));
  return list;
}

/** Tolerances of an output comparison: |a − e| ≤ rtol·|e| + atol·S. */
export interface OutputTolerance {
  /** Relative tolerance. */
  readonly rtol: number;
  /** Absolute tolerance, times S. */
  readonly atol: number;
  /**
   * What S is: `'tensor'`, max(1, max|e|) over the tensor compared; `'pass'`, max(1, max|e|)
   * over every output of the same pass (y and the state for forward; dy, dx and the gradients
   * for backward), which keeps outputs that are zero in exact arithmetic and computed as
   * rounding noise of larger terms from failing.
   */
  readonly scale: 'tensor' | 'pass';
}

/**
 * Compares the outputs of a run with reference outputs, tensor by tensor: the same names,
 * shapes and values within tolerance. Dtypes are not compared (the reference may be float64).
 *
 * @param actual - the outputs checked
 * @param reference - what they should equal
 * @param tolerance - the bounds
 * @param dy - the upstream gradient of the reference (part of the backward scale)
 * @returns one sentence per tensor that differs (empty when none does)
 */
export function outputDifferences(actual: readonly NamedOutput[], reference: readonly NamedOutput[], tolerance: OutputTolerance, dy: ArrayLike<number>): string[] {
  const problems: string[] = [];
  const forwardScale = magnitude(...reference.filter((o) => o.forward).map((o) => o.values));
  const backwardScale = magnitude(dy, ...reference.filter((o) => !o.forward).map((o) => o.values));
  const byName = new Map(actual.map((o) => [o.name, o]));
  for (const ref of reference) {
    const got = byName.get(ref.name);
    if (got === undefined) {
      problems.push(`${ref.name} is missing`);
      continue;
    }
    if (!shapesEqual(got.shape, ref.shape)) {
      problems.push(`${ref.name} has shape [${got.shape.join(', ')}], expected [${ref.shape.join(', ')}]`);
      continue;
    }
    const scale = tolerance.scale === 'tensor' ? magnitude(ref.values) : ref.forward ? forwardScale : backwardScale;
    const m = firstMismatch(got.values, ref.values, tolerance.rtol, tolerance.atol, scale);
    if (m !== null) problems.push(`${ref.name}${indexText(m.index, ref.shape)} is ${m.actual}, expected ${m.expected}`);
  }
  for (const o of actual) if (!reference.some((r) => r.name === o.name)) problems.push(`${o.name} is returned but not expected`);
  return problems;
}

/** A record of tensors, each copied row-major into the dtype `dtype(name, t)` returns. */
export function convertRecord(record: TensorRecord, dtype: (name: string, t: Tensor) => Dtype): TensorRecord {
  const out: TensorRecord = {};
  for (const [name, t] of Object.entries(record)) out[name] = toContiguous(t, dtype(name, t));
  return out;
}

/** `values` as a tensor of `shape` in `dtype` (rounded once when float32). */
export function tensorOf(values: Float64Array, shape: readonly number[], dtype: Dtype): Tensor {
  return dtype === 'float64' ? tensor(values.slice(), shape) : tensor(Float32Array.from(values), shape);
}
