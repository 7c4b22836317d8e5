/**
 * The gradient checker (`@normkit/gradcheck`) over random small shapes, valid options and
 * seeds, for every built-in plugin and both modes: the hand-written backward passes must
 * agree with finite differences, and the checker must raise no false alarm.
 */
import { afterAll, describe, it } from 'vitest';
import fc from 'fast-check';
import { batchNorm } from '@normkit/batch-norm';
import type { Normalizer } from '@normkit/core';
import { checkGradients, formatReport } from '@normkit/gradcheck';
import { layerNorm } from '@normkit/layer-norm';
import { weightNorm, weightNormLinear } from '@normkit/weight-norm';
import { announceSeed, casesSummary, checkProperty, shapeArb, sizeArb } from '../src/index.js';

announceSeed('test/gradcheck.property.test.ts');
const truncationAlarms: string[] = [];
const zeroSumAlarms: string[] = [];
afterAll(() => {
  console.log(casesSummary('test/gradcheck.property.test.ts'));
  if (zeroSumAlarms.length > 0) console.log(`[normkit reliability] gradcheck: ${zeroSumAlarms.length} zero-sum false alarm(s) with 2 values per group: ${zeroSumAlarms.join(' ')}`);
  if (truncationAlarms.length > 0) console.log(`[normkit reliability] gradcheck: ${truncationAlarms.length} finite-difference truncation false alarm(s) cleared by Richardson: ${truncationAlarms.join(' ')}`);
});

const RUNS = 60;
const seedArb = fc.integer({ min: 0, max: 0x7fffffff });

interface GradcheckCase {
  readonly options: object;
  readonly shape: number[];
  readonly seed: number;
}

const batchNormCases: fc.Arbitrary<GradcheckCase> = shapeArb(2, 4, 48).chain((shape) =>
  fc.record({
    shape: fc.constant(shape),
    seed: seedArb,
    options: fc.integer({ min: 0, max: shape.length - 1 }).chain((axis) =>
      fc.record({
        numFeatures: fc.constant(shape[axis]),
        channelAxis: fc.constantFrom(axis, axis - shape.length),
        eps: fc.constantFrom(1e-5, 1e-3, 0.1),
        momentum: fc.constantFrom(0.1, null, 1),
        affine: fc.boolean(),
        trackRunningStats: fc.boolean(),
      }),
    ),
  }),
);

const layerNormCases: fc.Arbitrary<GradcheckCase> = shapeArb(1, 4, 48).chain((shape) =>
  fc.record({
    shape: fc.constant(shape),
    seed: seedArb,
    options: fc.integer({ min: 1, max: shape.length }).chain((d) =>
      fc.record({
        normalizedShape: fc.constant(shape.slice(shape.length - d)),
        eps: fc.constantFrom(1e-5, 1e-3, 0.1),
        elementwiseAffine: fc.boolean(),
        bias: fc.boolean(),
      }),
    ),
  }),
);

const weightNormCases: fc.Arbitrary<GradcheckCase> = shapeArb(1, 4, 48).chain((shape) =>
  fc.record({
    shape: fc.constant(shape),
    seed: seedArb,
    options: fc.record({
      shape: fc.constant(shape),
      dim: fc.oneof(fc.constant(null), fc.integer({ min: -shape.length, max: shape.length - 1 })),
      eps: fc.constantFrom(null, 1e-3),
    }),
  }),
);

const linearCases: fc.Arbitrary<GradcheckCase> = fc.tuple(shapeArb(1, 3, 24), sizeArb, fc.boolean(), fc.constantFrom(null, 1e-3), seedArb).map(
  ([shape, outFeatures, bias, eps, seed]) => ({ shape, seed, options: { inFeatures: shape[shape.length - 1], outFeatures, bias, eps, seed } }),
);

/** Does every weight-norm slice (or every row of v) hold a single element, so that dv ≡ 0? */
function oneElementSlices(name: string, c: GradcheckCase): boolean {
  const size = c.shape.reduce((a, b) => a * b, 1);
  if (name === 'weight-norm') {
    const dim = (c.options as { dim: number | null }).dim;
    const slices = dim === null ? 1 : c.shape[dim < 0 ? dim + c.shape.length : dim];
    return size / slices === 1;
  }
  if (name === 'weight-norm-linear') return (c.options as { inFeatures: number }).inFeatures === 1;
  return false;
}

/** Values per normalized group (batch norm: per channel; layer norm: per row). */
function groupSize(name: string, c: GradcheckCase): number {
  const size = c.shape.reduce((a, b) => a * b, 1);
  if (name === 'batch-norm') return size / (c.options as { numFeatures: number }).numFeatures;
  if (name === 'layer-norm') return (c.options as { normalizedShape: number[] }).normalizedShape.reduce((a, b) => a * b, 1);
  return Infinity;
}

const CASES: readonly [string, Normalizer<any>, fc.Arbitrary<GradcheckCase>][] = [
  ['batch-norm', batchNorm, batchNormCases],
  ['layer-norm', layerNorm, layerNormCases],
  ['weight-norm', weightNorm, weightNormCases],
  ['weight-norm-linear', weightNormLinear, linearCases],
];

describe.each(CASES)('%s', (name, plugin, cases) => {
  it('checkGradients passes on random small shapes, options and seeds, in both modes', () => {
    checkProperty(`${name}/gradcheck`, cases, (c) => {
      if (name === 'batch-norm') {
        const o = c.options as { numFeatures: number };
        if (c.shape.reduce((a, b) => a * b, 1) / o.numFeatures <= 1) return; // E_DEGENERATE: tested in the bad-input table
      }
      // KNOWN FALSE ALARM (see regressions.test.ts, "gradcheck linearity false alarm ..."):
      // with one element per weight-norm slice, dv ≡ 0 and the linearity check compares
      // rounding noise with 0. Skipped here until @normkit/gradcheck is fixed.
      if (oneElementSlices(name, c)) return;
      const config = { options: c.options, shapes: [c.shape], modes: ['train', 'eval'] as const, seed: c.seed };
      const report = checkGradients(plugin, config);
      if (report.ok) return;
      // KNOWN FALSE ALARM (regressions.test.ts, "gradcheck truncation false alarm ..."): central
      // differences with h = ∛ε·max(1, |v|) are too coarse when a weight-norm slice has a small
      // norm. A failure that Richardson extrapolation clears is counted, not failed.
      // KNOWN FALSE ALARM (regressions.test.ts, "gradcheck zero-sum false alarm ..."): with 2 values
      // per group, dx ≡ 0 up to eps and the zero-sum bound (1e-8·Σ|dx|) is below the rounding
      // of terms of size |dy·γ·invStd|.
      const onlyZeroSum = report.checks.every((t) => t.ok) && report.contracts.every((k) => k.ok || (k.name === 'invariant' && /zero-sum/.test(k.message)));
      if (onlyZeroSum && groupSize(name, c) <= 2) {
        zeroSumAlarms.push(JSON.stringify(c));
        return;
      }
      if (checkGradients(plugin, { ...config, richardson: true }).ok) {
        truncationAlarms.push(JSON.stringify(c));
        return;
      }
      throw new Error(`gradcheck failed for ${JSON.stringify(c)} (with and without Richardson):\n${formatReport(report)}`);
    }, RUNS);
  });
});
