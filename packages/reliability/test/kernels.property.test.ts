/**
 * Properties every built-in plugin's kernels must have, for random ranks, shapes (sizes 1
 * and primes), strided views (transposed, sliced, stepped, reversed, offset), dtypes,
 * valid options and both modes:
 *
 * 1. the fast kernel equals the plain-loop float64 reference (forward, backward, state, and
 *    for the plugins on core's engine the saved per-group center and 1/√(σ² + ε));
 * 2. a strided view gives what its contiguous copy gives;
 * 3. float32 tracks float64 when the variance is ≫ eps;
 * 4. outputs are finite for finite inputs of any magnitude a dtype holds comfortably.
 *
 * Tolerances (see src/compare.ts): float64 1e-10 and float32 output 4 ulps relative to
 * the scale of each computation; strided vs contiguous 1e-12 (float32: 2 ulps);
 * float32 vs float64 1e-4.
 */
import { afterAll, describe, it } from 'vitest';
import fc from 'fast-check';
import { dtypeOf } from '@normkit/core';
import type { Tensor } from '@normkit/core';
import {
  HARNESSES,
  RTOL_F32_VS_F64,
  RTOL_STRIDED,
  RTOL_STRIDED_F32,
  announceSeed,
  casesSummary,
  checkProperty,
  drawValues,
  drawValues64,
  maxAbs,
  rtolFor,
  valuesOf,
} from '../src/index.js';
import type { Harness } from '../src/index.js';
import { checkShapesAndDtypes, compareOutcome, compareSaved, expectThrows, isExpected, runCall } from './run.js';

announceSeed('test/kernels.property.test.ts');
afterAll(() => console.log(casesSummary('test/kernels.property.test.ts')));

const RUNS = { reference: 120, strided: 80, float32: 60, finite: 60 };

describe.each(HARNESSES.map((h) => [h.name, h as Harness<unknown>] as const))('%s', (name, h) => {
  it('fast kernel = plain-loop reference, forward and backward, both modes (1e-10 of scale in float64)', () => {
    checkProperty(`${name}/reference`, h.caseArb, (c) => {
      const b = h.build(c);
      const expected = h.reference(b);
      if (!isExpected(expected)) {
        expectThrows(h, b, expected.throws);
        return;
      }
      const out = runCall(h, b);
      checkShapesAndDtypes(h, b, out);
      compareOutcome(name, out, expected, (_n, t) => rtolFor(t), expected.scale, b);
      if (expected.saved !== undefined) compareSaved(name, out.saved, b, expected.saved);
      if (expected.state !== null && dtypeOf(out.state.numBatchesTracked) !== 'float64') throw new Error('numBatchesTracked must stay float64');
    }, RUNS.reference);
  });

  it('a strided view gives what its contiguous copy gives', () => {
    checkProperty(`${name}/strided`, h.caseArb, (c) => {
      const strided = h.build(c);
      const contiguous = h.build(c, { contiguous: true });
      const expected = h.reference(contiguous);
      if (!isExpected(expected)) {
        expectThrows(h, strided, expected.throws);
        return;
      }
      const a = runCall(h, strided);
      const b = runCall(h, contiguous);
      const tol = (_n: string, t: Tensor): number => (dtypeOf(t) === 'float32' ? RTOL_STRIDED_F32 : RTOL_STRIDED);
      compareOutcome(`${name} strided vs contiguous`, a, { ...b, state: expected.state === null ? null : b.state }, tol, expected.scale, strided);
    }, RUNS.strided);
  });

  it('float32 tracks float64 within 1e-4 of scale when the variance is ≫ eps', () => {
    checkProperty(`${name}/float32`, h.caseArb, (c) => {
      const b64 = h.build(c, { dtype: 'float64' });
      const expected = h.reference(b64);
      if (!isExpected(expected) || expected.minVariance < 100 * expected.eps) return;
      const out32 = runCall(h, h.build(c, { dtype: 'float32' }));
      const out64 = runCall(h, b64);
      compareOutcome(`${name} float32 vs float64`, out32, { ...out64, state: expected.state === null ? null : out64.state }, () => RTOL_F32_VS_F64, expected.scale, null);
    }, RUNS.float32);
  });

  it('outputs are finite for finite inputs with variance ≫ eps, across each dtype’s range', () => {
    // float32 data: magnitudes up to 1e30 (squares stay finite in the float64 accumulators);
    // float64 data: up to 1e150 (squares up to 1e300). See the regression file for beyond.
    const magnitude = fc.record({
      exponent: fc.integer({ min: -3, max: 30 }),
      offset: fc.constantFrom(0, 1, -10, 1000),
      seed: fc.integer({ min: 0, max: 0x7fffffff }),
      wide: fc.boolean(),
    });
    checkProperty(`${name}/finite`, fc.tuple(h.caseArb, magnitude), ([c, m]) => {
      const probe = h.build(c);
      const n = probe.xValues.length;
      const float64 = dtypeOf(probe.x) === 'float64';
      const exponent = float64 && m.wide ? m.exponent * 5 : m.exponent; // up to 1e150 for float64
      const scale = 10 ** exponent;
      const xValues = float64 ? drawValues64(n, { seed: m.seed, center: m.offset * scale, scale }) : drawValues(n, { seed: m.seed, center: m.offset * scale, scale });
      const b = h.build(c, { xValues });
      const expected = h.reference(b);
      if (!isExpected(expected)) return;
      if (expected.minVariance < 100 * expected.eps) return;
      // A training batch whose running statistics would overflow a float32 state is refused
      // (E_NONFINITE, nothing changes) rather than stored as Infinity.
      const overflowsState = Object.values(expected.state ?? {}).some((values) => maxAbs(values) > 3.4028234663852886e38);
      if (overflowsState && Object.values(b.state as Record<string, Tensor>).some((t) => dtypeOf(t) === 'float32')) {
        expectThrows(h, b, 'E_NONFINITE');
        return;
      }
      const out = runCall(h, b);
      const pairs: [string, Tensor, ArrayLike<number>][] = [
        ['y', out.y, expected.y],
        ['dx', out.dx, expected.dx],
        ...Object.entries(expected.grads).map(([k, e]) => [`grads.${k}`, out.grads[k], e] as [string, Tensor, ArrayLike<number>]),
        ...Object.entries(expected.state ?? {}).map(([k, e]) => [`state.${k}`, out.state[k], e] as [string, Tensor, ArrayLike<number>]),
      ];
      for (const [what, t, e] of pairs) {
        // Only where the scale of the computation fits the output's dtype (a float32 gradient
        // of 1e40, or a float32 rounding residual of a 1e55 cancellation, cannot).
        const limit = dtypeOf(t) === 'float32' ? 1e37 : 1e300;
        if (!(Math.max(expected.scale[what] ?? 0, maxAbs(e)) < limit)) continue;
        const actual = valuesOf(t);
        for (let i = 0; i < e.length; i++) {
          if (!Number.isFinite(actual[i])) {
            throw new Error(`${name}: ${what}[${i}] = ${actual[i]} for finite x of magnitude 1e${exponent} (${dtypeOf(b.x)}); the reference gives ${e[i]}`);
          }
        }
      }
    }, RUNS.finite);
  });
});
