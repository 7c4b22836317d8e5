import { NormkitError, describeValue } from '../errors.js';
import type { KernelCalls } from './calls.js';

/** The name of an engine kernel (see {@link KernelCalls}). */
export type KernelName = keyof KernelCalls;

/**
 * An implementation of one engine kernel: it computes the call's outputs and returns `true`,
 * or returns `false` **having written nothing** to decline the call (a dtype, layout or size it
 * does not handle), so the next implementation runs. Implementations must not throw on a
 * call the engine built (every argument was validated before).
 */
export type KernelImplementation<K extends KernelName> = (call: KernelCalls[K]) => boolean;

/** One registered implementation. */
export interface KernelRegistration<K extends KernelName = KernelName> {
  /** The kernel it implements. */
  readonly kernel: K;
  /** The backend it belongs to, e.g. `"wasm-simd"` (used to unregister a backend at once). */
  readonly backend: string;
  /** Higher runs first; the TypeScript implementation is always last. */
  readonly priority: number;
  /** The implementation. */
  readonly run: KernelImplementation<K>;
}

/** The name the built-in TypeScript implementations report. */
export const TYPESCRIPT_BACKEND = 'typescript';

interface RegistryState {
  /** Layout version of this object: copies of core that disagree do not share it. */
  readonly version: 1;
  /** Per kernel, the registrations sorted by descending priority. */
  readonly byKernel: Map<string, KernelRegistration[]>;
  /** False forces the TypeScript implementations. */
  backendsEnabled: boolean;
}

const REGISTRY_KEY = Symbol.for('@normkit/core:kernel-registry');

/**
 * The process-wide registry, kept on `globalThis` under `Symbol.for`, so that two installed
 * copies of `@normkit/core` (two versions, or sources and build in one test run) see the same
 * backends.
 */
function registry(): RegistryState {
  const holder = globalThis as unknown as Record<symbol, RegistryState | undefined>;
  let state = holder[REGISTRY_KEY];
  if (state === undefined || state.version !== 1) {
    state = { version: 1, byKernel: new Map(), backendsEnabled: !typescriptForcedByEnvironment() };
    holder[REGISTRY_KEY] = state;
  }
  return state;
}

/** `NORMKIT_KERNELS=typescript` in the environment (Node) forces the TypeScript kernels. */
function typescriptForcedByEnvironment(): boolean {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  return env?.NORMKIT_KERNELS === 'typescript';
}

/**
 * Registers an implementation of an engine kernel. Among the registrations of one kernel the
 * highest priority runs first; on a tie, the later registration runs first. The built-in
 * TypeScript implementation is never in the registry: it runs when every registration declines.
 *
 * @param registration - kernel name, backend name, priority and implementation
 * @returns a function that removes this registration
 * @throws NormkitError `E_REGISTRY` for an unknown kernel name, a non-function implementation or a non-finite priority
 * @example
 * ```ts
 * const off = registerKernel({
 *   kernel: 'normalizeCells', backend: 'my-simd', priority: 10,
 *   run: (call) => call.x.data instanceof Float32Array && mySimdNormalize(call),
 * });
 * // …
 * off();
 * ```
 */
export function registerKernel<K extends KernelName>(registration: KernelRegistration<K>): () => void {
  const { kernel, backend, priority, run } = registration;
  if (!KERNEL_NAMES.includes(kernel)) {
    throw new NormkitError('E_REGISTRY', `registerKernel: unknown kernel ${describeValue(kernel)}; expected one of ${KERNEL_NAMES.join(', ')}`, 'kernel');
  }
  if (typeof run !== 'function' || typeof backend !== 'string' || backend.length === 0 || !Number.isFinite(priority)) {
    throw new NormkitError('E_REGISTRY', `registerKernel(${kernel}): expected a backend name, a finite priority and a function, got ${describeValue(backend)}, ${describeValue(priority)}, ${describeValue(run)}`, 'registration');
  }
  const entry: KernelRegistration = { kernel, backend, priority, run: run as KernelImplementation<KernelName> };
  const state = registry();
  const list = state.byKernel.get(kernel) ?? [];
  let at = 0;
  while (at < list.length && list[at].priority > priority) at++;
  const next = list.slice();
  next.splice(at, 0, entry);
  state.byKernel.set(kernel, next);
  return () => {
    const current = state.byKernel.get(kernel) ?? [];
    state.byKernel.set(
      kernel,
      current.filter((r) => r !== entry),
    );
  };
}

/**
 * Removes every registration of a backend.
 *
 * @param backend - the backend name given at registration
 * @returns how many registrations were removed
 */
export function unregisterBackend(backend: string): number {
  const state = registry();
  let removed = 0;
  for (const [kernel, list] of state.byKernel) {
    const kept = list.filter((r) => r.backend !== backend);
    removed += list.length - kept.length;
    state.byKernel.set(kernel, kept);
  }
  return removed;
}

/**
 * The registrations of a kernel (or of every kernel), highest priority first.
 *
 * @param kernel - a kernel name, or nothing for all
 * @returns copies of the registration records
 */
export function listKernelRegistrations(kernel?: KernelName): KernelRegistration[] {
  const state = registry();
  if (kernel !== undefined) return (state.byKernel.get(kernel) ?? []).slice();
  return [...state.byKernel.values()].flat();
}

/**
 * Empties the registry and re-enables backends: for tests, so that one test's backend does
 * not leak into the next.
 */
export function resetKernelRegistry(): void {
  const state = registry();
  state.byKernel.clear();
  state.backendsEnabled = true;
}

/**
 * Forces the TypeScript kernels (`false`) or lets registered backends run again (`true`, the
 * default). The environment variable `NORMKIT_KERNELS=typescript`, read when the registry is
 * first created, starts a process with backends off.
 *
 * @param enabled - whether registered backends may run
 */
export function setKernelBackendsEnabled(enabled: boolean): void {
  registry().backendsEnabled = enabled;
}

/**
 * Whether registered backends may run (see {@link setKernelBackendsEnabled}).
 *
 * @returns `false` when the TypeScript kernels are forced
 */
export function kernelBackendsEnabled(): boolean {
  return registry().backendsEnabled;
}

/**
 * Runs a kernel: each registered implementation in priority order until one handles the
 * call, else the TypeScript implementation.
 *
 * @param kernel - the kernel name
 * @param call - every input and output of the call
 * @param fallback - the TypeScript implementation
 * @returns the backend that handled the call
 */
export function dispatchKernel<K extends KernelName>(kernel: K, call: KernelCalls[K], fallback: (call: KernelCalls[K]) => void): string {
  const state = registry();
  if (state.backendsEnabled) {
    const list = state.byKernel.get(kernel);
    if (list !== undefined) {
      for (let i = 0; i < list.length; i++) {
        const registration = list[i] as unknown as KernelRegistration<K>;
        if (registration.run(call)) return registration.backend;
      }
    }
  }
  fallback(call);
  return TYPESCRIPT_BACKEND;
}

/** Every kernel name, in a stable order. */
export const KERNEL_NAMES: readonly KernelName[] = Object.freeze([
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
] as const satisfies readonly KernelName[]);
