import { Layer, NormkitError, assertTensor, checkForward, defineNormalizer, formatShape, isContiguous, sizeOf, tensor, toContiguous } from '@normkit/core';
import type { ForwardSpec, LayerInit, NormalizerTypes } from '@normkit/core';

/** What flattening keeps for backward: the input's shape. */
export interface FlattenSaved {
  readonly xShape: readonly number[];
}

/** The type bag of {@link flatten}. */
export interface FlattenTypes extends NormalizerTypes {
  Name: 'flatten';
  InputOptions: Record<string, never>;
  Options: Record<string, never>;
  Params: never;
  State: never;
  Saved: FlattenSaved;
}

const NAME = 'flatten';
const SPEC: ForwardSpec = { plugin: NAME, minRank: 2, paramShapes: {}, stateShapes: {} };

/**
 * `(N, d1, d2, …) → (N, d1·d2·…)`, row-major: the values are not changed, only the shape
 * (between the CNN's last convolution block and its dense layer). Backward reshapes `dy`
 * back; the second derivative is zero (`doubleBackward` reshapes the direction).
 */
export const flatten = defineNormalizer<FlattenTypes>({
  meta: { name: NAME, version: '0.0.0', description: 'Reshape (N, ...) to (N, rest), row-major.', formula: String.raw`y_{n,\,\mathrm{flat}(i)} = x_{n,i}` },
  modes: ['train'],
  exampleOptions: [{}],
  resolveOptions: () => ({}),
  bind: () => ({
    paramShapes: () => ({}),
    stateShapes: () => ({}),
    init: () => ({ params: {}, state: {} }),
    exampleShapes: () => [[2, 3, 2, 2]],

    forward(args) {
      if (args.out !== undefined) throw new NormkitError('E_SHAPE', `out: ${NAME} returns a new (N, rest) tensor; expected no out, got one`, 'out');
      const { x } = checkForward(args, SPEC);
      const c = isContiguous(x) ? x : toContiguous(x);
      const n = c.shape[0];
      const rest = sizeOf(c.shape) / n;
      return { y: tensor(c.data.slice(c.offset, c.offset + n * rest), [n, rest]), state: args.state, saved: { xShape: [...c.shape] } };
    },

    backward({ dy, saved, out }) {
      if (out !== undefined) throw new NormkitError('E_SHAPE', `out: ${NAME} backward returns a new dx; expected no out, got one`, 'out');
      const shape = saved?.xShape;
      if (shape === undefined || shape.length < 2) throw new NormkitError('E_STATE', `saved: expected the saved value of a ${NAME} forward call`, 'saved');
      const n = shape[0];
      const g = assertTensor(dy, 'dy', { shape: [n, sizeOf(shape) / n] });
      const c = isContiguous(g) ? g : toContiguous(g);
      if (sizeOf(c.shape) !== sizeOf(shape)) throw new NormkitError('E_SHAPE', `dy: expected ${formatShape([n, sizeOf(shape) / n])}`, 'dy');
      return { dx: tensor(c.data.slice(c.offset, c.offset + sizeOf(shape)), shape), grads: {} };
    },
  }),
});

/** The stateful {@link Layer} around {@link flatten}. */
export class Flatten extends Layer<FlattenTypes> {
  constructor(init: LayerInit = {}) {
    super(flatten, {}, init);
  }
}
