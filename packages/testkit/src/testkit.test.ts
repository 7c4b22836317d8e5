import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NormkitError, assertTensor, checkOut, defineNormalizer, dtypeOf, fromArray, toTypedArray, zeros } from '@normkit/core';
import type { Dtype, NormalizerTypes, Shape, Tensor } from '@normkit/core';
import { normalRng, uniformRng } from '@normkit/gradcheck';
import { describe, expect, it } from 'vitest';
import { errorCode, gradcheckAcrossSeeds, pluginVersions, secondOrderAcrossSeeds } from './checks.js';
import { normal, randn, uniform } from './random.js';
import { runReadmeExample } from './readme.js';

interface CenterTypes extends NormalizerTypes {
  Name: 'center';
  InputOptions: { features: number };
  Options: { features: number };
  Params: 'bias';
  State: never;
  Saved: { shape: Shape };
}

/** `values` as a call's output: written into the caller's `out` when one is given (the contract), else a new tensor. */
function output(values: Float64Array, shape: Shape, dtype: Dtype, out: Tensor | undefined): Tensor {
  if (out === undefined) return fromArray(values, shape, dtype);
  const y = checkOut(out, shape, dtype, []);
  y.data.set(values, y.offset);
  return y;
}

/**
 * y = x − mean(x) + β over the last axis, on the bound contract; `bug` drops the mean term
 * of dx, `scale` multiplies dx by a factor (1 + 1e-7 passes rtol 1e-5 but not rtol 1e-8),
 * `secondScale` multiplies the second-order ddy likewise.
 */
function makeCenter(variant: { bug?: 'no-mean-term'; scale?: number; secondScale?: number } = {}) {
  return defineNormalizer<CenterTypes>({
    meta: { name: 'center', version: '1.2.3', description: 'Subtracts the row mean, adds a bias.', formula: 'y = x - \\mu + \\beta' },
    modes: ['train'],
    exampleOptions: [{ features: 4 }],
    resolveOptions: (input) => ({ features: input?.features ?? 4 }),
    bind: (o) => ({
      paramShapes: () => ({ bias: [o.features] }),
      stateShapes: () => ({}),
      init: (dtype = 'float32') => ({ params: { bias: zeros([o.features], dtype) }, state: {} }),
      exampleShapes: () => [[3, o.features]],
      modeIndependent: true,
      invariants: (_mode, shape) => [{ kind: 'zero-sum', reduceAxes: [shape.length - 1] }],
      forward({ x, params, state, out }) {
        const input = assertTensor(x, 'x');
        const v = toTypedArray(input);
        const bias = toTypedArray(params.bias as Tensor);
        const y = new Float64Array(v.length);
        for (let row = 0; row < v.length; row += o.features) {
          let mean = 0;
          for (let f = 0; f < o.features; f++) mean += v[row + f] / o.features;
          for (let f = 0; f < o.features; f++) y[row + f] = v[row + f] - mean + bias[f];
        }
        return { y: output(y, input.shape, dtypeOf(input), out), state, saved: { shape: input.shape.slice() } };
      },
      backward({ dy, params, saved, out }) {
        const g = toTypedArray(assertTensor(dy, 'dy', { shape: saved.shape }));
        const dx = new Float64Array(g.length);
        const dbias = new Float64Array(o.features);
        for (let row = 0; row < g.length; row += o.features) {
          let mean = 0;
          for (let f = 0; f < o.features; f++) mean += g[row + f] / o.features;
          for (let f = 0; f < o.features; f++) {
            dx[row + f] = (g[row + f] - (variant.bug === 'no-mean-term' ? 0 : mean)) * (variant.scale ?? 1);
            dbias[f] += g[row + f];
          }
        }
        const dtype = dtypeOf(params.bias as Tensor);
        return { dx: output(dx, saved.shape, dtype, out), grads: { bias: fromArray(dbias, [o.features], dtype) } };
      },
      // backward does not depend on x or β: ∂S/∂x = 0, ∂S/∂β = 0, and ∂S/∂dy = the JVP of y,
      // a − mean(a) + B per row (`secondScale` multiplies it, as `scale` does dx).
      doubleBackward({ ddx, dgrads, saved }) {
        const a = toTypedArray(assertTensor(ddx, 'ddx', { shape: saved.shape }));
        const big = dgrads?.bias === undefined ? new Float64Array(o.features) : toTypedArray(dgrads.bias);
        const ddy = new Float64Array(a.length);
        for (let row = 0; row < a.length; row += o.features) {
          let mean = 0;
          for (let f = 0; f < o.features; f++) mean += a[row + f] / o.features;
          for (let f = 0; f < o.features; f++) ddy[row + f] = (a[row + f] - mean + big[f]) * (variant.secondScale ?? 1);
        }
        const dtype = dtypeOf(ddx);
        return { dx: zeros(saved.shape, dtype), ddy: fromArray(ddy, saved.shape, dtype), grads: { bias: zeros([o.features], dtype) } };
      },
    }),
  });
}

describe('errorCode', () => {
  it("is the NormkitError's code, undefined when nothing throws, and says what else was thrown", () => {
    expect(errorCode(() => fromArray([1, 2], [3], 'float64'))).toBe('E_SHAPE');
    expect(errorCode(() => assertTensor(null, 'x'))).toBe('E_DTYPE');
    expect(errorCode(() => 1)).toBeUndefined();
    expect(
      errorCode(() => {
        throw new TypeError('boom');
      }),
    ).toBe('not a NormkitError: TypeError: boom');
    expect(
      errorCode(() => {
        throw new NormkitError('E_STATE', 'state: bad');
      }),
    ).toBe('E_STATE');
  });
});

describe('pluginVersions', () => {
  it("lists the version of every exported value with a meta, and the package.json's version", () => {
    const api = { center: makeCenter(), other: makeCenter(), CONSTANT: 3, helper: () => 0, names: { layer: 'x' } };
    const { version, reported } = pluginVersions(api, new URL('../package.json', import.meta.url));
    expect(version).toBe('0.0.0');
    expect(reported).toEqual(['1.2.3', '1.2.3']);
  });
});

describe('gradcheckAcrossSeeds', () => {
  it('passes a correct plugin on the bound contract: no failing id in the tight Richardson run', () => {
    expect(gradcheckAcrossSeeds(makeCenter(), 3)).toEqual([]);
  });

  it('throws the formatted report when a seed fails at the default tolerances', () => {
    expect(() => gradcheckAcrossSeeds(makeCenter({ bug: 'no-mean-term' }), 3)).toThrow(/^gradcheck center@1\.2\.3: FAIL/);
  });

  it('returns the ids that fail only at rtol 1e-8 (dx off by 1e-7 relative)', () => {
    expect(gradcheckAcrossSeeds(makeCenter({ scale: 1 + 1e-7 }), 3)).toEqual(['center:train:o0:3x4:x']);
  });
});

describe('secondOrderAcrossSeeds', () => {
  it('passes a correct doubleBackward: no failing id in the tight Richardson run', () => {
    expect(secondOrderAcrossSeeds(makeCenter(), 3)).toEqual([]);
  });

  it('throws the formatted order-2 report when a seed fails, or when there is nothing to check', () => {
    expect(() => secondOrderAcrossSeeds(makeCenter({ secondScale: 1.01 }), 3)).toThrow(/^gradcheck center@1\.2\.3 \(order 2\): FAIL/);
    const { doubleBackward: _, ...withoutMember } = makeCenter().create({ features: 4 });
    const plugin = { ...makeCenter(), create: () => withoutMember };
    expect(() => secondOrderAcrossSeeds(plugin as never, 1)).toThrow(/^gradcheck center@1\.2\.3 \(order 2\): SKIPPED/);
  });

  it('returns the ids that fail only at rtol 1e-8 (ddy off by 1e-7 relative)', () => {
    expect(secondOrderAcrossSeeds(makeCenter({ secondScale: 1 + 1e-7 }), 3)).toEqual(['center:train:o0:3x4:dy']);
  });
});

describe('random tensors', () => {
  it("uniform and normal are gradcheck's seeded streams", () => {
    const a = uniform(5);
    const b = uniformRng(5);
    const c = normal(5);
    const d = normalRng(5);
    for (let i = 0; i < 10; i++) {
      expect(a()).toBe(b());
      expect(c()).toBe(d());
    }
  });

  it('randn: the shape and dtype asked for, float32-exact values of N(mean, std²), the same for a seed', () => {
    const t = randn([2, 3], 7);
    expect(t.shape).toEqual([2, 3]);
    expect(t.data).toBeInstanceOf(Float64Array);
    const values = Array.from(toTypedArray(t));
    expect(values.every((v) => Math.fround(v) === v)).toBe(true);
    expect(Array.from(toTypedArray(randn([2, 3], 7, 'float32')))).toEqual(values);
    expect(Array.from(toTypedArray(randn([2, 3], 8)))).not.toEqual(values);
    const next = normalRng(7);
    expect(values).toEqual(values.map(() => Math.fround(next())));
    const shifted = Array.from(toTypedArray(randn([2, 3], 7, 'float64', 10, 0.5)));
    const again = normalRng(7);
    expect(shifted).toEqual(shifted.map(() => Math.fround(10 + 0.5 * again())));
  });
});

describe('runReadmeExample', () => {
  it('runs the first js block (else the first ts block) of a README from the package folder and returns its stdout', () => {
    const dir = mkdtempSync(join(new URL('..', import.meta.url).pathname, '.readme-example-test-'));
    try {
      writeFileSync(
        join(dir, 'README.md'),
        "# x\n\n```ts\nthrow new Error('not this one');\n```\n\n```js\nimport { zeros } from '@normkit/core';\nconsole.log(zeros([2]).size, process.cwd() === " +
          JSON.stringify(dir) +
          ');\n```\n\n```js\nprocess.exit(3);\n```\n',
      );
      expect(runReadmeExample(dir)).toBe('2 true\n');
      writeFileSync(join(dir, 'README.md'), '```js\nprocess.exit(3);\n```\n');
      expect(() => runReadmeExample(dir)).toThrow();
      // Without a js block, the first ts block runs, transpiled (types are checked by docs-check).
      writeFileSync(join(dir, 'README.md'), "```sh\nexit 1\n```\n\n```ts\nconst n: number = 6 * 7;\nconsole.log(n);\n```\n");
      expect(runReadmeExample(dir)).toBe('42\n');
      writeFileSync(join(dir, 'README.md'), '# no example\n');
      expect(() => runReadmeExample(dir)).toThrow(/has no ```js or ```ts example/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
