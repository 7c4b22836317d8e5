/** Small layers in a non-trivial state (one forward + backward done), for the bad-input and NaN tests. */
import ndarray from 'ndarray';
import { BatchNorm } from '@normkit/batch-norm';
import type { Layer, Tensor } from '@normkit/core';
import { LayerNorm } from '@normkit/layer-norm';
import { randn } from '@normkit/testkit';
import { WeightNorm, WeightNormLinear } from '@normkit/weight-norm';

/** A layer with its good input, a good upstream gradient, and the shapes a bad input can take. */
export interface Fixture {
  readonly name: string;
  readonly layer: Layer<any>;
  readonly x: Tensor;
  readonly dy: Tensor;
  /** The options as given. */
  readonly options: object;
  /** An input of a wrong rank. */
  readonly wrongRank: Tensor;
  /** An input of the right rank and the wrong shape. */
  readonly mismatched: Tensor;
  /** An input with a size-0 axis (otherwise valid). */
  readonly empty: Tensor;
  /** A dy of another call's shape. */
  readonly otherDy: Tensor;
  /** Options of the wrong type or range, each → E_OPTION. */
  readonly badOptions: readonly (readonly [string, unknown])[];
}

function primed<L extends Layer<any>>(layer: L, x: Tensor, dy: Tensor): L {
  layer.forward(x);
  layer.backward(dy);
  layer.forward(randn(x.shape, 99, 'float64', 0.5, 2));
  return layer;
}

/** A shared, hostile-key-bearing options object: `{ ...good, [key]: value }` as an own enumerable property. */
export function withOwnKey<T extends object>(object: T, key: string, value: unknown): T {
  const copy = { ...object };
  Object.defineProperty(copy, key, { value, enumerable: true, configurable: true, writable: true });
  return copy;
}

function protoOptions(good: object): (readonly [string, unknown])[] {
  return [
    ['own "__proto__" key (JSON.parse)', JSON.parse(`{"__proto__": {"eps": -1}, ${JSON.stringify(good).slice(1)}`) as unknown],
    ['own "constructor" key', withOwnKey(good, 'constructor', 1)],
    ['null', null],
    ['a number', 5],
    ['an array', []],
  ];
}

export function batchNormFixture(): Fixture {
  const options = { numFeatures: 3 };
  const x = randn([4, 3, 2], 1);
  const dy = randn([4, 3, 2], 2);
  return {
    name: 'batch-norm',
    layer: primed(new BatchNorm(options, { dtype: 'float64' }), x, dy),
    x,
    dy,
    options,
    wrongRank: randn([12], 3),
    mismatched: randn([4, 2, 2], 3),
    empty: ndarray(new Float64Array(0), [0, 3, 2]),
    otherDy: randn([2, 3, 2], 4),
    badOptions: [
      ['numFeatures missing', {}],
      ['numFeatures 0', { numFeatures: 0 }],
      ['numFeatures 2.5', { numFeatures: 2.5 }],
      ['numFeatures "3"', { numFeatures: '3' }],
      ['eps 0', { numFeatures: 3, eps: 0 }],
      ['eps −1', { numFeatures: 3, eps: -1 }],
      ['eps NaN', { numFeatures: 3, eps: Number.NaN }],
      ['eps Infinity', { numFeatures: 3, eps: Infinity }],
      ['eps "1e-5"', { numFeatures: 3, eps: '1e-5' }],
      ['momentum 1.5', { numFeatures: 3, momentum: 1.5 }],
      ['momentum −0.1', { numFeatures: 3, momentum: -0.1 }],
      ['affine "yes"', { numFeatures: 3, affine: 'yes' }],
      ['trackRunningStats 1', { numFeatures: 3, trackRunningStats: 1 }],
      ['channelAxis 0.5', { numFeatures: 3, channelAxis: 0.5 }],
      ['channelAxis "1"', { numFeatures: 3, channelAxis: '1' }],
      ['unknown key momentun', { numFeatures: 3, momentun: 0.1 }],
      ...protoOptions(options),
    ],
  };
}

export function layerNormFixture(): Fixture {
  const options = { normalizedShape: [4] };
  const x = randn([3, 4], 1);
  const dy = randn([3, 4], 2);
  return {
    name: 'layer-norm',
    layer: primed(new LayerNorm(options, { dtype: 'float64' }), x, dy),
    x,
    dy,
    options,
    wrongRank: ndarray(new Float64Array([1]), [], [], 0),
    mismatched: randn([3, 5], 3),
    empty: ndarray(new Float64Array(0), [0, 4]),
    otherDy: randn([2, 4], 4),
    badOptions: [
      ['normalizedShape missing', {}],
      ['normalizedShape 0', { normalizedShape: 0 }],
      ['normalizedShape []', { normalizedShape: [] }],
      ['normalizedShape [2, 0]', { normalizedShape: [2, 0] }],
      ['normalizedShape [1.5]', { normalizedShape: [1.5] }],
      ['normalizedShape "4"', { normalizedShape: '4' }],
      ['eps 0', { normalizedShape: [4], eps: 0 }],
      ['eps NaN', { normalizedShape: [4], eps: Number.NaN }],
      ['elementwiseAffine "no"', { normalizedShape: [4], elementwiseAffine: 'no' }],
      ['bias 1', { normalizedShape: [4], bias: 1 }],
      ['unknown key elementwise_affine', { normalizedShape: [4], elementwise_affine: true }],
      ...protoOptions(options),
    ],
  };
}

export function weightNormFixture(): Fixture {
  const options = { shape: [3, 4], dim: 0 };
  const x = randn([3, 4], 1);
  const dy = randn([3, 4], 2);
  return {
    name: 'weight-norm',
    layer: primed(new WeightNorm(options, { weight: randn([3, 4], 5), dtype: 'float64' }), x, dy),
    x,
    dy,
    options,
    wrongRank: randn([12], 3),
    mismatched: randn([4, 3], 3),
    empty: ndarray(new Float64Array(0), [0, 4]),
    otherDy: randn([4, 3], 4),
    badOptions: [
      ['shape missing', { dim: 0 }],
      ['shape [3, 0]', { shape: [3, 0] }],
      ['dim 2 for rank 2', { shape: [3, 4], dim: 2 }],
      ['dim −3 for rank 2', { shape: [3, 4], dim: -3 }],
      ['dim 0.5', { shape: [3, 4], dim: 0.5 }],
      ['dim "0"', { shape: [3, 4], dim: '0' }],
      ['eps 0', { shape: [3, 4], eps: 0 }],
      ['eps −1', { shape: [3, 4], eps: -1 }],
      ['gInit "zero"', { shape: [3, 4], gInit: 'zero' }],
      ['unknown key axis', { shape: [3, 4], axis: 0 }],
      ...protoOptions(options),
    ],
  };
}

export function linearFixture(): Fixture {
  const options = { inFeatures: 4, outFeatures: 3 };
  const x = randn([5, 4], 1);
  const dy = randn([5, 3], 2);
  return {
    name: 'weight-norm-linear',
    layer: primed(new WeightNormLinear(options, { dtype: 'float64' }), x, dy),
    x,
    dy,
    options,
    wrongRank: ndarray(new Float64Array([1]), [], [], 0),
    mismatched: randn([5, 3], 3),
    empty: ndarray(new Float64Array(0), [0, 4]),
    otherDy: randn([2, 3], 4),
    badOptions: [
      ['inFeatures 0', { inFeatures: 0, outFeatures: 3 }],
      ['outFeatures missing', { inFeatures: 4 }],
      ['outFeatures 1.5', { inFeatures: 4, outFeatures: 1.5 }],
      ['bias "no"', { inFeatures: 4, outFeatures: 3, bias: 'no' }],
      ['eps 0', { inFeatures: 4, outFeatures: 3, eps: 0 }],
      ['gInit "x"', { inFeatures: 4, outFeatures: 3, gInit: 'x' }],
      ['seed −1', { inFeatures: 4, outFeatures: 3, seed: -1 }],
      ['seed 2³²', { inFeatures: 4, outFeatures: 3, seed: 2 ** 32 }],
      ['initStd 0', { inFeatures: 4, outFeatures: 3, initStd: 0 }],
      ['unknown key in_features', { in_features: 4, outFeatures: 3 }],
      ...protoOptions(options),
    ],
  };
}

export const FIXTURES: readonly (() => Fixture)[] = [batchNormFixture, layerNormFixture, weightNormFixture, linearFixture];
