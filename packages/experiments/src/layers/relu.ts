import { Layer, arrayTypeOf, assertTensor, defineNormalizer, dtypeOf, isContiguous, toContiguous, tensor } from '@normkit/core';
import type { LayerInit, NormalizerTypes, Tensor } from '@normkit/core';

/** What ReLU keeps for backward: its output (positive exactly where the input was). */
export interface ReluSaved {
  readonly y: Tensor;
}

/** The type bag of {@link relu}. */
export interface ReluTypes extends NormalizerTypes {
  InputOptions: Record<string, never>;
  Options: Record<string, never>;
  Params: never;
  State: never;
  Saved: ReluSaved;
}

/**
 * `y = max(x, 0)` elementwise, any shape. Backward: `dx = dy` where `y > 0`, else 0
 * (the derivative at exactly 0 is taken as 0, as in PyTorch).
 */
export const relu = defineNormalizer<ReluTypes>({
  meta: { name: 'relu', version: '0.0.0', description: 'Rectified linear unit, elementwise.', formula: String.raw`y = \max(x, 0)` },
  modes: ['train'],
  exampleOptions: [{}],
  resolveOptions: () => ({}),
  paramShapes: () => ({}),
  stateShapes: () => ({}),
  init: () => ({ params: {}, state: {} }),
  exampleShapes: () => [[4, 5], [2, 3, 2]],
  forward({ x, state }) {
    const input = assertTensor(x, 'x');
    const c = isContiguous(input) ? input : toContiguous(input);
    const n = c.size;
    const y = new (arrayTypeOf(dtypeOf(c)))(n);
    for (let i = 0; i < n; i++) {
      const v = c.data[c.offset + i];
      y[i] = v > 0 ? v : 0;
    }
    const out = tensor(y, c.shape);
    return { y: out, state, saved: { y: out } };
  },
  backward({ dy, saved }) {
    const g0 = assertTensor(dy, 'dy', { shape: saved.y.shape });
    const g = isContiguous(g0) ? g0 : toContiguous(g0);
    const n = g.size;
    const dx = new (arrayTypeOf(dtypeOf(saved.y)))(n);
    const yd = saved.y.data;
    for (let i = 0; i < n; i++) dx[i] = yd[i] > 0 ? g.data[g.offset + i] : 0;
    return { dx: tensor(dx, saved.y.shape), grads: {} };
  },
});

/** The stateful {@link Layer} around {@link relu}. */
export class Relu extends Layer<ReluTypes> {
  constructor(init: LayerInit = {}) {
    super(relu, {}, init);
  }
}
