import type { Dtype, OnnxAttribute, Shape } from '@normkit/core';
import onnxProto from 'onnx-proto';
import type { RecordedInitializer, RecordedNode } from './graph-builder.js';

const { onnx } = onnxProto;
const DataType = onnx.TensorProto.DataType;
const AttributeType = onnx.AttributeProto.AttributeType;

/** What {@link encodeModel} writes. */
export interface ModelParts {
  /** The default domain's opset version. */
  readonly opset: number;
  /** The IR version. */
  readonly irVersion: number;
  /** The producer's version (`@normkit/onnx`'s). */
  readonly producerVersion: string;
  /** The graph's name. */
  readonly graphName: string;
  /** The graph's float type. */
  readonly dtype: Dtype;
  /** The input value's name and shape. */
  readonly input: { readonly name: string; readonly shape: Shape };
  /** The output value's name and shape. */
  readonly output: { readonly name: string; readonly shape: Shape };
  /** The nodes, in topological order. */
  readonly nodes: readonly RecordedNode[];
  /** The initializers. */
  readonly initializers: readonly RecordedInitializer[];
}

function elemType(type: Dtype | 'int64'): number {
  return type === 'float32' ? DataType.FLOAT : type === 'float64' ? DataType.DOUBLE : DataType.INT64;
}

/** Little-endian raw bytes, explicitly (the host's byte order does not matter). */
function rawData(init: RecordedInitializer): Uint8Array {
  const size = init.type === 'float32' ? 4 : 8;
  const view = new DataView(new ArrayBuffer(init.values.length * size));
  for (let i = 0; i < init.values.length; i++) {
    const v = init.values[i];
    if (init.type === 'float32') view.setFloat32(4 * i, v, true);
    else if (init.type === 'float64') view.setFloat64(8 * i, v, true);
    else view.setBigInt64(8 * i, BigInt(v), true);
  }
  return new Uint8Array(view.buffer);
}

function attribute(name: string, value: OnnxAttribute): onnxProto.onnx.IAttributeProto {
  if ('float' in value) return { name, type: AttributeType.FLOAT, f: value.float };
  if ('int' in value) return { name, type: AttributeType.INT, i: value.int };
  if ('floats' in value) return { name, type: AttributeType.FLOATS, floats: [...value.floats] };
  if ('ints' in value) return { name, type: AttributeType.INTS, ints: [...value.ints] };
  return { name, type: AttributeType.STRING, s: new TextEncoder().encode(value.string) };
}

function valueInfo(name: string, dtype: Dtype, shape: Shape): onnxProto.onnx.IValueInfoProto {
  return { name, type: { tensorType: { elemType: elemType(dtype), shape: { dim: shape.map((d) => ({ dimValue: d })) } } } };
}

/**
 * Encodes a model as ONNX protobuf bytes with `onnx-proto` (protobufjs code generated from
 * ONNX's `onnx.proto`); the opset and IR version are plain integers of the message.
 *
 * @param parts - the graph and its versions
 * @returns the `.onnx` file's bytes
 */
export function encodeModel(parts: ModelParts): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: parts.irVersion,
    opsetImport: [{ domain: '', version: parts.opset }],
    producerName: '@normkit/onnx',
    producerVersion: parts.producerVersion,
    graph: {
      name: parts.graphName,
      node: parts.nodes.map((n) => ({
        name: n.name,
        opType: n.opType,
        domain: '',
        input: [...n.inputs],
        output: [...n.outputs],
        attribute: Object.entries(n.attributes).map(([name, value]) => attribute(name, value)),
      })),
      initializer: parts.initializers.map((init) => ({ name: init.name, dataType: elemType(init.type), dims: [...init.dims], rawData: rawData(init) })),
      input: [valueInfo(parts.input.name, parts.dtype, parts.input.shape)],
      output: [valueInfo(parts.output.name, parts.dtype, parts.output.shape)],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}
