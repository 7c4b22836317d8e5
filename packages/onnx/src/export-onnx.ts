import { NormkitError, describeValue, dtypeOf, isNormkitError, ones } from '@normkit/core';
import type { BoundNormalizer, Dtype, Normalizer, OnnxExport, Shape, Tensor, TensorMap } from '@normkit/core';
import { GraphBuilder } from './graph-builder.js';
import { encodeModel } from './model-proto.js';
import { MAX_ONNX_OPSET, MIN_ONNX_OPSET, irVersionFor } from './opset.js';
import { VERSION } from './version.js';

/**
 * What {@link exportOnnx} reads from a layer: a normkit `Layer` (of any plugin that declares an
 * `onnx` export) has all of it.
 */
export interface OnnxExportableLayer {
  /** The plugin bound to the layer's options (its `plugin.onnx` writes the nodes). */
  readonly normalizer: BoundNormalizer;
  /** The parameters. */
  readonly params: TensorMap<string>;
  /** The state (running statistics). */
  readonly state: TensorMap<string>;
  /** The dtype of parameters and state, and so of the graph. */
  readonly dtype: Dtype;
}

/** Options of {@link exportOnnx}. */
export interface ExportOnnxOptions {
  /** The input's shape, every dimension fixed (e.g. `[1, 64, 32, 32]`). */
  readonly inputShape: readonly number[];
  /**
   * The default domain's opset version, {@link MIN_ONNX_OPSET}–{@link MAX_ONNX_OPSET}
   * (default {@link MAX_ONNX_OPSET}). Below 17 (layer norm), 21 (group norm) and 23 (RMS norm)
   * those layers are written as primitive ops.
   */
  readonly opset?: number;
  /**
   * `'eval'` (the default and the only mode): the graph is the layers' eval-mode forward.
   * Train-mode batch norm is not exportable (see the README).
   */
  readonly mode?: 'eval';
  /** The graph input's name (default `'x'`). */
  readonly inputName?: string;
  /** The graph output's name (default `'y'`). */
  readonly outputName?: string;
}

interface Resolved {
  readonly inputShape: number[];
  readonly opset: number;
  readonly inputName: string;
  readonly outputName: string;
}

/** The keys of {@link ExportOnnxOptions}. */
const EXPORT_OPTION_KEYS: readonly string[] = ['inputShape', 'opset', 'mode', 'inputName', 'outputName'];

function resolveOptions(options: ExportOnnxOptions): Resolved {
  if (typeof options !== 'object' || options === null) {
    throw new NormkitError('E_OPTION', `exportOnnx options: expected an object with inputShape, got ${describeValue(options)}`, 'options');
  }
  // A misspelt key (opst for opset) would otherwise give a model of another opset, silently.
  for (const key of Object.keys(options)) {
    if (!EXPORT_OPTION_KEYS.includes(key)) {
      throw new NormkitError('E_OPTION', `exportOnnx options: unknown option ${JSON.stringify(key)}; expected one of ${EXPORT_OPTION_KEYS.join(', ')}`, `options.${key}`);
    }
  }
  const shape: unknown = options.inputShape;
  if (!Array.isArray(shape) || shape.length === 0 || !shape.every((d: unknown) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 1)) {
    throw new NormkitError('E_SHAPE', `exportOnnx options.inputShape: expected a non-empty list of positive integers, got ${describeValue(shape)}`, 'options.inputShape');
  }
  const opset = options.opset ?? MAX_ONNX_OPSET;
  if (typeof opset !== 'number' || !Number.isInteger(opset) || opset < MIN_ONNX_OPSET || opset > MAX_ONNX_OPSET) {
    throw new NormkitError('E_OPTION', `exportOnnx options.opset: expected an integer from ${MIN_ONNX_OPSET} to ${MAX_ONNX_OPSET}, got ${describeValue(opset)}`, 'options.opset');
  }
  const mode: unknown = options.mode ?? 'eval';
  if (mode !== 'eval') {
    throw new NormkitError(
      'E_OPTION',
      `exportOnnx options.mode: expected 'eval', got ${describeValue(mode)}: a train-mode forward updates running statistics, which an ONNX inference graph cannot hold (BatchNormalization's training_mode returns new statistics as outputs, with ONNX's momentum and a biased variance, not PyTorch's), so only the eval-mode graph is exported`,
      'options.mode',
    );
  }
  const inputName = options.inputName ?? 'x';
  const outputName = options.outputName ?? 'y';
  for (const [key, name] of [
    ['inputName', inputName],
    ['outputName', outputName],
  ] as const) {
    if (typeof name !== 'string' || name === '') {
      throw new NormkitError('E_OPTION', `exportOnnx options.${key}: expected a non-empty string, got ${describeValue(name)}`, `options.${key}`);
    }
  }
  if (inputName === outputName) {
    throw new NormkitError('E_OPTION', `exportOnnx options.outputName: expected a name other than the input's, got ${JSON.stringify(outputName)} twice`, 'options.outputName');
  }
  return { inputShape: shape as number[], opset, inputName, outputName };
}

function checkLayers(layers: OnnxExportableLayer | readonly OnnxExportableLayer[]): readonly OnnxExportableLayer[] {
  const list = Array.isArray(layers) ? (layers as readonly OnnxExportableLayer[]) : [layers as OnnxExportableLayer];
  if (list.length === 0) throw new NormkitError('E_OPTION', 'exportOnnx layers: expected a layer or a non-empty list of layers, got []', 'layers');
  list.forEach((layer, i) => {
    const plugin = (layer as Partial<OnnxExportableLayer> | null)?.normalizer?.plugin as Normalizer | undefined;
    if (typeof plugin?.meta?.name !== 'string' || typeof layer.params !== 'object' || typeof layer.state !== 'object') {
      throw new NormkitError('E_PLUGIN', `exportOnnx layers[${i}]: expected a normkit Layer (normalizer, params, state, dtype), got ${describeValue(layer)}`, `layers[${i}]`);
    }
    if (typeof plugin.onnx?.evalGraph !== 'function') {
      throw new NormkitError('E_PLUGIN', `exportOnnx layers[${i}]: ${plugin.meta.name} declares no ONNX export (its definition has no onnx.evalGraph)`, `layers[${i}]`);
    }
    if (layer.dtype !== list[0].dtype) {
      throw new NormkitError('E_DTYPE', `exportOnnx layers[${i}]: expected the dtype of layers[0] (${list[0].dtype}), got ${describeValue(layer.dtype)}`, `layers[${i}]`);
    }
  });
  return list;
}

/** Runs `step` for layer `index`; a NormkitError it throws is rethrown with the layer's index, name and input shape first. */
function namingLayer<T>(index: number, layer: OnnxExportableLayer, shape: Shape, step: () => T): T {
  try {
    return step();
  } catch (e) {
    if (isNormkitError(e)) throw new NormkitError(e.code, `exportOnnx layers[${index}] (${layer.normalizer.meta.name}) at input shape [${shape.join(', ')}]: ${e.message}`, e.argument);
    throw e;
  }
}

/** Runs a layer's eval forward on ones of `shape`: its own checks of the shape, and the output shape. */
function evalOutputShape(layer: OnnxExportableLayer, shape: Shape, index: number): Shape {
  const y: Tensor = namingLayer(index, layer, shape, () => layer.normalizer.forward({ x: ones(shape, layer.dtype), params: layer.params, state: layer.state, mode: 'eval' }).y);
  if (dtypeOf(y) !== layer.dtype) {
    throw new NormkitError('E_DTYPE', `exportOnnx layers[${index}]: its output is ${dtypeOf(y)}, expected ${layer.dtype}`, `layers[${index}]`);
  }
  return y.shape;
}

/**
 * Writes the eval-mode forward pass of one or more normkit layers, applied in sequence, as an
 * ONNX model that ONNX Runtime runs: one graph input (`x`, the layers' dtype, `inputShape`),
 * one output (`y`), the parameters and running statistics as initializers. Each layer's
 * plugin writes its own nodes (its `onnx` declaration, see `OnnxExport` in `@normkit/core`):
 * batch norm and its variants → `BatchNormalization`, layer norm → `LayerNormalization`,
 * group norm → `GroupNormalization`, instance norm → `InstanceNormalization` (tracked:
 * `BatchNormalization`), RMS norm → `RMSNormalization`, a weight-normalized dense layer → a
 * `Gemm` with the folded weight; channels-last layers get `Transpose`s. The protobuf is written
 * with `onnx-proto`.
 *
 * The layers' current parameters and state are copied in; the layers are not changed.
 *
 * @param layers - a layer, or layers applied one after another
 * @param options - `inputShape` (required), `opset` (default 23), `inputName`, `outputName`
 * @returns the `.onnx` file's bytes
 * @throws NormkitError `E_PLUGIN` for a layer whose plugin declares no ONNX export;
 *   `E_SHAPE` for a bad `inputShape` or one a layer refuses; `E_DTYPE` for layers of
 *   different dtypes; `E_OPTION` for a bad opset, names or `mode`, or an unknown option key
 * @example
 * ```ts
 * const bn = new BatchNorm({ numFeatures: 3 });
 * // ... train, then:
 * const bytes = exportOnnx([bn, new LayerNorm({ normalizedShape: [8] })], { inputShape: [1, 3, 8] });
 * writeFileSync('model.onnx', bytes);
 * ```
 */
export function exportOnnx(layers: OnnxExportableLayer | readonly OnnxExportableLayer[], options: ExportOnnxOptions): Uint8Array {
  const list = checkLayers(layers);
  const resolved = resolveOptions(options);
  const dtype = list[0].dtype;
  const graph = new GraphBuilder(resolved.opset, dtype, [resolved.inputName, resolved.outputName]);
  let value = resolved.inputName;
  let shape: Shape = resolved.inputShape;
  list.forEach((layer, i) => {
    const outputShape = evalOutputShape(layer, shape, i);
    const plugin = layer.normalizer.plugin as Normalizer;
    graph.enterScope(`${i}.${plugin.meta.name}`);
    const input = value;
    const inputShape = shape;
    value = namingLayer(i, layer, inputShape, () =>
      (plugin.onnx as OnnxExport).evalGraph({ options: layer.normalizer.options, params: layer.params, state: layer.state, input, inputShape, outputShape, graph }),
    );
    shape = outputShape;
  });
  if (value === resolved.inputName) {
    // A layer that wrote no node (none does today): the output is the input, through Identity.
    value = graph.node('Identity', [value]);
  }
  graph.rename(value, resolved.outputName);
  return encodeModel({
    opset: resolved.opset,
    irVersion: irVersionFor(resolved.opset),
    producerVersion: VERSION,
    graphName: list.map((layer) => layer.normalizer.meta.name).join('+'),
    dtype,
    input: { name: resolved.inputName, shape: resolved.inputShape },
    output: { name: resolved.outputName, shape },
    nodes: graph.nodes,
    initializers: graph.initializers,
  });
}
