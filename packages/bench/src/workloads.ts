import type { Dtype } from '@normkit/core';

/**
 * What a workload computes.
 *
 * - `batch-norm-train-forward`: batch statistics, normalize, update running statistics.
 * - `batch-norm-train-forward-backward`: the above, then `dx`, `dγ`, `dβ` from an upstream `dy`.
 * - `batch-norm-eval-forward`: normalize with the running statistics.
 * - `layer-norm-forward` / `layer-norm-forward-backward`: over the last axis, with `γ`, `β`.
 * - `weight-norm-forward-backward`: `w = g·v/‖v‖` per row (dim 0), then `dv`, `dg` from `dw`.
 * - `group-norm-forward` / `group-norm-forward-backward`: statistics per (sample, group of
 *   channels), per-channel `γ`, `β` (group norm has one mode, the same in train and eval).
 * - `instance-norm-forward`: statistics per (sample, channel), per-channel `γ`, `β`.
 * - `rms-norm-forward` / `rms-norm-forward-backward`: root mean square over the last axis, `γ`.
 */
export type WorkloadOp =
  | 'batch-norm-train-forward'
  | 'batch-norm-train-forward-backward'
  | 'batch-norm-eval-forward'
  | 'layer-norm-forward'
  | 'layer-norm-forward-backward'
  | 'weight-norm-forward-backward'
  | 'group-norm-forward'
  | 'group-norm-forward-backward'
  | 'instance-norm-forward'
  | 'rms-norm-forward'
  | 'rms-norm-forward-backward';

/**
 * One benchmark case: an operation on a shape in a dtype, with the number of bytes a
 * perfect implementation must move (the minimal-bytes model) for GB/s.
 *
 * Minimal-bytes model (n = elements of the input, bpe = bytes per element):
 *
 * - forward: read x once, write y once → `2·n·bpe`;
 * - forward + backward: forward (read x, write y), then backward (read x again, read dy,
 *   write dx) → `5·n·bpe` (weight norm: read v, write w, read v, read dw, write dv).
 *
 * Per-channel/per-row vectors (γ, β, statistics, `g`) are ignored: they are ≤ 0.1 % of
 * the bytes in every workload here. Reading x twice for two-pass statistics is *not*
 * counted (a one-pass method could avoid it), so GB/s is an honest lower bound of what
 * the memory system delivered.
 */
export interface Workload {
  /** Stable id, used by `--only` and in the JSON (`workload`). */
  readonly id: string;
  /** What is computed. */
  readonly op: WorkloadOp;
  /** Human label for the table. */
  readonly label: string;
  /** The input shape (batch norm: channel axis 1, i.e. `(N, C)` or NCHW). */
  readonly shape: readonly number[];
  /** Element type of every tensor of the workload. */
  readonly dtype: Dtype;
  /** Passes over an n-element tensor in the bytes model: 2 (forward) or 5 (forward + backward). */
  readonly passes: 2 | 5;
  /** Group norm's number of groups G (`null` for every other op). */
  readonly groups: number | null;
}

/** Bytes per element of a dtype. */
export function bytesPerElement(dtype: Dtype): number {
  return dtype === 'float32' ? 4 : 8;
}

/** n, the number of elements of the workload's input. */
export function elementCount(workload: Workload): number {
  return workload.shape.reduce((a, b) => a * b, 1);
}

/** The minimal bytes moved by one call (see {@link Workload}). */
export function minimalBytes(workload: Workload): number {
  return workload.passes * elementCount(workload) * bytesPerElement(workload.dtype);
}

/** The bytes model in words, e.g. `"5·n·4 B: read x, write y, read x, read dy, write dx"`. */
export function bytesModelText(workload: Workload): string {
  const bpe = bytesPerElement(workload.dtype);
  if (workload.op === 'weight-norm-forward-backward') return `5·n·${bpe} B: read v, write w, read v, read dw, write dv`;
  return workload.passes === 2 ? `2·n·${bpe} B: read x, write y` : `5·n·${bpe} B: read x, write y, read x, read dy, write dx`;
}

/** Does the workload include a backward pass? */
export function hasBackward(workload: Workload): boolean {
  return workload.passes === 5;
}

/** Is the workload a batch-norm one? */
export function isBatchNorm(workload: Workload): boolean {
  return workload.op.startsWith('batch-norm');
}

/** Is the workload a layer-norm one? */
export function isLayerNorm(workload: Workload): boolean {
  return workload.op.startsWith('layer-norm');
}

/** Is the workload one of the family (group, instance or RMS norm)? */
export function isFamily(workload: Workload): boolean {
  return workload.op.startsWith('group-norm') || workload.op.startsWith('instance-norm') || workload.op.startsWith('rms-norm');
}

/** Are the workload's parameters per channel (axis 1: batch, group and instance norm)? */
export function hasChannelParameters(workload: Workload): boolean {
  return isBatchNorm(workload) || workload.op.startsWith('group-norm') || workload.op.startsWith('instance-norm');
}

/**
 * The number of per-channel (batch, group, instance norm), per-feature (layer and RMS norm)
 * or per-row (weight norm) parameters.
 */
export function parameterCount(workload: Workload): number {
  if (hasChannelParameters(workload)) return workload.shape[1];
  if (isLayerNorm(workload) || workload.op.startsWith('rms-norm')) return workload.shape[workload.shape.length - 1];
  return workload.shape[0];
}

/** `(4096, 768)` */
export function formatShape(shape: readonly number[]): string {
  return `(${shape.join(', ')})`;
}

interface WorkloadSpec {
  readonly id: string;
  readonly op: WorkloadOp;
  readonly label: string;
  readonly full: readonly number[];
  readonly quick: readonly number[];
  readonly dtypes: readonly Dtype[];
  /** Group norm: G for the full and the quick shape. */
  readonly groups?: { readonly full: number; readonly quick: number };
}

const SPECS: readonly WorkloadSpec[] = [
  { id: 'bn-train-fwd', op: 'batch-norm-train-forward', label: 'batch norm train fwd', full: [256, 1024], quick: [8, 16], dtypes: ['float32'] },
  {
    id: 'bn-train-fwdbwd',
    op: 'batch-norm-train-forward-backward',
    label: 'batch norm train fwd+bwd',
    full: [256, 1024],
    quick: [8, 16],
    dtypes: ['float32', 'float64'],
  },
  {
    id: 'bn-train-fwdbwd-nchw',
    op: 'batch-norm-train-forward-backward',
    label: 'batch norm train fwd+bwd NCHW',
    full: [32, 64, 56, 56],
    quick: [2, 4, 5, 5],
    dtypes: ['float32'],
  },
  { id: 'ln-fwdbwd', op: 'layer-norm-forward-backward', label: 'layer norm fwd+bwd', full: [4096, 768], quick: [16, 32], dtypes: ['float32'] },
  { id: 'ln-fwd', op: 'layer-norm-forward', label: 'layer norm fwd', full: [4096, 768], quick: [16, 32], dtypes: ['float32'] },
  { id: 'bn-eval-fwd-nchw', op: 'batch-norm-eval-forward', label: 'batch norm eval fwd NCHW', full: [32, 64, 56, 56], quick: [2, 4, 5, 5], dtypes: ['float32'] },
  { id: 'wn-fwdbwd', op: 'weight-norm-forward-backward', label: 'weight norm fwd+bwd (dim 0)', full: [4096, 4096], quick: [16, 32], dtypes: ['float32'] },
  {
    id: 'gn-fwd',
    op: 'group-norm-forward',
    label: 'group norm fwd',
    full: [32, 64, 56, 56],
    quick: [2, 4, 5, 5],
    dtypes: ['float32'],
    groups: { full: 32, quick: 2 },
  },
  {
    id: 'gn-fwdbwd',
    op: 'group-norm-forward-backward',
    label: 'group norm fwd+bwd',
    full: [32, 64, 56, 56],
    quick: [2, 4, 5, 5],
    dtypes: ['float32'],
    groups: { full: 32, quick: 2 },
  },
  { id: 'in-fwd', op: 'instance-norm-forward', label: 'instance norm fwd (affine)', full: [32, 64, 56, 56], quick: [2, 4, 5, 5], dtypes: ['float32'] },
  { id: 'rms-fwd', op: 'rms-norm-forward', label: 'RMS norm fwd', full: [4096, 768], quick: [16, 32], dtypes: ['float32'] },
  { id: 'rms-fwdbwd', op: 'rms-norm-forward-backward', label: 'RMS norm fwd+bwd', full: [4096, 768], quick: [16, 32], dtypes: ['float32'] },
];

/** Every workload id, in run order. */
export const WORKLOAD_IDS: readonly string[] = SPECS.map((s) => s.id);

/**
 * The benchmark's workloads, in run order: the five of the first benchmark issue, batch norm
 * eval, weight norm on a (4096, 4096) weight, then the family — group norm (G = 32) forward
 * and forward + backward and instance norm forward on (32, 64, 56, 56), RMS norm forward and
 * forward + backward on (4096, 768) — each in float32; `bn-train-fwdbwd` (256, 1024) also in
 * float64.
 *
 * @param quick - tiny shapes for smoke tests instead of the real ones
 * @param only - keep only these ids (all when empty)
 * @throws Error for an unknown id in `only`
 */
export function workloads(quick = false, only: readonly string[] = []): Workload[] {
  for (const id of only) {
    if (!WORKLOAD_IDS.includes(id)) throw new Error(`unknown workload '${id}'; expected one of ${WORKLOAD_IDS.join(', ')}`);
  }
  const out: Workload[] = [];
  for (const spec of SPECS) {
    if (only.length > 0 && !only.includes(spec.id)) continue;
    const groups = spec.groups === undefined ? null : quick ? spec.groups.quick : spec.groups.full;
    for (const dtype of spec.dtypes) {
      out.push({
        id: spec.id,
        op: spec.op,
        label: groups === null ? spec.label : `${spec.label} (G = ${groups})`,
        shape: quick ? spec.quick : spec.full,
        dtype,
        passes: spec.op.endsWith('backward') ? 5 : 2,
        groups,
      });
    }
  }
  return out;
}
