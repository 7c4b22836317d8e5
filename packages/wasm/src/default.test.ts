import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  KERNEL_NAMES,
  batchStatistics,
  listKernelRegistrations,
  normalizeBackward,
  normalizeBatch,
  planNormalization,
  setKernelBackendsEnabled,
  toTypedArray,
  viewOf,
  zeros,
} from '@normkit/core';
import type { Dtype, KernelName, Shape, StridedView, Tensor } from '@normkit/core';
import { differences, randn, relativeError, scaledError } from '@normkit/testkit';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_BACKEND_INITIAL_BYTES, DEFAULT_BACKEND_NAME, DEFAULT_BACKEND_PRIORITY, defaultWasm, installDefaultWasm } from './default.js';
import type { DefaultWasm } from './default.js';
import { WASM_KERNEL_NAMES } from './engine-kernels.js';
import { DEFAULT_WASM_PRIORITY, disableWasm, enableWasm } from './enable.js';

// The zero-config default backend, driven through core's engine ops on float32 views (no
// plugin: this package depends on core only). It is process-wide, so the tests share one and
// compare counter deltas. Tolerances as in the other wasm tests: outputs to float32 accuracy
// (2e-6 relative to the output's scale; 4e-6 for the rows backward), statistics (float64 lanes)
// to 1e-11 relative.

let wasm: DefaultWasm;
beforeAll(() => {
  const installed = installDefaultWasm();
  if (installed === null || installed === undefined) throw new Error('no synchronous WebAssembly SIMD on this host');
  wasm = installed;
});
afterEach(async () => {
  setKernelBackendsEnabled(true);
  await disableWasm();
});

/** A workload: the shape and axes of a plan, and whether the statistics are centered. */
interface Workload {
  readonly name: string;
  readonly shape: Shape;
  readonly groupAxes: readonly number[];
  readonly paramAxes: readonly number[] | null;
  readonly centered: boolean;
}

const BATCH_NORM: Workload = { name: 'batch norm (4, 3, 5), cells', shape: [4, 3, 5], groupAxes: [1], paramAxes: [1], centered: true };
const LAYER_NORM: Workload = { name: 'layer norm (6, 10), rows', shape: [6, 10], groupAxes: [0], paramAxes: [1], centered: true };
const RMS_NORM: Workload = { name: 'RMS norm (3, 2, 9), rows', shape: [3, 2, 9], groupAxes: [0, 1], paramAxes: [2], centered: false };
const GROUP_NORM: Workload = { name: 'group norm (2, 2, 3, 4) without parameters, cells', shape: [2, 2, 3, 4], groupAxes: [0, 1], paramAxes: null, centered: true };

interface Pass {
  readonly y: Tensor;
  readonly dx: Tensor;
  readonly center: Float64Array;
  readonly invStd: Float64Array;
  readonly sums: { sumDy: Float64Array; sumDyXhat: Float64Array } | null;
}

/** Statistics + forward (`normalizeBatch`) and backward (`normalizeBackward`) of a workload. */
function pass(w: Workload, x: Tensor, dy: Tensor, view: (t: Tensor) => StridedView = viewOf): Pass {
  const plan = planNormalization(w.shape, w.groupAxes, w.paramAxes);
  const dtype: Dtype = x.data instanceof Float32Array ? 'float32' : 'float64';
  const weight = plan.params === 0 ? null : Float64Array.from({ length: plan.params }, (_, p) => 0.5 + 0.25 * p);
  const bias = plan.params === 0 ? null : Float64Array.from({ length: plan.params }, (_, p) => 0.1 * p - 0.3);
  const y = zeros(w.shape, dtype);
  const dx = zeros(w.shape, dtype);
  const stats = normalizeBatch(view(x), plan, w.centered, 1e-5, weight, bias, viewOf(y));
  const sums = normalizeBackward(view(x), view(dy), plan, stats, weight, { centered: w.centered, batchStats: true }, viewOf(dx));
  return { y, dx, center: stats.center, invStd: stats.invStd, sums };
}

/** The same pass on core's TypeScript kernels. */
function onTypeScript<T>(fn: () => T): T {
  setKernelBackendsEnabled(false);
  try {
    return fn();
  } finally {
    setKernelBackendsEnabled(true);
  }
}



/** A float32 tensor of uniform values with this mean and half-width (a fast LCG, for large tensors). */
function uniformTensor(shape: Shape, seed: number, mean: number, halfWidth: number): Tensor {
  const t = zeros(shape, 'float32');
  let state = seed >>> 0;
  for (let i = 0; i < t.data.length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    t.data[i] = mean + halfWidth * (state / 2147483648 - 1);
  }
  return t;
}


/** A snapshot of the counters. */
function snapshot(): { handled: number; declined: number; copiedIn: number; copiedOut: number; kernels: Record<KernelName, number> } {
  const c = wasm.counters;
  return { handled: c.handled, declined: c.declined, copiedIn: c.copiedIn, copiedOut: c.copiedOut, kernels: { ...c.kernels } };
}

/** Handled calls per kernel since `before` (kernels without calls left out). */
function kernelCalls(before: ReturnType<typeof snapshot>): Partial<Record<KernelName, number>> {
  const calls: Partial<Record<KernelName, number>> = {};
  for (const name of KERNEL_NAMES) if (wasm.counters.kernels[name] !== before.kernels[name]) calls[name] = wasm.counters.kernels[name] - before.kernels[name];
  return calls;
}

/** The default backend's registrations: one per kernel. */
function defaultRegistrations() {
  return listKernelRegistrations().filter((r) => r.backend === DEFAULT_BACKEND_NAME);
}

const packageDir = fileURLToPath(new URL('..', import.meta.url));

/**
 * Runs an ES module in a fresh Node process from this package's folder (the built package, as
 * users import it) and parses the JSON line it prints last.
 *
 * @param script - the module
 * @param env - environment changes (`undefined` removes a variable)
 * @param before - code run before the module and its imports (a host's limitation)
 */
function inChildProcess(script: string, env: Record<string, string | undefined>, before?: string): unknown {
  const childEnv: Record<string, string | undefined> = { ...process.env, ...env };
  for (const [k, v] of Object.entries(childEnv)) if (v === undefined) delete childEnv[k];
  const preload = before === undefined ? [] : ['--import', `data:text/javascript,${encodeURIComponent(before)}`];
  const args = [...preload, '--input-type=module', '-e', script];
  const out = execFileSync(process.execPath, args, { cwd: packageDir, env: childEnv, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = out.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

/** What a child process reports after importing `@normkit/wasm/auto` and running one float32 forward. */
const REPORT = `
import { listKernelRegistrations, kernelBackendsEnabled, normalizeBatch, planNormalization, viewOf, zeros, fromArray } from '@normkit/core';
import '@normkit/wasm/auto';
import { defaultWasm, installDefaultWasm } from '@normkit/wasm';
const sync = installDefaultWasm(); // what the import did: the backend, null, or undefined while compiling
const backend = await defaultWasm();
const plan = planNormalization([2, 3], [0], [1]);
const y = zeros([2, 3], 'float32');
normalizeBatch(viewOf(fromArray([1, 2, 3, 4, 6, 8], [2, 3], 'float32')), plan, true, 0, null, null, viewOf(y));
console.log(JSON.stringify({
  sync: sync === undefined ? 'pending' : sync === null ? null : sync.name,
  backend: backend === null ? null : backend.name,
  registrations: listKernelRegistrations().length,
  enabled: kernelBackendsEnabled(),
  handled: backend === null ? 0 : backend.counters.handled,
  y: Array.from(y.data, (v) => Math.round(v * 1e4) / 1e4),
}));
`;
/** y of REPORT's forward (eps 0): rows (1, 2, 3) and (4, 6, 8) both normalize to (−√(3/2), 0, √(3/2)). */
const REPORT_Y = [-1.2247, 0, 1.2247, -1.2247, 0, 1.2247];

describe('the default backend', () => {
  it('installs once per process: later calls and the built copy of the package (another module instance) return the same backend, registered once', async () => {
    expect(installDefaultWasm()).toBe(wasm);
    expect(await defaultWasm()).toBe(wasm);
    const built = await import('@normkit/wasm');
    expect(built.installDefaultWasm).not.toBe(installDefaultWasm); // two copies of the code…
    expect(built.installDefaultWasm()).toBe(wasm); // …one backend, kept under a Symbol.for key
    await import('@normkit/wasm/auto');
    expect((globalThis as Record<symbol, unknown>)[Symbol.for('@normkit/wasm:default-backend')]).toMatchObject({ backend: wasm });
    expect(defaultRegistrations().map((r) => r.kernel).sort()).toEqual([...WASM_KERNEL_NAMES].sort());
    expect(wasm.name).toBe(DEFAULT_BACKEND_NAME);
    expect(wasm.shared).toBe(false); // not shared even where the host could: copies into shared memory cost twice as much
    expect(wasm.memoryBytes()).toBeGreaterThanOrEqual(DEFAULT_BACKEND_INITIAL_BYTES);
  });

  it(`registers every kernel under '${DEFAULT_BACKEND_NAME}' at priority ${DEFAULT_BACKEND_PRIORITY}, below a backend installed by enableWasm, which runs first`, async () => {
    expect(DEFAULT_BACKEND_PRIORITY).toBe(10);
    expect(DEFAULT_WASM_PRIORITY).toBe(100);
    for (const kernel of WASM_KERNEL_NAMES) {
      expect(listKernelRegistrations(kernel).map((r) => [r.backend, r.priority])).toEqual([[DEFAULT_BACKEND_NAME, DEFAULT_BACKEND_PRIORITY]]);
    }
    const x = randn(LAYER_NORM.shape, 1, 'float32');
    const dy = randn(LAYER_NORM.shape, 2, 'float32');
    const explicit = await enableWasm({ memoryBytes: 1 << 22 });
    if (explicit === false) throw new Error('no SIMD');
    for (const kernel of WASM_KERNEL_NAMES) {
      expect(listKernelRegistrations(kernel).map((r) => r.backend)).toEqual([explicit.name, DEFAULT_BACKEND_NAME]);
    }
    let before = snapshot();
    pass(LAYER_NORM, x, dy);
    expect(explicit.counters.kernels).toMatchObject({ normalizeBatch: 1, backwardRows: 1 });
    expect(kernelCalls(before)).toEqual({});
    await disableWasm();
    before = snapshot();
    pass(LAYER_NORM, x, dy);
    expect(kernelCalls(before)).toEqual({ normalizeBatch: 1, backwardRows: 1 });
  });

  it.each(
    (
      [
        [BATCH_NORM, { normalizeBatch: 1, backwardCells: 1 }],
        [LAYER_NORM, { normalizeBatch: 1, backwardRows: 1 }],
        [RMS_NORM, { normalizeBatch: 1, backwardRows: 1 }],
        [GROUP_NORM, { normalizeBatch: 1, backwardCells: 1 }],
      ] as Array<[Workload, Partial<Record<KernelName, number>>]>
    ).map(([w, calls]) => [w.name, w, calls] as const),
  )('handles float32 row-major calls in wasm, one call each way: %s', (_name, w, calls) => {
    const x = randn(w.shape, 3, 'float32', 1, 2);
    const dy = randn(w.shape, 4, 'float32');
    const before = snapshot();
    const got = pass(w, x, dy);
    expect(kernelCalls(before)).toEqual(calls);
    expect(wasm.counters.declined).toBe(before.declined);
    // JS-heap tensors: x copied in for the forward; x and dy for the backward; y and dx out
    expect(wasm.counters.copiedIn - before.copiedIn).toBe(3);
    expect(wasm.counters.copiedOut - before.copiedOut).toBe(2);
    const ts = onTypeScript(() => pass(w, x, dy));
    expect(scaledError(got.y, ts.y)).toBeLessThan(2e-6);
    expect(scaledError(got.dx, ts.dx)).toBeLessThan(4e-6);
    expect(relativeError(got.center, ts.center)).toBeLessThan(1e-11);
    expect(relativeError(got.invStd, ts.invStd)).toBeLessThan(1e-10);
    if (ts.sums !== null) {
      expect(scaledError(got.sums!.sumDy, ts.sums.sumDy)).toBeLessThan(2e-6);
      expect(scaledError(got.sums!.sumDyXhat, ts.sums.sumDyXhat)).toBeLessThan(2e-6);
    }
  });

  it('declines float64 views and strided float32 views: the TypeScript kernels run, bit for bit', () => {
    const x64 = randn(BATCH_NORM.shape, 5, 'float64');
    const dy64 = randn(BATCH_NORM.shape, 6, 'float64');
    let before = snapshot();
    const got64 = pass(BATCH_NORM, x64, dy64);
    expect(wasm.counters.handled).toBe(before.handled);
    // normalizeBatch and its fallback's moments and normalizeCells; backwardCells and its
    // fallback's gradientSums and inputGradient
    expect(wasm.counters.declined - before.declined).toBe(6);
    const ts64 = onTypeScript(() => pass(BATCH_NORM, x64, dy64));
    expect(Array.from(toTypedArray(got64.y))).toEqual(Array.from(toTypedArray(ts64.y)));
    expect(Array.from(toTypedArray(got64.dx))).toEqual(Array.from(toTypedArray(ts64.dx)));

    // (6, 10) seen through a transpose of a (10, 6) tensor: strides [1, 6], not row-major
    const base = randn([10, 6], 7, 'float32');
    const dy = randn([6, 10], 8, 'float32');
    const transposed = (t: Tensor): StridedView => (t === base ? viewOf(base.transpose(1, 0)) : viewOf(t));
    before = snapshot();
    const strided = pass(LAYER_NORM, base, dy, transposed);
    expect(wasm.counters.handled).toBe(before.handled);
    expect(wasm.counters.declined - before.declined).toBe(4); // normalizeBatch, moments, normalizeRows; backwardRows
    const ts = onTypeScript(() => pass(LAYER_NORM, base, dy, transposed));
    expect(Array.from(toTypedArray(strided.y))).toEqual(Array.from(toTypedArray(ts.y)));
    expect(Array.from(toTypedArray(strided.dx))).toEqual(Array.from(toTypedArray(ts.dx)));
  });

  it('setKernelBackendsEnabled(false) forces the TypeScript kernels; true gives the calls back to wasm', () => {
    const x = randn(BATCH_NORM.shape, 9, 'float32');
    const dy = randn(BATCH_NORM.shape, 10, 'float32');
    const before = snapshot();
    setKernelBackendsEnabled(false);
    pass(BATCH_NORM, x, dy);
    expect(snapshot()).toEqual(before);
    setKernelBackendsEnabled(true);
    pass(BATCH_NORM, x, dy);
    expect(kernelCalls(before)).toEqual({ normalizeBatch: 1, backwardCells: 1 });
  });

  it('a beforeWrite check that throws propagates once, leaves y untouched and frees the copies of x and y', () => {
    // x and y copies of ~40% of the memory each time: five refused calls that kept their copies
    // would need twice the memory, and it would grow.
    const memory = wasm.memoryBytes();
    const rows = Math.floor((0.2 * memory) / 4 / 1024);
    const shape = [rows, 1024];
    const plan = planNormalization(shape, [0], [1]);
    const x = randn(shape, 11, 'float32', 3, 2);
    const y = zeros(shape, 'float32').data.fill(-7);
    const expected = onTypeScript(() => batchStatistics(viewOf(x), plan, true, 1e-5));
    const before = snapshot();
    for (let call = 0; call < 5; call++) {
      const seen: Float64Array[] = [];
      const refusal = new Error('refused');
      expect(() =>
        normalizeBatch(viewOf(x), plan, true, 1e-5, null, null, { data: y, shape, strides: [1024, 1], offset: 0 }, (center, _variance, invStd) => {
          seen.push(center.slice(), invStd.slice());
          throw refusal;
        }),
      ).toThrow(refusal);
      expect(seen.length).toBe(2); // called once, with the statistics of x
      expect(relativeError(seen[0], expected.center)).toBeLessThan(1e-11);
      expect(relativeError(seen[1], expected.invStd)).toBeLessThan(1e-10);
    }
    expect(y.every((v) => v === -7)).toBe(true);
    expect(wasm.counters.copiedIn - before.copiedIn).toBe(5); // the wasm kernel ran its statistics…
    expect(wasm.counters.copiedOut).toBe(before.copiedOut); // …and wrote nothing
    expect(wasm.counters.handled).toBe(before.handled);
    expect(wasm.memoryBytes()).toBe(memory);
  });

  // Tensors this large take seconds on a loaded machine: forward only, and a longer timeout.
  it(`streams a tensor larger than its ${DEFAULT_BACKEND_INITIAL_BYTES / 2 ** 20} MiB memory through it in pieces, without growing, with results that agree with the TypeScript kernels`, { timeout: 180_000 }, () => {
    const shape = [1100, 4000];
    expect(1100 * 4000 * 4).toBeGreaterThan(DEFAULT_BACKEND_INITIAL_BYTES); // 17.6 MB per float32 tensor
    const plan = planNormalization(shape, [0], [1]);
    const x = uniformTensor(shape, 12, -1, 3);
    const forward = () => {
      const y = zeros(shape, 'float32');
      const stats = normalizeBatch(viewOf(x), plan, true, 1e-5, null, null, viewOf(y));
      return { y, stats };
    };
    const memory = wasm.memoryBytes();
    const before = snapshot();
    const got = forward();
    expect(kernelCalls(before)).toEqual({ normalizeBatch: 1 });
    expect(wasm.counters.declined).toBe(before.declined);
    expect(wasm.counters.copiedIn - before.copiedIn).toBe(1);
    expect(wasm.counters.copiedOut - before.copiedOut).toBe(1);
    expect(wasm.memoryBytes()).toBe(memory);
    const ts = onTypeScript(forward);
    expect(scaledError(got.y, ts.y)).toBeLessThan(2e-6);
    expect(relativeError(got.stats.center, ts.stats.center)).toBeLessThan(1e-11);
    expect(relativeError(got.stats.invStd, ts.stats.invStd)).toBeLessThan(1e-10);
  });

  it(`grows its memory when a call's per-channel arrays need more than ${DEFAULT_BACKEND_INITIAL_BYTES / 2 ** 20} MiB, once, with results that agree with the TypeScript kernels`, { timeout: 180_000 }, () => {
    // batch norm over (2, C) with C = 1.1 million channels: two float64 statistics and four
    // float32 coefficients per channel, 35.2 MB
    const channels = 1_100_000;
    const shape = [2, channels];
    const plan = planNormalization(shape, [1], [1]);
    const x = uniformTensor(shape, 13, -1, 3);
    const forward = () => {
      const y = zeros(shape, 'float32');
      const stats = normalizeBatch(viewOf(x), plan, true, 1e-5, null, null, viewOf(y));
      return { y, stats };
    };
    const before = snapshot();
    const got = forward();
    expect(kernelCalls(before)).toEqual({ normalizeBatch: 1 });
    expect(wasm.counters.declined).toBe(before.declined);
    const grown = wasm.memoryBytes();
    expect(grown).toBeGreaterThanOrEqual(32 * channels);
    const ts = onTypeScript(forward);
    expect(scaledError(got.y, ts.y)).toBeLessThan(2e-6);
    expect(relativeError(got.stats.center, ts.stats.center)).toBeLessThan(1e-11);
    expect(relativeError(got.stats.invStd, ts.stats.invStd)).toBeLessThan(1e-10);
    // the same call again fits without growing, and gives the same bits
    const again = forward();
    expect(kernelCalls(before)).toEqual({ normalizeBatch: 2 });
    expect(wasm.memoryBytes()).toBe(grown);
    expect(differences(again.y, got.y)).toBe(0);
  });
});

/**
 * What a child process reports after a float32 batch-norm forward over 600,000 channels (its
 * per-channel arrays need more than the first 16 MiB of memory), twice in wasm and once on the
 * TypeScript kernels.
 */
const GROWTH_REPORT = `
import { normalizeBatch, planNormalization, viewOf, zeros, setKernelBackendsEnabled } from '@normkit/core';
import '@normkit/wasm/auto';
import { defaultWasm } from '@normkit/wasm';
const wasm = await defaultWasm();
const shape = [2, 600000];
const plan = planNormalization(shape, [1], [1]);
const x = zeros(shape, 'float32');
let state = 7;
for (let i = 0; i < x.data.length; i++) {
  state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
  x.data[i] = 2 + 3 * (state / 2147483648 - 1);
}
const run = () => {
  const y = zeros(shape, 'float32');
  normalizeBatch(viewOf(x), plan, true, 1e-5, null, null, viewOf(y));
  return y.data;
};
const first = run();
const grown = wasm.memoryBytes();
const second = run();
setKernelBackendsEnabled(false);
const ts = run();
let scale = 0;
let err = 0;
let same = true;
for (let i = 0; i < ts.length; i++) {
  scale = Math.max(scale, Math.abs(ts[i]));
  err = Math.max(err, Math.abs(first[i] - ts[i]));
  if (first[i] !== second[i]) same = false;
}
console.log(JSON.stringify({ shared: wasm.shared, grew: grown > ${DEFAULT_BACKEND_INITIAL_BYTES}, regrew: wasm.memoryBytes() !== grown, calls: wasm.counters.kernels.normalizeBatch, declined: wasm.counters.declined, same, scaledError: err / (1 + scale) }));
`;

describe('the default backend in a fresh process (the built package)', () => {
  it('installs on import and runs float32 calls in wasm', () => {
    const report = inChildProcess(REPORT, { NORMKIT_KERNELS: undefined });
    expect(report).toEqual({ sync: DEFAULT_BACKEND_NAME, backend: DEFAULT_BACKEND_NAME, registrations: WASM_KERNEL_NAMES.length, enabled: true, handled: 1, y: REPORT_Y });
  });

  it('NORMKIT_KERNELS=typescript installs nothing: no backend, no registration, backends off', () => {
    const report = inChildProcess(REPORT, { NORMKIT_KERNELS: 'typescript' });
    expect(report).toEqual({ sync: null, backend: null, registrations: 0, enabled: false, handled: 0, y: REPORT_Y });
  });

  it('where the host cannot reserve a WebAssembly memory, importing still succeeds and the TypeScript kernels run', () => {
    // As under `ulimit -v`, where V8 cannot reserve a memory's address space (regression: the
    // import threw "WebAssembly.Memory(): could not allocate memory").
    const report = inChildProcess(REPORT, { NORMKIT_KERNELS: undefined }, "WebAssembly.Memory = function Memory() { throw new RangeError('WebAssembly.Memory(): could not allocate memory'); };");
    expect(report).toEqual({ sync: null, backend: null, registrations: 0, enabled: true, handled: 0, y: REPORT_Y });
  });

  it('with or without shared memory on the host, the non-shared memory grows (detaching its buffer) and the results still agree with the TypeScript kernels', { timeout: 180_000 }, () => {
    for (const before of [undefined, 'delete globalThis.SharedArrayBuffer;']) {
      const report = inChildProcess(GROWTH_REPORT, { NORMKIT_KERNELS: undefined }, before) as Record<string, unknown>;
      expect(report).toMatchObject({ shared: false, grew: true, regrew: false, calls: 2, declined: 0, same: true });
      expect(report.scaledError).toBeLessThan(2e-6);
    }
  });

  it('where the registry refuses a kernel, importing still succeeds, nothing stays registered and the TypeScript kernels run (sync and async compile)', () => {
    // As with a copy of @normkit/core that does not know one of the kernels: the registry
    // throws on the second kernel, after the first was registered. No unhandled rejection
    // either (Node would exit non-zero and execFileSync throw).
    const refusing =
      "globalThis[Symbol.for('@normkit/core:kernel-registry')] = { version: 1, backendsEnabled: true, byKernel: new (class extends Map { set(k, v) { if (k === 'backwardCells') throw new Error('registry refuses backwardCells'); return super.set(k, v); } })() };";
    const asyncCompile = "WebAssembly.Module = function Module() { throw new RangeError('WebAssembly.Module(): synchronous compile refused'); };";
    expect(inChildProcess(REPORT, { NORMKIT_KERNELS: undefined }, refusing)).toEqual({ sync: null, backend: null, registrations: 0, enabled: true, handled: 0, y: REPORT_Y });
    expect(inChildProcess(REPORT, { NORMKIT_KERNELS: undefined }, refusing + asyncCompile)).toEqual({ sync: 'pending', backend: null, registrations: 0, enabled: true, handled: 0, y: REPORT_Y });
  });

  it('where the host refuses a synchronous compile, it compiles asynchronously and installs when ready', () => {
    const report = inChildProcess(REPORT, { NORMKIT_KERNELS: undefined }, "WebAssembly.Module = function Module() { throw new RangeError('WebAssembly.Module(): synchronous compile refused'); };");
    // installDefaultWasm() answered "pending"; defaultWasm() waited; the forward then ran in wasm
    expect(report).toEqual({ sync: 'pending', backend: DEFAULT_BACKEND_NAME, registrations: WASM_KERNEL_NAMES.length, enabled: true, handled: 1, y: REPORT_Y });
  });
});
