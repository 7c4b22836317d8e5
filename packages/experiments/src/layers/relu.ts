import { Layer, NormkitError, assertTensor, checkBackward, checkForward, defineNormalizer, dtypeOf, isContiguous, outputOf, toContiguous } from '@normkit/core';
import type { ForwardSpec, LayerInit, NormalizerTypes, Tensor } from '@normkit/core';

/** What ReLU keeps for backward: its output (positive exactly where the input was). */
export interface ReluSaved {
  readonly y: Tensor;
}

/** The type bag of {@link relu}. */
export interface ReluTypes extends NormalizerTypes {
  Name: 'relu';
  InputOptions: Record<string, never>;
  Options: Record<string, never>;
  Params: never;
  State: never;
  Saved: ReluSaved;
}

const SPEC: ForwardSpec = { plugin: 'relu', paramShapes: {}, stateShapes: {} };

/**
 * `y = max(x, 0)` elementwise, any shape. Backward: `dx = dy` where `y > 0`, else 0
 * (the derivative at exactly 0 is taken as 0, as in PyTorch). Its second derivative is 0
 * almost everywhere: `doubleBackward` passes the direction through the same mask.
 */
export const relu = defineNormalizer<ReluTypes>({
  meta: { name: 'relu', version: '0.0.0', description: 'Rectified linear unit, elementwise.', formula: String.raw`y = \max(x, 0)` },
  modes: ['train'],
  exampleOptions: [{}],
  resolveOptions: () => ({}),
  bind: () => ({
    paramShapes: () => ({}),
    stateShapes: () => ({}),
    init: () => ({ params: {}, state: {} }),
    exampleShapes: () => [[4, 5], [2, 3, 2]],

    forward(args) {
      const { x, dtype, out } = checkForward(args, SPEC);
      const c = isContiguous(x) ? x : toContiguous(x);
      const y = outputOf(out, c.shape, dtype);
      const n = y.size;
      for (let i = 0; i < n; i++) {
        const v = c.data[c.offset + i];
        y.data[i] = v > 0 ? v : 0;
      }
      // `y` may be the caller's `out`, which the caller may overwrite before backward: keep a copy then.
      return { y, state: args.state, saved: { y: out === undefined ? y : toContiguous(y) } };
    },

    backward(args) {
      const saved = args.saved?.y;
      if (saved === undefined) throw new NormkitError('E_STATE', 'saved: expected the saved value of a relu forward call', 'saved');
      const { dy, out } = checkBackward(args, saved, SPEC);
      const g = isContiguous(dy) ? dy : toContiguous(dy);
      const dx = outputOf(out, saved.shape, dtypeOf(saved));
      const n = dx.size;
      const yd = saved.data;
      for (let i = 0; i < n; i++) dx.data[i] = yd[i] > 0 ? g.data[g.offset + i] : 0;
      return { dx, grads: {} };
    },

    doubleBackward(args) {
      // backward is dx = dy ⊙ 1[y > 0], linear in dy and piecewise constant in x: with the
      // cotangent ddx of dx, ∂S/∂dy = ddx ⊙ 1[y > 0] (the JVP) and ∂S/∂x = 0.
      const saved = args.saved?.y;
      if (saved === undefined) throw new NormkitError('E_STATE', 'saved: expected the saved value of a relu forward call', 'saved');
      checkBackward(args, saved, SPEC);
      const t = assertTensor(args.ddx, 'ddx', { shape: saved.shape });
      const tc = isContiguous(t) ? t : toContiguous(t);
      const dtype = dtypeOf(saved);
      const ddy = outputOf(undefined, saved.shape, dtype);
      const n = ddy.size;
      for (let i = 0; i < n; i++) ddy.data[i] = saved.data[i] > 0 ? tc.data[tc.offset + i] : 0;
      return { dx: outputOf(undefined, saved.shape, dtype), ddy, grads: {} };
    },
  }),
});

/** The stateful {@link Layer} around {@link relu}. */
export class Relu extends Layer<ReluTypes> {
  constructor(init: LayerInit = {}) {
    super(relu, {}, init);
  }
}
