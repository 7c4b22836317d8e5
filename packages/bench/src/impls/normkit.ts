import { arrayTypeOf, groupMomentsKernel, rowMajorStrides, tensor, zeros } from '@normkit/core';
import type { FloatArray, Tensor } from '@normkit/core';
import { batchNorm, gradientSumsKernel, inputGradientKernel, normalizeKernel, setBatchNormBackend } from '@normkit/batch-norm';
import { layerNorm, layerNormBackwardKernel, layerNormForwardKernel, rowStatisticsKernel, setLayerNormBackend } from '@normkit/layer-norm';
import { rowMajorView, scaleSlices, sliceNorms, weightNorm, weightNormBackwardKernel } from '@normkit/weight-norm';
import type { WorkloadData } from '../data.js';
import type { Workload } from '../workloads.js';
import { parameterCount } from '../workloads.js';
import type { Implementation, Outputs, PreparedRun } from './types.js';

/** The batch-norm momentum both normkit impls use (PyTorch's default). */
const MOMENTUM = 0.1;

/** A prepared run from a synchronous step that returns its outputs. */
/** The TypeScript kernels: no accelerated backend installed (the wasm rows install theirs per sample). */
async function useTypeScriptKernels(): Promise<void> {
  setBatchNormBackend(null);
  setLayerNormBackend(null);
}

function preparedFromStep(step: () => Outputs): PreparedRun {
  return {
    beforeSample: useTypeScriptKernels,
    run: () => {
      step();
    },
    outputs: async () => step(),
    dispose: async () => {},
  };
}

/**
 * normkit through its public plugin API, as a user calls it: `resolveOptions` once, then
 * `forward` (and `backward`) per call, which validate their arguments and allocate
 * their outputs each time.
 */
export const normkitApi: Implementation = {
  name: 'normkit',
  description: 'normkit public plugin API (forward/backward of batchNorm, layerNorm, weightNorm), reusing preallocated `out` buffers as a training loop does',
  unsupported: () => null,
  async prepare(workload: Workload, data: WorkloadData): Promise<PreparedRun> {
    const { shape, dtype } = workload;
    const p = parameterCount(workload);
    const x = tensor(data.x, shape);
    const dy = data.dy === null ? null : tensor(data.dy, shape);
    // A training loop keeps its output buffers across steps (the `out` argument).
    const yOut = zeros(shape, dtype);
    const dxOut = zeros(shape, dtype);
    switch (workload.op) {
      case 'batch-norm-train-forward':
      case 'batch-norm-train-forward-backward':
      case 'batch-norm-eval-forward': {
        const options = batchNorm.resolveOptions({ numFeatures: p, eps: data.eps, momentum: MOMENTUM, channelAxis: 1 });
        const params = { weight: tensor(data.gamma, [p]), bias: tensor(data.beta, [p]) };
        const state = { runningMean: tensor(data.runningMean, [p]), runningVar: tensor(data.runningVar, [p]), numBatchesTracked: zeros([], 'float64') };
        const mode = workload.op === 'batch-norm-eval-forward' ? 'eval' : 'train';
        if (dy === null) {
          return preparedFromStep(() => ({ y: batchNorm.forward({ x, params, state, mode, out: yOut }, options).y.data }));
        }
        return preparedFromStep(() => {
          const forward = batchNorm.forward({ x, params, state, mode, out: yOut }, options);
          const { dx, grads } = batchNorm.backward({ dy, params, saved: forward.saved, out: dxOut }, options);
          return { y: forward.y.data, dx: dx.data, dweight: (grads.weight as Tensor).data, dbias: (grads.bias as Tensor).data };
        });
      }
      case 'layer-norm-forward':
      case 'layer-norm-forward-backward': {
        const options = layerNorm.resolveOptions({ normalizedShape: [p], eps: data.eps });
        const params = { weight: tensor(data.gamma, [p]), bias: tensor(data.beta, [p]) };
        if (dy === null) {
          return preparedFromStep(() => ({ y: layerNorm.forward({ x, params, state: {}, mode: 'train', out: yOut }, options).y.data }));
        }
        return preparedFromStep(() => {
          const forward = layerNorm.forward({ x, params, state: {}, mode: 'train', out: yOut }, options);
          const { dx, grads } = layerNorm.backward({ dy, params, saved: forward.saved, out: dxOut }, options);
          return { y: forward.y.data, dx: dx.data, dweight: (grads.weight as Tensor).data, dbias: (grads.bias as Tensor).data };
        });
      }
      case 'weight-norm-forward-backward': {
        const options = weightNorm.resolveOptions({ shape, dim: 0 });
        const params = { g: tensor(data.gamma, [p, ...shape.slice(1).map(() => 1)]) };
        const dw = dy as Tensor;
        return preparedFromStep(() => {
          const forward = weightNorm.forward({ x, params, state: {}, mode: 'train', out: yOut }, options);
          const { dx, grads } = weightNorm.backward({ dy: dw, params, saved: forward.saved, out: dxOut }, options);
          return { w: forward.y.data, dv: dx.data, dg: (grads.g as Tensor).data };
        });
      }
    }
    throw new Error(`normkit: unknown op ${String(workload.op satisfies never)} (${dtype})`);
  },
};

/**
 * normkit's bare kernels called directly with buffers allocated once in `prepare`: the
 * same arithmetic as the plugin API without validation, option handling or output
 * allocation. `normkit / normkit-kernel` is the API's overhead.
 */
export const normkitKernel: Implementation = {
  name: 'normkit-kernel',
  description: 'normkit bare kernels (groupMoments/normalize/gradient kernels…) on preallocated buffers',
  unsupported: () => null,
  async prepare(workload: Workload, data: WorkloadData): Promise<PreparedRun> {
    switch (workload.op) {
      case 'batch-norm-train-forward':
      case 'batch-norm-train-forward-backward':
      case 'batch-norm-eval-forward':
        return prepareBatchNormKernels(workload, data);
      case 'layer-norm-forward':
      case 'layer-norm-forward-backward':
        return prepareLayerNormKernels(workload, data);
      case 'weight-norm-forward-backward':
        return prepareWeightNormKernels(workload, data);
    }
    throw new Error(`normkit-kernel: unknown op ${String(workload.op satisfies never)}`);
  },
};

function prepareBatchNormKernels(workload: Workload, data: WorkloadData): PreparedRun {
  const { shape } = workload;
  const strides = rowMajorStrides(shape);
  const channels = parameterCount(workload);
  const Ctor = arrayTypeOf(workload.dtype);
  const { x, dy, eps } = data;
  const gamma = Float64Array.from(data.gamma);
  const beta = Float64Array.from(data.beta);
  const runningMean = Float64Array.from(data.runningMean);
  const runningVar = Float64Array.from(data.runningVar);
  const mean = new Float64Array(channels);
  const variance = new Float64Array(channels);
  const invStd = new Float64Array(channels);
  const scale = new Float64Array(channels);
  const nextMean = new Ctor(channels);
  const nextVar = new Ctor(channels);
  const sumDy = new Float64Array(channels);
  const sumDyCentered = new Float64Array(channels);
  const a = new Float64Array(channels);
  const b = new Float64Array(channels);
  const k = new Float64Array(channels);
  const y = new Ctor(x.length);
  const dx = new Ctor(x.length);
  const dweight = new Ctor(channels);
  const dbias = new Ctor(channels);
  const count = x.length / channels;

  const evalForward = (): Outputs => {
    for (let c = 0; c < channels; c++) {
      mean[c] = runningMean[c];
      invStd[c] = 1 / Math.sqrt(runningVar[c] + eps);
      scale[c] = gamma[c] * invStd[c];
    }
    normalizeKernel(x, shape, strides, 0, 1, mean, scale, beta, y);
    return { y };
  };
  const trainForward = (): Outputs => {
    groupMomentsKernel(x, shape, strides, 0, [1], mean, variance);
    const unbiased = count / (count - 1);
    for (let c = 0; c < channels; c++) {
      invStd[c] = 1 / Math.sqrt(variance[c] + eps);
      scale[c] = gamma[c] * invStd[c];
      nextMean[c] = (1 - MOMENTUM) * runningMean[c] + MOMENTUM * mean[c];
      nextVar[c] = (1 - MOMENTUM) * runningVar[c] + MOMENTUM * variance[c] * unbiased;
    }
    normalizeKernel(x, shape, strides, 0, 1, mean, scale, beta, y);
    return { y };
  };
  const trainForwardBackward = (): Outputs => {
    trainForward();
    const g = dy as FloatArray;
    gradientSumsKernel(x, shape, strides, 0, g, strides, 0, 1, mean, sumDy, sumDyCentered);
    for (let c = 0; c < channels; c++) {
      const s = invStd[c];
      a[c] = gamma[c] * s;
      b[c] = (-gamma[c] * s * s * s * sumDyCentered[c]) / count;
      k[c] = (-gamma[c] * s * sumDy[c]) / count;
      dweight[c] = sumDyCentered[c] * s;
      dbias[c] = sumDy[c];
    }
    inputGradientKernel(x, shape, strides, 0, g, strides, 0, 1, mean, a, b, k, dx);
    return { y, dx, dweight, dbias };
  };
  const step =
    workload.op === 'batch-norm-eval-forward' ? evalForward : workload.op === 'batch-norm-train-forward' ? trainForward : trainForwardBackward;
  return preparedWithBuffers(step);
}

function prepareLayerNormKernels(workload: Workload, data: WorkloadData): PreparedRun {
  const { shape } = workload;
  const strides = rowMajorStrides(shape);
  const features = parameterCount(workload);
  const rows = data.x.length / features;
  const Ctor = arrayTypeOf(workload.dtype);
  const { x, dy, eps } = data;
  const scale = Float64Array.from(data.gamma);
  const shift = Float64Array.from(data.beta);
  const mean = new Float64Array(rows);
  const invStd = new Float64Array(rows);
  const dscale = new Float64Array(features);
  const dshift = new Float64Array(features);
  const y = new Ctor(x.length);
  const dx = new Ctor(x.length);
  const dweight = new Ctor(features);
  const dbias = new Ctor(features);
  const forward = (): void => {
    rowStatisticsKernel(x, shape, strides, 0, 1, eps, mean, invStd);
    layerNormForwardKernel(x, shape, strides, 0, 1, mean, invStd, scale, shift, y);
  };
  const step = (): Outputs => {
    forward();
    if (dy === null) return { y };
    dscale.fill(0);
    dshift.fill(0);
    layerNormBackwardKernel(x, shape, strides, 0, dy, strides, 0, 1, mean, invStd, scale, dx, dscale, dshift);
    dweight.set(dscale);
    dbias.set(dshift);
    return { y, dx, dweight, dbias };
  };
  return preparedWithBuffers(step);
}

function prepareWeightNormKernels(workload: Workload, data: WorkloadData): PreparedRun {
  const { shape } = workload;
  const rows = shape[0];
  const Ctor = arrayTypeOf(workload.dtype);
  const v = rowMajorView(data.x, shape);
  const dwView = rowMajorView(data.dy as FloatArray, shape);
  const g = Float64Array.from(data.gamma);
  const norms = new Float64Array(rows);
  const invNorm = new Float64Array(rows);
  const scale = new Float64Array(rows);
  const dgSums = new Float64Array(rows);
  const w = new Ctor(data.x.length);
  const dv = new Ctor(data.x.length);
  const dg = new Ctor(rows);
  const sliceAxes = [0];
  const step = (): Outputs => {
    sliceNorms(v, sliceAxes, 0, norms);
    for (let s = 0; s < rows; s++) {
      invNorm[s] = 1 / norms[s];
      scale[s] = g[s] * invNorm[s];
    }
    scaleSlices(v, sliceAxes, scale, w);
    weightNormBackwardKernel(v, dwView, sliceAxes, invNorm, scale, dgSums, dv);
    dg.set(dgSums);
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
