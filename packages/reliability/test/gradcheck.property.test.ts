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
afterAll(() => {
  console.log(casesSummary('test/gradcheck.property.test.ts'));
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
      // Formerly skipped or tolerated here, now asserted: one element per weight-norm slice
      // (dv ≡ 0), small-norm slices (finite-difference truncation) and 2 values per
      // batch/layer-norm group (dx ≡ 0 up to eps). @normkit/gradcheck handles all three.
      const report = checkGradients(plugin, { options: c.options, shapes: [c.shape], modes: ['train', 'eval'], seed: c.seed });
      if (!report.ok) throw new Error(`gradcheck failed for ${JSON.stringify(c)}:\n${formatReport(report)}`);
    }, RUNS);
  });
});
