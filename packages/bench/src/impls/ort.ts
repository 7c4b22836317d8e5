import type * as OrtNamespace from 'onnxruntime-node';
import type { WorkloadData } from '../data.js';
import {
  batchNormalizationModel,
  groupNormalizationModel,
  instanceNormalizationModel,
  layerNormalizationModel,
  rmsNormalizationModel,
} from '../onnx.js';
import type { Workload } from '../workloads.js';
import type { Implementation, PreparedRun } from './types.js';

/** The `onnxruntime-node` module namespace. */
export type Ort = typeof OrtNamespace;

let loading: Promise<Ort> | null = null;

/** Loads `onnxruntime-node` once (its native binding ships in the package). */
export function loadOrt(): Promise<Ort> {
  loading ??= import('onnxruntime-node') as Promise<Ort>;
  return loading;
}

/** Session options for every benchmark model: one thread, sequential execution, CPU provider. */
export const ORT_SESSION_OPTIONS: OrtNamespace.InferenceSession.SessionOptions = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  executionProviders: ['cpu'],
};

/** The ONNX model bytes for a workload, or `null` when ONNX has no such op. */
export function modelFor(workload: Workload, data: WorkloadData): Uint8Array | null {
  const type = workload.dtype;
  switch (workload.op) {
    case 'batch-norm-eval-forward':
    case 'batch-norm-train-forward':
      return batchNormalizationModel({
        shape: workload.shape,
        type,
        scale: data.gamma,
        bias: data.beta,
        mean: data.runningMean,
        variance: data.runningVar,
        epsilon: data.eps,
        training: workload.op === 'batch-norm-train-forward',
      });
    case 'layer-norm-forward':
      return layerNormalizationModel({ shape: workload.shape, type, scale: data.gamma, bias: data.beta, epsilon: data.eps });
    case 'group-norm-forward':
      return groupNormalizationModel({ shape: workload.shape, type, scale: data.gamma, bias: data.beta, epsilon: data.eps, groups: workload.groups ?? 1 });
    case 'instance-norm-forward':
      return instanceNormalizationModel({ shape: workload.shape, type, scale: data.gamma, bias: data.beta, epsilon: data.eps });
    case 'rms-norm-forward':
      return rmsNormalizationModel({ shape: workload.shape, type, scale: data.gamma, epsilon: data.eps });
    default:
      return null;
  }
}

/**
 * ONNX Runtime for Node on the CPU execution provider with one intra-op thread, running
 * one-node models the benchmark writes itself (see `onnx.ts`): `BatchNormalization`
 * (opset 15; inference mode with the running statistics as initializers, and
 * `training_mode = 1` for the train forward), `LayerNormalization` (opset 17),
 * `GroupNormalization` (opset 21; ORT runs its function body, it has no CPU kernel for it),
 * `InstanceNormalization` (operator version 6, model opset 17) and `RMSNormalization` (opset 23).
 * ONNX inference has no backward and no weight-norm op. The input tensor is made once;
 * each call allocates its output, as `session.run` does.
 */
export const onnxRuntime: Implementation = {
  name: 'ort',
  description:
    'onnxruntime-node 1.30, CPU EP, 1 thread, one-node BatchNormalization(15)/LayerNormalization(17)/GroupNormalization(21)/InstanceNormalization(6)/RMSNormalization(23) models',
  unsupported(workload) {
    if (workload.op === 'weight-norm-forward-backward') return 'ONNX has no weight-norm op';
    if (workload.passes === 5) return 'ONNX Runtime inference has no backward';
    return null;
  },
  async prepare(workload, data): Promise<PreparedRun> {
    const ort = await loadOrt();
    const model = modelFor(workload, data);
    if (model === null) throw new Error(`ort: no model for ${workload.id}`);
    const session = await ort.InferenceSession.create(model, ORT_SESSION_OPTIONS);
    const elementType = workload.dtype === 'float32' ? 'float32' : 'float64';
    const input = new ort.Tensor(elementType, data.x, workload.shape.slice());
    const feeds = { X: input };
    // Fetch only Y: in training mode the updated running statistics are computed anyway.
    const fetches = ['Y'];
    return {
      run: async () => {
        await session.run(feeds, fetches);
      },
      async outputs() {
        const result = await session.run(feeds, fetches);
        return { y: Float32Array.from(result.Y.data as Float32Array) };
      },
      async dispose() {
        await session.release();
      },
    };
  },
};
