// The model file itself (read back with onnx-proto) and the exporter's refusals.
import { BatchNorm } from '@normkit/batch-norm';
import { NormkitError, fromArray } from '@normkit/core';
import type { Layer } from '@normkit/core';
import { InstanceNorm } from '@normkit/instance-norm';
import { LayerNorm } from '@normkit/layer-norm';
import { WeightNorm } from '@normkit/weight-norm';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { exportOnnx } from './export-onnx.js';
import type { OnnxExportableLayer } from './export-onnx.js';
import { GraphBuilder } from './graph-builder.js';
import { encodeModel } from './model-proto.js';
import { MAX_ONNX_OPSET, MIN_ONNX_OPSET, irVersionFor } from './opset.js';

const { onnx } = onnxProto;
const DataType = onnx.TensorProto.DataType;

function errorOf(fn: () => unknown): NormkitError {
  try {
    fn();
  } catch (e) {
    if (e instanceof NormkitError) return e;
    throw e;
  }
  throw new Error('expected a NormkitError, got none');
}

function trainedBatchNorm(): BatchNorm {
  const bn = new BatchNorm({ numFeatures: 2 });
  bn.forward(fromArray([1, 10, 2, 20, 3, 30, 4, 40], [4, 2], 'float32'));
  return bn;
}

describe('the exported model', () => {
  it('declares the opset and its IR version, names its input and output, and holds the state as initializers', () => {
    const bn = trainedBatchNorm();
    const model = onnx.ModelProto.decode(exportOnnx(bn, { inputShape: [3, 2], opset: 15 }));
    expect(Number(model.irVersion)).toBe(8);
    expect(model.producerName).toBe('@normkit/onnx');
    const graph = model.graph as onnxProto.onnx.GraphProto;
    expect(graph.input.map((v) => [v.name, v.type?.tensorType?.elemType, v.type?.tensorType?.shape?.dim?.map((d) => Number(d.dimValue))])).toEqual([['x', DataType.FLOAT, [3, 2]]]);
    expect(graph.output.map((v) => v.name)).toEqual(['y']);
    expect(graph.node.map((n) => [n.opType, n.output])).toEqual([['BatchNormalization', ['y']]]);
    const epsilon = graph.node[0].attribute?.find((a) => a.name === 'epsilon');
    expect(epsilon?.f).toBe(Math.fround(1e-5));
    const values = Object.fromEntries(
      graph.initializer.map((t) => {
        const raw = t.rawData as Uint8Array;
        return [t.name, Array.from(new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)))];
      }),
    );
    expect(values['0.batch-norm/running_mean']).toEqual(Array.from(bn.runningMean?.data ?? []));
    expect(values['0.batch-norm/running_var']).toEqual(Array.from(bn.runningVar?.data ?? []));
    expect(Object.keys(values).sort()).toEqual(['0.batch-norm/bias', '0.batch-norm/running_mean', '0.batch-norm/running_var', '0.batch-norm/scale']);
  });

  it('maps each opset to the IR version of ONNX’s table, and writes float64 graphs as DOUBLE', () => {
    expect([13, 14, 15, 18, 19, 20, 21, 22, 23].map(irVersionFor)).toEqual([7, 7, 8, 8, 9, 9, 10, 10, 11]);
    const model = onnx.ModelProto.decode(exportOnnx(new LayerNorm({ normalizedShape: [3] }, { dtype: 'float64' }), { inputShape: [2, 3], inputName: 'in', outputName: 'out' }));
    expect(Number(model.irVersion)).toBe(11);
    expect(model.graph?.input?.[0].type?.tensorType?.elemType).toBe(DataType.DOUBLE);
    expect(model.graph?.initializer?.every((t) => t.dataType === DataType.DOUBLE)).toBe(true);
    expect(Number(model.graph?.node?.[0].attribute?.find((a) => a.name === 'stash_type')?.i)).toBe(DataType.DOUBLE);
    expect([model.graph?.input?.[0].name, model.graph?.output?.[0].name]).toEqual(['in', 'out']);
  });
});

describe('exportOnnx refuses', () => {
  const bn = trainedBatchNorm();
  const cases: [string, () => unknown, string, string][] = [
    ['no layers', () => exportOnnx([], { inputShape: [2, 2] }), 'E_OPTION', 'layers'],
    ['something that is not a layer', () => exportOnnx([{}] as unknown as OnnxExportableLayer[], { inputShape: [2, 2] }), 'E_PLUGIN', 'layers[0]'],
    [
      'a plugin without an ONNX declaration',
      () => exportOnnx([{ ...bn, dtype: bn.dtype, params: bn.params, state: bn.state, normalizer: { ...bn.normalizer, plugin: { ...bn.plugin, onnx: undefined } } }] as OnnxExportableLayer[], { inputShape: [2, 2] }),
      'E_PLUGIN',
      'layers[0]',
    ],
    ['layers of two dtypes', () => exportOnnx([bn, new LayerNorm({ normalizedShape: [2] }, { dtype: 'float64' })], { inputShape: [2, 2] }), 'E_DTYPE', 'layers[1]'],
    ['a missing input shape', () => exportOnnx(bn, {} as { inputShape: number[] }), 'E_SHAPE', 'options.inputShape'],
    ['a dynamic dimension', () => exportOnnx(bn, { inputShape: [-1, 2] }), 'E_SHAPE', 'options.inputShape'],
    ['an input shape the layer refuses', () => exportOnnx(bn, { inputShape: [4, 3] }), 'E_SHAPE', 'x'],
    ['an opset below the minimum', () => exportOnnx(bn, { inputShape: [2, 2], opset: MIN_ONNX_OPSET - 1 }), 'E_OPTION', 'options.opset'],
    ['an opset beyond the newest it knows', () => exportOnnx(bn, { inputShape: [2, 2], opset: MAX_ONNX_OPSET + 1 }), 'E_OPTION', 'options.opset'],
    ['train mode', () => exportOnnx(bn, { inputShape: [2, 2], mode: 'train' as 'eval' }), 'E_OPTION', 'options.mode'],
    ['the same name for input and output', () => exportOnnx(bn, { inputShape: [2, 2], inputName: 'x', outputName: 'x' }), 'E_OPTION', 'options.outputName'],
    // A misspelt opset would otherwise give a model at the newest opset, silently.
    ['an unknown option', () => exportOnnx(bn, { inputShape: [2, 2], opst: 17 } as never), 'E_OPTION', 'options.opst'],
    // ONNX stores epsilon as a float32: ε = 1e-50 became 0, and a constant row gave NaN in ONNX Runtime where the layer gives 0.
    ['an eps float32 rounds to 0', () => exportOnnx(new LayerNorm({ normalizedShape: [2], eps: 1e-50 }, { dtype: 'float64' }), { inputShape: [2, 2] }), 'E_OPTION', 'options.eps'],
    ['an eps float32 holds only as a subnormal', () => exportOnnx(new BatchNorm({ numFeatures: 2, eps: 1e-40 }), { inputShape: [2, 2] }), 'E_OPTION', 'options.eps'],
    ['an eps beyond float32', () => exportOnnx(new InstanceNorm({ numFeatures: 2, eps: 1e39 }, { dtype: 'float64' }), { inputShape: [1, 2, 3] }), 'E_OPTION', 'options.eps'],
    // primitive ops too: ONNX Runtime fuses them into LayerNormalization, whose epsilon is a float32
    ['an eps float32 rounds to 0, at an opset without LayerNormalization', () => exportOnnx(new LayerNorm({ normalizedShape: [2], eps: 1e-50 }, { dtype: 'float64' }), { inputShape: [2, 2], opset: 13 }), 'E_OPTION', 'options.eps'],
  ];
  for (const [what, fn, code, argument] of cases) {
    it(what, () => {
      const e = errorOf(fn);
      expect(e.code).toBe(code);
      expect(e.argument).toBe(argument);
    });
  }

  it('names the layer and the shape when a layer refuses the input shape', () => {
    expect(errorOf(() => exportOnnx([new LayerNorm({ normalizedShape: [2] }), new InstanceNorm({ numFeatures: 2 })], { inputShape: [3, 2] })).message).toMatch(
      /^exportOnnx layers\[1\] \(instance-norm\) at input shape \[3, 2\]: /,
    );
  });

  it("keeps weight norm's tiny eps: its sum of squares is not fused into a float32-ε op", () => {
    const bytes = exportOnnx(new WeightNorm({ shape: [3, 4], eps: 1e-45 }, { dtype: 'float64' }), { inputShape: [3, 4] });
    const eps = onnx.ModelProto.decode(bytes).graph?.initializer?.find((t) => t.name?.includes('eps'));
    expect(eps?.doubleData?.[0] ?? new Float64Array(Uint8Array.from(eps?.rawData ?? []).buffer)[0]).toBe(1e-45);
  });

  it('names the layer and says why an eps cannot be exported', () => {
    const message = errorOf(() => exportOnnx([new LayerNorm({ normalizedShape: [2] }), new LayerNorm({ normalizedShape: [2], eps: 1e-50 })], { inputShape: [3, 2] })).message;
    expect(message).toMatch(/^exportOnnx layers\[1\] \(layer-norm\) at input shape \[3, 2\]: options.eps: ONNX stores epsilon as a float32, which holds 1e-50 as 0/);
  });

  it('explains why train mode is not exported', () => {
    const message = errorOf(() => exportOnnx(bn, { inputShape: [2, 2], mode: 'train' as 'eval' })).message;
    expect(message).toContain('which an ONNX inference graph cannot hold');
    expect(message).toContain('biased variance');
  });
});

describe("why train-mode batch norm is not exported: ONNX's training_mode BatchNormalization", () => {
  it("runs in ONNX Runtime, but its running variance is the biased batch variance with ONNX's momentum, not the layer's update", async () => {
    // A one-node graph with training_mode = 1, written by the same builder and encoder.
    const x = [1, 10, 2, 20, 3, 30, 4, 40];
    const graph = new GraphBuilder(15, 'float32', ['x', 'y']);
    const c = (hint: string, v: number[]) => graph.constant(hint, v, [2]);
    const y = graph.node('BatchNormalization', ['x', c('scale', [1, 1]), c('bias', [0, 0]), c('mean', [0, 0]), c('var', [1, 1])], {
      epsilon: { float: 1e-5 },
      momentum: { float: 0.9 }, // ONNX: running = 0.9·running + 0.1·batch, i.e. PyTorch's momentum 0.1
      training_mode: { int: 1 },
    });
    graph.rename(y, 'y');
    const node = graph.nodes[0];
    graph.nodes[0] = { ...node, outputs: ['y', 'running_mean', 'running_var'] };
    const bytes = encodeModel({
      opset: 15,
      irVersion: 8,
      producerVersion: '0',
      graphName: 'train-bn',
      dtype: 'float32',
      input: { name: 'x', shape: [4, 2] },
      output: { name: 'y', shape: [4, 2] },
      nodes: graph.nodes,
      initializers: graph.initializers,
    });
    // The statistics outputs are graph outputs too.
    const model = onnx.ModelProto.decode(bytes);
    for (const name of ['running_mean', 'running_var']) {
      model.graph?.output?.push(onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: [{ dimValue: 2 }] } } } }));
    }
    const session = await ort.InferenceSession.create(onnx.ModelProto.encode(model).finish(), { executionProviders: ['cpu'] });
    const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from(x), [4, 2]) }, ['y', 'running_mean', 'running_var']);
    await session.release();
    // The layer, one training step from the same state (momentum 0.1).
    const layer: Layer = new BatchNorm({ numFeatures: 2 });
    const yLayer = layer.forward(fromArray(x, [4, 2], 'float32'));
    // y agrees (batch statistics, biased variance, as in PyTorch) ...
    Array.from(out.y.data as Float32Array).forEach((v, i) => expect(v).toBeCloseTo(yLayer.data[i], 5));
    // ... but the running variance does not: ONNX uses the biased batch variance (1.25 for channel 0),
    // PyTorch and normkit the unbiased one (5/3).
    const onnxVar = Array.from(out.running_var.data as Float32Array);
    const layerVar = Array.from((layer.state.runningVar as { data: Float32Array }).data);
    expect(onnxVar[0]).toBeCloseTo(0.9 * 1 + 0.1 * 1.25, 6);
    expect(layerVar[0]).toBeCloseTo(0.9 * 1 + 0.1 * (5 / 3), 6);
    // And the graph only returns the new statistics: its initializers stay as written.
    expect(graph.initializers.find((t) => t.name === 'var')?.values).toEqual(Float64Array.from([1, 1]));
  });
});
