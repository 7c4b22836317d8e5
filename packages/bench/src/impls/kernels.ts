import {
  arrayTypeOf,
  backwardRowsKernel,
  gradientSumsKernel,
  inputGradientKernel,
  momentsKernel,
  normalizeCellsKernel,
  normalizeRowsKernel,
  planNormalization,
  rowMajorStrides,
} from '@normkit/core';
import type { BackwardMode, CellsLayout, FloatArray, NormPlan, RowsLayout, StridedView } from '@normkit/core';
import type { WorkloadData } from '../data.js';
import type { Workload } from '../workloads.js';
import { parameterCount } from '../workloads.js';
import type { Outputs, PreparedRun } from './types.js';

/** The batch-norm momentum every normkit impl uses (PyTorch's default). */
export const MOMENTUM = 0.1;

/** Why the bare-kernel row skips the family workloads. */
export const BARE_KERNELS_SCOPE = 'the bare-kernel row covers batch, layer and weight norm only (the API overhead it measures is the same code for the family)';

/**
 * The bare-kernel run of a workload: core's TypeScript engine kernels called directly on
 * the plan each plugin makes and on buffers allocated here, with the per-cell folding and
 * the parameter-gradient sums of the engine's ops (`normalizeForward`, `normalizeBackward`)
 * written out, so the outputs equal the public API's bit for bit.
 *
 * @param workload - the workload
 * @param data - its inputs
 * @returns the prepared run
 */
export function prepareKernels(workload: Workload, data: WorkloadData): PreparedRun {
  switch (workload.op) {
    case 'batch-norm-train-forward':
    case 'batch-norm-train-forward-backward':
    case 'batch-norm-eval-forward':
      return prepareBatchNorm(workload, data);
    case 'layer-norm-forward':
    case 'layer-norm-forward-backward':
      return prepareLayerNorm(workload, data);
    case 'weight-norm-forward-backward':
      return prepareWeightNorm(workload, data);
    case 'group-norm-forward':
    case 'group-norm-forward-backward':
    case 'instance-norm-forward':
    case 'rms-norm-forward':
    case 'rms-norm-forward-backward':
      throw new Error(`normkit-kernel: ${BARE_KERNELS_SCOPE}`);
  }
  throw new Error(`normkit-kernel: unknown op ${String(workload.op satisfies never)}`);
}

function rowMajorView(data: FloatArray, shape: readonly number[]): StridedView {
  return { data, shape: shape.slice(), strides: rowMajorStrides(shape.slice()), offset: 0 };
}

/**
 * The cells-layout forward and backward of the engine ops on preallocated per-cell arrays:
 * `y = (x − c)·invStd·γ + β` by `normalizeCells`, then `gradientSums`, the folded
 * coefficients and `inputGradient`.
 */
class CellsPass {
  readonly cells: CellsLayout;
  private readonly center: Float64Array;
  private readonly scale: Float64Array;
  private readonly shift: Float64Array;
  private readonly sumDy: Float64Array;
  private readonly sumDyCentered: Float64Array;
  private readonly groupSumG: Float64Array;
  private readonly groupSumGCentered: Float64Array;
  private readonly a: Float64Array;
  private readonly b: Float64Array;
  private readonly k: Float64Array;
  /** Per parameter entry: Σ dy (dβ). */
  readonly paramSumDy: Float64Array;
  /** Per parameter entry: Σ dy·x̂ (dγ). */
  readonly paramSumDyXhat: Float64Array;

  constructor(readonly plan: NormPlan) {
    this.cells = plan.affine as CellsLayout;
    const n = this.cells.cells;
    this.center = new Float64Array(n);
    this.scale = new Float64Array(n);
    this.shift = new Float64Array(n);
    this.sumDy = new Float64Array(n);
    this.sumDyCentered = new Float64Array(n);
    this.a = new Float64Array(n);
    this.b = new Float64Array(n);
    this.k = new Float64Array(n);
    this.groupSumG = new Float64Array(plan.groups);
    this.groupSumGCentered = new Float64Array(plan.groups);
    this.paramSumDy = new Float64Array(plan.params);
    this.paramSumDyXhat = new Float64Array(plan.params);
  }

  forward(x: StridedView, y: StridedView, center: Float64Array, invStd: Float64Array, weight: Float64Array, bias: Float64Array | null): void {
    const { cells, cellGroup, cellParam } = this.cells;
    for (let j = 0; j < cells; j++) {
      const g = cellGroup[j];
      const p = (cellParam as Int32Array)[j];
      this.center[j] = center[g];
      this.scale[j] = invStd[g] * weight[p];
      this.shift[j] = bias === null ? 0 : bias[p];
    }
    normalizeCellsKernel({ x, y, plan: this.plan, cells: this.cells, center: this.center, scale: this.scale, shift: this.shift });
  }

  backward(x: StridedView, dy: StridedView, dx: StridedView, center: Float64Array, invStd: Float64Array, weight: Float64Array, mode: BackwardMode): void {
    const { cells, cellGroup, cellParam } = this.cells;
    const params = cellParam as Int32Array;
    const count = mode.count ?? this.plan.count;
    for (let j = 0; j < cells; j++) this.center[j] = center[cellGroup[j]];
    gradientSumsKernel({ x, dy, plan: this.plan, cells: this.cells, center: this.center, sumDy: this.sumDy, sumDyCentered: this.sumDyCentered });
    this.groupSumG.fill(0);
    this.groupSumGCentered.fill(0);
    this.paramSumDy.fill(0);
    this.paramSumDyXhat.fill(0);
    // As core's normalizeBackward: with one cell per group the group sums are kept without γ.
    const oneCellPerGroup = cells === this.plan.groups;
    for (let j = 0; j < cells; j++) {
      const g = cellGroup[j];
      const p = params[j];
      const gamma = oneCellPerGroup ? 1 : weight[p];
      this.groupSumG[g] += gamma * this.sumDy[j];
      this.groupSumGCentered[g] += gamma * this.sumDyCentered[j];
      this.paramSumDy[p] += this.sumDy[j];
      this.paramSumDyXhat[p] += invStd[g] * this.sumDyCentered[j];
    }
    for (let j = 0; j < cells; j++) {
      const g = cellGroup[j];
      const s = invStd[g];
      const gamma = weight[params[j]];
      this.a[j] = s * gamma;
      this.b[j] = (-s * s * s * (oneCellPerGroup ? gamma * this.groupSumGCentered[g] : this.groupSumGCentered[g])) / count;
      this.k[j] = mode.centered ? (oneCellPerGroup ? -this.a[j] * this.groupSumG[g] : -s * this.groupSumG[g]) / count : 0;
    }
    inputGradientKernel({ x, dy, dx, plan: this.plan, cells: this.cells, center: this.center, a: this.a, b: this.b, k: this.k });
  }
}

function prepareBatchNorm(workload: Workload, data: WorkloadData): PreparedRun {
  const { shape } = workload;
  const channels = parameterCount(workload);
  const Ctor = arrayTypeOf(workload.dtype);
  const { eps } = data;
  const plan = planNormalization(shape, [1], [1]);
  const pass = new CellsPass(plan);
  const x = rowMajorView(data.x, shape);
  const y = new Ctor(data.x.length);
  const dx = new Ctor(data.x.length);
  const yView = rowMajorView(y, shape);
  const dxView = rowMajorView(dx, shape);
  const dy = data.dy === null ? null : rowMajorView(data.dy, shape);
  const gamma = Float64Array.from(data.gamma);
  const beta = Float64Array.from(data.beta);
  const runningMean = Float64Array.from(data.runningMean);
  const runningVar = Float64Array.from(data.runningVar);
  const mean = new Float64Array(channels);
  const variance = new Float64Array(channels);
  const invStd = new Float64Array(channels);
  const nextMean = new Ctor(channels);
  const nextVar = new Ctor(channels);
  const dweight = new Ctor(channels);
  const dbias = new Ctor(channels);
  const count = plan.count;

  const evalForward = (): Outputs => {
    for (let c = 0; c < channels; c++) invStd[c] = 1 / Math.sqrt(runningVar[c] + eps);
    pass.forward(x, yView, runningMean, invStd, gamma, beta);
    return { y };
  };
  const trainForward = (): Outputs => {
    momentsKernel({ x, plan, centered: true, mean, variance });
    for (let c = 0; c < channels; c++) {
      invStd[c] = 1 / Math.sqrt(variance[c] + eps);
      nextMean[c] = (1 - MOMENTUM) * runningMean[c] + MOMENTUM * mean[c];
      const unbiased = (variance[c] * count) / (count - 1);
      nextVar[c] = (1 - MOMENTUM) * runningVar[c] + MOMENTUM * unbiased;
    }
    pass.forward(x, yView, mean, invStd, gamma, beta);
    return { y };
  };
  const trainForwardBackward = (): Outputs => {
    trainForward();
    pass.backward(x, dy as StridedView, dxView, mean, invStd, gamma, { centered: true, batchStats: true });
    dweight.set(pass.paramSumDyXhat);
    dbias.set(pass.paramSumDy);
    return { y, dx, dweight, dbias };
  };
  const step =
    workload.op === 'batch-norm-eval-forward' ? evalForward : workload.op === 'batch-norm-train-forward' ? trainForward : trainForwardBackward;
  return preparedWithBuffers(step);
}

function prepareLayerNorm(workload: Workload, data: WorkloadData): PreparedRun {
  const { shape } = workload;
  const Ctor = arrayTypeOf(workload.dtype);
  const { eps } = data;
  const plan = planNormalization(shape, [0], [1]);
  const rows = plan.affine as RowsLayout;
  const features = rows.features;
  const x = rowMajorView(data.x, shape);
  const y = new Ctor(data.x.length);
  const dx = new Ctor(data.x.length);
  const yView = rowMajorView(y, shape);
  const dxView = rowMajorView(dx, shape);
  const dy = data.dy === null ? null : rowMajorView(data.dy, shape);
  const weight = Float64Array.from(data.gamma);
  const bias = Float64Array.from(data.beta);
  const center = new Float64Array(rows.rows);
  const variance = new Float64Array(rows.rows);
  const invStd = new Float64Array(rows.rows);
  const sumDy = new Float64Array(features);
  const sumDyXhat = new Float64Array(features);
  const dweight = new Ctor(features);
  const dbias = new Ctor(features);
  const step = (): Outputs => {
    momentsKernel({ x, plan, centered: true, mean: center, variance });
    for (let r = 0; r < rows.rows; r++) invStd[r] = 1 / Math.sqrt(variance[r] + eps);
    normalizeRowsKernel({ x, y: yView, plan, rows, center, invStd, weight, bias });
    if (dy === null) return { y };
    sumDy.fill(0);
    sumDyXhat.fill(0);
    backwardRowsKernel({ x, dy, dx: dxView, plan, rows, center, invStd, weight, centered: true, batchStats: true, count: plan.count, sumDy, sumDyXhat });
    dweight.set(sumDyXhat);
    dbias.set(sumDy);
    return { y, dx, dweight, dbias };
  };
  return preparedWithBuffers(step);
}

function prepareWeightNorm(workload: Workload, data: WorkloadData): PreparedRun {
  const { shape } = workload;
  const Ctor = arrayTypeOf(workload.dtype);
  // One statistics group and one g per slice along dim 0; ‖v‖² = Σ v² = count · (uncentered
  // moment), and the backward pass differentiates it with divisor 1 (a sum, not a mean).
  const plan = planNormalization(shape, [0], [0]);
  const slices = plan.groups;
  const pass = new CellsPass(plan);
  const v = rowMajorView(data.x, shape);
  const dw = rowMajorView(data.dy as FloatArray, shape);
  const w = new Ctor(data.x.length);
  const dv = new Ctor(data.x.length);
  const wView = rowMajorView(w, shape);
  const dvView = rowMajorView(dv, shape);
  const g = Float64Array.from(data.gamma);
  const center = new Float64Array(slices);
  const meanSquare = new Float64Array(slices);
  const invNorm = new Float64Array(slices);
  const dg = new Ctor(slices);
  const step = (): Outputs => {
    momentsKernel({ x: v, plan, centered: false, mean: center, variance: meanSquare });
    for (let s = 0; s < slices; s++) invNorm[s] = 1 / Math.sqrt(plan.count * meanSquare[s]);
    pass.forward(v, wView, center, invNorm, g, null);
    pass.backward(v, dw, dvView, center, invNorm, g, { centered: false, batchStats: true, count: 1 });
    dg.set(pass.paramSumDyXhat);
    return { w, dv, dg };
  };
  return preparedWithBuffers(step);
}

/**
 * A prepared run from a step that writes into preallocated buffers: the outputs handed to
 * the check are copies, so later calls cannot overwrite checked values.
 */
function preparedWithBuffers(step: () => Outputs): PreparedRun {
  return {
    run: () => {
      step();
    },
    outputs: async () => Object.fromEntries(Object.entries(step()).map(([name, values]) => [name, (values as FloatArray).slice()])),
    dispose: async () => {},
  };
}
