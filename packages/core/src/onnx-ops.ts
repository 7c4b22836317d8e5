import { NormkitError } from './errors.js';
import type { OnnxAttribute, OnnxGraphBuilder } from './onnx.js';
import type { Shape, Tensor } from './tensor.js';
import { normalizeAxis } from './tensor.js';
import { float64Values } from './validate.js';

/**
 * Runs `body` on a value whose channel axis is at position 1, as ONNX's normalization ops
 * expect `(N, C, ...)`: when `axis` (resolved against `rank`) is another axis, a `Transpose`
 * moves it to 1 before and back after.
 *
 * @param graph - the graph builder
 * @param input - the value's name
 * @param rank - its rank
 * @param axis - the channel axis (negative counts from the end)
 * @param body - adds the channels-first computation; returns its output's name
 * @returns the output's name, in the input's layout
 * @throws NormkitError `E_OPTION` for an axis out of range
 */
export function onnxWithChannelsFirst(graph: OnnxGraphBuilder, input: string, rank: number, axis: number, body: (input: string) => string): string {
  const c = normalizeAxis(axis, rank, 'channelAxis');
  if (c === 1) return body(input);
  const order = [0, ...Array.from({ length: rank }, (_, k) => k).filter((k) => k !== 0)];
  const perm = c === 0 ? [1, 0, ...order.slice(2)] : [0, c, ...order.slice(1).filter((k) => k !== c)];
  const inverse = new Array<number>(rank);
  perm.forEach((from, to) => (inverse[from] = to));
  const first = graph.node('Transpose', [input], { perm: { ints: perm } });
  return graph.node('Transpose', [body(first)], { perm: { ints: inverse } });
}

/** A reduction over `axes` with kept dimensions, with the axes as the opset wants them. */
function reduce(graph: OnnxGraphBuilder, op: 'ReduceMean' | 'ReduceSum', input: string, axes: readonly number[]): string {
  // Over no axis, each value is its own statistic (ONNX would read empty axes as "all").
  if (axes.length === 0) return input;
  // ReduceSum takes axes as an input from opset 13, ReduceMean from opset 18.
  if (op === 'ReduceSum' || graph.opset >= 18) return graph.node(op, [input, graph.int64Constant('axes', axes)], { keepdims: { int: 1 } });
  return graph.node(op, [input], { axes: { ints: axes }, keepdims: { int: 1 } });
}

/** The smallest normal float32, 2⁻¹²⁶. */
const FLOAT32_MIN_NORMAL = 2 ** -126;

/**
 * The `epsilon` attribute of ONNX's normalization ops, checked: ONNX stores it as a float32
 * (in float64 graphs too), so an ε that float32 rounds to 0, to a subnormal or to ±Infinity
 * cannot be exported. With ε = 0 a constant row gives 0/0 = NaN in ONNX Runtime where the layer
 * gives 0. The same check guards the ε of primitive-op graphs over a mean
 * ({@link onnxNormalizePrimitive}): ONNX Runtime's default optimizations fuse those into
 * `LayerNormalization`, with a float32 ε (a sum of squares, weight norm's, is not fused).
 *
 * @param eps - the layer's ε
 * @returns `{ float: eps }`
 * @throws NormkitError `E_OPTION` naming `options.eps` when float32 cannot hold ε as a normal number
 */
export function onnxEpsilon(eps: number): OnnxAttribute {
  const stored = Math.fround(eps);
  if (!(Number.isFinite(stored) && Math.abs(stored) >= FLOAT32_MIN_NORMAL)) {
    throw new NormkitError(
      'E_OPTION',
      `options.eps: ONNX stores epsilon as a float32, which holds ${eps} as ${stored === 0 ? '0' : stored}${Number.isFinite(stored) ? ' (below its normal range)' : ''}; ` +
        `a layer needs eps in [${FLOAT32_MIN_NORMAL.toPrecision(3)}, 3.40e+38] to be exported`,
      'options.eps',
    );
  }
  return { float: eps };
}

/**
 * The `stash_type` attribute of ONNX's normalization ops (`LayerNormalization`,
 * `GroupNormalization`, `RMSNormalization`): their statistics are float32 unless told
 * otherwise, so a float64 graph asks for DOUBLE (11); a float32 graph keeps the default.
 *
 * @param graph - the graph builder
 * @returns `{ stash_type: { int: 11 } }` for a float64 graph, `{}` otherwise
 */
export function onnxStashType(graph: OnnxGraphBuilder): Readonly<Record<string, OnnxAttribute>> {
  return graph.dtype === 'float64' ? { stash_type: { int: 11 } } : {};
}

/** How {@link onnxNormalizePrimitive} normalizes. */
export interface PrimitiveNormalization {
  /** Subtract the mean first (`false`: RMS and weight norm). */
  readonly centered: boolean;
  /** ε, added inside the square root. */
  readonly eps: number;
  /** The second moment as a mean (default) or a sum of squares (weight norm's ‖v‖²). */
  readonly reduction?: 'mean' | 'sum';
}

/**
 * Normalizes over `axes` with primitive ops (any opset ≥ 13):
 * `(x − mean) / sqrt(mean((x − mean)²) + eps)` centered, `x / sqrt(mean(x²) + eps)` (or
 * `sum(x²)`) uncentered; statistics per index of the other axes, as normkit's engine computes
 * them (two passes, ε inside the root).
 *
 * @param graph - the graph builder
 * @param input - the value's name
 * @param axes - the axes reduced (non-negative)
 * @param how - centered or not, ε, and the reduction
 * @returns the normalized value's name (no affine)
 */
export function onnxNormalizePrimitive(graph: OnnxGraphBuilder, input: string, axes: readonly number[], how: PrimitiveNormalization): string {
  const centered = how.centered ? graph.node('Sub', [input, reduce(graph, 'ReduceMean', input, axes)]) : input;
  const square = graph.node('Mul', [centered, centered]);
  const moment = reduce(graph, how.reduction === 'sum' ? 'ReduceSum' : 'ReduceMean', square, axes);
  // A mean of squares plus ε is what ONNX Runtime fuses into (Simplified)LayerNormalization, with
  // a float32 ε: refused as the ops' attribute is (see onnxEpsilon). A sum (weight norm) is kept.
  if (how.eps !== 0 && how.reduction !== 'sum') onnxEpsilon(how.eps);
  const root = graph.node('Sqrt', [graph.node('Add', [moment, graph.constant('eps', [how.eps], [])])]);
  return graph.node('Div', [centered, root]);
}

/**
 * `x·weight + bias` with the parameters broadcast as `broadcastShape` (each left out when absent).
 *
 * @param graph - the graph builder
 * @param input - the value's name
 * @param weight - the scale, or `undefined`
 * @param bias - the shift, or `undefined`
 * @param broadcastShape - the shape the parameters take in the product (e.g. `[C, 1, 1]`)
 * @returns the output's name
 */
export function onnxAffine(graph: OnnxGraphBuilder, input: string, weight: Tensor | undefined, bias: Tensor | undefined, broadcastShape: Shape): string {
  let y = input;
  if (weight !== undefined) y = graph.node('Mul', [y, graph.constant('weight', float64Values(weight), broadcastShape)]);
  if (bias !== undefined) y = graph.node('Add', [y, graph.constant('bias', float64Values(bias), broadcastShape)]);
  return y;
}

/** What {@link onnxChannelNormalization} needs: the batch-norm family's eval forward. */
export interface ChannelNormalizationArgs {
  /** The input's name. */
  readonly input: string;
  /** Its shape `(N, ..., C, ...)`. */
  readonly inputShape: Shape;
  /** The channel axis (negative counts from the end). */
  readonly channelAxis: number;
  /** ε. */
  readonly eps: number;
  /** γ per channel, when affine. */
  readonly weight?: Tensor;
  /** β per channel, when affine. */
  readonly bias?: Tensor;
  /** The running mean, when tracked. */
  readonly runningMean?: Tensor;
  /** The running variance, when tracked. */
  readonly runningVar?: Tensor;
}

/**
 * The eval forward of a per-channel normalization (batch norm and its variants, tracked
 * instance norm): `BatchNormalization` in inference mode with the running statistics as
 * initializers (γ = 1, β = 0 when not affine); without running statistics, the batch
 * statistics over every axis but the channel by primitive ops (PyTorch's eval without
 * tracking). Channels-last inputs are transposed to channels-first and back.
 *
 * @param graph - the graph builder
 * @param args - input, shape, channel axis, ε, parameters and statistics
 * @returns the output's name
 */
export function onnxChannelNormalization(graph: OnnxGraphBuilder, args: ChannelNormalizationArgs): string {
  const rank = args.inputShape.length;
  const channels = args.inputShape[normalizeAxis(args.channelAxis, rank, 'channelAxis')];
  return onnxWithChannelsFirst(graph, args.input, rank, args.channelAxis, (x) => {
    const { runningMean, runningVar } = args;
    if (runningMean !== undefined && runningVar !== undefined) {
      const scale = args.weight === undefined ? new Float64Array(channels).fill(1) : float64Values(args.weight);
      const shift = args.bias === undefined ? new Float64Array(channels) : float64Values(args.bias);
      return graph.node(
        'BatchNormalization',
        [
          x,
          graph.constant('scale', scale, [channels]),
          graph.constant('bias', shift, [channels]),
          graph.constant('running_mean', float64Values(runningMean), [channels]),
          graph.constant('running_var', float64Values(runningVar), [channels]),
        ],
        { epsilon: onnxEpsilon(args.eps) },
      );
    }
    const axes = Array.from({ length: rank }, (_, k) => k).filter((k) => k !== 1);
    const normalized = onnxNormalizePrimitive(graph, x, axes, { centered: true, eps: args.eps });
    const broadcast = [channels, ...new Array<number>(rank - 2).fill(1)];
    return onnxAffine(graph, normalized, args.weight, args.bias, broadcast);
  });
}
