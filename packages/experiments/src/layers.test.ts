import { describe, expect, it } from 'vitest';
import { Layer, checkOut, defineNormalizer, dtypeOf, fromArray, tensor, toTypedArray } from '@normkit/core';
import type { Dtype, Normalizer, NormalizerTypes, Tensor } from '@normkit/core';
import { assertGradients, assertSecondOrder } from '@normkit/gradcheck';
import { conv2d } from './layers/conv2d.js';
import { dense } from './layers/dense.js';
import { flatten } from './layers/flatten.js';
import type { DenseOptions } from './layers/dense.js';
import { drawNoise, noisyBatchNorm } from './layers/noisy-batch-norm.js';
import { relu } from './layers/relu.js';
import { crossEntropy, softmaxCrossEntropy } from './layers/softmax-cross-entropy.js';
import { ABLATIONS, Mlp, VARIANTS } from './model.js';
import type { Variant } from './model.js';
import { SgdMomentum } from './optim.js';

describe('the network pieces pass @normkit/gradcheck', () => {
  it('dense: dx, dW and db', () => {
    assertGradients(dense);
  });

  it('ReLU (inputs away from the kink at 0)', () => {
    // x ~ N(0, 1) puts no value within a step of 0, so central differences are valid.
    assertGradients(relu, { seed: 3 });
  });

  it('softmax cross-entropy with fixed labels', () => {
    assertGradients(softmaxCrossEntropy);
  });

  it('noisy batch norm: the noise is a pure function of the step, so it differences cleanly', () => {
    assertGradients(noisyBatchNorm);
  });

  it('conv2d (im2col): dx, dW and db, with stride, padding and without a bias', () => {
    assertGradients(conv2d);
  });

  it('flatten', () => {
    assertGradients(flatten);
  });
});

describe('second order: doubleBackward passes @normkit/gradcheck --order 2', () => {
  it('dense', () => {
    assertSecondOrder(dense);
  });

  it('ReLU (inputs away from the kink)', () => {
    assertSecondOrder(relu, { seed: 3 });
  });
});

describe('conv2d against a direct convolution', () => {
  it('equals the sum over the kernel of shifted inputs (float64, 1e-12)', () => {
    const layer = conv2d.create({ inChannels: 2, outChannels: 3, kernelSize: 3, stride: 2, padding: 1, seed: 9 });
    const { params } = layer.init('float64');
    const [n, c, h, w] = [2, 2, 5, 6];
    const x = Float64Array.from({ length: n * c * h * w }, (_, i) => Math.sin(0.7 * i) + 0.1 * (i % 5));
    const b = Float64Array.from([0.3, -0.2, 0.05]);
    const y = layer.forward({ x: tensor(x, [n, c, h, w]), params: { ...params, bias: tensor(b, [3]) }, state: {}, mode: 'train' }).y;
    expect(y.shape).toEqual([2, 3, 3, 3]);
    const W = toTypedArray(params.weight as Tensor);
    const out = toTypedArray(y);
    for (let s = 0; s < n; s++) {
      for (let f = 0; f < 3; f++) {
        for (let i = 0; i < 3; i++) {
          for (let j = 0; j < 3; j++) {
            let expected = b[f];
            for (let ch = 0; ch < c; ch++) {
              for (let a = 0; a < 3; a++) {
                for (let bb = 0; bb < 3; bb++) {
                  const r = 2 * i + a - 1;
                  const col = 2 * j + bb - 1;
                  if (r < 0 || r >= h || col < 0 || col >= w) continue;
                  expected += W[((f * c + ch) * 3 + a) * 3 + bb] * x[((s * c + ch) * h + r) * w + col];
                }
              }
            }
            expect(Math.abs(out[((s * 3 + f) * 3 + i) * 3 + j] - expected)).toBeLessThan(1e-12);
          }
        }
      }
    }
  });
});

/** The type bag of the whole MLP as one plugin: every parameter by `layerIndex.name`. */
interface MlpTypes extends NormalizerTypes {
  InputOptions: object;
  Options: object;
  Params: string;
  State: never;
  Saved: { readonly x: Tensor; readonly params: Readonly<Record<string, Tensor | undefined>> };
}

/** `values` as a call's output: into the caller's `out` when one is given (the contract), else a new tensor. */
function output(values: ArrayLike<number>, shape: readonly number[], dtype: Dtype, out: Tensor | undefined): Tensor {
  if (out === undefined) return fromArray(values, shape, dtype);
  const y = checkOut(out, shape, dtype, []);
  for (let i = 0; i < values.length; i++) y.data[y.offset + i] = values[i];
  return y;
}

/** The whole MLP as one plugin (input x, every parameter), so gradcheck checks the composed backward. */
function mlpPlugin(variant: Variant): Normalizer<MlpTypes> {
  const config = { inputs: 5, hidden: 4, depth: 2, classes: 3, seed: 11, dtype: 'float64' as const };
  const template = new Mlp(variant, config);
  template.initFromBatch(tensor(Float64Array.from({ length: 30 }, (_, i) => Math.sin(i * 1.7) + 0.3), [6, 5]));
  const refs = template.parameters();
  const shapes: Record<string, number[]> = Object.fromEntries(refs.map((r) => [r.id, [...(r.layer.params as Record<string, Tensor>)[r.name].shape]]));
  const initialState = template.snapshot().state;
  // Runs the model in the dtype of x: the layers' parameters are the ones handed in, converted.
  const run = (x: Tensor, params: Readonly<Record<string, Tensor | undefined>>): Tensor => {
    template.layers.forEach((layer, k) => {
      const next: Record<string, Tensor> = {};
      for (const name of Object.keys(layer.params)) next[name] = fromArray(toTypedArray(params[`${k}.${name}`] as Tensor), shapes[`${k}.${name}`], 'float64');
      layer.params = next;
    });
    template.restoreState(initialState);
    template.zeroGrad();
    return template.forward(fromArray(toTypedArray(x), x.shape, 'float64'));
  };
  return defineNormalizer<MlpTypes>({
    meta: { name: `mlp-${variant}`, version: '0.0.0', description: 'test MLP', formula: 'f(x)' },
    modes: ['train'],
    exampleOptions: [{}],
    resolveOptions: () => ({}),
    bind: () => ({
      paramShapes: () => shapes,
      stateShapes: () => ({}),
      init: (dtype = 'float32') => ({
        params: Object.fromEntries(refs.map((r) => [r.id, fromArray(toTypedArray((r.layer.params as Record<string, Tensor>)[r.name]), shapes[r.id], dtype)])),
        state: {},
      }),
      exampleShapes: () => [[6, 5]],
      forward({ x, params, state, out }) {
        const y = run(x, params);
        return { y: output(toTypedArray(y), y.shape, dtypeOf(x), out), state, saved: { x, params } };
      },
      backward({ dy, saved, out }) {
        const { x, params } = saved;
        run(x, params); // replay: the layers keep only their last forward
        const dx = inputGradient(template, x, fromArray(toTypedArray(dy), dy.shape, 'float64'));
        // Gradients in the dtype of the parameters handed in (gradcheck also runs float32).
        const grads = Object.fromEntries(
          refs.map((r) => [r.id, fromArray(toTypedArray((r.layer.grads as Record<string, Tensor>)[r.name]), shapes[r.id], dtypeOf(params[r.id] as Tensor))]),
        );
        return { dx: output(toTypedArray(dx), x.shape, dtypeOf(x), out), grads };
      },
    }),
  });
}

/**
 * Backward through the whole network, and dx: the first dense layer of the model skips dx
 * (its input is data), so its dx is recomputed here with the plain plugin.
 */
function inputGradient(model: Mlp, x: Tensor, dy: Tensor): Tensor {
  let g = dy;
  for (let k = model.layers.length - 1; k >= 1; k--) g = model.layers[k].backward(g);
  const first = model.layers[0];
  if (first.plugin.meta.name === 'dense') {
    first.backward(g); // its parameter gradients
    const withInputGrad = dense.create({ ...(first.options as DenseOptions), inputGrad: true });
    const x64 = fromArray(toTypedArray(x), x.shape, 'float64');
    const saved = withInputGrad.forward({ x: x64, params: first.params, state: {}, mode: 'train' }).saved;
    return withInputGrad.backward({ dy: g, params: first.params, saved }).dx;
  }
  return first.backward(g);
}

describe('the composed MLP backward, every variant', () => {
  for (const variant of [...VARIANTS, ...ABLATIONS]) {
    it(variant, () => {
      assertGradients(mlpPlugin(variant), { seed: 5 });
    });
  }
});

describe('SGD with momentum', () => {
  it('follows v ← μv + g, θ ← θ − ηv exactly (float64)', () => {
    const layer = new Layer(dense, { inFeatures: 2, outFeatures: 1, bias: false }, { dtype: 'float64' });
    layer.params = { weight: fromArray([1, -2], [2, 1], 'float64') };
    const opt = new SgdMomentum([{ id: 'w', layer, name: 'weight' }], { lr: 0.1, momentum: 0.9 });
    // Gradient of ½‖θ‖² is θ: replay the recursion by hand.
    let theta = [1, -2];
    let v = [0, 0];
    for (let step = 0; step < 5; step++) {
      layer.zeroGrad();
      const g = toTypedArray(layer.params.weight as ReturnType<typeof tensor>);
      (layer.grads.weight as ReturnType<typeof tensor>).data.set(g);
      opt.step();
      v = v.map((vi, i) => 0.9 * vi + theta[i]);
      theta = theta.map((t, i) => t - 0.1 * v[i]);
      expect(Array.from(toTypedArray(layer.params.weight as ReturnType<typeof tensor>))).toEqual(theta);
    }
  });

  it('decreases a training loss on a fixed batch', () => {
    const model = new Mlp('batch-norm', { inputs: 6, hidden: 8, depth: 2, classes: 3, seed: 1, dtype: 'float64' });
    const x = tensor(Float64Array.from({ length: 60 }, (_, i) => Math.cos(i * 0.37)), [10, 6]);
    const labels = Uint8Array.from({ length: 10 }, (_, i) => i % 3);
    const opt = new SgdMomentum(model.parameters(), { lr: 0.05 });
    const losses: number[] = [];
    for (let s = 0; s < 30; s++) {
      model.zeroGrad();
      const r = crossEntropy(model.forward(x), labels, 3);
      model.backward(r.dLogits);
      opt.step();
      losses.push(r.loss);
    }
    expect(losses[losses.length - 1]).toBeLessThan(losses[0]);
  });
});

describe('noise of noisy batch norm', () => {
  it('is the same for the same step and different for the next', () => {
    const o = noisyBatchNorm.create({ numFeatures: 3 }).options.noise;
    expect(drawNoise(o, 4, 2, 3)).toEqual(drawNoise(o, 4, 2, 3));
    expect(drawNoise(o, 5, 2, 3).add).not.toEqual(drawNoise(o, 4, 2, 3).add);
  });
});
