import { NormkitError, describeValue } from '@normkit/core';
import type { Dtype, OnnxAttribute, OnnxGraphBuilder, Shape } from '@normkit/core';

/** A node as {@link GraphBuilder} records it. */
export interface RecordedNode {
  /** Unique node name. */
  readonly name: string;
  /** The operator. */
  readonly opType: string;
  /** Input value names. */
  readonly inputs: readonly string[];
  /** Output value names (one). */
  readonly outputs: readonly string[];
  /** Attributes by name. */
  readonly attributes: Readonly<Record<string, OnnxAttribute>>;
}

/** An initializer as {@link GraphBuilder} records it. */
export interface RecordedInitializer {
  /** Unique name. */
  readonly name: string;
  /** Element type. */
  readonly type: Dtype | 'int64';
  /** Dimensions. */
  readonly dims: readonly number[];
  /** Row-major values (float64 for floats, to be rounded once when encoded). */
  readonly values: ArrayLike<number>;
}

/**
 * Collects the nodes and initializers of one graph for the exporter: the builder the layers'
 * declarations write to. Every name is scoped by the layer being exported and made unique.
 */
export class GraphBuilder implements OnnxGraphBuilder {
  readonly opset: number;
  readonly dtype: Dtype;
  readonly nodes: RecordedNode[] = [];
  readonly initializers: RecordedInitializer[] = [];
  readonly #names = new Set<string>();
  #scope = '';

  /**
   * @param opset - the default domain's opset version
   * @param dtype - the float type of the graph
   * @param reserved - names already taken (the graph's input and output)
   */
  constructor(opset: number, dtype: Dtype, reserved: readonly string[]) {
    this.opset = opset;
    this.dtype = dtype;
    for (const name of reserved) this.#names.add(name);
  }

  /**
   * Names from now on start with `scope/` (one scope per exported layer).
   *
   * @param scope - e.g. `'0.batch-norm'`
   */
  enterScope(scope: string): void {
    this.#scope = scope;
  }

  /**
   * A name not used yet: `scope/hint`, with `_1`, `_2`, … when taken.
   *
   * @param hint - the readable part
   * @returns the reserved name
   */
  uniqueName(hint: string): string {
    const base = this.#scope === '' ? hint : `${this.#scope}/${hint}`;
    let name = base;
    for (let i = 1; this.#names.has(name); i++) name = `${base}_${i}`;
    this.#names.add(name);
    return name;
  }

  constant(hint: string, values: ArrayLike<number>, shape: Shape): string {
    const size = shape.reduce((a, b) => a * b, 1);
    if (values.length !== size) {
      throw new NormkitError('E_SHAPE', `onnx constant ${hint}: expected ${size} values for shape [${shape.join(', ')}], got ${values.length}`, hint);
    }
    const name = this.uniqueName(hint);
    this.initializers.push({ name, type: this.dtype, dims: [...shape], values: Float64Array.from(values) });
    return name;
  }

  int64Constant(hint: string, values: readonly number[]): string {
    for (const v of values) {
      if (!Number.isSafeInteger(v)) throw new NormkitError('E_OPTION', `onnx int64 constant ${hint}: expected integers, got ${describeValue(v)}`, hint);
    }
    const name = this.uniqueName(hint);
    this.initializers.push({ name, type: 'int64', dims: [values.length], values: [...values] });
    return name;
  }

  node(opType: string, inputs: readonly string[], attributes: Readonly<Record<string, OnnxAttribute>> = {}): string {
    const output = this.uniqueName(opType);
    this.nodes.push({ name: `${output}:node`, opType, inputs: [...inputs], outputs: [output], attributes });
    return output;
  }

  /**
   * Renames the value `from` (the last layer's output) to `to` (the graph's output name)
   * wherever it appears.
   *
   * @param from - the current name
   * @param to - the new name
   */
  rename(from: string, to: string): void {
    for (let i = 0; i < this.nodes.length; i++) {
      const n = this.nodes[i];
      if (n.outputs.includes(from) || n.inputs.includes(from)) {
        this.nodes[i] = { ...n, inputs: n.inputs.map((v) => (v === from ? to : v)), outputs: n.outputs.map((v) => (v === from ? to : v)) };
      }
    }
  }
}
