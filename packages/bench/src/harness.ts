import { performance } from 'node:perf_hooks';

/** How long and how often to measure one (workload, impl) pair. */
export interface HarnessOptions {
  /** Warm-up: keep calling until this much time has passed (at least `warmupCalls` calls). */
  readonly warmupMs: number;
  /** Warm-up calls at least. */
  readonly warmupCalls: number;
  /** A sample repeats the call until it lasts at least this long (one call when a call is slower). */
  readonly minSampleMs: number;
  /** Samples at least, whatever the budget (slow peers still get this many). */
  readonly minSamples: number;
  /** Samples at most. */
  readonly maxSamples: number;
  /** Stop sampling after this much time (once `minSamples` are in). */
  readonly budgetMs: number;
  /**
   * Stable when, with at least `stableAfter` samples, the median moved by less than this
   * fraction over the last `stableWindow` samples.
   */
  readonly stableTolerance: number;
  /** Samples needed before stability is tested. */
  readonly stableAfter: number;
  /** How many recent samples the stability test looks back over. */
  readonly stableWindow: number;
}

/** Defaults of a full run: ≥ 300 ms warm-up, ≥ 20 ms samples, 3 to 41 of them, ~4 s of sampling per pair. */
export const FULL_HARNESS: HarnessOptions = {
  warmupMs: 300,
  warmupCalls: 1,
  minSampleMs: 20,
  minSamples: 3,
  maxSamples: 41,
  budgetMs: 4000,
  stableTolerance: 0.01,
  stableAfter: 9,
  stableWindow: 4,
};

/** `--quick`: one warm-up call, one or two short samples. */
export const QUICK_HARNESS: HarnessOptions = {
  warmupMs: 0,
  warmupCalls: 1,
  minSampleMs: 1,
  minSamples: 1,
  maxSamples: 2,
  budgetMs: 50,
  stableTolerance: 0.01,
  stableAfter: 2,
  stableWindow: 1,
};

/** The timing of one (workload, impl) pair. */
export interface Measurement {
  /** The median over samples of the time per call, in ms. */
  readonly medianMs: number;
  /** The fastest sample's time per call, in ms. */
  readonly minMs: number;
  /** Time per call of each sample, in ms, in the order taken. */
  readonly samplesMs: readonly number[];
  /** Calls per sample. */
  readonly callsPerSample: number;
  /** Whether the stop was for a stable median (otherwise budget or sample cap). */
  readonly stable: boolean;
}

/** The median of a list (mean of the middle two for even lengths). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = values.slice().sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Runs `calls` calls of `fn`, awaiting each when the function is asynchronous. */
async function callRepeatedly(fn: () => void | Promise<void>, calls: number, isAsync: boolean): Promise<void> {
  if (isAsync) {
    for (let i = 0; i < calls; i++) await fn();
  } else {
    for (let i = 0; i < calls; i++) fn();
  }
}

/** Something to time: one call, and an optional hook run before each sample, outside the timing. */
export interface Timed {
  /** One call of the workload (awaited when it returns a promise). */
  readonly run: () => void | Promise<void>;
  /** Runs before the warm-up and before every sample, untimed (e.g. switching the TF.js backend). */
  readonly beforeSample?: () => void | Promise<void>;
}

interface SamplingState {
  readonly timed: Timed;
  readonly isAsync: boolean;
  readonly callsPerSample: number;
  readonly samples: number[];
  readonly medians: number[];
  spentMs: number;
  stable: boolean;
  done: boolean;
}

/** Warm-up: learns whether the call is async and how many calls make a ≥ minSampleMs sample. */
async function warmUp(timed: Timed, options: HarnessOptions): Promise<SamplingState> {
  await timed.beforeSample?.();
  let isAsync = false;
  let calls = 0;
  let fastestCall = Infinity;
  const start = performance.now();
  while (calls < options.warmupCalls || performance.now() - start < options.warmupMs) {
    const t0 = performance.now();
    const result = timed.run();
    if (result instanceof Promise) {
      isAsync = true;
      await result;
    }
    fastestCall = Math.min(fastestCall, performance.now() - t0);
    calls++;
  }
  const callsPerSample = Math.max(1, Math.ceil(options.minSampleMs / Math.max(fastestCall, 1e-3)));
  return { timed, isAsync, callsPerSample, samples: [], medians: [], spentMs: 0, stable: false, done: false };
}

/** Takes one sample and decides whether this function is done. */
async function takeSample(state: SamplingState, options: HarnessOptions): Promise<void> {
  await state.timed.beforeSample?.();
  const t0 = performance.now();
  await callRepeatedly(state.timed.run, state.callsPerSample, state.isAsync);
  const elapsed = performance.now() - t0;
  state.spentMs += elapsed;
  state.samples.push(elapsed / state.callsPerSample);
  state.medians.push(median(state.samples));
  const count = state.samples.length;
  if (count >= options.maxSamples) state.done = true;
  if (count < options.minSamples) return;
  if (count >= options.stableAfter) {
    const now = state.medians[count - 1];
    const before = state.medians[count - 1 - options.stableWindow];
    if (Math.abs(now - before) <= options.stableTolerance * now) {
      state.stable = true;
      state.done = true;
    }
  }
  if (state.spentMs >= options.budgetMs) state.done = true;
}

function toMeasurement(state: SamplingState): Measurement {
  return {
    medianMs: median(state.samples),
    minMs: Math.min(...state.samples),
    samplesMs: state.samples,
    callsPerSample: state.callsPerSample,
    stable: state.stable,
  };
}

/**
 * Times several functions on a shared machine fairly: each is warmed up, then samples
 * are taken **round-robin** (one sample of each unfinished function per round), so a
 * burst of load from elsewhere hits every implementation alike and the ratios of one
 * run stay meaningful. Each function stops on its own: stable median, sample cap, or its
 * sampling time reaching the budget (never before `minSamples`).
 *
 * @param timed - the functions, each with an optional untimed `beforeSample` hook
 * @param options - see {@link HarnessOptions}
 * @returns one measurement per function, in order
 */
export async function measureInterleaved(timed: readonly Timed[], options: HarnessOptions): Promise<Measurement[]> {
  const states: SamplingState[] = [];
  for (const t of timed) states.push(await warmUp(t, options));
  while (states.some((s) => !s.done)) {
    for (const state of states) if (!state.done) await takeSample(state, options);
  }
  return states.map(toMeasurement);
}

/**
 * Times one function: warm-up, then samples of ≥ `minSampleMs` each (the call repeated
 * as often as the warm-up says it takes), until the median is stable, the sample cap
 * is reached, or the time budget is spent (but never fewer than `minSamples`).
 * Asynchronous functions (ONNX Runtime's `session.run`) are awaited call by call.
 *
 * @param fn - one call of the workload
 * @param options - see {@link HarnessOptions}
 */
export async function measure(fn: () => void | Promise<void>, options: HarnessOptions): Promise<Measurement> {
  const [m] = await measureInterleaved([{ run: fn }], options);
  return m;
}
