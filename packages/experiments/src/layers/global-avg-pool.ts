import { Layer, NormkitError, arrayTypeOf, assertTensor, checkForward, defineNormalizer, formatShape, isContiguous, tensor, toContiguous } from '@normkit/core';
import type { ForwardSpec, LayerInit, NormalizerTypes } from '@normkit/core';

/** What the pooling keeps for backward: the input's shape and dtype. */
export interface GlobalAvgPoolSaved {
  readonly xShape: readonly [number, number, number, number];
  readonly dtype: 'float32' | 'float64';
}

/** The type bag of {@link globalAvgPool}. */
export interface GlobalAvgPoolTypes extends NormalizerTypes {
  Name: 'global-avg-pool';
  InputOptions: Record<string, never>;
  Options: Record<string, never>;
  Params: never;
  State: never;
  Saved: GlobalAvgPoolSaved;
}

const NAME = 'global-avg-pool';
const SPEC: ForwardSpec = {
  plugin: NAME,
  minRank: 4,
  checkShape: (shape) => (shape.length === 4 ? null : `expected (N, C, H, W), got ${formatShape(shape)}`),
  paramShapes: {},
  stateShapes: {},
};

/**
 * Global average pooling, `(N, C, H, W) → (N, C)`: `y[n, c] = (1/HW) Σ_ij x[n, c, i, j]`.
 * Backward: `dx[n, c, i, j] = dy[n, c] / HW`.
 */
export const globalAvgPool = defineNormalizer<GlobalAvgPoolTypes>({
  meta: { name: NAME, version: '0.0.0', description: 'Mean over the spatial axes of (N, C, H, W) input.', formula: String.raw`y_{nc} = \frac{1}{HW}\sum_{ij} x_{ncij}` },
  modes: ['train'],
  exampleOptions: [{}],
  resolveOptions: () => ({}),
  bind: () => ({
    paramShapes: () => ({}),
    stateShapes: () => ({}),
    init: () => ({ params: {}, state: {} }),
    exampleShapes: () => [[2, 3, 4, 5]],

    forward(args) {
      if (args.out !== undefined) throw new NormkitError('E_SHAPE', `out: ${NAME} returns a new (N, C) tensor; expected no out, got one`, 'out');
      const { x, dtype } = checkForward(args, SPEC);
      const c = isContiguous(x) ? x : toContiguous(x);
      const [n, ch, h, w] = c.shape;
      const area = h * w;
      const y = new (arrayTypeOf(dtype))(n * ch);
      for (let r = 0; r < n * ch; r++) {
        let s = 0;
        const from = c.offset + r * area;
        for (let i = 0; i < area; i++) s += c.data[from + i];
        y[r] = s / area;
      }
      return { y: tensor(y, [n, ch]), state: args.state, saved: { xShape: [n, ch, h, w], dtype } };
    },

    backward({ dy, saved, out }) {
      if (out !== undefined) throw new NormkitError('E_SHAPE', `out: ${NAME} backward returns a new dx; expected no out, got one`, 'out');
      if (saved?.xShape?.length !== 4) throw new NormkitError('E_STATE', `saved: expected the saved value of a ${NAME} forward call`, 'saved');
      const [n, ch, h, w] = saved.xShape;
      const g = assertTensor(dy, 'dy', { shape: [n, ch] });
      const gc = isContiguous(g) ? g : toContiguous(g);
      const area = h * w;
      const dx = new (arrayTypeOf(saved.dtype))(n * ch * area);
      for (let r = 0; r < n * ch; r++) dx.fill(gc.data[gc.offset + r] / area, r * area, (r + 1) * area);
      return { dx: tensor(dx, [n, ch, h, w]), grads: {} };
    },
  }),
});

/** The stateful {@link Layer} around {@link globalAvgPool}. */
export class GlobalAvgPool extends Layer<GlobalAvgPoolTypes> {
  constructor(init: LayerInit = {}) {
    super(globalAvgPool, {}, init);
  }
}
