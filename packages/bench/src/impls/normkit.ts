import { tensor, zeros } from '@normkit/core';
import type { Tensor } from '@normkit/core';
import { batchNorm } from '@normkit/batch-norm';
import { layerNorm } from '@normkit/layer-norm';
import { weightNorm } from '@normkit/weight-norm';
import type { WorkloadData } from '../data.js';
import type { Workload } from '../workloads.js';
import { parameterCount } from '../workloads.js';
import { MOMENTUM, prepareKernels } from './kernels.js';
import type { Implementation, Outputs, PreparedRun } from './types.js';
import { uninstallWasmBackends } from './wasm.js';

/** The TypeScript kernels: no wasm backend in the kernel registry (the wasm rows install theirs per sample). */
async function useTypeScriptKernels(): Promise<void> {
  uninstallWasmBackends();
}

/** A prepared run from a synchronous step that returns its outputs. */
function preparedFromStep(step: () => Outputs): PreparedRun {
  return {
    beforeSample: useTypeScriptKernels,
    run: () => {
      step();
    },
    outputs: async () => {
      await useTypeScriptKernels();
      return step();
    },
    dispose: async () => {},
  };
}

/**
 * normkit through its public plugin API, as a user calls it: `create(options)` once, then
 * `forward` (and `backward`) per call, which validate their arguments and allocate
 * their parameter gradients each time (`y` and `dx` go to preallocated `out` buffers).
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
        const bn = batchNorm.create({ numFeatures: p, eps: data.eps, momentum: MOMENTUM, channelAxis: 1 });
        const params = { weight: tensor(data.gamma, [p]), bias: tensor(data.beta, [p]) };
        const state = { runningMean: tensor(data.runningMean, [p]), runningVar: tensor(data.runningVar, [p]), numBatchesTracked: zeros([], 'float64') };
        const mode = workload.op === 'batch-norm-eval-forward' ? 'eval' : 'train';
        if (dy === null) {
          return preparedFromStep(() => ({ y: bn.forward({ x, params, state, mode, out: yOut }).y.data }));
        }
        return preparedFromStep(() => {
          const forward = bn.forward({ x, params, state, mode, out: yOut });
          const { dx, grads } = bn.backward({ dy, params, saved: forward.saved, out: dxOut });
          return { y: forward.y.data, dx: dx.data, dweight: (grads.weight as Tensor).data, dbias: (grads.bias as Tensor).data };
        });
      }
      case 'layer-norm-forward':
      case 'layer-norm-forward-backward': {
        const ln = layerNorm.create({ normalizedShape: [p], eps: data.eps });
        const params = { weight: tensor(data.gamma, [p]), bias: tensor(data.beta, [p]) };
        if (dy === null) {
          return preparedFromStep(() => ({ y: ln.forward({ x, params, state: {}, mode: 'train', out: yOut }).y.data }));
        }
        return preparedFromStep(() => {
          const forward = ln.forward({ x, params, state: {}, mode: 'train', out: yOut });
          const { dx, grads } = ln.backward({ dy, params, saved: forward.saved, out: dxOut });
          return { y: forward.y.data, dx: dx.data, dweight: (grads.weight as Tensor).data, dbias: (grads.bias as Tensor).data };
        });
      }
      case 'weight-norm-forward-backward': {
        const wn = weightNorm.create({ shape, dim: 0 });
        const params = { g: tensor(data.gamma, [p, ...shape.slice(1).map(() => 1)]) };
        const dw = dy as Tensor;
        return preparedFromStep(() => {
          const forward = wn.forward({ x, params, state: {}, mode: 'train', out: yOut });
          const { dx, grads } = wn.backward({ dy: dw, params, saved: forward.saved, out: dxOut });
          return { w: forward.y.data, dv: dx.data, dg: (grads.g as Tensor).data };
        });
      }
    }
    throw new Error(`normkit: unknown op ${String(workload.op satisfies never)} (${dtype})`);
  },
};

/**
 * normkit's bare engine kernels — core's TypeScript implementations of `moments`,
 * `normalizeCells`, `gradientSums`, `inputGradient`, `normalizeRows` and `backwardRows` —
 * called directly on a plan and buffers made once in `prepare`: the same arithmetic as the
 * plugin API (which runs them through the engine ops and the kernel registry) without
 * validation, option handling, planning, registry dispatch or allocation.
 * `normkit / normkit-kernel` is the API's overhead.
 */
export const normkitKernel: Implementation = {
  name: 'normkit-kernel',
  description: "normkit's bare engine kernels (core's TypeScript moments/normalizeCells/gradientSums/inputGradient, normalizeRows/backwardRows) on a plan and buffers made once",
  unsupported: () => null,
  async prepare(workload: Workload, data: WorkloadData): Promise<PreparedRun> {
    return prepareKernels(workload, data);
  },
};
