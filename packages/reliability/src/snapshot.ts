import type { Tensor } from '@normkit/core';

/**
 * A byte copy of a tensor: its whole buffer (every byte, not only the view) and its
 * shape, strides, offset and buffer type. Two snapshots are equal when nothing changed,
 * NaN payloads and signed zeros included.
 */
export interface TensorBytes {
  readonly kind: string;
  readonly shape: string;
  readonly bytes: Uint8Array;
}

/** Takes a byte copy of a tensor (or of anything else, as its JSON). */
export function tensorBytes(t: unknown): TensorBytes {
  if (typeof t === 'object' && t !== null && 'data' in t && ArrayBuffer.isView((t as { data: unknown }).data)) {
    const view = t as Tensor;
    const data = view.data as unknown as ArrayBufferView;
    return {
      kind: data.constructor.name,
      shape: JSON.stringify([view.shape, view.stride, view.offset]),
      bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice(),
    };
  }
  return { kind: typeof t, shape: safeJson(t), bytes: new Uint8Array(0) };
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Byte copies of every entry of a record of tensors (own keys, sorted). */
export function recordBytes(record: object | undefined | null): Map<string, TensorBytes> {
  const out = new Map<string, TensorBytes>();
  if (record === undefined || record === null) return out;
  for (const key of Object.keys(record).sort()) out.set(key, tensorBytes((record as Record<string, unknown>)[key]));
  return out;
}

function sameBytes(a: TensorBytes, b: TensorBytes): boolean {
  if (a.kind !== b.kind || a.shape !== b.shape || a.bytes.length !== b.bytes.length) return false;
  for (let i = 0; i < a.bytes.length; i++) if (a.bytes[i] !== b.bytes[i]) return false;
  return true;
}

/** The names whose bytes differ between two record snapshots (added and removed names too). */
export function changedEntries(before: Map<string, TensorBytes>, after: Map<string, TensorBytes>, prefix = ''): string[] {
  const changed: string[] = [];
  for (const [name, b] of before) {
    const a = after.get(name);
    if (a === undefined || !sameBytes(a, b)) changed.push(prefix + name);
  }
  for (const name of after.keys()) if (!before.has(name)) changed.push(prefix + name);
  return changed;
}

/** Anything that holds params, state and grads, as core's `Layer` does. */
export interface LayerLike {
  readonly params: object;
  readonly state: object;
  readonly grads: object;
}

/** Byte copies of a layer's parameters, state and accumulated gradients. */
export interface LayerBytes {
  readonly params: Map<string, TensorBytes>;
  readonly state: Map<string, TensorBytes>;
  readonly grads: Map<string, TensorBytes>;
}

/** Takes byte copies of a layer's parameters, state and gradients. */
export function layerBytes(layer: LayerLike): LayerBytes {
  return { params: recordBytes(layer.params), state: recordBytes(layer.state), grads: recordBytes(layer.grads) };
}

/** What changed in a layer since the snapshot (empty when nothing did). */
export function layerChanges(before: LayerBytes, layer: LayerLike): string[] {
  const now = layerBytes(layer);
  return [
    ...changedEntries(before.params, now.params, 'params.'),
    ...changedEntries(before.state, now.state, 'state.'),
    ...changedEntries(before.grads, now.grads, 'grads.'),
  ];
}
