// Every exported layer runs in ONNX Runtime (onnxruntime-node, CPU) and agrees with the
// layer's own eval forward: float32 graphs within rtol 1e-4 and atol 1e-5·scale (float32
// rounding of ~10 operations, each ≤ 6e-8 relative), float64 graphs within 1e-9 (ONNX
// stores `epsilon` attributes as float32, which moves ε by ≤ 6e-8 relative).
import { BatchNorm } from '@normkit/batch-norm';
import { BatchRenorm } from '@normkit/batch-renorm';
import type { Layer, Tensor } from '@normkit/core';
import { GhostBatchNorm } from '@normkit/ghost-batch-norm';
import { GroupNorm } from '@normkit/group-norm';
import { InstanceNorm } from '@normkit/instance-norm';
import { LayerNorm } from '@normkit/layer-norm';
import { RMSNorm } from '@normkit/rms-norm';
import { SyncBatchNorm } from '@normkit/sync-batch-norm';
import { randn } from '@normkit/testkit';
import { WeightNorm, WeightNormLinear } from '@normkit/weight-norm';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { exportOnnx } from './export-onnx.js';

type Dtype = 'float32' | 'float64';
type AnyLayer = Layer<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const { onnx } = onnxProto;
const SESSION: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1, executionProviders: ['cpu'] };

/** Random parameters and, for layers with running statistics, two training steps first. */
function prepared(layer: AnyLayer, trainShape: readonly number[] | null, seed: number): AnyLayer {
  const dtype = layer.dtype;
  if (trainShape !== null) {
    layer.forward(randn(trainShape, seed, dtype, 1, 2));
    layer.forward(randn(trainShape, seed + 1, dtype, -0.5, 3));
  }
  const sd: Record<string, Tensor> = { ...layer.stateDict() };
  let k = 0;
  for (const name of Object.keys(layer.params)) sd[name] = randn(sd[name].shape, seed + 10 + k++, dtype, 1, 0.5);
  layer.loadStateDict(sd);
  return layer;
}

/** |a − e| ≤ rtol·|e| + atol·max(1, max|e|) elementwise; returns the worst ratio (≤ 1 passes). */
function worstRatio(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, atol: number): number {
  let scale = 1;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const allowed = rtol * Math.abs(expected[i]) + atol * scale;
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / allowed);
  }
  return Number.isNaN(worst) ? Infinity : worst;
}

async function runOrt(bytes: Uint8Array, x: Tensor, dtype: Dtype): Promise<ort.Tensor> {
  const session = await ort.InferenceSession.create(bytes, SESSION);
  const data = dtype === 'float32' ? Float32Array.from(x.data) : Float64Array.from(x.data);
  const out = await session.run({ x: new ort.Tensor(dtype, data, [...x.shape]) });
  await session.release();
  return out.y;
}

function opTypes(bytes: Uint8Array): string[] {
  return onnx.ModelProto.decode(bytes).graph?.node?.map((n) => n.opType ?? '') ?? [];
}

interface ExportCase {
  readonly name: string;
  readonly make: (dtype: Dtype) => AnyLayer[];
  readonly shape: readonly number[];
  /** Shape of the training batches (null: nothing to train). */
  readonly train?: readonly number[];
  /** opset → the op types of the float32 graph, in order. */
  readonly ops: Readonly<Record<number, readonly string[]>>;
  /** Also run a float64 graph (at the default opset). */
  readonly float64?: boolean;
}

const PRIMITIVE_CENTERED = ['ReduceMean', 'Sub', 'Mul', 'ReduceMean', 'Add', 'Sqrt', 'Div'];
const CASES: readonly ExportCase[] = [
  { name: 'batch norm (N, C, L)', make: (d) => [new BatchNorm({ numFeatures: 3 }, { dtype: d })], shape: [4, 3, 5], train: [6, 3, 5], ops: { 13: ['BatchNormalization'], 15: ['BatchNormalization'], 23: ['BatchNormalization'] }, float64: true },
  { name: 'batch norm (N, C)', make: (d) => [new BatchNorm({ numFeatures: 3 }, { dtype: d })], shape: [6, 3], train: [6, 3], ops: { 23: ['BatchNormalization'] } },
  { name: 'batch norm (N, C, H, W), not affine', make: (d) => [new BatchNorm({ numFeatures: 3, affine: false }, { dtype: d })], shape: [2, 3, 4, 4], train: [2, 3, 4, 4], ops: { 23: ['BatchNormalization'] } },
  { name: 'batch norm, channels-last', make: (d) => [new BatchNorm({ numFeatures: 3, channelAxis: -1 }, { dtype: d })], shape: [2, 5, 3], train: [4, 5, 3], ops: { 23: ['Transpose', 'BatchNormalization', 'Transpose'] }, float64: true },
  { name: 'batch norm without running statistics (batch statistics in eval)', make: (d) => [new BatchNorm({ numFeatures: 3, trackRunningStats: false }, { dtype: d })], shape: [4, 3, 5], ops: { 23: [...PRIMITIVE_CENTERED, 'Mul', 'Add'] }, float64: true },
  { name: 'batch renorm', make: (d) => [new BatchRenorm({ numFeatures: 3, rmax: 2, dmax: 1 }, { dtype: d })], shape: [4, 3, 5], train: [6, 3, 5], ops: { 23: ['BatchNormalization'] } },
  { name: 'ghost batch norm', make: (d) => [new GhostBatchNorm({ numFeatures: 3, virtualBatchSize: 2 }, { dtype: d })], shape: [4, 3, 5], train: [6, 3, 5], ops: { 23: ['BatchNormalization'] } },
  { name: 'sync batch norm (one process)', make: (d) => [new SyncBatchNorm({ numFeatures: 3 }, { dtype: d })], shape: [4, 3, 5], train: [6, 3, 5], ops: { 23: ['BatchNormalization'] } },
  { name: 'instance norm', make: (d) => [new InstanceNorm({ numFeatures: 3, affine: true }, { dtype: d })], shape: [2, 3, 6], ops: { 23: ['InstanceNormalization'] }, float64: true },
  { name: 'instance norm, channels-last, not affine', make: (d) => [new InstanceNorm({ numFeatures: 3, channelAxis: -1 }, { dtype: d })], shape: [2, 4, 5, 3], ops: { 23: ['Transpose', 'InstanceNormalization', 'Transpose'] } },
  {
    name: 'instance norm, unbatched (C, H, W) with spatialDims 2',
    make: (d) => [new InstanceNorm({ numFeatures: 3, affine: true, spatialDims: 2 }, { dtype: d })],
    shape: [3, 4, 5],
    ops: { 23: ['Reshape', 'InstanceNormalization', 'Reshape'] },
    float64: true,
  },
  {
    name: 'instance norm, unbatched (L, C) channels-last with running statistics',
    make: (d) => [new InstanceNorm({ numFeatures: 3, spatialDims: 1, channelAxis: -1, trackRunningStats: true }, { dtype: d })],
    shape: [6, 3],
    train: [6, 3],
    ops: { 23: ['Reshape', 'Transpose', 'BatchNormalization', 'Transpose', 'Reshape'] },
  },
  {
    name: 'instance norm with running statistics (as BatchNormalization)',
    make: (d) => [new InstanceNorm({ numFeatures: 3, affine: true, trackRunningStats: true }, { dtype: d })],
    shape: [2, 3, 6],
    train: [4, 3, 6],
    ops: { 23: ['BatchNormalization'] },
    float64: true,
  },
  { name: 'layer norm', make: (d) => [new LayerNorm({ normalizedShape: [4] }, { dtype: d })], shape: [2, 3, 4], ops: { 13: [...PRIMITIVE_CENTERED, 'Mul', 'Add'], 17: ['LayerNormalization'], 23: ['LayerNormalization'] }, float64: true },
  { name: 'layer norm over two axes, no bias', make: (d) => [new LayerNorm({ normalizedShape: [3, 4], bias: false }, { dtype: d })], shape: [2, 3, 4], ops: { 16: [...PRIMITIVE_CENTERED, 'Mul'], 17: ['LayerNormalization'] } },
  { name: 'layer norm, not affine', make: (d) => [new LayerNorm({ normalizedShape: [5], elementwiseAffine: false }, { dtype: d })], shape: [3, 5], ops: { 23: ['LayerNormalization'] } },
  {
    name: 'group norm',
    make: (d) => [new GroupNorm({ numGroups: 2, numChannels: 4 }, { dtype: d })],
    shape: [2, 4, 3],
    ops: { 13: ['Reshape', ...PRIMITIVE_CENTERED, 'Reshape', 'Mul', 'Add'], 20: ['Reshape', ...PRIMITIVE_CENTERED, 'Reshape', 'Mul', 'Add'], 21: ['GroupNormalization'] },
    float64: true,
  },
  { name: 'group norm (N, C, H, W), channels-last', make: (d) => [new GroupNorm({ numGroups: 3, numChannels: 6, channelAxis: -1 }, { dtype: d })], shape: [2, 3, 2, 6], ops: { 21: ['Transpose', 'GroupNormalization', 'Transpose'], 18: ['Transpose', 'Reshape', ...PRIMITIVE_CENTERED, 'Reshape', 'Mul', 'Add', 'Transpose'] } },
  { name: 'group norm, not affine, one group', make: (d) => [new GroupNorm({ numGroups: 1, numChannels: 4, affine: false }, { dtype: d })], shape: [2, 4, 5], ops: { 21: ['GroupNormalization'], 17: ['Reshape', ...PRIMITIVE_CENTERED, 'Reshape'] } },
  { name: 'RMS norm', make: (d) => [new RMSNorm({ normalizedShape: [4] }, { dtype: d })], shape: [2, 3, 4], ops: { 13: ['Mul', 'ReduceMean', 'Add', 'Sqrt', 'Div', 'Mul'], 22: ['Mul', 'ReduceMean', 'Add', 'Sqrt', 'Div', 'Mul'], 23: ['RMSNormalization'] }, float64: true },
  { name: 'RMS norm over two axes, eps 1e-3, not affine', make: (d) => [new RMSNorm({ normalizedShape: [3, 4], eps: 1e-3, elementwiseAffine: false }, { dtype: d })], shape: [2, 3, 4], ops: { 18: ['Mul', 'ReduceMean', 'Add', 'Sqrt', 'Div'], 23: ['RMSNormalization'] } },
  { name: 'weight norm (dim 0), input v', make: (d) => [new WeightNorm({ shape: [3, 4], dim: 0 }, { dtype: d })], shape: [3, 4], ops: { 23: ['Mul', 'ReduceSum', 'Add', 'Sqrt', 'Div', 'Mul'] }, float64: true },
  { name: 'weight norm (dim null, eps)', make: (d) => [new WeightNorm({ shape: [2, 3, 2], dim: null, eps: 1e-6 }, { dtype: d })], shape: [2, 3, 2], ops: { 13: ['Mul', 'ReduceSum', 'Add', 'Sqrt', 'Div', 'Mul'] } },
  { name: 'weight-normalized linear', make: (d) => [new WeightNormLinear({ inFeatures: 4, outFeatures: 3 }, { dtype: d })], shape: [5, 4], ops: { 13: ['Gemm'], 23: ['Gemm'] }, float64: true },
  { name: 'weight-normalized linear, (N, L, in), no bias', make: (d) => [new WeightNormLinear({ inFeatures: 4, outFeatures: 2, bias: false }, { dtype: d })], shape: [2, 5, 4], ops: { 23: ['Reshape', 'Gemm', 'Reshape'] } },
  {
    name: 'a sequence: batch norm → layer norm → RMS norm → weight-normalized linear',
    make: (d) => [
      new BatchNorm({ numFeatures: 3 }, { dtype: d }),
      new LayerNorm({ normalizedShape: [4] }, { dtype: d }),
      new RMSNorm({ normalizedShape: [4] }, { dtype: d }),
      new WeightNormLinear({ inFeatures: 4, outFeatures: 2 }, { dtype: d }),
    ],
    shape: [2, 3, 4],
    train: [4, 3, 4],
    ops: { 23: ['BatchNormalization', 'LayerNormalization', 'RMSNormalization', 'Reshape', 'Gemm', 'Reshape'] },
    float64: true,
  },
];

function layersOf(c: ExportCase, dtype: Dtype, seed: number): AnyLayer[] {
  // Only the first layer sees the training batches' shape; later layers of a sequence keep no state.
  return c.make(dtype).map((layer, i) => prepared(layer, i === 0 ? (c.train ?? null) : null, seed + 100 * i));
}

function evalForward(layers: readonly AnyLayer[], x: Tensor): Tensor {
  let y = x;
  for (const layer of layers) y = layer.eval().forward(y);
  return y;
}

describe.each(CASES)('$name in ONNX Runtime', (c) => {
  const runs: [Dtype, number][] = [...Object.keys(c.ops).map((o): [Dtype, number] => ['float32', Number(o)]), ...(c.float64 === true ? [['float64', 23] as [Dtype, number]] : [])];
  it.each(runs)('%s, opset %i: agrees with the eval forward', async (dtype, opset) => {
    const layers = layersOf(c, dtype, 3);
    const before = layers.map((l) => l.stateDict());
    const bytes = exportOnnx(layers, { inputShape: c.shape, opset });
    expect(layers.map((l) => l.stateDict())).toEqual(before);
    // The op table is for float32 graphs (float64 instance norm is primitive ops: ORT has no double InstanceNormalization).
    if (dtype === 'float32') expect(opTypes(bytes)).toEqual(c.ops[opset]);
    const model = onnx.ModelProto.decode(bytes);
    expect(model.opsetImport?.map((o) => [o.domain, Number(o.version)])).toEqual([['', opset]]);
    for (const seed of [5, 6]) {
      const x = randn(c.shape, seed, dtype, 0.3, 1.7);
      const expected = evalForward(layers, x);
      const y = await runOrt(bytes, x, dtype);
      expect(y.dims).toEqual(expected.shape);
      const [rtol, atol] = dtype === 'float32' ? [1e-4, 1e-5] : [1e-9, 1e-9];
      const ratio = worstRatio(y.data as Float32Array, expected.data, rtol, atol);
      expect(ratio, `worst error / allowance ${ratio}`).toBeLessThanOrEqual(1);
    }
  });
});

// Data far from zero against its spread (a group mean of 100σ or 1e5σ): ONNX Runtime's
// GroupNormalization kernel lost 3.5e-3 here with float32 statistics and 7.6e-6 in a float64
// graph; the export asks for double statistics (float32) or writes primitive ops (float64).
describe('group norm on data far from zero in ONNX Runtime', () => {
  const shape = [2, 8, 4, 4];
  it('float32, opset 23: GroupNormalization with stash_type DOUBLE agrees with the eval forward (rtol 1e-4, atol 1e-5) on N(100, 1) data', async () => {
    const gn = prepared(new GroupNorm({ numGroups: 4, numChannels: 8 }), null, 21);
    const bytes = exportOnnx(gn, { inputShape: shape, opset: 23 });
    const node = onnx.ModelProto.decode(bytes).graph?.node?.[0];
    expect(node?.opType).toBe('GroupNormalization');
    expect(Number(node?.attribute?.find((a) => a.name === 'stash_type')?.i)).toBe(onnx.TensorProto.DataType.DOUBLE);
    const x = randn(shape, 22, 'float32', 100, 1);
    const ratio = worstRatio((await runOrt(bytes, x, 'float32')).data as Float32Array, evalForward([gn], x).data, 1e-4, 1e-5);
    expect(ratio, `worst error / allowance ${ratio}`).toBeLessThanOrEqual(1);
  });

  it('float64, opset 23: primitive ops, within 1e-9 of the eval forward on data of mean 1e5 and spread 1', async () => {
    const gn = prepared(new GroupNorm({ numGroups: 4, numChannels: 8 }, { dtype: 'float64' }), null, 23);
    const bytes = exportOnnx(gn, { inputShape: shape, opset: 23 });
    expect(opTypes(bytes)).not.toContain('GroupNormalization');
    const x = randn(shape, 24, 'float64', 1e5, 1);
    const ratio = worstRatio((await runOrt(bytes, x, 'float64')).data as Float64Array, evalForward([gn], x).data, 1e-9, 1e-9);
    expect(ratio, `worst error / allowance ${ratio}`).toBeLessThanOrEqual(1);
  });
});
