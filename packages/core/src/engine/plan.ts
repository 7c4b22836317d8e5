import type { Shape } from '../tensor.js';
import { sizeOf } from '../tensor.js';

/**
 * A row-major contiguous tensor seen as four nested blocks `(A, B, C, D)`: element
 * `(a, b, c, d)` sits at `offset + ((a·B + b)·C + c)·D + d`. The kept index ("cell") is
 * `a·C + c`; the reduced index is `(b, d)`.
 *
 * Every common layout of every normalizer is one of these, after merging adjacent axes:
 *
 * | layout | kept axes | `(A, B, C, D)` |
 * | --- | --- | --- |
 * | batch norm, `(N, C, H, W)` | C | `(1, N, C, H·W)` |
 * | batch norm, channels last `(N, H, W, C)` | C | `(1, N·H·W, C, 1)` |
 * | layer norm, `(rows, features)` | rows | `(1, 1, rows, features)` |
 * | instance norm, `(N, C, H, W)` | N, C | `(1, 1, N·C, H·W)` |
 * | instance norm, `(N, H, W, C)` | N, C | `(N, H·W, C, 1)` |
 * | group norm, `(N, G, C/G, H, W)` statistics | N, G | `(1, 1, N·G, C/G·H·W)` |
 *
 * `D > 1` is the "planes" form (contiguous runs of one cell); `D = 1` is the "columns" form
 * (the cell index is innermost).
 */
export interface Blocks {
  /** Outer kept extent. */
  readonly A: number;
  /** Outer reduced extent. */
  readonly B: number;
  /** Inner kept extent. */
  readonly C: number;
  /** Inner reduced extent (1 in the columns form). */
  readonly D: number;
}

/**
 * How a flat index (a group, a parameter entry or a cell) follows from a position: the
 * row-major index over some axes, $`\mathrm{index} = \sum_k i_k \cdot \mathrm{strides}_k`$,
 * with stride 0 on the other axes.
 */
export interface IndexMap {
  /** How many distinct indices: the product of the sizes of the axes. */
  readonly count: number;
  /** One stride per axis of the shape (0 on axes the index does not depend on). */
  readonly strides: readonly number[];
}

/**
 * The {@link IndexMap} of the row-major index over `axes` of `shape`.
 *
 * @param shape - the shape
 * @param axes - ascending axes
 * @returns the count and per-axis strides
 */
export function indexMap(shape: Shape, axes: readonly number[]): IndexMap {
  const strides = new Array<number>(shape.length).fill(0);
  let count = 1;
  for (let j = axes.length - 1; j >= 0; j--) {
    strides[axes[j]] = count;
    count *= shape[axes[j]];
  }
  return { count, strides };
}

/**
 * The {@link Blocks} of a row-major shape for the given kept axes, or `null` when the kept
 * and reduced axes do not fall into the `kept? reduced? kept? reduced?` pattern (after
 * merging adjacent axes of one kind and dropping axes of size 1). The last reduced run is
 * always `D`, so runs are as long as the layout allows.
 *
 * @param shape - the shape
 * @param keptAxes - ascending axes whose joint row-major index is the cell
 * @returns the blocks, or `null`
 */
export function blocksOf(shape: Shape, keptAxes: readonly number[]): Blocks | null {
  // Segments of (kind, size), outermost first; kind true = kept.
  const kinds: boolean[] = [];
  const sizes: number[] = [];
  for (let k = 0; k < shape.length; k++) {
    if (shape[k] === 1) continue;
    const kept = keptAxes.includes(k);
    const last = kinds.length - 1;
    if (last >= 0 && kinds[last] === kept) sizes[last] *= shape[k];
    else {
      kinds.push(kept);
      sizes.push(shape[k]);
    }
  }
  // Align from the inside: slot 3 = D (reduced), 2 = C (kept), 1 = B (reduced), 0 = A (kept).
  const slots = [1, 1, 1, 1];
  let slot = 3;
  for (let s = kinds.length - 1; s >= 0; s--) {
    const wantKept = slot % 2 === 0;
    if (kinds[s] !== wantKept) slot--;
    if (slot < 0) return null;
    slots[slot] = sizes[s];
    slot--;
  }
  return { A: slots[0], B: slots[1], C: slots[2], D: slots[3] };
}

/**
 * The layout of the affine step when the parameters are constant over every reduced run
 * ("cells"): batch, instance and group norm, and any normalizer without parameters. Each
 * cell — a joint index over the group and parameter axes — gets its own folded coefficients,
 * so the hot loops do one subtract, one multiply and one add per element.
 */
export interface CellsLayout {
  /** Discriminant. */
  readonly kind: 'cells';
  /** The number of cells. */
  readonly cells: number;
  /** Position → cell (row-major over the union of group and parameter axes). */
  readonly cellIndex: IndexMap;
  /** The contiguous blocking over the cell axes, or `null` (strided walk only). */
  readonly blocks: Blocks | null;
  /** Cell → its statistics group. */
  readonly cellGroup: Int32Array;
  /** Cell → its parameter entry (`null` without parameters). */
  readonly cellParam: Int32Array | null;
}

/**
 * The layout of the affine step when the parameters vary inside a statistics group
 * ("rows"): layer norm and RMS norm with an elementwise affine. Position → group through
 * {@link NormPlan.groupIndex}, → parameter entry through {@link NormPlan.paramIndex}.
 */
export interface RowsLayout {
  /** Discriminant. */
  readonly kind: 'rows';
  /**
   * True when the groups are exactly the leading axes and the parameters exactly the
   * trailing ones, so a row-major input is `(rows, features)` with the parameter index equal
   * to the feature index.
   */
  readonly leadingRows: boolean;
  /** Number of rows (= groups). */
  readonly rows: number;
  /** Elements per row. */
  readonly features: number;
}

/**
 * Everything the engine's kernels need to know about one normalization of one input shape,
 * computed once per shape (O(rank + cells)) and reusable across calls:
 *
 * - statistics are taken per **group**: the joint index over `groupAxes`, reducing every
 *   other axis (`count` values per group);
 * - the affine parameters γ and β are indexed by the joint index over `paramAxes` (`null`:
 *   no parameters).
 */
export interface NormPlan {
  /** The shape the plan is for (the input's, possibly with an axis split, as group norm does). */
  readonly shape: Shape;
  /** Ascending axes indexing the statistics groups. */
  readonly groupAxes: readonly number[];
  /** Ascending axes indexing the parameters, or `null` without parameters. */
  readonly paramAxes: readonly number[] | null;
  /** Number of groups. */
  readonly groups: number;
  /** Values per group, m. */
  readonly count: number;
  /** Number of parameter entries (0 without parameters). */
  readonly params: number;
  /** Position → group. */
  readonly groupIndex: IndexMap;
  /** Position → parameter entry, or `null`. */
  readonly paramIndex: IndexMap | null;
  /** The contiguous blocking for the statistics (kept = group axes), or `null`. */
  readonly statsBlocks: Blocks | null;
  /** The affine layout. */
  readonly affine: CellsLayout | RowsLayout;
}

/**
 * Plans a normalization of inputs of `shape`.
 *
 * @param shape - the input's shape (all sizes ≥ 1)
 * @param groupAxes - ascending axes whose joint index names a statistics group; all other axes are reduced
 * @param paramAxes - ascending axes whose joint index names a parameter entry, or `null` for none
 * @returns the plan
 * @throws Error for axes that are not ascending integers in `[0, rank)` (a programming error)
 * @example
 * ```ts
 * // batch norm on (N, C, H, W): statistics and parameters per channel
 * const plan = planNormalization([8, 3, 4, 4], [1], [1]);
 * plan.groups; // 3
 * plan.count;  // 128
 * ```
 */
export function planNormalization(shape: Shape, groupAxes: readonly number[], paramAxes: readonly number[] | null): NormPlan {
  const rank = shape.length;
  const checkAxes = (axes: readonly number[], what: string) => {
    for (let j = 0; j < axes.length; j++) {
      const axis = axes[j];
      if (!Number.isInteger(axis) || axis < 0 || axis >= rank || (j > 0 && axis <= axes[j - 1])) {
        throw new Error(`planNormalization: ${what} [${axes.join(', ')}] are not ascending axes of a rank-${rank} shape`);
      }
    }
  };
  checkAxes(groupAxes, 'groupAxes');
  if (paramAxes !== null) checkAxes(paramAxes, 'paramAxes');
  const size = sizeOf(shape);
  const groupIndex = indexMap(shape, groupAxes);
  const paramIndex = paramAxes === null ? null : indexMap(shape, paramAxes);
  const groups = groupIndex.count;
  const count = groups === 0 ? 0 : size / groups;
  const cellAxes = paramAxes === null ? groupAxes.slice() : [...new Set([...groupAxes, ...paramAxes])].sort((a, b) => a - b);
  const cellIndex = indexMap(shape, cellAxes);
  const statsBlocks = blocksOf(shape, groupAxes);
  let affine: CellsLayout | RowsLayout;
  if (paramAxes !== null && cellIndex.count === size && size > 1 && count > 1) {
    const leadingRows =
      groupAxes.every((axis, j) => axis === j) && paramAxes.length === rank - groupAxes.length && paramAxes.every((axis, j) => axis === groupAxes.length + j);
    affine = { kind: 'rows', leadingRows, rows: groups, features: count };
  } else {
    const cells = cellIndex.count;
    const cellGroup = new Int32Array(cells);
    const cellParam = paramIndex === null ? null : new Int32Array(cells);
    // Walk the cells in row-major order over cellAxes, carrying their group and parameter indices.
    const counters = new Array<number>(cellAxes.length).fill(0);
    let group = 0;
    let param = 0;
    for (let cell = 0; cell < cells; cell++) {
      cellGroup[cell] = group;
      if (cellParam !== null) cellParam[cell] = param;
      for (let j = cellAxes.length - 1; j >= 0; j--) {
        const axis = cellAxes[j];
        group += groupIndex.strides[axis];
        if (paramIndex !== null) param += paramIndex.strides[axis];
        if (++counters[j] < shape[axis]) break;
        group -= groupIndex.strides[axis] * shape[axis];
        if (paramIndex !== null) param -= paramIndex.strides[axis] * shape[axis];
        counters[j] = 0;
      }
    }
    affine = { kind: 'cells', cells, cellIndex, blocks: blocksOf(shape, cellAxes), cellGroup, cellParam };
  }
  return {
    shape: shape.slice(),
    groupAxes: groupAxes.slice(),
    paramAxes: paramAxes === null ? null : paramAxes.slice(),
    groups,
    count,
    params: paramIndex === null ? 0 : paramIndex.count,
    groupIndex,
    paramIndex,
    statsBlocks,
    affine,
  };
}
