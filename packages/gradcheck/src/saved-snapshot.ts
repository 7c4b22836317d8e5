import { isTensor, shapesEqual, toTypedArray, unravel } from '@normkit/core';

/** One leaf of a `saved` value, copied: a tensor's values and layout, a typed array, or a primitive. */
type Leaf =
  | { readonly kind: 'tensor'; readonly values: Float32Array | Float64Array; readonly shape: number[]; readonly stride: number[]; readonly offset: number }
  | { readonly kind: 'array'; readonly values: ArrayLike<number | bigint>; readonly type: string }
  | { readonly kind: 'value'; readonly value: unknown };

/**
 * A deep copy of the data of a `saved` value (what forward hands to backward), leaf by leaf,
 * keyed by path (`saved.x`, `saved.center`, `saved.parts[0].invStd`…): tensors (values, shape,
 * strides, offset), typed arrays, and primitives, through plain objects and arrays up to 8
 * levels deep. Functions and anything deeper are left out.
 */
export type SavedSnapshot = ReadonlyMap<string, Leaf>;

const MAX_DEPTH = 8;

function walk(value: unknown, path: string, depth: number, seen: Set<object>, out: Map<string, Leaf>): void {
  if (isTensor(value)) {
    out.set(path, { kind: 'tensor', values: toTypedArray(value), shape: value.shape.slice(), stride: value.stride.slice(), offset: value.offset });
    return;
  }
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    const typed = value as unknown as ArrayLike<number | bigint> & { slice(): ArrayLike<number | bigint> };
    out.set(path, { kind: 'array', values: typed.slice(), type: value.constructor.name });
    return;
  }
  if (typeof value === 'function') return;
  if (typeof value !== 'object' || value === null) {
    out.set(path, { kind: 'value', value });
    return;
  }
  if (depth >= MAX_DEPTH || seen.has(value)) return;
  seen.add(value);
  if (Array.isArray(value)) value.forEach((v, i) => walk(v, `${path}[${i}]`, depth + 1, seen, out));
  else for (const [key, v] of Object.entries(value)) walk(v, `${path}.${key}`, depth + 1, seen, out);
}

/** A {@link SavedSnapshot} of `saved`. */
export function snapshotSaved(saved: unknown): SavedSnapshot {
  const out = new Map<string, Leaf>();
  walk(saved, 'saved', 0, new Set(), out);
  return out;
}

function firstDifference(a: ArrayLike<number | bigint>, b: ArrayLike<number | bigint>): number {
  if (a.length !== b.length) return 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

/**
 * What changed in `saved` since `before`, one sentence per changed leaf (bitwise for numbers:
 * −0 and 0 differ, NaN equals NaN); empty when nothing did.
 */
export function savedChanges(before: SavedSnapshot, saved: unknown): string[] {
  const now = snapshotSaved(saved);
  const changes: string[] = [];
  for (const [path, leaf] of before) {
    const current = now.get(path);
    if (current === undefined || current.kind !== leaf.kind) {
      changes.push(`${path} was replaced or removed`);
      continue;
    }
    if (leaf.kind === 'value') {
      if (!Object.is((current as typeof leaf).value, leaf.value)) changes.push(`${path} changed from ${String(leaf.value)} to ${String((current as typeof leaf).value)}`);
      continue;
    }
    if (leaf.kind === 'tensor') {
      const c = current as typeof leaf;
      if (!shapesEqual(c.shape, leaf.shape) || !shapesEqual(c.stride, leaf.stride) || c.offset !== leaf.offset) {
        changes.push(`${path}: its shape, strides or offset changed`);
        continue;
      }
      const at = firstDifference(leaf.values, c.values);
      if (at >= 0) changes.push(`${path}[${unravel(at, leaf.shape).join(', ')}] changed from ${leaf.values[at]} to ${c.values[at]}`);
      continue;
    }
    const c = current as typeof leaf;
    if (c.type !== leaf.type) changes.push(`${path}: its type changed from ${leaf.type} to ${c.type}`);
    else {
      const at = firstDifference(leaf.values, c.values);
      if (at >= 0) changes.push(`${path}[${at}] changed from ${String(leaf.values[at])} to ${String(c.values[at])}`);
    }
  }
  for (const path of now.keys()) if (!before.has(path)) changes.push(`${path} was added`);
  return changes;
}
