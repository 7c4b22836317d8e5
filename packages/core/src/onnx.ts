import type { NormalizerTypes, TensorMap } from './normalizer.js';
import type { Dtype, Shape } from './tensor.js';

/**
 * A node attribute of an ONNX graph, tagged with its ONNX type (an `epsilon` is a float, an
 * `axis` an int: a JavaScript number cannot say which).
 */
export type OnnxAttribute =
  | {
      /** A FLOAT attribute (stored as float32), e.g. `epsilon`. */
      readonly float: number;
    }
  | {
      /** An INT attribute (int64), e.g. `axis`. */
      readonly int: number;
    }
  | {
      /** A FLOATS attribute. */
      readonly floats: readonly number[];
    }
  | {
      /** An INTS attribute, e.g. `perm`. */
      readonly ints: readonly number[];
    }
  | {
      /** A STRING attribute. */
      readonly string: string;
    };

/**
 * What an ONNX exporter (such as `@normkit/onnx`'s `exportOnnx`) hands to each layer's
 * {@link OnnxExport}: a way to add nodes and initializers to the graph, with no protobuf in
 * sight. Names are made unique by the builder; pass short readable hints.
 */
export interface OnnxGraphBuilder {
  /** The version of the default ONNX operator set the model imports (e.g. 17, 21, 23). */
  readonly opset: number;
  /** The float type of the graph's values: `'float32'` (ONNX FLOAT) or `'float64'` (DOUBLE). */
  readonly dtype: Dtype;
  /**
   * Adds a float initializer in the graph's dtype (values are rounded to float32 for a
   * float32 graph).
   *
   * @param hint - a readable name, e.g. `'scale'`
   * @param values - row-major values
   * @param shape - its shape (`[]` for a scalar)
   * @returns the initializer's unique name
   */
  constant(hint: string, values: ArrayLike<number>, shape: Shape): string;
  /**
   * Adds an int64 initializer (axes, shapes).
   *
   * @param hint - a readable name, e.g. `'axes'`
   * @param values - the integers
   * @returns the initializer's unique name (a 1-d tensor of `values.length` elements)
   */
  int64Constant(hint: string, values: readonly number[]): string;
  /**
   * Adds a node of the default domain with one output.
   *
   * @param opType - the operator, e.g. `'BatchNormalization'`
   * @param inputs - input value names (`''` for an optional input left out)
   * @param attributes - the node's attributes
   * @returns the output value's unique name
   */
  node(opType: string, inputs: readonly string[], attributes?: Readonly<Record<string, OnnxAttribute>>): string;
}

/** What {@link OnnxExport.evalGraph} receives: one layer, bound to its options, at one input shape. */
export interface OnnxLayerArgs<T extends NormalizerTypes = NormalizerTypes> {
  /** The layer's resolved options. */
  readonly options: T['Options'];
  /** Its parameters (the graph's dtype). */
  readonly params: TensorMap<T['Params']>;
  /** Its state, e.g. running statistics. */
  readonly state: TensorMap<T['State']>;
  /** The name of the value the layer reads. */
  readonly input: string;
  /** That value's shape (static). The exporter has run the layer's eval forward on it. */
  readonly inputShape: Shape;
  /** The shape of the layer's output at that input shape. */
  readonly outputShape: Shape;
  /** Where nodes and initializers go. */
  readonly graph: OnnxGraphBuilder;
}

/**
 * How a normalizer becomes ONNX: a plugin declares it (in its own small `onnx.ts`), so an
 * exporter needs no table of layers and `@normkit/core` needs no protobuf. The graph is the
 * layer's **eval-mode** forward: parameters and running statistics become initializers.
 * Train-mode forward passes are not exported: they update state, and ONNX inference graphs
 * are pure functions of their inputs.
 */
export interface OnnxExport<T extends NormalizerTypes = NormalizerTypes> {
  /**
   * Adds the eval-mode forward pass of one layer to the graph.
   *
   * @param args - the layer's options, parameters, state, input value and shapes, and the builder
   * @returns the name of the layer's output value
   * @throws NormkitError `E_OPTION` when these options cannot be exported at `graph.opset`
   */
  evalGraph(args: OnnxLayerArgs<T>): string;
}
