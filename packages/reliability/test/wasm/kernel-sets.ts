import { listKernelRegistrations, registerKernel } from '@normkit/core';
import type { KernelName, KernelRegistration } from '@normkit/core';
import type { WasmBackend } from '@normkit/wasm';

/** The fused kernels: statistics + forward map, and the whole cells backward. */
export const FUSED_KERNELS: readonly KernelName[] = ['normalizeBatch', 'backwardCells'];

/**
 * Which of a backend's kernels are registered: `'fused'` is all of them (what `install()` does,
 * and what the plugins use by default); `'split'` leaves the two fused kernels out, so core runs
 * their fallbacks — the split kernels (`moments`, `normalizeCells` / `normalizeRows`,
 * `gradientSums`, `inputGradient`) — through the registry, into the same backend.
 */
export type KernelSet = 'fused' | 'split';

/** Installs and uninstalls one kernel set of a backend. */
export interface KernelSetSwitch {
  /** Registers the set's kernels (replacing this switch's earlier registration). */
  install(): void;
  /** Removes them (the backend stays ready). */
  uninstall(): void;
}

/**
 * A switch for one kernel set of `backend`: `'fused'` is the backend's own install/uninstall;
 * `'split'` registers the backend's non-fused implementations again through core's registry
 * (taken from `listKernelRegistrations` after one `install()`), with the same priority.
 *
 * @param backend - an explicit backend (not installed by the caller afterwards)
 * @param set - which kernels
 * @returns the switch, installed
 */
export function installKernelSet(backend: WasmBackend, set: KernelSet): KernelSetSwitch {
  if (set === 'fused') {
    backend.install();
    return { install: () => backend.install(), uninstall: () => backend.uninstall() };
  }
  backend.install();
  const kept = listKernelRegistrations().filter((r) => r.backend === backend.name && !FUSED_KERNELS.includes(r.kernel));
  backend.uninstall();
  let removers: Array<() => void> = [];
  const uninstall = () => {
    for (const remove of removers) remove();
    removers = [];
  };
  const install = () => {
    uninstall();
    removers = kept.map((r) => registerKernel(r as KernelRegistration));
  };
  install();
  return { install, uninstall };
}
