import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as builtCore from '@normkit/core';
import { layView, normalValues, readView, worstError } from '../../test/views.js';
import { NormkitError } from '../errors.js';
import type { MomentsCall, NormalizeCellsCall } from './calls.js';
import {
  KERNEL_NAMES,
  TYPESCRIPT_BACKEND,
  kernelBackendsEnabled,
  listKernelRegistrations,
  registerKernel,
  resetKernelRegistry,
  setKernelBackendsEnabled,
  unregisterBackend,
} from './kernel-registry.js';
import { momentsKernel } from './kernels/moments.js';
import { batchStatistics, normalizeForward, runKernel } from './ops.js';
import { planNormalization } from './plan.js';

// Each test starts from an empty registry with backends on (even under NORMKIT_KERNELS=typescript).
beforeEach(() => resetKernelRegistry());
afterEach(() => resetKernelRegistry());

/** A moments call on a small (4, 3) input, statistics per column. */
function momentsCall(): MomentsCall {
  const plan = planNormalization([4, 3], [1], null);
  const x = layView([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [4, 3], 'contiguous');
  return { x, plan, centered: true, mean: new Float64Array(3), variance: new Float64Array(3) };
}

/** An implementation that records its name and declines (writes nothing). */
function declining(log: string[], name: string): (call: MomentsCall) => boolean {
  return () => {
    log.push(name);
    return false;
  };
}

/** An implementation that records its name and handles the call by writing a marker value. */
function handling(log: string[], name: string, marker: number): (call: MomentsCall) => boolean {
  return (call) => {
    log.push(name);
    call.mean.fill(marker);
    call.variance.fill(marker);
    return true;
  };
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof NormkitError ? e.code : `not a NormkitError: ${String(e)}`;
  }
  return undefined;
}

describe('kernel registry', () => {
  it('without registrations runs the TypeScript implementation', () => {
    const call = momentsCall();
    expect(runKernel('moments', call)).toBe(TYPESCRIPT_BACKEND);
    expect(TYPESCRIPT_BACKEND).toBe('typescript');
    // columns 1,4,7,10 / 2,5,8,11 / 3,6,9,12: means 5.5, 6.5, 7.5; biased variance 11.25
    expect(Array.from(call.mean)).toEqual([5.5, 6.5, 7.5]);
    expect(Array.from(call.variance)).toEqual([11.25, 11.25, 11.25]);
  });

  it('tries implementations by descending priority; a decline falls through, and on a tie the later registration runs first', () => {
    const log: string[] = [];
    registerKernel({ kernel: 'moments', backend: 'low', priority: 1, run: declining(log, 'low') });
    registerKernel({ kernel: 'moments', backend: 'high', priority: 10, run: declining(log, 'high') });
    registerKernel({ kernel: 'moments', backend: 'mid-first', priority: 5, run: declining(log, 'mid-first') });
    registerKernel({ kernel: 'moments', backend: 'mid-second', priority: 5, run: declining(log, 'mid-second') });
    expect(listKernelRegistrations('moments').map((r) => r.backend)).toEqual(['high', 'mid-second', 'mid-first', 'low']);
    const call = momentsCall();
    expect(runKernel('moments', call)).toBe('typescript');
    expect(log).toEqual(['high', 'mid-second', 'mid-first', 'low']);
    // every implementation declined: the TypeScript result
    expect(Array.from(call.mean)).toEqual([5.5, 6.5, 7.5]);
  });

  it('stops at the first implementation that handles the call; the TypeScript one does not run', () => {
    const log: string[] = [];
    registerKernel({ kernel: 'moments', backend: 'declines', priority: 3, run: declining(log, 'declines') });
    registerKernel({ kernel: 'moments', backend: 'handles', priority: 2, run: handling(log, 'handles', 42) });
    registerKernel({ kernel: 'moments', backend: 'never', priority: 1, run: handling(log, 'never', -1) });
    const call = momentsCall();
    expect(runKernel('moments', call)).toBe('handles');
    expect(log).toEqual(['declines', 'handles']);
    expect(Array.from(call.mean)).toEqual([42, 42, 42]);
    // registrations are per kernel: another kernel still runs its TypeScript implementation
    const plan = planNormalization([4, 3], [1], [1]);
    if (plan.affine.kind !== 'cells') throw new Error('expected cells');
    const x = layView([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [4, 3], 'contiguous');
    const y = layView(new Float64Array(12), [4, 3], 'contiguous');
    const cellsCall: NormalizeCellsCall = { x, y, plan, cells: plan.affine, center: new Float64Array(3), scale: new Float64Array(3).fill(2), shift: new Float64Array(3) };
    expect(runKernel('normalizeCells', cellsCall)).toBe('typescript');
    expect(readView(y)[11]).toBe(24);
  });

  it('removes one registration with the function registerKernel returns, and a whole backend with unregisterBackend', () => {
    const log: string[] = [];
    const off = registerKernel({ kernel: 'moments', backend: 'a', priority: 2, run: handling(log, 'a', 1) });
    registerKernel({ kernel: 'moments', backend: 'b', priority: 1, run: handling(log, 'b', 2) });
    registerKernel({ kernel: 'normalizeCells', backend: 'b', priority: 1, run: () => false });
    expect(runKernel('moments', momentsCall())).toBe('a');
    off();
    expect(runKernel('moments', momentsCall())).toBe('b');
    expect(listKernelRegistrations().map((r) => `${r.kernel}:${r.backend}`).sort()).toEqual(['moments:b', 'normalizeCells:b']);
    expect(unregisterBackend('b')).toBe(2);
    expect(unregisterBackend('b')).toBe(0);
    expect(listKernelRegistrations()).toEqual([]);
    expect(runKernel('moments', momentsCall())).toBe('typescript');
  });

  it('resetKernelRegistry empties the registry and re-enables backends', () => {
    registerKernel({ kernel: 'moments', backend: 'x', priority: 0, run: () => true });
    setKernelBackendsEnabled(false);
    resetKernelRegistry();
    expect(listKernelRegistrations()).toEqual([]);
    expect(kernelBackendsEnabled()).toBe(true);
  });

  it('setKernelBackendsEnabled(false) forces the TypeScript implementations without forgetting the registrations', () => {
    const log: string[] = [];
    registerKernel({ kernel: 'moments', backend: 'fast', priority: 1, run: handling(log, 'fast', 7) });
    setKernelBackendsEnabled(false);
    expect(kernelBackendsEnabled()).toBe(false);
    const call = momentsCall();
    expect(runKernel('moments', call)).toBe('typescript');
    expect(log).toEqual([]);
    expect(Array.from(call.mean)).toEqual([5.5, 6.5, 7.5]);
    setKernelBackendsEnabled(true);
    expect(runKernel('moments', momentsCall())).toBe('fast');
    expect(log).toEqual(['fast']);
  });

  it('sees a registration made by another copy of @normkit/core (the built package) through the Symbol.for global', () => {
    const log: string[] = [];
    // The dist build is a second copy of the module: its own functions, the same global registry.
    expect(builtCore.registerKernel).not.toBe(registerKernel);
    const off = builtCore.registerKernel({ kernel: 'moments', backend: 'other-copy', priority: 1, run: handling(log, 'other-copy', 3) });
    expect(runKernel('moments', momentsCall())).toBe('other-copy');
    // and the global object is where both copies look
    const holder = globalThis as unknown as Record<symbol, { version: number; byKernel: Map<string, { backend: string }[]> } | undefined>;
    const state = holder[Symbol.for('@normkit/core:kernel-registry')];
    expect(state?.version).toBe(1);
    expect(state?.byKernel.get('moments')?.map((r) => r.backend)).toEqual(['other-copy']);
    // this copy's switches act on the other copy's registrations, and the other way round
    builtCore.setKernelBackendsEnabled(false);
    expect(kernelBackendsEnabled()).toBe(false);
    expect(runKernel('moments', momentsCall())).toBe('typescript');
    setKernelBackendsEnabled(true);
    off();
    expect(runKernel('moments', momentsCall())).toBe('typescript');
    expect(log).toEqual(['other-copy']);
  });

  it('a backend that handles float32 only: float64 calls fall through, and the results agree', () => {
    const handled: string[] = [];
    registerKernel({
      kernel: 'moments',
      backend: 'float32-only',
      priority: 1,
      run: (call) => {
        if (!(call.x.data instanceof Float32Array)) return false;
        handled.push('float32');
        momentsKernel(call);
        return true;
      },
    });
    const values = normalValues(24, 3);
    const plan = planNormalization([6, 4], [1], null);
    const s32 = batchStatistics(layView(values, [6, 4], 'contiguous', 'float32'), plan, true, 1e-5);
    const s64 = batchStatistics(layView(values, [6, 4], 'contiguous', 'float64'), plan, true, 1e-5);
    expect(handled).toEqual(['float32']);
    // float32-exact values: the same statistics either way
    expect(worstError(s32.center, s64.center)).toBeLessThan(1e-15);
    expect(worstError(s32.variance, s64.variance)).toBeLessThan(1e-15);
    // normalizeForward goes through the registry too: a registered normalizeCells sees its call
    const seen: string[] = [];
    registerKernel({ kernel: 'normalizeCells', backend: 'spy', priority: 1, run: (call) => (seen.push(call.cells.kind), false) });
    const planAffine = planNormalization([6, 4], [1], [1]);
    const y = layView(new Float64Array(24), [6, 4], 'contiguous');
    normalizeForward(layView(values, [6, 4], 'contiguous'), planAffine, s64, null, null, y);
    expect(seen).toEqual(['cells']);
  });

  it('starts with backends off when NORMKIT_KERNELS=typescript is set as the registry is created', () => {
    const key = Symbol.for('@normkit/core:kernel-registry');
    const holder = globalThis as unknown as Record<symbol, unknown>;
    const saved = holder[key];
    const env = process.env.NORMKIT_KERNELS;
    try {
      delete holder[key];
      process.env.NORMKIT_KERNELS = 'typescript';
      expect(kernelBackendsEnabled()).toBe(false);
      delete holder[key];
      delete process.env.NORMKIT_KERNELS;
      expect(kernelBackendsEnabled()).toBe(true);
    } finally {
      holder[key] = saved;
      if (env === undefined) delete process.env.NORMKIT_KERNELS;
      else process.env.NORMKIT_KERNELS = env;
    }
  });

  it('refuses an unknown kernel, an empty backend name, a non-finite priority or a non-function (E_REGISTRY)', () => {
    expect(KERNEL_NAMES).toEqual([
      'normalizeBatch',
      'backwardCells',
      'moments',
      'normalizeCells',
      'normalizeRows',
      'gradientSums',
      'inputGradient',
      'backwardRows',
      'doubleBackwardSums',
      'doubleBackwardInput',
      'doubleBackwardRows',
    ]);
    expect(codeOf(() => registerKernel({ kernel: 'mean' as never, backend: 'b', priority: 0, run: () => false }))).toBe('E_REGISTRY');
    expect(codeOf(() => registerKernel({ kernel: 'moments', backend: '', priority: 0, run: () => false }))).toBe('E_REGISTRY');
    expect(codeOf(() => registerKernel({ kernel: 'moments', backend: 'b', priority: Number.NaN, run: () => false }))).toBe('E_REGISTRY');
    expect(codeOf(() => registerKernel({ kernel: 'moments', backend: 'b', priority: 0, run: 'fast' as never }))).toBe('E_REGISTRY');
    expect(listKernelRegistrations()).toEqual([]);
  });
});
