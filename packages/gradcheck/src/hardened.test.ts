// The hardened checker: one planted bug per blind spot of the classic checks (float64,
// contiguous inputs, no `out`, one dtype, example shapes, listed modes, no state, saved
// unchecked), each caught with a message that names the variant, and the correct plugin
// passing everything at every seed.
import { describe, expect, it } from 'vitest';
import { defineNormalizer } from '@normkit/core';
import type { Mode } from '@normkit/core';
import { checkGradients } from './check.js';
import { describeVariant, formatReport } from './report.js';
import type { GradcheckReport } from './report.js';
import { FLAWS, hardenedNorm, makeHardenedNorm } from '../test/fixtures/hardened.js';
import type { HardenedTypes } from '../test/fixtures/hardened.js';

/** Every failing check: its variant as people read it, and its message. */
function failures(report: GradcheckReport): { variant: string; message: string }[] {
  return [...report.checks, ...report.contracts].filter((c) => !c.ok).map((c) => ({ variant: describeVariant(c), message: c.message }));
}

describe('the correct plugin passes the hardened checker', () => {
  it('at the example and large sizes, every variant at every shape, over 20 seeds', () => {
    const failed: string[] = [];
    for (let seed = 0; seed < 20; seed++) {
      const report = checkGradients(hardenedNorm, { seed, size: 'all', variantShapes: 'all' });
      if (!report.ok) failed.push(`seed ${seed}: ${failures(report).map((f) => f.message).join(' | ')}`);
    }
    expect(failed).toEqual([]);
  }, 120_000); // a guard against hangs, not a speed assertion

  it('runs every variant: float32 values, three input layouts and out, mixed dtypes, state, large shapes', () => {
    const report = checkGradients(hardenedNorm, { size: 'all' });
    const variants = new Set([...report.checks, ...report.contracts].map((c) => c.variant));
    expect([...variants].sort()).toEqual(['base', 'dtype:float32', 'dtype:mixed', 'layout:negative-stride', 'layout:offset', 'layout:out', 'layout:permuted', 'state'].sort());
    expect(new Set(report.checks.map((c) => c.size))).toEqual(new Set(['example', 'large']));
    const large = report.checks.filter((c) => c.size === 'large' && c.variant === 'base');
    expect(large.length).toBeGreaterThan(0);
    expect(large.every((c) => c.method === 'projection' && c.shape.join('x') === '67x3')).toBe(true);
    expect(report.contracts.filter((c) => c.variant === 'state').map((c) => c.message)).toContain(
      'the next state is the declared one (moving average (momentum 0.1) over channel axis 1: runningMean ← mean, runningVar ← unbiased-variance)',
    );
  });

  it('checks saved in backward-purity', () => {
    const purity = checkGradients(hardenedNorm).contracts.find((c) => c.name === 'backward-purity')!;
    expect(purity.message).toBe('dy, params and saved unchanged by backward');
  });
});

describe('one planted bug per blind spot, each caught with a message naming its variant', () => {
  it.each(FLAWS)('$flaw: caught by the $variant checks', ({ flaw, variant, pattern }) => {
    const size = flaw === 'large-blocked-sum' ? 'all' : 'example';
    const report = checkGradients(makeHardenedNorm(flaw), { size, variantShapes: 'all' });
    expect(report.ok).toBe(false);
    const found = failures(report);
    expect(found.length).toBeGreaterThan(0);
    for (const f of found) {
      if (flaw === 'mutates-saved') {
        // backward-purity names it; every other run of backward is watched too and says so.
        if (f.variant === '') expect(f.message).toMatch(pattern);
        else expect(f.message).toContain('backward wrote to its arguments (saved.xhat was added)');
      } else {
        expect(f.variant).toMatch(pattern);
        expect(f.message.startsWith(`[${f.variant}] `)).toBe(true);
      }
    }
    expect(found.some((f) => (flaw === 'mutates-saved' ? f.message : f.variant).includes(variant))).toBe(true);
    // For saved, the base backward-purity check itself is among the findings.
    if (flaw === 'mutates-saved') expect(found.some((f) => f.variant === '' && pattern.test(f.message))).toBe(true);
    // The classic checks (float64, contiguous, example shapes, listed modes) saw nothing wrong,
    // except for saved, which backward-purity now covers.
    const classic = [...report.checks, ...report.contracts].filter((c) => c.variant === 'base' && c.size === 'example' && c.modeListed && !c.ok);
    const names = classic.map((c) => ('name' in c ? c.name : c.tensor));
    expect(names.every((n) => n === 'backward-purity')).toBe(true);
    expect(names.length > 0).toBe(flaw === 'mutates-saved');
  });

  it('float32: the worst entries show the float32 and float64 values of dx', () => {
    const report = checkGradients(makeHardenedNorm('float32-sign-flip'), { shapes: [[4, 3]], modes: ['train'] });
    const dx = report.checks.find((c) => c.variant === 'dtype:float32' && c.tensor === 'dx')!;
    expect(dx.status).toBe('fail');
    expect(dx.method).toBe('float32');
    const worst = dx.worst[0];
    expect(worst.source).toBe('float32');
    expect(worst.analytic).toBeCloseTo(-worst.numeric, 5);
    expect(dx.message).toMatch(/^\[dtype float32\] \d+ of 12 values out of the float32 tolerance/);
    const text = formatReport(report);
    expect(text).toMatch(/source\s+index\s+y index\s+float32\s+float64\s+abs err\s+rel err/);
    expect(report.checks.filter((c) => c.variant === 'dtype:float32' && c.tensor !== 'dx').every((c) => c.ok)).toBe(true);
  });

  it('layouts: a backward that ignores the offset and strides of x fails every input layout, reproduced with x alone', () => {
    const report = checkGradients(makeHardenedNorm('ignores-layout'), { shapes: [[4, 3]], modes: ['train'] });
    const layouts = report.contracts.filter((c) => c.name === 'layout');
    expect(layouts.filter((c) => !c.ok).map((c) => c.variant)).toEqual(['layout:offset', 'layout:permuted', 'layout:negative-stride']);
    expect(layouts.find((c) => c.variant === 'layout:offset')!.message).toMatch(
      /^\[layout offset\] float64, x, dy, params, state at offset 7 in larger buffers: dx\[\d+, \d+\] is \S+, expected \S+.*\(reproduced with x alone\)$/,
    );
    expect(layouts.find((c) => c.variant === 'layout:out')!.ok).toBe(true);
  });

  it('out: writing dx from index 0 of the buffer is caught as unwritten elements and writes outside out', () => {
    const report = checkGradients(makeHardenedNorm('out-ignores-offset'), { shapes: [[4, 3]], modes: ['train'] });
    const out = report.contracts.find((c) => c.variant === 'layout:out')!;
    expect(out.ok).toBe(false);
    expect(out.message).toContain('out at offset 7: backward: 7 of the 12 elements of out were not written');
    expect(out.message).toContain('element(s) of the buffer outside out were written (the first at buffer index 0, out starts at 7)');
    // At offset 0 the same code is right.
    expect(out.message).not.toContain('out at offset 0');
  });

  it('mixed dtypes: dx in dy\'s dtype names the mix and the dtype expected', () => {
    const report = checkGradients(makeHardenedNorm('dx-in-dy-dtype'), { shapes: [[4, 3]], modes: ['train'] });
    const mixed = report.contracts.find((c) => c.variant === 'dtype:mixed')!;
    expect(mixed.message).toContain('[dtype mixed] x float64, dy float32, params float64: dx is float32, expected float64 (x\'s dtype, whatever dy\'s)');
    expect(mixed.message).toContain('x float32, dy float64, params float32: dx is float64, expected float32');
  });

  it('mixed dtypes: a plugin that declares the contract rule is checked to refuse parameters of another dtype with E_DTYPE', () => {
    const report = checkGradients(hardenedNorm, { shapes: [[4, 3]], modes: ['train'] });
    expect(report.contracts.find((c) => c.variant === 'dtype:mixed')!.message).toBe(
      'declared: dy either, params same-as-x; 2 accepted mixes give x\'s dtype for y and dx and the float64 values, 4 refused mixes throw E_DTYPE and change nothing',
    );
  });

  it('sizes: the blocked path is wrong only at the large shape, in projection mode', () => {
    const example = checkGradients(makeHardenedNorm('large-blocked-sum'));
    expect(example.ok).toBe(true);
    const large = checkGradients(makeHardenedNorm('large-blocked-sum'), { size: 'large' });
    const failed = large.checks.filter((c) => !c.ok);
    expect(failed.map((c) => `${c.mode}:${c.tensor}:${c.method}`)).toEqual(['train:x:projection']);
    expect(failed[0].message).toMatch(/^\[size large\] /);
  });

  it('modes: an unlisted eval mode is checked, and its wrong gradient is reported as such', () => {
    const report = checkGradients(makeHardenedNorm('eval-unlisted'));
    const failed = report.checks.filter((c) => !c.ok);
    expect(new Set(failed.map((c) => `${c.mode}:${c.modeListed}`))).toEqual(new Set(['eval:false']));
    expect(failed.find((c) => c.tensor === 'x')!.message).toMatch(/^\[mode eval \(not in plugin\.modes\)\] /);
    // With only the listed modes, as before, nothing fails.
    expect(checkGradients(makeHardenedNorm('eval-unlisted'), { modes: ['train'] }).ok).toBe(true);
  });

  it('modes: a false modeIndependent claim is caught on the example inputs', () => {
    const report = checkGradients(makeHardenedNorm('false-mode-claim'));
    const claim = report.contracts.filter((c) => c.name === 'mode-identity');
    expect(claim.length).toBeGreaterThan(0);
    expect(claim.every((c) => !c.ok)).toBe(true);
    expect(claim[0].message).toMatch(/^\[mode eval \(not in plugin\.modes\), mode identity\] the plugin declares modeIndependent, but y\[[\d, ]+\] is \S+ in train mode, \S+ in eval mode/);
    expect(report.checks.every((c) => c.mode === 'train')).toBe(true);
  });

  it('state: a reference implementation shipped by the plugin is checked against forward in float64', () => {
    const good = checkGradients(makeHardenedNorm(undefined, 'reference'), { shapes: [[4, 3], [2, 3, 3]], variantShapes: 'all' });
    expect(good.ok).toBe(true);
    const state = good.contracts.filter((c) => c.name === 'state-update' && c.mode === 'train');
    expect(state.map((c) => c.message)).toEqual([
      "the next state is the declared one (the plugin's reference state update)",
      "the next state is the declared one (the plugin's reference state update)",
    ]);
    const bad = checkGradients(makeHardenedNorm('biased-running-var', 'reference'), { shapes: [[4, 3]] });
    expect(bad.contracts.find((c) => c.name === 'state-update' && !c.ok)!.message).toMatch(
      /^\[state\] state\.runningVar\[0\] is \S+, declared \S+ \(declared: the plugin's reference state update\)$/,
    );
  });

  it('state without a declaration: eval must still return the state it was given', () => {
    const good = checkGradients(makeHardenedNorm(undefined, 'none'), { shapes: [[4, 3], [2, 3, 3]], variantShapes: 'all' });
    expect(good.ok).toBe(true);
    expect(good.contracts.filter((c) => c.name === 'state-update')).toEqual([]);
    const evalState = good.contracts.filter((c) => c.name === 'eval-state');
    expect(evalState.map((c) => `${c.mode}:${c.status}`)).toEqual(['eval:pass', 'eval:pass']);
    expect(evalState[0].message).toBe('eval returned the state unchanged (no state update declared)');
    const bad = checkGradients(makeHardenedNorm('eval-updates-undeclared'), { shapes: [[4, 3]] });
    const caught = bad.contracts.filter((c) => c.name === 'eval-state');
    expect(caught.map((c) => `${c.mode}:${c.status}`)).toEqual(['eval:fail']);
    expect(caught[0].message).toMatch(/^\[state\] state\.runningMean\[0\] is \S+, expected \S+ \(eval returns the state handed in\) \(no state update declared\)$/);
  });

  /** The fixture, undeclared, with eval running train's computation (its state update too). */
  function evalIsTrain(modes: readonly Mode[], modeIndependent: boolean) {
    const base = makeHardenedNorm(undefined, 'none');
    return defineNormalizer<HardenedTypes>({
      meta: { ...base.meta, name: 'test-eval-is-train' },
      modes: [...modes],
      exampleOptions: base.exampleOptions,
      resolveOptions: (input) => base.resolveOptions(input),
      bind(o) {
        const bound = base.create(o);
        const asTrain = (mode: Mode): Mode => (mode === 'eval' ? 'train' : mode);
        return {
          paramShapes: () => bound.paramShapes(),
          stateShapes: () => bound.stateShapes(),
          init: (dtype) => bound.init(dtype),
          exampleShapes: () => bound.exampleShapes(),
          dtypes: bound.dtypes,
          ...(modeIndependent ? { modeIndependent: true } : {}),
          forward: (args) => bound.forward({ ...args, mode: asTrain(args.mode) }),
          backward: (args) => bound.backward(args),
        };
      },
    });
  }

  it.each([
    ['eval is not one of plugin.modes', ['train'], false],
    ['modeIndependent: eval computes what train computes, state included', ['train', 'eval'], true],
  ] as const)('state without a declaration, no eval-state check when %s', (_, modes, modeIndependent) => {
    const report = checkGradients(evalIsTrain(modes, modeIndependent), { shapes: [[4, 3]] });
    expect(report.ok).toBe(true);
    expect(report.contracts.filter((c) => c.name === 'eval-state')).toEqual([]);
    // The same plugin claiming an eval mode of its own (listed, no modeIndependent) is caught.
    const caught = checkGradients(evalIsTrain(['train', 'eval'], false), { shapes: [[4, 3]] }).contracts.filter((c) => c.name === 'eval-state');
    expect(caught.map((c) => c.status)).toEqual(['fail']);
  });

  it.each([
    ['biased-running-var', /^\[state\] state\.runningVar\[0\] is \S+, declared \S+ \(declared: moving average/],
    ['momentum-swapped', /^\[state\] state\.runningMean\[0\] is \S+, declared \S+; state\.runningVar\[0\] is \S+, declared \S+ \(declared/],
  ] as const)('state: %s', (flaw, message) => {
    const report = checkGradients(makeHardenedNorm(flaw), { shapes: [[4, 3]] });
    const state = report.contracts.filter((c) => c.name === 'state-update');
    expect(state.map((c) => `${c.mode}:${c.status}`)).toEqual(['train:fail', 'eval:pass']);
    expect(state[0].message).toMatch(message);
    expect(state[1].message).toBe('eval returned the state unchanged');
  });
});
