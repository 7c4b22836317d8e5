import { planNormalization, sliceAxis, splitAxis } from '@normkit/core';
import type { NormPlan, Shape, StridedView } from '@normkit/core';

/**
 * A run of consecutive samples that one engine plan normalizes: the ⌊N/V⌋ full virtual
 * batches together (axis 0 split into `(⌊N/V⌋, V)`, the virtual batch an extra group axis),
 * or the uneven last virtual batch alone (a view of its samples).
 */
export interface VirtualBatchPart {
  /** The first sample of the part. */
  readonly start: number;
  /** How many samples it has. */
  readonly samples: number;
  /** How many virtual batches it holds (its samples are split evenly among them). */
  readonly batches: number;
  /** The plan over the part's view: groups `(virtual batch, channel)` row-major, parameters per channel. */
  readonly plan: NormPlan;
  /** The index, in the statistics of the whole call, of the part's first group. */
  readonly groupOffset: number;
}

/** How a training batch is cut into virtual batches. */
export interface VirtualBatchLayout {
  /** One or two parts, in sample order. */
  readonly parts: readonly VirtualBatchPart[];
  /** The number of virtual batches, ⌈N/V⌉. */
  readonly virtualBatches: number;
  /** The number of statistics groups, ⌈N/V⌉·C, ordered (virtual batch, channel). */
  readonly groups: number;
}

/**
 * Cuts a batch of `shape[0]` samples into virtual batches of `size` consecutive samples and
 * plans each part (no loops over the data: the full virtual batches are one plan over a
 * split view, the remainder a second plan over a sliced view).
 *
 * @param shape - the input's shape; axis 0 is the batch
 * @param channelAxis - the resolved channel axis (≥ 1)
 * @param size - V, samples per virtual batch
 * @param affine - whether the plans index parameters by channel
 * @returns the layout
 */
export function virtualBatchLayout(shape: Shape, channelAxis: number, size: number, affine: boolean): VirtualBatchLayout {
  const samples = shape[0];
  const full = Math.floor(samples / size);
  const rest = samples - full * size;
  const parts: VirtualBatchPart[] = [];
  let groupOffset = 0;
  if (full > 1) {
    const split = [full, size, ...shape.slice(1)];
    const axis = channelAxis + 1;
    const plan = planNormalization(split, [0, axis], affine ? [axis] : null);
    parts.push({ start: 0, samples: full * size, batches: full, plan, groupOffset });
    groupOffset += plan.groups;
  } else if (full === 1) {
    const head = [size, ...shape.slice(1)];
    const plan = planNormalization(head, [channelAxis], affine ? [channelAxis] : null);
    parts.push({ start: 0, samples: size, batches: 1, plan, groupOffset });
    groupOffset += plan.groups;
  }
  if (rest > 0) {
    const tail = [rest, ...shape.slice(1)];
    const plan = planNormalization(tail, [channelAxis], affine ? [channelAxis] : null);
    parts.push({ start: full * size, samples: rest, batches: 1, plan, groupOffset });
    groupOffset += plan.groups;
  }
  return { parts, virtualBatches: full + (rest > 0 ? 1 : 0), groups: groupOffset };
}

/**
 * The view of one part of a tensor's view: its samples, with axis 0 split into
 * `(batches, samples / batches)` when the part holds several virtual batches.
 *
 * @param view - the view of the whole batch (x, y, dy or dx)
 * @param part - the part
 * @returns a view over the same memory, of the part's plan's shape
 */
export function partView(view: StridedView, part: VirtualBatchPart): StridedView {
  const samples = part.samples === view.shape[0] ? view : sliceAxis(view, 0, part.start, part.samples);
  return part.batches > 1 ? splitAxis(samples, 0, [part.batches, part.samples / part.batches]) : samples;
}
