/**
 * Invariances of the normalizers, on random shapes, strided views and options (float64):
 *
 * - batch norm (batch statistics) and layer norm: adding a constant per normalized group
 *   leaves y, dx and the parameter gradients unchanged (up to the rounding of x + c);
 * - scaling x by a with eps scaled by a² leaves y and the parameter gradients unchanged and
 *   divides dx by a (exactly, bit for bit, when a is a power of two); with the same eps the
 *   change of y is bounded by max|γ|·max|x̂|·|ε − ε/a²|/(2·min σ²);
 * - weight norm: w(a·v) = sign(a)·w(v), dv(a·v) = dv(v)/|a| without eps, and ⟨dv, v⟩ = 0 per slice.
 */
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Tensor } from '@normkit/core';
import {
  announceSeed,
  assertWithin,
  batchNormHarness,
  casesSummary,
  checkProperty,
  forEachIndex,
  layerNormHarness,
  maxAbs,
  valuesOf,
  weightNormHarness,
} from '../src/index.js';
import type { BatchNormCase, Built, Expected, Harness, LayerNormCase } from '../src/index.js';
import { isExpected, runCall } from './run.js';
import type { Outcome } from './run.js';

announceSeed('test/invariance.property.test.ts');
afterAll(() => console.log(casesSummary('test/invariance.property.test.ts')));

const RUNS = 60;

/** The normalized group of every element (row-major): channel for batch norm, row for layer norm. */
function groupsOf(h: Harness<any>, b: Built): Int32Array {
  const out = new Int32Array(b.xValues.length);
  if (h === batchNormHarness) {
    const axisOption = (b.options as { channelAxis: number }).channelAxis;
    const axis = axisOption < 0 ? axisOption + b.x.shape.length : axisOption;
    forEachIndex(b.x.shape, (i, f) => (out[f] = i[axis]));
  } else {
    const leading = b.x.shape.length - (b.options as { normalizedShape: number[] }).normalizedShape.length;
    forEachIndex(b.x.shape, (i, f) => {
      let r = 0;
      for (let k = 0; k < leading; k++) r = r * b.x.shape[k] + i[k];
      out[f] = r;
    });
  }
  return out;
}

function usesBatchStatistics(h: Harness<any>, c: BatchNormCase | LayerNormCase): boolean {
  return h !== batchNormHarness || c.mode === 'train' || !(c as BatchNormCase).trackRunningStats;
}

function compareAll(label: string, a: Outcome, b: Outcome, tol: (name: string) => number, dxFactor = 1): void {
  assertWithin(`${label} y`, a.y, b.y, tol('y'));
  assertWithin(`${label} dx`, valuesOf(a.dx).map((v) => v * dxFactor), b.dx, tol('dx'));
  for (const name of Object.keys(b.grads)) assertWithin(`${label} grads.${name}`, a.grads[name], b.grads[name], tol(`grads.${name}`));
}

function bitwiseEqual(label: string, a: Tensor | Float64Array, b: Tensor | Float64Array): void {
  const x = a instanceof Float64Array ? a : valuesOf(a);
  const y = b instanceof Float64Array ? b : valuesOf(b);
  for (let i = 0; i < x.length; i++) {
    if (!Object.is(x[i], y[i])) throw new Error(`${label}: not bitwise equal at ${i}: ${x[i]} vs ${y[i]}`);
  }
}

describe.each([
  ['batch-norm', batchNormHarness as Harness<any>],
  ['layer-norm', layerNormHarness as Harness<any>],
] as const)('%s', (name, h) => {
  const caseArb = (h.caseArb as fc.Arbitrary<BatchNormCase | LayerNormCase>).filter((c) => usesBatchStatistics(h, c));

  it('shift invariance: a constant per normalized group changes nothing', () => {
    const shiftArb = fc.record({ size: fc.constantFrom(0.5, 3, 100, 1000), seed: fc.integer({ min: 0, max: 1e9 }) });
    checkProperty(`${name}/shift`, fc.tuple(caseArb, shiftArb), ([c, s]) => {
      const b = h.build(c, { dtype: 'float64' });
      const expected = h.reference(b);
      if (!isExpected(expected)) return;
      const groups = groupsOf(h, b);
      let g = s.seed;
      const shifts = new Float64Array(Math.max(...groups) + 1).map(() => ((g = (g * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5) * 2 * s.size);
      const shifted = b.xValues.map((v, f) => v + shifts[groups[f]]);
      const a = runCall(h, h.build(c, { dtype: 'float64', xValues: shifted }));
      const base = runCall(h, b);
      // x + c rounds at 2⁻⁵³·|x + c|; through x̂ that is δ = 2⁻⁵²·(max|x| + max|c|)/√(min σ² + ε), times each result's scale.
      const delta = (16 * 2 ** -52 * (maxAbs(b.xValues) + maxAbs(shifts))) / Math.sqrt(expected.minVariance + expected.eps) + 1e-12;
      compareAll(`${name} shifted`, a, base, (n) => 8 * delta * (expected.scale[n] ?? 1));
    }, RUNS);
  });

  it('scale invariance: a·x with eps·a² is y, grads and dx/a (bitwise for powers of two)', () => {
    const scaleArb = fc.constantFrom(2, 0.5, 4, 0.25, 1024, 3, 0.1, 1000);
    checkProperty(`${name}/scale-exact`, fc.tuple(caseArb, scaleArb), ([c, a]) => {
      const b = h.build(c, { dtype: 'float64' });
      const expected = h.reference(b) as Expected;
      if (!isExpected(expected)) return;
      const base = runCall(h, b);
      const scaled = runCall(h, h.build(c, { dtype: 'float64', xValues: b.xValues.map((v) => v * a), eps: expected.eps * a * a }));
      if (Number.isInteger(Math.log2(a))) {
        bitwiseEqual(`${name} y(${a}·x)`, scaled.y, base.y);
        bitwiseEqual(`${name} ${a}·dx(${a}·x)`, valuesOf(scaled.dx).map((v) => v * a), valuesOf(base.dx));
        for (const p of Object.keys(base.grads)) bitwiseEqual(`${name} grads.${p}`, scaled.grads[p], base.grads[p]);
      } else {
        compareAll(`${name} scaled by ${a}`, scaled, base, (n) => 1e-10 * (expected.scale[n] ?? 1), a);
      }
    }, RUNS);
  });

  it('scale invariance up to eps: the same eps moves y by at most max|γ|·max|x̂|·|ε − ε/a²|/(2·min σ²)', () => {
    const scaleArb = fc.constantFrom(2, 10, 1000, 0.5);
    checkProperty(`${name}/scale-eps`, fc.tuple(caseArb, scaleArb), ([c, a]) => {
      const b = h.build(c, { dtype: 'float64' });
      const expected = h.reference(b);
      if (!isExpected(expected) || expected.minVariance < 100 * expected.eps || expected.minVariance < 100 * (expected.eps / (a * a))) return;
      const base = runCall(h, b);
      const scaled = runCall(h, h.build(c, { dtype: 'float64', xValues: b.xValues.map((v) => v * a) }));
      const gammaMax = b.params.weight === undefined ? 1 : maxAbs(valuesOf(b.params.weight));
      const xhatMax = Math.sqrt(b.xValues.length); // |x̂| ≤ √m for any group of m ≤ size values
      const bound = (gammaMax * xhatMax * Math.abs(expected.eps - expected.eps / (a * a))) / (2 * expected.minVariance) + 1e-10 * expected.scale.y;
      assertWithin(`${name} y(${a}·x) vs y(x), same eps`, scaled.y, base.y, bound);
    }, RUNS);
  });
});

describe('weight-norm', () => {
  const h = weightNormHarness;
  const noEps = h.caseArb.filter((c) => c.eps === null);

  it('w(a·v) = sign(a)·w(v) and dv(a·v) = dv(v)/|a| without eps', () => {
    checkProperty('weight-norm/scale', fc.tuple(noEps, fc.constantFrom(2, -1, 0.5, 3, -7.5, 1e3, 1e-3)), ([c, a]) => {
      const b = h.build(c, { dtype: 'float64' });
      const expected = h.reference(b);
      if (!isExpected(expected)) return;
      const base = runCall(h, b);
      const scaled = runCall(h, h.build(c, { dtype: 'float64', xValues: b.xValues.map((v) => v * a) }));
      assertWithin('w(a·v)', valuesOf(scaled.y).map((v) => v * Math.sign(a)), base.y, 1e-12 * expected.scale.y);
      assertWithin('|a|·dv(a·v)', valuesOf(scaled.dx).map((v) => v * Math.abs(a)), base.dx, 1e-12 * expected.scale.dx);
      assertWithin('dg(a·v)', valuesOf(scaled.grads.g).map((v) => v * Math.sign(a)), base.grads.g, 1e-12 * expected.scale['grads.g']);
    }, RUNS);
  });

  it('⟨dv, v⟩ = 0 per slice without eps', () => {
    checkProperty('weight-norm/orthogonal', noEps, (c) => {
      const b = h.build(c);
      const expected = h.reference(b);
      if (!isExpected(expected)) return;
      const out = runCall(h, b);
      const dim = (b.options as { dim: number | null }).dim;
      const dots = new Float64Array(dim === null ? 1 : b.x.shape[dim]);
      const norms = new Float64Array(dots.length);
      const dv = valuesOf(out.dx);
      forEachIndex(b.x.shape, (i, f) => {
        const s = dim === null ? 0 : i[dim];
        dots[s] += dv[f] * b.xValues[f];
        norms[s] += expected.scale.dx * Math.abs(b.xValues[f]); // |dv| ≤ scale.dx
      });
      const tol = (out.dx.dtype as string) === 'float32' ? 2 ** -22 : 1e-13;
      dots.forEach((d, s) => expect(Math.abs(d)).toBeLessThanOrEqual(tol * norms[s] * 8));
    }, RUNS);
  });
});
