import { arrayTypeOf, tensor, zeros } from '@normkit/core';
import type { BoundNormalizer, FloatArray, Mode, NormalizerTypes, Tensor, TensorMap } from '@normkit/core';
import { batchNorm } from '@normkit/batch-norm';
import { groupNorm } from '@normkit/group-norm';
import { instanceNorm } from '@normkit/instance-norm';
import { layerNorm } from '@normkit/layer-norm';
import { rmsNorm } from '@normkit/rms-norm';
import { weightNorm } from '@normkit/weight-norm';
import type { WorkloadData } from '../data.js';
import type { Workload } from '../workloads.js';
import { parameterCount } from '../workloads.js';
import { MOMENTUM } from './kernels.js';
import type { Outputs } from './types.js';

/** The activation tensors of an API call: where x and dy live and where y and dx go. */
export interface ApiTensors {
  /** The input (weight norm: `v`). */
  readonly x: Tensor;
  /** The upstream gradient, for workloads with a backward pass. */
  readonly dy: Tensor | null;
  /** The `out` buffer of the forward pass (kept across calls, as a training loop does). */
  readonly yOut: Tensor;
  /** The `out` buffer of the backward pass. */
  readonly dxOut: Tensor;
}

/**
 * JS-heap activation tensors of the workload's dtype: `x`, `dy` and zeroed `out` buffers.
 *
 * @param workload - the workload
 * @param data - its inputs
 */
export function heapTensors(workload: Workload, data: WorkloadData): ApiTensors {
  const { shape, dtype } = workload;
  return {
    x: tensor(data.x, shape),
    dy: data.dy === null ? null : tensor(data.dy, shape),
    yOut: zeros(shape, dtype),
    dxOut: zeros(shape, dtype),
  };
}

/**
 * One call of the workload through normkit's public plugin API, as a user writes it:
 * `plugin.create(options)` once (here), then `forward` (and `backward`) per call, with full
 * validation, writing `y` and `dx` into the preallocated `out` buffers (parameter gradients
 * and the O(C) statistics are allocated per call). Which kernels run is the kernel
 * registry's business: the caller sets its state before calling the step.
 *
 * @param workload - the workload
 * @param data - its inputs (parameters are taken in the workload's dtype)
 * @param tensors - the activations and `out` buffers
 * @returns the step; it returns its outputs (views of the `out` buffers and the fresh gradients)
 */
export function apiStep(workload: Workload, data: WorkloadData, tensors: ApiTensors): () => Outputs {
  const { shape, dtype } = workload;
  const p = parameterCount(workload);
  const Ctor = arrayTypeOf(dtype);
  const vector = (values: ArrayLike<number>, vectorShape: readonly number[] = [p]): Tensor => tensor(Ctor.from(values), vectorShape);
  const { x, dy, yOut, dxOut } = tensors;
  const affine = { weight: vector(data.gamma), bias: vector(data.beta) };
  /** y, and with a backward pass dx and the parameter gradients (dweight, dbias) it returns. */
  const affineStep = <T extends NormalizerTypes>(
    bound: BoundNormalizer<T>,
    params: TensorMap<T['Params']>,
    state: TensorMap<T['State']>,
    mode: Mode,
  ): (() => Outputs) => {
    if (dy === null) return () => ({ y: bound.forward({ x, params, state, mode, out: yOut }).y.data });
    return () => {
      const forward = bound.forward({ x, params, state, mode, out: yOut });
      const { dx, grads } = bound.backward({ dy, params, saved: forward.saved, out: dxOut });
      const gradients = grads as Partial<Record<string, Tensor>>;
      const out: Record<string, ArrayLike<number>> = { y: forward.y.data, dx: dx.data };
      if (gradients.weight !== undefined) out.dweight = gradients.weight.data;
      if (gradients.bias !== undefined) out.dbias = gradients.bias.data;
      return out;
    };
  };
  switch (workload.op) {
    case 'batch-norm-train-forward':
    case 'batch-norm-train-forward-backward':
    case 'batch-norm-eval-forward': {
      const bn = batchNorm.create({ numFeatures: p, eps: data.eps, momentum: MOMENTUM, channelAxis: 1 });
      const state = { runningMean: vector(data.runningMean), runningVar: vector(data.runningVar), numBatchesTracked: zeros([], 'float64') };
      return affineStep(bn, affine, state, workload.op === 'batch-norm-eval-forward' ? 'eval' : 'train');
    }
    case 'layer-norm-forward':
    case 'layer-norm-forward-backward':
      return affineStep(layerNorm.create({ normalizedShape: [p], eps: data.eps }), affine, {}, 'train');
    case 'group-norm-forward':
    case 'group-norm-forward-backward': {
      const gn = groupNorm.create({ numGroups: workload.groups ?? 1, numChannels: p, eps: data.eps });
      return affineStep(gn, affine, {}, 'train');
    }
    case 'instance-norm-forward':
      return affineStep(instanceNorm.create({ numFeatures: p, eps: data.eps, affine: true }), affine, {}, 'train');
    case 'rms-norm-forward':
    case 'rms-norm-forward-backward':
      return affineStep(rmsNorm.create({ normalizedShape: [p], eps: data.eps }), { weight: affine.weight }, {}, 'train');
    case 'weight-norm-forward-backward': {
      const wn = weightNorm.create({ shape, dim: 0 });
      const params = { g: vector(data.gamma, [p, ...shape.slice(1).map(() => 1)]) };
      const dw = dy as Tensor;
      return () => {
        const forward = wn.forward({ x, params, state: {}, mode: 'train', out: yOut });
        const { dx, grads } = wn.backward({ dy: dw, params, saved: forward.saved, out: dxOut });
        return { w: forward.y.data, dv: dx.data, dg: (grads.g as Tensor).data };
      };
    }
  }
  throw new Error(`normkit: unknown op ${String(workload.op satisfies never)}`);
}

/**
 * Copies of a step's outputs (the step writes into buffers that later calls overwrite).
 *
 * @param outputs - what the step returned
 */
export function copyOutputs(outputs: Outputs): Outputs {
  return Object.fromEntries(Object.entries(outputs).map(([name, values]) => [name, ArrayBuffer.isView(values) ? (values as FloatArray).slice() : Array.from(values)]));
}
