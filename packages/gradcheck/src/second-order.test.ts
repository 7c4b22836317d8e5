import { describe, expect, it } from 'vitest';
import { checkGradients } from './check.js';
import { assertSecondOrder, checkSecondOrder } from './second-order.js';
import { formatReport } from './report.js';
import type { GradcheckReport } from './report.js';
import { SecondOrderProblem } from './second-order-problem.js';
import type { AnyNormalizer } from './problem.js';
import { normalRng, randomNormalTensor, randomValues } from './random.js';
import { batchNorm } from '../test/fixtures/batch-norm.js';
import { SECOND_ORDER_BUGS, makeSecondOrderBatchNorm, secondOrderBatchNorm } from '../test/fixtures/second-order.js';

function failingTensors(report: GradcheckReport): string[] {
  return [...new Set(report.checks.filter((c) => !c.ok).map((c) => c.tensor))].sort();
}

function failingContracts(report: GradcheckReport): string[] {
  return [...new Set(report.contracts.filter((c) => !c.ok).map((c) => c.name))].sort();
}

describe('order 2: a correct doubleBackward passes', () => {
  it('checks x, every parameter and dy with full Jacobians of backward, in every mode and example shape', () => {
    const report = checkSecondOrder(secondOrderBatchNorm);
    expect(report.ok).toBe(true);
    expect(report.order).toBe(2);
    expect(report.skipped).toBeUndefined();
    expect([...new Set(report.checks.map((c) => c.tensor))]).toEqual(['x', 'weight', 'bias', 'dy']);
    expect([...new Set(report.checks.map((c) => c.mode))].sort()).toEqual(['eval', 'train']);
    expect(report.checks.every((c) => c.method === 'full-jacobian' && c.compared > 0)).toBe(true);
    // shape [4, 3]: backward's output is dx (12) + dweight (3) + dbias (3) = 18 values; the x slot
    // compares the 18×12 Jacobian and the 12-element gradient of S.
    const x = report.checks.find((c) => c.mode === 'train' && c.tensor === 'x' && c.shape.join('x') === '4x3')!;
    expect(x.compared).toBe(18 * 12 + 12);
    expect(x.id).toBe('test-batch-norm-2:train:o0:4x3:x');
    expect(x.message).toContain('gradient of S = Σ c⊙(dx, grads)');
    expect(report.contracts.slice(0, 10).map((c) => `${c.name}${c.variant === 'base' ? '' : ` [${c.variant}]`}`)).toEqual([
      'double-backward-determinism',
      'double-backward-purity',
      'double-backward-linearity',
      'double-backward-absent-dgrads',
      'double-backward-shapes-dtypes',
      'double-backward-float32',
      'double-backward-layout [layout:offset]',
      'double-backward-layout [layout:permuted]',
      'double-backward-layout [layout:negative-stride]',
      'forward-purity',
    ]);
    const layouts = report.contracts.filter((c) => c.name === 'double-backward-layout');
    expect(layouts.length).toBe(3 * 2 * 2); // three layouts × two modes × two example shapes
    expect(layouts[0].message).toBe('x, dy, ddx, params, dgrads, state at offset 7 in larger buffers, together and each alone, give the contiguous results');
  });

  it('has no false alarm over 100 seeds, and passes with projections only and with Richardson at 1e-8', () => {
    const failures: string[] = [];
    for (let seed = 0; seed < 100; seed++) {
      const report = checkSecondOrder(secondOrderBatchNorm, { seed });
      if (!report.ok) failures.push(`seed ${seed}: ${[...failingTensors(report), ...failingContracts(report)].join(', ')}`);
    }
    expect(failures).toEqual([]);
    const projections = checkSecondOrder(secondOrderBatchNorm, { fullJacobianMaxSize: 0 });
    expect(projections.ok).toBe(true);
    expect(projections.checks.every((c) => c.method === 'projection')).toBe(true);
    expect(checkSecondOrder(secondOrderBatchNorm, { richardson: true, rtol: 1e-8, atol: 1e-9, seed: 42 }).ok).toBe(true);
  }, 120_000); // a guard against hangs, not a speed assertion

  it('prints the report with "(order 2)" in the header and dy among the tensors', () => {
    const text = formatReport(checkSecondOrder(secondOrderBatchNorm, { shapes: [[4, 3]], modes: ['train'] }));
    expect(text.split('\n')[0]).toBe('gradcheck test-batch-norm-2@0.0.0 (order 2): PASS');
    expect(text).toMatch(/PASS\s+#0 \{"numFeatures":3\}\s+train\s+\[4,3\]\s+dy\s+full-jacobian/);
    expect(assertSecondOrder(secondOrderBatchNorm, { shapes: [[4, 3]] }).ok).toBe(true);
  });
});

describe('order 2: a planted second-order bug is caught', () => {
  it.each(SECOND_ORDER_BUGS)('catches "$bug" in exactly the slots it breaks', ({ bug, breaks }) => {
    const report = checkSecondOrder(makeSecondOrderBatchNorm(bug));
    expect(report.ok).toBe(false);
    expect(failingTensors(report)).toEqual([...breaks].sort());
    expect(failingContracts(report)).toEqual([]);
    for (const c of report.checks.filter((c) => !c.ok)) {
      expect(c.status).toBe('fail');
      expect(c.worst.length).toBeGreaterThan(0);
      expect(c.maxRelErr).toBeGreaterThan(1e-3);
    }
    // the first-order check cannot see it: backward is untouched
    expect(checkGradients(makeSecondOrderBatchNorm(bug)).ok).toBe(true);
  });

  it.each(SECOND_ORDER_BUGS)('catches "$bug" with projections only (fullJacobianMaxSize 0)', ({ bug, breaks }) => {
    const report = checkSecondOrder(makeSecondOrderBatchNorm(bug), { fullJacobianMaxSize: 0 });
    expect(report.checks.every((c) => c.method === 'projection')).toBe(true);
    expect(failingTensors(report)).toEqual([...breaks].sort());
  });

  it.each(SECOND_ORDER_BUGS)('catches "$bug" at every one of 20 seeds', ({ bug }) => {
    for (let seed = 0; seed < 20; seed++) expect(checkSecondOrder(makeSecondOrderBatchNorm(bug), { seed }).ok).toBe(false);
  });

  it('the report names the failing slot and its worst entries', () => {
    const text = formatReport(checkSecondOrder(makeSecondOrderBatchNorm('ddy-without-gamma'), { shapes: [[4, 3]], modes: ['train'] }));
    expect(text.split('\n')[0]).toBe('gradcheck test-batch-norm-2-ddy-without-gamma@0.0.0 (order 2): FAIL');
    expect(text).toMatch(/FAIL\s+#0 \{"numFeatures":3\}\s+train\s+\[4,3\]\s+dy\s+full-jacobian/);
    expect(text).toMatch(/Failures:\n\s+dy\s+#0 train \[4,3\] \(full-jacobian\): \d+ of \d+ values out of tolerance/);
  });

  it('catches a doubleBackward that mutates ddx (purity) and a ddy of the wrong shape (shapes-dtypes)', () => {
    const mutates = checkSecondOrder(makeSecondOrderBatchNorm('mutates-ddx'), { shapes: [[4, 3]] });
    expect(failingContracts(mutates)).toContain('double-backward-purity');
    expect(mutates.contracts.find((c) => c.name === 'double-backward-purity' && !c.ok)!.message).toMatch(/^doubleBackward mutated its arguments: ddx\[/);
    const shape = checkSecondOrder(makeSecondOrderBatchNorm('wrong-ddy-shape'), { shapes: [[4, 3]] });
    expect(failingTensors(shape)).toEqual([]);
    expect(failingContracts(shape)).toEqual(['double-backward-shapes-dtypes']);
    expect(shape.contracts.find((c) => !c.ok)!.message).toContain('float64: ddy has shape [12], expected [4, 3]');
  });
});

describe('order 2: blind spots an adversarial audit found, each caught now', () => {
  it('an absent dgrads must count as zero (double-backward-absent-dgrads)', () => {
    const report = checkSecondOrder(makeSecondOrderBatchNorm('absent-dgrads-as-ones'), { shapes: [[4, 3]] });
    expect(failingTensors(report)).toEqual([]);
    expect(failingContracts(report)).toEqual(['double-backward-absent-dgrads']);
    expect(report.contracts.find((c) => !c.ok)!.message).toMatch(/^dx\[\d+, \d+\]: doubleBackward without dgrads gives .*, with zero dgrads .* \(an absent entry must count as zero\)$/);
    expect(checkSecondOrder(secondOrderBatchNorm, { shapes: [[4, 3]] }).contracts.find((c) => c.name === 'double-backward-absent-dgrads')!.message).toBe(
      'doubleBackward without dgrads, or without any one entry of it, gives what zero dgrads give',
    );
    // One entry left out of a record: the same rule, caught per entry.
    const partial = checkSecondOrder(makeSecondOrderBatchNorm('absent-weight-entry-as-ones'), { shapes: [[4, 3]] });
    expect(failingContracts(partial)).toEqual(['double-backward-absent-dgrads']);
    expect(partial.contracts.find((c) => !c.ok)!.message).toMatch(/doubleBackward without dgrads\.weight gives/);
  });

  it('a doubleBackward wrong only in float32 is caught against float64 on the same values (double-backward-float32)', () => {
    const report = checkSecondOrder(makeSecondOrderBatchNorm('float32-ddy-scaled'), { shapes: [[4, 3]] });
    expect(failingTensors(report)).toEqual([]);
    expect(failingContracts(report)).toEqual(['double-backward-float32']);
    expect(report.contracts.find((c) => !c.ok)!.message).toMatch(/^ddy\[\d+, \d+\] is .* in float32, .* in float64 on the same values$/);
    expect(checkSecondOrder(secondOrderBatchNorm, { shapes: [[4, 3]] }).contracts.find((c) => c.name === 'double-backward-float32')!.ok).toBe(true);
  });

  it('doubleBackward must leave saved unchanged (double-backward-purity)', () => {
    const report = checkSecondOrder(makeSecondOrderBatchNorm('memoizes-in-saved'), { shapes: [[4, 3]] });
    expect(failingContracts(report)).toEqual(['double-backward-layout', 'double-backward-purity']);
    expect(report.contracts.find((c) => c.name === 'double-backward-purity' && !c.ok)!.message).toBe('doubleBackward mutated its arguments: saved.ddy was added');
    // The calls of the layout checks are watched too, and say so.
    for (const c of report.contracts.filter((r) => r.name === 'double-backward-layout')) expect(c.message).toContain('doubleBackward wrote to its arguments (saved.ddy was added)');
  });

  it('size large reaches a path only large shapes take, in projection mode; size example does not', () => {
    const bug = makeSecondOrderBatchNorm('large-missing-curvature');
    expect(checkSecondOrder(bug).ok).toBe(true);
    const large = checkSecondOrder(bug, { size: 'large' });
    expect(large.ok).toBe(false);
    expect(failingTensors(large)).toEqual(['x']);
    expect(large.checks.every((c) => c.size === 'large' && c.method === 'projection' && c.shape.join('x') === '67x3')).toBe(true);
    const all = checkSecondOrder(secondOrderBatchNorm, { size: 'all' });
    expect(all.ok).toBe(true);
    expect(new Set(all.checks.map((c) => c.size))).toEqual(new Set(['example', 'large']));
    expect(() => checkSecondOrder(secondOrderBatchNorm, { size: 'huge' as never })).toThrow(/config\.size/);
  });
});

describe('order 2: a plugin without doubleBackward', () => {
  it('is reported as skipped, not as a failure', () => {
    const report = checkSecondOrder(batchNorm);
    expect(report).toMatchObject({ ok: true, order: 2, checks: [], contracts: [] });
    expect(report.skipped).toBe('test-batch-norm has no doubleBackward member (the optional second-order pass): nothing to check at order 2');
    expect(formatReport(report)).toBe(
      'gradcheck test-batch-norm@0.0.0 (order 2): SKIPPED\n  test-batch-norm has no doubleBackward member (the optional second-order pass): nothing to check at order 2',
    );
  });

  it('makes assertSecondOrder throw: asserting second order of such a plugin is a mistake', () => {
    expect(() => assertSecondOrder(batchNorm)).toThrow(/SKIPPED/);
  });
});

describe('SecondOrderProblem', () => {
  it('is backward as a function of x, the parameters and dy, differentiated by doubleBackward', () => {
    const bound = (secondOrderBatchNorm as unknown as AnyNormalizer).create({ numFeatures: 3 });
    const init = bound.init('float64');
    const x = randomNormalTensor([4, 3], 1);
    const dy = randomValues(12, normalRng(2));
    const problem = new SecondOrderProblem(bound, 'train', x, init.params as never, init.state as never, dy);
    expect(problem.slots.map((s) => s.name)).toEqual(['x', 'weight', 'bias', 'dy']);
    expect(problem.yShape).toEqual([18]);
    // backward is linear in dy: the output at 2·dy is twice the output
    const doubled = problem.output(3, dy.map((v) => 2 * v));
    problem.y.forEach((v, i) => expect(doubled[i]).toBeCloseTo(2 * v, 12));
    // ⟨c, F(x, θ, dy)⟩ = ⟨∂S/∂dy, dy⟩ exactly: F is linear in dy
    const c = randomValues(18, normalRng(3));
    const ddy = problem.vjp(c)[3];
    const lhs = c.reduce((s, ci, i) => s + ci * problem.y[i], 0);
    const rhs = ddy.reduce((s, v, i) => s + v * dy[i], 0);
    expect(Math.abs(lhs - rhs)).toBeLessThan(1e-12 * Math.max(1, Math.abs(lhs)));
  });
});

describe('order 2: the layouts of the doubleBackward arguments', () => {
  it('catches a fast path chosen from dy that reads ddx as contiguous, only with ddx alone in a layout', () => {
    const report = checkSecondOrder(makeSecondOrderBatchNorm('ddx-layout-from-dy'), { shapes: [[4, 3]], modes: ['train'] });
    expect(report.ok).toBe(false);
    // The Jacobian checks run on contiguous arguments: the fast path reads them right.
    expect(report.checks.every((c) => c.ok)).toBe(true);
    const failed = report.contracts.filter((c) => !c.ok);
    expect(failed.map((c) => `${c.name}:${c.variant}`)).toEqual([
      'double-backward-layout:layout:offset',
      'double-backward-layout:layout:permuted',
      'double-backward-layout:layout:negative-stride',
    ]);
    // With every argument at an offset or reversed, dy is not a whole array and the slow path
    // reads ddx right: only ddx alone shows the bug. A permuted dy still is one, so there the
    // all-views call fails too, and the runs of each argument alone blame ddx.
    for (const c of failed.filter((f) => f.variant !== 'layout:permuted')) {
      expect(c.message).toMatch(/^\[layout [a-z-]+\] ddx alone (at offset 7 in larger buffers|with negative strides) \(the other arguments contiguous; all of them in the layout agree\): ddx: dx\[/);
    }
    expect(failed.find((f) => f.variant === 'layout:permuted')!.message).toMatch(/^\[layout permuted\] x, dy, ddx, params, dgrads, state with permuted strides: dx\[.*\(reproduced with ddx alone\)$/);
  });

  it('watches the calls on views for writes: a doubleBackward that zeroes a view ddx is caught', () => {
    const report = checkSecondOrder(makeSecondOrderBatchNorm('overwrites-view-ddx'), { shapes: [[4, 3]], modes: ['train'] });
    expect(report.ok).toBe(false);
    // Contiguous ddx (the Jacobian, purity, determinism) is never written: only the layouts see it.
    expect(report.checks.every((c) => c.ok)).toBe(true);
    const failed = report.contracts.filter((c) => !c.ok);
    expect(failed.map((c) => c.variant)).toEqual(['layout:offset', 'layout:permuted', 'layout:negative-stride']);
    for (const c of failed) expect(c.message).toContain('doubleBackward wrote to its arguments (ddx): it never writes dy, params, saved, ddx or dgrads');
  });
});
