import { describe, expect, it } from 'vitest';
import type { OnnxAttribute, OnnxGraphBuilder } from './onnx.js';
import { onnxNormalizePrimitive, onnxStashType, onnxWithChannelsFirst } from './onnx-ops.js';
import { defineNormalizer } from './normalizer.js';
import { meanCenter } from '../test/fixtures/mean-center.js';

/** A builder that records what it is asked to add. */
function recorder(opset: number, dtype: 'float32' | 'float64' = 'float32') {
  const nodes: { op: string; inputs: readonly string[]; attributes: Readonly<Record<string, OnnxAttribute>> }[] = [];
  const constants: { hint: string; values: number[]; shape?: readonly number[] }[] = [];
  let n = 0;
  const graph: OnnxGraphBuilder = {
    opset,
    dtype,
    constant: (hint, values, shape) => (constants.push({ hint, values: Array.from(values), shape }), `${hint}#${n++}`),
    int64Constant: (hint, values) => (constants.push({ hint, values: [...values] }), `${hint}#${n++}`),
    node: (op, inputs, attributes = {}) => (nodes.push({ op, inputs, attributes }), `${op}#${n++}`),
  };
  return { graph, nodes, constants };
}

describe('ONNX graph helpers', () => {
  it('moves the channel axis to 1 with a Transpose and back, and does nothing when it is there', () => {
    for (const [rank, axis, perm, inverse] of [
      [4, 2, [0, 2, 1, 3], [0, 2, 1, 3]],
      [4, -1, [0, 3, 1, 2], [0, 2, 3, 1]],
      [3, 0, [1, 0, 2], [1, 0, 2]],
    ] as const) {
      const { graph, nodes } = recorder(17);
      const out = onnxWithChannelsFirst(graph, 'x', rank, axis, (x) => graph.node('Body', [x]));
      expect(nodes.map((node) => node.op)).toEqual(['Transpose', 'Body', 'Transpose']);
      expect(nodes[0].attributes.perm).toEqual({ ints: perm });
      expect(nodes[2].attributes.perm).toEqual({ ints: inverse });
      expect(nodes[1].inputs).toEqual(['Transpose#0']);
      expect(out).toBe('Transpose#2');
    }
    const { graph, nodes } = recorder(17);
    expect(onnxWithChannelsFirst(graph, 'x', 3, 1, (x) => x)).toBe('x');
    expect(nodes).toEqual([]);
  });

  it('passes ReduceMean axes as an attribute before opset 18 and as an input from 18; no reduction over no axes', () => {
    const old = recorder(17);
    onnxNormalizePrimitive(old.graph, 'x', [1, 2], { centered: true, eps: 0.5 });
    expect(old.nodes.map((node) => node.op)).toEqual(['ReduceMean', 'Sub', 'Mul', 'ReduceMean', 'Add', 'Sqrt', 'Div']);
    expect(old.nodes[0]).toEqual({ op: 'ReduceMean', inputs: ['x'], attributes: { axes: { ints: [1, 2] }, keepdims: { int: 1 } } });
    expect(old.constants).toEqual([{ hint: 'eps', values: [0.5], shape: [] }]);
    const recent = recorder(18);
    onnxNormalizePrimitive(recent.graph, 'x', [2], { centered: false, eps: 1, reduction: 'sum' });
    expect(recent.nodes.map((node) => node.op)).toEqual(['Mul', 'ReduceSum', 'Add', 'Sqrt', 'Div']);
    expect(recent.nodes[1].inputs[1]).toBe('axes#1');
    expect(recent.constants[0]).toEqual({ hint: 'axes', values: [2] });
    const none = recorder(18);
    onnxNormalizePrimitive(none.graph, 'x', [], { centered: false, eps: 1 });
    expect(none.nodes.map((node) => node.op)).toEqual(['Mul', 'Add', 'Sqrt', 'Div']);
  });

  it('asks for float64 statistics in float64 graphs only', () => {
    expect(onnxStashType(recorder(23, 'float64').graph)).toEqual({ stash_type: { int: 11 } });
    expect(onnxStashType(recorder(23, 'float32').graph)).toEqual({});
  });

  it('defineNormalizer keeps a definition’s onnx declaration', () => {
    const onnx = { evalGraph: () => 'y' };
    const { create: _create, ...definition } = meanCenter;
    void _create;
    const plugin = defineNormalizer({ ...definition, bind: () => meanCenter.create({ numFeatures: 1 }), onnx });
    expect(plugin.onnx).toBe(onnx);
    expect('onnx' in meanCenter).toBe(false);
  });
});
