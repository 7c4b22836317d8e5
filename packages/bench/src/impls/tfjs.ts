import type * as TfNamespace from '@tensorflow/tfjs';
import type { WorkloadData } from '../data.js';
import { transposeNchw } from '../data.js';
import type { Workload } from '../workloads.js';
import { hasChannelParameters, parameterCount } from '../workloads.js';
import type { Implementation, Outputs, PreparedRun } from './types.js';

/** The `@tensorflow/tfjs` module namespace. */
export type Tf = typeof TfNamespace;
type Tensor = TfNamespace.Tensor;

/** The TF.js backends compared. */
export type TfBackend = 'cpu' | 'wasm';

/** What the benchmark reports about the TF.js setup. */
export interface TfInfo {
  /** `@tensorflow/tfjs-core` version. */
  readonly version: string;
  /** Whether the wasm backend loaded its SIMD binary. */
  readonly wasmSimd: boolean;
  /** Whether the wasm backend may use threads (false under Node). */
  readonly wasmMultithread: boolean;
  /** The wasm backend's thread count (1 under Node). */
  readonly wasmThreads: number;
}

let loading: Promise<{ tf: Tf; info: TfInfo }> | null = null;

/**
 * Loads TF.js once: `@tensorflow/tfjs` (tfjs-core with the cpu backend and, unlike
 * tfjs-core alone, the gradient registrations) and `@tensorflow/tfjs-backend-wasm`,
 * whose Node build reads its bundled `.wasm` from `node_modules` (no network).
 * The "install tfjs-node" banner is silenced; production mode is enabled.
 */
export function loadTf(): Promise<{ tf: Tf; info: TfInfo }> {
  loading ??= (async () => {
    const { warn, log } = console;
    console.warn = () => {};
    console.log = () => {};
    try {
      const tf = (await import('@tensorflow/tfjs')) as Tf;
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      tf.enableProdMode();
      await tf.setBackend('wasm');
      await tf.ready();
      const info: TfInfo = {
        version: tf.version_core,
        wasmSimd: tf.env().getBool('WASM_HAS_SIMD_SUPPORT'),
        wasmMultithread: tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT'),
        wasmThreads: wasm.getThreadsCount(),
      };
      await tf.setBackend('cpu');
      await tf.ready();
      return { tf, info };
    } finally {
      console.warn = warn;
      console.log = log;
    }
  })();
  return loading;
}

/** Makes `backend` the active TF.js backend. */
async function activate(tf: Tf, backend: TfBackend): Promise<void> {
  if (tf.getBackend() !== backend) {
    const ok = await tf.setBackend(backend);
    if (!ok) throw new Error(`TF.js backend '${backend}' failed to initialize`);
  }
  await tf.ready();
}

/** Named output tensors of one call. */
type TensorOutputs = Record<string, Tensor>;

/**
 * Builds the TF.js computation of a workload over tensors made once.
 *
 * Choices (what a TF.js user writes):
 * - batch norm, train: `tf.moments` over every axis but the channel, then `tf.batchNorm`
 *   (whose statistics broadcast along the **last** axis); the NCHW workloads get the same
 *   values laid out NHWC, TF.js's native layout (its conv and pooling ops default to
 *   channels-last), transposed once outside the timed region;
 * - batch norm, eval: `tf.batchNorm` with the running statistics;
 * - layer norm: `tf.moments(x, -1, true)`, then `(x − μ)·rsqrt(σ² + ε)·γ + β` (tf.batchNorm
 *   cannot broadcast per-row statistics);
 * - weight norm: `v·(g/√Σv²)` per row;
 * - group norm (NHWC, like batch norm): `x` reshaped to `(N, H, W, G, C/G)`, `tf.moments` over
 *   axes 1, 2, 4 (kept), `(x − μ)·rsqrt(σ² + ε)`, reshaped back, `·γ + β` (TF.js has no group
 *   norm op);
 * - instance norm (NHWC): `tf.moments` over axes 1, 2 (kept), `(x − μ)·rsqrt(σ² + ε)·γ + β`;
 * - RMS norm: `x·rsqrt(mean(x², −1) + ε)·γ` (`tf.moments` would centre);
 * - backward: `tf.valueAndGrads` w.r.t. x (v), γ (g) and β with the upstream `dy`.
 */
function buildComputation(tf: Tf, workload: Workload, data: WorkloadData) {
  const { shape } = workload;
  const p = parameterCount(workload);
  const channelsLast = hasChannelParameters(workload) && shape.length === 4;
  const tfShape = channelsLast ? [shape[0], shape[2], shape[3], shape[1]] : shape.slice();
  const toTf = (values: ArrayLike<number>): Float32Array => (channelsLast ? transposeNchw(values, shape) : Float32Array.from(values));
  const x = tf.tensor(toTf(data.x), tfShape, 'float32');
  const dy = data.dy === null ? null : tf.tensor(toTf(data.dy), tfShape, 'float32');
  const gamma = tf.tensor(Float32Array.from(data.gamma), workload.op === 'weight-norm-forward-backward' ? [p, 1] : [p], 'float32');
  const beta = tf.tensor1d(Float32Array.from(data.beta), 'float32');
  const runningMean = tf.tensor1d(Float32Array.from(data.runningMean), 'float32');
  const runningVar = tf.tensor1d(Float32Array.from(data.runningVar), 'float32');
  const owned: Tensor[] = [x, gamma, beta, runningMean, runningVar, ...(dy === null ? [] : [dy])];
  const eps = data.eps;
  const reduceAxes = tfShape.slice(0, -1).map((_, k) => k);

  const batchNormTrain = (input: Tensor, g: Tensor, b: Tensor): Tensor => {
    const { mean, variance } = tf.moments(input, reduceAxes);
    return tf.batchNorm(input, mean, variance, b, g, eps);
  };
  const layerNormForward = (input: Tensor, g: Tensor, b: Tensor): Tensor => {
    const { mean, variance } = tf.moments(input, -1, true);
    return tf.add(tf.mul(tf.mul(tf.sub(input, mean), tf.rsqrt(tf.add(variance, eps))), g), b);
  };
  const weightNormForward = (v: Tensor, g: Tensor): Tensor => tf.mul(v, tf.div(g, tf.sqrt(tf.sum(tf.square(v), 1, true))));
  const groups = workload.groups ?? 1;
  const groupNormForward = (input: Tensor, g: Tensor, b: Tensor): Tensor => {
    const [n, h, w, c] = tfShape;
    const grouped = tf.reshape(input, [n, h, w, groups, c / groups]);
    const { mean, variance } = tf.moments(grouped, [1, 2, 4], true);
    const normalized = tf.reshape(tf.mul(tf.sub(grouped, mean), tf.rsqrt(tf.add(variance, eps))), tfShape);
    return tf.add(tf.mul(normalized, g), b);
  };
  const instanceNormForward = (input: Tensor, g: Tensor, b: Tensor): Tensor => {
    const { mean, variance } = tf.moments(input, [1, 2], true);
    return tf.add(tf.mul(tf.mul(tf.sub(input, mean), tf.rsqrt(tf.add(variance, eps))), g), b);
  };
  const rmsNormForward = (input: Tensor, g: Tensor): Tensor => tf.mul(tf.mul(input, tf.rsqrt(tf.add(tf.mean(tf.square(input), -1, true), eps))), g);

  let compute: () => TensorOutputs;
  switch (workload.op) {
    case 'batch-norm-train-forward':
      compute = () => ({ y: batchNormTrain(x, gamma, beta) });
      break;
    case 'batch-norm-eval-forward':
      compute = () => ({ y: tf.batchNorm(x, runningMean, runningVar, beta, gamma, eps) });
      break;
    case 'layer-norm-forward':
      compute = () => ({ y: layerNormForward(x, gamma, beta) });
      break;
    case 'group-norm-forward':
      compute = () => ({ y: groupNormForward(x, gamma, beta) });
      break;
    case 'instance-norm-forward':
      compute = () => ({ y: instanceNormForward(x, gamma, beta) });
      break;
    case 'rms-norm-forward':
      compute = () => ({ y: rmsNormForward(x, gamma) });
      break;
    case 'rms-norm-forward-backward': {
      const valueAndGrads = tf.valueAndGrads((input: Tensor, g: Tensor) => rmsNormForward(input, g));
      compute = () => {
        const { value, grads } = valueAndGrads([x, gamma], dy as Tensor);
        return { y: value, dx: grads[0], dweight: grads[1] };
      };
      break;
    }
    case 'batch-norm-train-forward-backward':
    case 'group-norm-forward-backward':
    case 'layer-norm-forward-backward': {
      const f = workload.op === 'layer-norm-forward-backward' ? layerNormForward : workload.op === 'group-norm-forward-backward' ? groupNormForward : batchNormTrain;
      const valueAndGrads = tf.valueAndGrads((input: Tensor, g: Tensor, b: Tensor) => f(input, g, b));
      compute = () => {
        const { value, grads } = valueAndGrads([x, gamma, beta], dy as Tensor);
        return { y: value, dx: grads[0], dweight: grads[1], dbias: grads[2] };
      };
      break;
    }
    case 'weight-norm-forward-backward': {
      const valueAndGrads = tf.valueAndGrads((v: Tensor, g: Tensor) => weightNormForward(v, g));
      compute = () => {
        const { value, grads } = valueAndGrads([x, gamma], dy as Tensor);
        return { w: value, dv: grads[0], dg: grads[1] };
      };
      break;
    }
  }
  const fromTf = (name: string, values: Float32Array): Float32Array =>
    channelsLast && (name === 'y' || name === 'dx') ? transposeNchw(values, shape, true) : values;
  return { compute, owned, fromTf };
}

/**
 * TF.js on one backend: `cpu` (plain JS kernels) or `wasm` (XNNPACK-based kernels, SIMD
 * binary, one thread: the wasm backend cannot start threads under Node). Each timed call
 * runs inside `tf.tidy` so nothing accumulates; results stay in the backend (not read
 * back), as between the layers of a model. TF.js has no float64.
 */
export function tfjsImplementation(backend: TfBackend): Implementation {
  return {
    name: backend === 'cpu' ? 'tfjs-cpu' : 'tfjs-wasm',
    description:
      backend === 'cpu'
        ? 'TF.js 4.22 tfjs-backend-cpu (JS kernels), gradients via tf.valueAndGrads'
        : 'TF.js 4.22 tfjs-backend-wasm (bundled SIMD .wasm, 1 thread under Node), gradients via tf.valueAndGrads',
    unsupported: (workload) => (workload.dtype === 'float32' ? null : 'TF.js computes in float32 only'),
    async prepare(workload, data): Promise<PreparedRun> {
      const { tf } = await loadTf();
      await activate(tf, backend);
      const { compute, owned, fromTf } = buildComputation(tf, workload, data);
      return {
        beforeSample: () => activate(tf, backend),
        run: () => {
          tf.tidy(() => {
            compute();
          });
        },
        async outputs(): Promise<Outputs> {
          await activate(tf, backend);
          const tensors = tf.tidy(() => compute());
          const out: Record<string, Float32Array> = {};
          for (const [name, t] of Object.entries(tensors)) out[name] = fromTf(name, Float32Array.from(t.dataSync()));
          tf.dispose(Object.values(tensors));
          return out;
        },
        async dispose() {
          tf.dispose(owned);
        },
      };
    },
  };
}
