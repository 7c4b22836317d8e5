/**
 * A tiny ONNX writer: just enough protobuf to encode a `ModelProto` holding a one-node
 * graph, so the benchmark can hand ONNX Runtime models it wrote itself (no `onnx`
 * package, no files on disk).
 *
 * Protobuf wire format used here: a field key is the varint `(fieldNumber << 3) | wireType`;
 * wire type 0 = varint (ints, enums), 2 = length-delimited (strings, bytes, nested
 * messages), 5 = 32-bit little-endian (floats). `int64` values are varints of their
 * 64-bit two's complement, so negative numbers take 10 bytes. Repeated scalars are
 * written unpacked (one key per value), which every protobuf parser accepts.
 *
 * Field numbers follow `onnx.proto` (ModelProto, GraphProto, NodeProto, AttributeProto,
 * TensorProto, ValueInfoProto, TypeProto).
 */

/** ONNX `TensorProto.DataType` codes for the element types the benchmark uses. */
export const OnnxDataType = { float32: 1, float64: 11 } as const;

/** The ONNX element types the writer supports. */
export type OnnxElementType = keyof typeof OnnxDataType;

/** The IR version written into models (ONNX 1.12+, understood by ONNX Runtime ≥ 1.12). */
export const ONNX_IR_VERSION = 8;

const WIRE_VARINT = 0;
const WIRE_LENGTH_DELIMITED = 2;
const WIRE_FIXED32 = 5;

/** Appends protobuf fields to a growing byte list. */
export class ProtoWriter {
  private readonly bytes: number[] = [];

  /** A non-negative integer or negative int64 as a varint (no key). */
  varint(value: number | bigint): this {
    let v = BigInt.asUintN(64, BigInt(value));
    while (v >= 0x80n) {
      this.bytes.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.bytes.push(Number(v));
    return this;
  }

  private key(field: number, wireType: number): this {
    return this.varint((field << 3) | wireType);
  }

  /** An `int32`/`int64`/enum field. */
  int(field: number, value: number | bigint): this {
    return this.key(field, WIRE_VARINT).varint(value);
  }

  /** A `float` field (32-bit little-endian). */
  float(field: number, value: number): this {
    const buffer = new DataView(new ArrayBuffer(4));
    buffer.setFloat32(0, value, true);
    this.key(field, WIRE_FIXED32);
    for (let i = 0; i < 4; i++) this.bytes.push(buffer.getUint8(i));
    return this;
  }

  /** A `bytes` field. */
  bytesField(field: number, value: Uint8Array): this {
    this.key(field, WIRE_LENGTH_DELIMITED).varint(value.length);
    for (let i = 0; i < value.length; i++) this.bytes.push(value[i]);
    return this;
  }

  /** A `string` field (UTF-8). */
  string(field: number, value: string): this {
    return this.bytesField(field, new TextEncoder().encode(value));
  }

  /** An embedded message field, written by `build`. */
  message(field: number, build: (inner: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    build(inner);
    return this.bytesField(field, inner.finish());
  }

  /** The bytes written so far. */
  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

/** A graph input or output: a name, an element type and a static shape. */
export interface OnnxValueInfo {
  /** The value's name in the graph. */
  readonly name: string;
  /** Its element type. */
  readonly type: OnnxElementType;
  /** Its static shape. */
  readonly shape: readonly number[];
}

/** A constant tensor stored in the graph. */
export interface OnnxInitializer {
  /** The name nodes refer to it by. */
  readonly name: string;
  /** Its shape. */
  readonly shape: readonly number[];
  /** Its values, row-major; the element type follows the array type. */
  readonly values: Float32Array | Float64Array;
}

/** A node attribute: an integer (`INT`) or a float (`FLOAT`). */
export type OnnxAttribute = { readonly name: string; readonly int: number } | { readonly name: string; readonly float: number };

/** A one-node ONNX model. */
export interface OnnxSingleNodeModel {
  /** The operator, e.g. `"BatchNormalization"`. */
  readonly opType: string;
  /** The default-domain opset version to import, e.g. 15. */
  readonly opset: number;
  /** The node's input names in order (graph inputs or initializers). */
  readonly nodeInputs: readonly string[];
  /** The node's output names in order; each must also be a graph output. */
  readonly nodeOutputs: readonly string[];
  /** Attributes of the node. */
  readonly attributes?: readonly OnnxAttribute[];
  /** Graph inputs fed at run time. */
  readonly inputs: readonly OnnxValueInfo[];
  /** Graph outputs. */
  readonly outputs: readonly OnnxValueInfo[];
  /** Constant tensors. */
  readonly initializers?: readonly OnnxInitializer[];
}

const ATTRIBUTE_TYPE_FLOAT = 1;
const ATTRIBUTE_TYPE_INT = 2;

function writeValueInfo(w: ProtoWriter, info: OnnxValueInfo): void {
  w.string(1, info.name); // ValueInfoProto.name
  w.message(2, (type) => {
    // TypeProto.tensor_type
    type.message(1, (tensorType) => {
      tensorType.int(1, OnnxDataType[info.type]); // elem_type
      tensorType.message(2, (shape) => {
        // TensorShapeProto.dim (Dimension.dim_value)
        for (const size of info.shape) shape.message(1, (dim) => dim.int(1, size));
      });
    });
  });
}

function writeInitializer(w: ProtoWriter, init: OnnxInitializer): void {
  for (const size of init.shape) w.int(1, size); // TensorProto.dims
  w.int(2, init.values instanceof Float32Array ? OnnxDataType.float32 : OnnxDataType.float64); // data_type
  w.string(8, init.name); // name
  // raw_data: little-endian element bytes (copy so the view starts at byte 0).
  const copy = init.values.slice();
  w.bytesField(9, new Uint8Array(copy.buffer, copy.byteOffset, copy.byteLength));
}

/**
 * Encodes a one-node model as ONNX `ModelProto` bytes, ready for
 * `InferenceSession.create(bytes)`.
 *
 * @param model - the node, its graph inputs/outputs and initializers
 * @returns the serialized model
 * @example
 * ```ts
 * const bytes = encodeSingleNodeModel({
 *   opType: 'Relu', opset: 17, nodeInputs: ['X'], nodeOutputs: ['Y'],
 *   inputs: [{ name: 'X', type: 'float32', shape: [4] }],
 *   outputs: [{ name: 'Y', type: 'float32', shape: [4] }],
 * });
 * ```
 */
export function encodeSingleNodeModel(model: OnnxSingleNodeModel): Uint8Array {
  const w = new ProtoWriter();
  w.int(1, ONNX_IR_VERSION); // ModelProto.ir_version
  w.string(2, '@normkit/bench'); // producer_name
  w.message(7, (graph) => {
    // GraphProto.node
    graph.message(1, (node) => {
      for (const name of model.nodeInputs) node.string(1, name);
      for (const name of model.nodeOutputs) node.string(2, name);
      node.string(3, `${model.opType}_0`); // name
      node.string(4, model.opType); // op_type
      for (const attribute of model.attributes ?? []) {
        node.message(5, (a) => {
          a.string(1, attribute.name);
          if ('float' in attribute) a.float(2, attribute.float).int(20, ATTRIBUTE_TYPE_FLOAT);
          else a.int(3, attribute.int).int(20, ATTRIBUTE_TYPE_INT);
        });
      }
    });
    graph.string(2, `${model.opType.toLowerCase()}_graph`); // name
    for (const init of model.initializers ?? []) graph.message(5, (t) => writeInitializer(t, init));
    for (const input of model.inputs) graph.message(11, (v) => writeValueInfo(v, input));
    for (const output of model.outputs) graph.message(12, (v) => writeValueInfo(v, output));
  });
  w.message(8, (opset) => {
    // ModelProto.opset_import: OperatorSetIdProto { domain = "" (default), version }
    opset.string(1, '');
    opset.int(2, model.opset);
  });
  return w.finish();
}

/** Options of {@link batchNormalizationModel}. */
export interface BatchNormalizationModelOptions {
  /** The input shape `(N, C, ...)`. */
  readonly shape: readonly number[];
  /** Element type (default float32). */
  readonly type?: OnnxElementType;
  /** γ, β, and the running mean and variance, each of length C. */
  readonly scale: Float32Array | Float64Array;
  /** β. */
  readonly bias: Float32Array | Float64Array;
  /** Running mean (`input_mean`). */
  readonly mean: Float32Array | Float64Array;
  /** Running variance (`input_var`). */
  readonly variance: Float32Array | Float64Array;
  /** ε (default 1e-5). */
  readonly epsilon?: number;
  /**
   * `training_mode = 1`: normalize with the batch statistics and also output the updated
   * running mean and variance (ONNX's momentum convention). Default false (inference).
   */
  readonly training?: boolean;
}

/**
 * A `BatchNormalization` (opset 15) model with `X` as the only graph input and
 * `scale`, `B`, `input_mean`, `input_var` as initializers; output `Y` (and, in training
 * mode, `running_mean` and `running_var`).
 */
export function batchNormalizationModel(options: BatchNormalizationModelOptions): Uint8Array {
  const type = options.type ?? 'float32';
  const channels = options.shape[1];
  const Ctor = type === 'float32' ? Float32Array : Float64Array;
  const training = options.training === true;
  const outputs: OnnxValueInfo[] = [{ name: 'Y', type, shape: options.shape }];
  if (training) {
    outputs.push({ name: 'running_mean', type, shape: [channels] }, { name: 'running_var', type, shape: [channels] });
  }
  return encodeSingleNodeModel({
    opType: 'BatchNormalization',
    opset: 15,
    nodeInputs: ['X', 'scale', 'B', 'input_mean', 'input_var'],
    nodeOutputs: outputs.map((o) => o.name),
    attributes: [
      { name: 'epsilon', float: options.epsilon ?? 1e-5 },
      ...(training ? [{ name: 'training_mode', int: 1 }] : []),
    ],
    inputs: [{ name: 'X', type, shape: options.shape }],
    outputs,
    initializers: [
      { name: 'scale', shape: [channels], values: Ctor.from(options.scale) },
      { name: 'B', shape: [channels], values: Ctor.from(options.bias) },
      { name: 'input_mean', shape: [channels], values: Ctor.from(options.mean) },
      { name: 'input_var', shape: [channels], values: Ctor.from(options.variance) },
    ],
  });
}

/** Options of {@link layerNormalizationModel}. */
export interface LayerNormalizationModelOptions {
  /** The input shape; the last axis is normalized. */
  readonly shape: readonly number[];
  /** Element type (default float32). */
  readonly type?: OnnxElementType;
  /** γ, of the last axis' length. */
  readonly scale: Float32Array | Float64Array;
  /** β, of the last axis' length. */
  readonly bias: Float32Array | Float64Array;
  /** ε (default 1e-5). */
  readonly epsilon?: number;
}

/**
 * A `LayerNormalization` (opset 17) model over the last axis (`axis = -1`): graph input
 * `X`, initializers `Scale` and `B`, output `Y`.
 */
export function layerNormalizationModel(options: LayerNormalizationModelOptions): Uint8Array {
  const type = options.type ?? 'float32';
  const features = options.shape[options.shape.length - 1];
  const Ctor = type === 'float32' ? Float32Array : Float64Array;
  return encodeSingleNodeModel({
    opType: 'LayerNormalization',
    opset: 17,
    nodeInputs: ['X', 'Scale', 'B'],
    nodeOutputs: ['Y'],
    attributes: [
      { name: 'axis', int: -1 },
      { name: 'epsilon', float: options.epsilon ?? 1e-5 },
    ],
    inputs: [{ name: 'X', type, shape: options.shape }],
    outputs: [{ name: 'Y', type, shape: options.shape }],
    initializers: [
      { name: 'Scale', shape: [features], values: Ctor.from(options.scale) },
      { name: 'B', shape: [features], values: Ctor.from(options.bias) },
    ],
  });
}

/** Options of the per-channel normalization models ({@link groupNormalizationModel}, {@link instanceNormalizationModel}). */
export interface ChannelNormalizationModelOptions {
  /** The input shape `(N, C, ...)`. */
  readonly shape: readonly number[];
  /** Element type (default float32). */
  readonly type?: OnnxElementType;
  /** γ, per channel (length C). */
  readonly scale: Float32Array | Float64Array;
  /** β, per channel (length C). */
  readonly bias: Float32Array | Float64Array;
  /** ε (default 1e-5). */
  readonly epsilon?: number;
}

/**
 * A `GroupNormalization` (opset 21: γ and β per **channel**; opset 18 had them per group)
 * model: graph input `X` `(N, C, ...)`, initializers `scale` and `bias`, attribute `num_groups`,
 * output `Y`. ONNX defines the op as a function; ONNX Runtime 1.30's CPU provider has no kernel
 * for it and runs the function body (Reshape, ReduceMean, Sub, Mul, Sqrt, Div, Add, … nodes).
 *
 * @param options - the shape, γ, β, ε and the number of groups
 */
export function groupNormalizationModel(options: ChannelNormalizationModelOptions & { readonly groups: number }): Uint8Array {
  const type = options.type ?? 'float32';
  const channels = options.shape[1];
  const Ctor = type === 'float32' ? Float32Array : Float64Array;
  return encodeSingleNodeModel({
    opType: 'GroupNormalization',
    opset: 21,
    nodeInputs: ['X', 'scale', 'bias'],
    nodeOutputs: ['Y'],
    attributes: [
      { name: 'epsilon', float: options.epsilon ?? 1e-5 },
      { name: 'num_groups', int: options.groups },
    ],
    inputs: [{ name: 'X', type, shape: options.shape }],
    outputs: [{ name: 'Y', type, shape: options.shape }],
    initializers: [
      { name: 'scale', shape: [channels], values: Ctor.from(options.scale) },
      { name: 'bias', shape: [channels], values: Ctor.from(options.bias) },
    ],
  });
}

/**
 * An `InstanceNormalization` model (the operator's version 6, imported through opset 17: ONNX
 * Runtime only guarantees models stamped with opset 7 or above, and its transpose optimizer
 * refuses opset 6): graph input `X` `(N, C, ...)`, initializers `scale` and `B` (per channel),
 * output `Y`.
 *
 * @param options - the shape, γ, β and ε
 */
export function instanceNormalizationModel(options: ChannelNormalizationModelOptions): Uint8Array {
  const type = options.type ?? 'float32';
  const channels = options.shape[1];
  const Ctor = type === 'float32' ? Float32Array : Float64Array;
  return encodeSingleNodeModel({
    opType: 'InstanceNormalization',
    opset: 17,
    nodeInputs: ['X', 'scale', 'B'],
    nodeOutputs: ['Y'],
    attributes: [{ name: 'epsilon', float: options.epsilon ?? 1e-5 }],
    inputs: [{ name: 'X', type, shape: options.shape }],
    outputs: [{ name: 'Y', type, shape: options.shape }],
    initializers: [
      { name: 'scale', shape: [channels], values: Ctor.from(options.scale) },
      { name: 'B', shape: [channels], values: Ctor.from(options.bias) },
    ],
  });
}

/** Options of {@link rmsNormalizationModel}. */
export interface RmsNormalizationModelOptions {
  /** The input shape; the last axis is normalized. */
  readonly shape: readonly number[];
  /** Element type (default float32). */
  readonly type?: OnnxElementType;
  /** γ, of the last axis' length. */
  readonly scale: Float32Array | Float64Array;
  /** ε (default 1e-5). */
  readonly epsilon?: number;
}

/**
 * An `RMSNormalization` (opset 23) model over the last axis (`axis = -1`): graph input `X`,
 * initializer `scale`, output `Y`.
 *
 * @param options - the shape, γ and ε
 */
export function rmsNormalizationModel(options: RmsNormalizationModelOptions): Uint8Array {
  const type = options.type ?? 'float32';
  const features = options.shape[options.shape.length - 1];
  const Ctor = type === 'float32' ? Float32Array : Float64Array;
  return encodeSingleNodeModel({
    opType: 'RMSNormalization',
    opset: 23,
    nodeInputs: ['X', 'scale'],
    nodeOutputs: ['Y'],
    attributes: [
      { name: 'axis', int: -1 },
      { name: 'epsilon', float: options.epsilon ?? 1e-5 },
    ],
    inputs: [{ name: 'X', type, shape: options.shape }],
    outputs: [{ name: 'Y', type, shape: options.shape }],
    initializers: [{ name: 'scale', shape: [features], values: Ctor.from(options.scale) }],
  });
}
