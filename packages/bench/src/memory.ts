import { tensor, zeros } from '@normkit/core';
import { batchNorm } from '@normkit/batch-norm';
import { defaultWasm } from '@normkit/wasm';
import { fillNormal } from './data.js';
import { useDefaultBackend } from './impls/kernel-state.js';

/** What the memory check runs. */
export interface MemoryOptions {
  /** The NCHW input shape (default (32, 64, 56, 56), the benchmark's NCHW workload). */
  readonly shape: readonly number[];
  /** Training steps measured after the warm-up (default 1,000). */
  readonly steps: number;
  /** Warm-up steps before the baseline (default 50). */
  readonly warmupSteps: number;
  /** A heap sample (after a forced GC) every this many steps (default 100). */
  readonly sampleEvery: number;
}

/** Defaults of {@link runMemoryCheck}. */
export const MEMORY_DEFAULTS: MemoryOptions = { shape: [32, 64, 56, 56], steps: 1000, warmupSteps: 50, sampleEvery: 100 };

/** `process.memoryUsage()` after a forced GC, in bytes. */
export interface MemorySample {
  /** Steps done after the warm-up when the sample was taken. */
  readonly step: number;
  /** V8 heap in use. */
  readonly heapUsed: number;
  /** Memory of C++ objects bound to JS objects (ArrayBuffers and wasm memories included). */
  readonly external: number;
  /** ArrayBuffer and SharedArrayBuffer bytes (part of `external`). */
  readonly arrayBuffers: number;
  /** Resident set size. */
  readonly rss: number;
  /** The default wasm backend's scratch memory, bytes (`null` without the backend). */
  readonly wasmMemory: number | null;
}

/** The memory check's result. */
export interface MemoryReport {
  /** What ran. */
  readonly options: MemoryOptions;
  /** `wasm-simd-default` when the default backend handled the steps, else `typescript`. */
  readonly kernels: string;
  /** Kernel calls the default backend handled during the measured steps. */
  readonly handledCalls: number;
  /** Samples: the baseline (step 0) after the warm-up, then every `sampleEvery` steps. */
  readonly samples: readonly MemorySample[];
  /** `heapUsed` at the end minus at the baseline, bytes. */
  readonly heapGrowth: number;
  /** `heapGrowth / steps`, bytes per step. */
  readonly heapGrowthPerStep: number;
  /** `external` at the end minus at the baseline, bytes. */
  readonly externalGrowth: number;
}

/**
 * Whether the heap can be measured: `global.gc` exists (node was started with `--expose-gc`).
 *
 * @returns the GC function, or `null`
 */
export function exposedGc(): (() => void) | null {
  const gc = (globalThis as { gc?: () => void }).gc;
  return typeof gc === 'function' ? gc : null;
}

/**
 * The memory check of the default path: batch norm NCHW forward + backward training steps
 * through the public API with no setup (the zero-config wasm backend, JS-heap tensors, `y`
 * and `dx` written into `out` buffers kept across steps; parameter gradients and statistics
 * allocated per step, as the API does). After `warmupSteps` steps and a forced GC it takes the
 * baseline, runs `steps` more and samples `process.memoryUsage()` after a forced GC every
 * `sampleEvery` steps. A leak shows as `heapUsed` (or `external`) growing with the steps.
 *
 * @param options - shape and step counts (see {@link MEMORY_DEFAULTS})
 * @param gc - the forced GC (`global.gc` under `node --expose-gc`)
 * @param progress - progress lines
 */
export async function runMemoryCheck(options: MemoryOptions, gc: () => void, progress: (text: string) => void = () => {}): Promise<MemoryReport> {
  const { shape, steps, warmupSteps, sampleEvery } = options;
  const channels = shape[1];
  const n = shape.reduce((a, b) => a * b, 1);
  const x = tensor(fillNormal(new Float32Array(n), 1, 0.5, 1.5), shape);
  const dy = tensor(fillNormal(new Float32Array(n), 2), shape);
  const yOut = zeros(shape, 'float32');
  const dxOut = zeros(shape, 'float32');
  const bn = batchNorm.create({ numFeatures: channels });
  const { params } = bn.init('float32');
  let state = bn.init('float32').state;
  useDefaultBackend();
  const backend = await defaultWasm();
  const step = (): void => {
    const forward = bn.forward({ x, params, state, mode: 'train', out: yOut });
    state = forward.state;
    bn.backward({ dy, params, saved: forward.saved, out: dxOut });
  };
  const sample = (at: number): MemorySample => {
    gc();
    gc();
    const usage = process.memoryUsage();
    return { step: at, heapUsed: usage.heapUsed, external: usage.external, arrayBuffers: usage.arrayBuffers, rss: usage.rss, wasmMemory: backend?.memoryBytes() ?? null };
  };
  for (let i = 0; i < warmupSteps; i++) step();
  const samples = [sample(0)];
  const handledBefore = backend?.counters.handled ?? 0;
  for (let i = 1; i <= steps; i++) {
    step();
    if (i % sampleEvery === 0 || i === steps) {
      samples.push(sample(i));
      progress(`  memory: step ${i}/${steps}, heapUsed ${(samples[samples.length - 1].heapUsed / 1e6).toFixed(2)} MB`);
    }
  }
  const handledCalls = (backend?.counters.handled ?? 0) - handledBefore;
  const first = samples[0];
  const last = samples[samples.length - 1];
  const heapGrowth = last.heapUsed - first.heapUsed;
  return {
    options,
    kernels: handledCalls > 0 ? 'wasm-simd-default' : 'typescript',
    handledCalls,
    samples,
    heapGrowth,
    heapGrowthPerStep: heapGrowth / steps,
    externalGrowth: last.external - first.external,
  };
}

/** The memory report as text lines. */
export function formatMemoryReport(report: MemoryReport): string {
  const mb = (bytes: number | null): string => (bytes === null ? '—' : (bytes / 1e6).toFixed(2));
  const { shape, steps, warmupSteps } = report.options;
  const lines = [
    `Memory: batch norm NCHW (${shape.join(', ')}) float32 forward + backward with out buffers, default path (kernels: ${report.kernels}, ${report.handledCalls} kernel calls in wasm)`,
    `${warmupSteps} warm-up steps, then ${steps} steps; process.memoryUsage() after two forced GCs:`,
    '   step  heapUsed MB  external MB  arrayBuffers MB   rss MB  wasm memory MB',
  ];
  for (const s of report.samples) {
    lines.push(
      `  ${String(s.step).padStart(5)}  ${mb(s.heapUsed).padStart(11)}  ${mb(s.external).padStart(11)}  ${mb(s.arrayBuffers).padStart(15)}  ${mb(s.rss).padStart(7)}  ${mb(s.wasmMemory).padStart(14)}`,
    );
  }
  lines.push(
    `heapUsed growth over ${steps} steps: ${report.heapGrowth} bytes (${report.heapGrowthPerStep.toFixed(1)} bytes/step); external growth: ${report.externalGrowth} bytes`,
  );
  return lines.join('\n');
}
