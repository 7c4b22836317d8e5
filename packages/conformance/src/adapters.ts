import type { GoldenArray, GoldenCase, GoldenLayer } from './format.js';

/**
 * How a golden layer's PyTorch names map onto the plugin contract
 * (`../design/architecture.md`: input, upstream gradient → output, input gradient;
 * parameters → their gradients; buffers before → state after).
 */
export interface LayerAdapter {
  /** The registry name of the plugin that implements the layer. */
  readonly plugin: string;
  /** Golden name of the contract's `x`. */
  readonly input: string;
  /** Golden name of the contract's `y`. */
  readonly output: string;
  /** Golden name of the contract's `dy`. */
  readonly upstream: string;
  /** Golden name of the contract's `dx`. */
  readonly inputGrad: string;
  /** Golden parameter gradient name → contract parameter name. */
  readonly paramGrads: Readonly<Record<string, string>>;
  /** Golden names of the state entries (same names in the contract). */
  readonly state: readonly string[];
  /**
   * The plugin options for a case.
   *
   * @param c - the golden case
   * @returns the options to pass to the plugin's `resolveOptions`
   */
  options(c: GoldenCase): Record<string, unknown>;
}

const batchLike = {
  input: 'x',
  output: 'y',
  upstream: 'dy',
  inputGrad: 'dx',
  paramGrads: { dweight: 'weight', dbias: 'bias' },
} as const;

/** The adapters for every golden layer. */
export const ADAPTERS: Readonly<Record<GoldenLayer, LayerAdapter>> = {
  batch_norm: {
    ...batchLike,
    plugin: 'batch-norm',
    state: ['runningMean', 'runningVar', 'numBatchesTracked'],
    options: (c) => ({ ...c.options }),
  },
  layer_norm: { ...batchLike, plugin: 'layer-norm', state: [], options: (c) => ({ ...c.options }) },
  group_norm: { ...batchLike, plugin: 'group-norm', state: [], options: (c) => ({ ...c.options }) },
  instance_norm: { ...batchLike, plugin: 'instance-norm', state: [], options: (c) => ({ ...c.options }) },
  rms_norm: { ...batchLike, plugin: 'rms-norm', state: [], options: (c) => ({ ...c.options }) },
  weight_norm: {
    plugin: 'weight-norm',
    input: 'v',
    output: 'w',
    upstream: 'dw',
    inputGrad: 'dv',
    paramGrads: { dg: 'g' },
    state: [],
    // normDims and gShape follow from dim and the shape of v.
    options: (c) => ({ dim: c.options.dim, shape: (c.inputs.v as GoldenArray).shape.slice() }),
  },
};
