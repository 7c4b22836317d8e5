import {
  normBackward,
  normDoubleBackward,
  CONTRACT_DTYPES,
  NormkitError,
  checkForward,
  defineNormalizer,
  paramValues,
  Float64Scratch,
  formatShape,
  full,
  normalizeAxis,
  normalizeBatch,
  outputOf,
  planCache,
  planNormalization,
  splitAxis,
  viewOf,
} from '@normkit/core';
import type { ForwardSpec, Invariant, NormBackwardBinding, NormSaved, NormalizerTypes, Shape, StridedView } from '@normkit/core';
import type { GroupNormInputOptions, GroupNormOptions } from './options.js';
import { resolveGroupNormOptions } from './options.js';
import { groupNormKeras } from './keras.js';
import { groupNormOnnx } from './onnx.js';
import { groupNormPyTorch } from './pytorch.js';
import { VERSION } from './version.js';

/** γ and β as float64 within one forward call (handed to the engine's kernels, never returned). */
const forwardParamScratch = new Float64Scratch(2);

/**
 * What group norm's forward keeps for backward (core's {@link NormSaved}): the input by
 * reference and, per (sample, group), the mean and $`1/\sqrt{\sigma^2 + \epsilon}`$, row-major
 * over `(N, G)`: 16·N·G bytes.
 */
export type GroupNormSaved = NormSaved;

/** The type bag of the group-norm plugin. */
export interface GroupNormTypes extends NormalizerTypes {
  /** `'group-norm'`. */
  Name: 'group-norm';
  /** See {@link GroupNormInputOptions}. */
  InputOptions: GroupNormInputOptions;
  /** See {@link GroupNormOptions}. */
  Options: GroupNormOptions;
  /** γ and β, each of shape `[numChannels]`, when `affine` is on. */
  Params: 'weight' | 'bias';
  /** Group norm keeps no running statistics. */
  State: never;
  /** See {@link GroupNormSaved}. */
  Saved: GroupNormSaved;
}

/** The LaTeX forward formula (also in `groupNorm.meta.formula`). */
export const GROUP_NORM_FORMULA = 'y_{n,c,\\ldots} = \\frac{x_{n,c,\\ldots} - \\mu_{n,g(c)}}{\\sqrt{\\sigma^2_{n,g(c)} + \\epsilon}}\\,\\gamma_c + \\beta_c';

/**
 * Group normalization (Wu & He 2018) with PyTorch's semantics (`nn.GroupNorm`), as a normkit
 * plugin on the normalization engine. The C channels are split into G contiguous groups of
 * C/G channels; statistics are taken per (sample, group) over the group's channels and every
 * spatial position, with the **biased** variance; γ and β are per **channel** (as ONNX
 * GroupNormalization-21; opset 18 had them per group):
 *
 * $$y_{n,c} = \frac{x_{n,c} - \mu_{n,g(c)}}{\sqrt{\sigma_{n,g(c)}^2 + \epsilon}}\,\gamma_c + \beta_c$$
 *
 * `numGroups = 1` is layer norm over `(C, *)` with a per-channel affine; `numGroups = C` is
 * instance norm. Train and eval compute the same. On the engine it is batch norm's plan over
 * other axes: the input is read as `(N, G, C/G, *)` (a view, no copy), statistics per
 * `(n, g)`, parameters per `(g, c')`.
 *
 * The optional second-order member `doubleBackward` (the VJP of `backward`, core's
 * `normalizeDoubleBackward`) is implemented.
 *
 * @throws NormkitError from `create`: `E_OPTION` (see {@link resolveGroupNormOptions}). From
 *   `forward`: `E_SHAPE` (rank < 2, C ≠ numChannels on the channel axis, misshapen parameters
 *   or `out`), `E_DTYPE`, `E_STATE`, `E_OPTION` for a bad mode, `E_DEGENERATE` when the input
 *   holds one value per group in all (N × C/G × spatial positions = 1, PyTorch's check; a group
 *   of one value in a larger batch gives y = β and dx = 0, as in PyTorch). From `backward`: `E_SHAPE` / `E_DTYPE` for a
 *   bad `dy`, `E_STATE` for a `saved` that does not fit.
 * @example
 * ```ts
 * const gn = groupNorm.create({ numGroups: 2, numChannels: 4 });
 * const { params, state } = gn.init('float64');
 * const { y, saved } = gn.forward({ x, params, state, mode: 'train' });
 * const { dx, grads } = gn.backward({ dy, params, saved });
 * ```
 */
export const groupNorm = defineNormalizer<GroupNormTypes>({
  meta: {
    name: 'group-norm',
    version: VERSION,
    description: 'Group normalization: statistics per (sample, group of channels) over the group and every spatial position, per-channel affine (PyTorch semantics).',
    formula: GROUP_NORM_FORMULA,
  },
  modes: ['train'],
  exampleOptions: [
    { numGroups: 2, numChannels: 4 },
    { numGroups: 3, numChannels: 3, affine: false },
    { numGroups: 1, numChannels: 2, channelAxis: -1 },
  ],
  // Besides the examples, channels last with several groups of several channels: the planes
  // layout with A > 1 (samples × spatial positions × groups × channels per group).
  largeOptions: [
    { numGroups: 2, numChannels: 4 },
    { numGroups: 3, numChannels: 3, affine: false },
    { numGroups: 1, numChannels: 2, channelAxis: -1 },
    { numGroups: 2, numChannels: 6, channelAxis: -1 },
  ],
  pytorch: groupNormPyTorch,
  keras: groupNormKeras,
  onnx: groupNormOnnx,
  resolveOptions: resolveGroupNormOptions,

  bind(options) {
    const { numGroups, numChannels } = options;
    const perGroup = numChannels / numGroups;
    const paramShapes: { weight?: Shape; bias?: Shape } = options.affine ? { weight: [numChannels], bias: [numChannels] } : {};
    const axisOf = (shape: Shape) => normalizeAxis(options.channelAxis, shape.length, 'options.channelAxis');
    const shapeProblem = (shape: Shape): string | null => {
      const axis = axisOf(shape);
      if (axis === 0) return `expected the channel axis to be an axis after the batch axis 0, got channelAxis ${options.channelAxis} for rank ${shape.length}`;
      return shape[axis] === numChannels ? null : `expected ${numChannels} channels (numChannels) on axis ${axis}, got shape ${formatShape(shape)}`;
    };
    const spec: ForwardSpec = { plugin: 'group-norm', minRank: 2, checkShape: shapeProblem, paramShapes, stateShapes: {} };
    /** x read as (N, …, G, C/G, …): the channel axis split in two. */
    const grouped = (view: StridedView): StridedView => splitAxis(view, axisOf(view.shape), [numGroups, perGroup]);
    const plans = planCache((shape) => {
      const axis = axisOf(shape);
      const split = [...shape.slice(0, axis), numGroups, perGroup, ...shape.slice(axis + 1)];
      return planNormalization(split, [0, axis], options.affine ? [axis, axis + 1] : null);
    });
    /** (N, C, …) shapes with the channels moved to options.channelAxis; placeholder 0 at index 1. */
    const shapesOf = (bases: readonly number[][]): number[][] => {
      const shapes: number[][] = [];
      for (const base of bases) {
        const rank = base.length;
        if (options.channelAxis < -rank || options.channelAxis >= rank) continue;
        const axis = options.channelAxis < 0 ? options.channelAxis + rank : options.channelAxis;
        if (axis === 0) continue;
        if (rank === 2 && perGroup === 1) continue; // one value per group: legal (y = β), but it tests nothing the other shapes do not
        const sizes = base.filter((_, k) => k !== 1);
        sizes.splice(axis, 0, numChannels);
        shapes.push(sizes);
      }
      return shapes;
    };

    const backwardBinding: NormBackwardBinding = {
      spec,
      fits: shapeProblem,
      groupsOf: (shape) => shape[0] * numGroups,
      plans,
      paramShape: [numChannels],
      centered: true,
      alwaysBatchStats: true,
      view: (t) => grouped(viewOf(t)),
    };

    return {
      paramShapes: () => paramShapes,
      stateShapes: () => ({}),

      init(dtype = 'float32') {
        return { params: options.affine ? { weight: full([numChannels], dtype, 1), bias: full([numChannels], dtype, 0) } : {}, state: {} };
      },

      exampleShapes() {
        return shapesOf([[3, 0], [2, 0, 3], [2, 0, 2, 3]]);
      },

      largeShapes() {
        // 67 samples (four at a time and a remainder), runs of 37 and 143 positions.
        return shapesOf([[67, 0], [6, 0, 37], [4, 0, 11, 13]]);
      },

      dtypes: CONTRACT_DTYPES,

      // Group norm has no running statistics: eval computes what train computes.
      modeIndependent: true,

      invariants(_mode, xShape): readonly Invariant[] {
        // Σ dx = 0 over each (sample, group): in the split shape, every axis but 0 and the group axis.
        const axis = axisOf(xShape);
        const splitRank = xShape.length + 1;
        const reduceAxes: number[] = [];
        for (let k = 1; k < splitRank; k++) if (k !== axis) reduceAxes.push(k);
        return [{ kind: 'zero-sum', reduceAxes, split: { axis, sizes: [numGroups, perGroup] } }];
      },

      forward(args) {
        const { x, dtype, params, out } = checkForward(args, spec);
        const plan = plans(x.shape);
        // PyTorch's check (F.group_norm): refused only when the whole input holds one value
        // per group, N × C/G × spatial positions = 1. A group of one value in a larger batch
        // normalizes to x̂ = 0 (y = β, dx = 0), as PyTorch computes it.
        if (x.shape[0] * plan.count === 1) {
          throw new NormkitError(
            'E_DEGENERATE',
            `x: expected more than 1 value per group over the batch (N × numChannels / numGroups × spatial positions), got input shape ${formatShape(x.shape)} with ${perGroup} channel(s) per group`,
            'x',
          );
        }
        const y = outputOf(out, x.shape, dtype);
        const weight = paramValues(params.weight, forwardParamScratch, 0);
        const bias = paramValues(params.bias, forwardParamScratch, 1);
        const stats = normalizeBatch(grouped(viewOf(x)), plan, true, options.eps, weight, bias, grouped(viewOf(y)));
        return { y, state: args.state, saved: { x, center: stats.center, invStd: stats.invStd, batchStats: true } };
      },

      backward: (args) => normBackward(backwardBinding, args),

      doubleBackward: (args) => normDoubleBackward(backwardBinding, args),
    };
  },
});
