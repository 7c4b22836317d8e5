import { KERNELS_SHARED_WASM_BASE64, KERNELS_WASM_BASE64 } from './generated/kernel-bytes.js';
/**
 * The compiled AssemblyScript kernels (`assembly/index.ts` → `dist/kernels.wasm` by `npm run
 * build`, inlined as base64 in `src/generated/kernel-bytes.ts`), their exports, and the SIMD
 * feature check.
 */

/** The exports of the kernel module (pointers are byte offsets into the pool's memory). */
export interface KernelExports {
  moments(x: number, outer: number, groups: number, inner: number, mean: number, variance: number): void;
  squareMoments(x: number, outer: number, groups: number, inner: number, mean: number, variance: number): void;
  bnNormalize(x: number, outer: number, channels: number, inner: number, mean: number, meanLo: number, scale: number, shift: number, y: number): void;
  bnGradientSums(x: number, dy: number, outer: number, channels: number, inner: number, mean: number, sumDy: number, sumDyCentered: number): void;
  bnInputGradient(
    x: number,
    dy: number,
    outer: number,
    channels: number,
    inner: number,
    mean: number,
    meanLo: number,
    a: number,
    b: number,
    k: number,
    dx: number,
  ): void;
  lnForward(x: number, rows: number, features: number, mean: number, invStd: number, scale: number, shift: number, y: number): void;
  lnBackward(
    x: number,
    dy: number,
    rows: number,
    features: number,
    mean: number,
    invStd: number,
    scale: number,
    dx: number,
    dscale: number,
    dshift: number,
    meanFactor: number,
    xhatFactor: number,
  ): void;
}

/**
 * The smallest module using a SIMD instruction (`i32.const 0; i8x16.splat; i8x16.popcnt`):
 * `WebAssembly.validate` accepts it exactly when the host supports fixed-width SIMD.
 */
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11,
]);

/**
 * Does this host run WebAssembly with 128-bit SIMD (Node ≥ 16.4, Chrome 91, Firefox 89, Safari 16.4)?
 *
 * @returns whether `WebAssembly.validate` accepts a module with a SIMD instruction (never throws)
 */
export function wasmSimdSupported(): boolean {
  try {
    return typeof WebAssembly === 'object' && typeof WebAssembly.validate === 'function' && WebAssembly.validate(SIMD_PROBE);
  } catch {
    return false;
  }
}

/**
 * Does this host have shared WebAssembly memory (for `threads: 2`)?
 *
 * @returns whether a shared `WebAssembly.Memory` can be created (never throws)
 */
export function sharedMemorySupported(): boolean {
  try {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    return memory.buffer instanceof SharedArrayBuffer;
  } catch {
    return false;
  }
}

/** The two module variants: single-thread (own, non-shared memory) and shared-memory. */
export type KernelVariant = 'single' | 'shared';

/** The module's bytes, decoded from the base64 inlined at build time (no file system, no fetch). */
function kernelBytes(variant: KernelVariant): Uint8Array<ArrayBuffer> {
  const text = atob(variant === 'shared' ? KERNELS_SHARED_WASM_BASE64 : KERNELS_WASM_BASE64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

const compiled = new Map<KernelVariant, WebAssembly.Module>();
const compiling = new Map<KernelVariant, Promise<WebAssembly.Module>>();

/**
 * The compiled module, compiled synchronously on first use (Node allows it for modules of any
 * size; a browser main thread may refuse large synchronous compiles — see {@link kernelModule}).
 *
 * @param variant - which module
 * @returns the module (compiled once per process)
 * @throws RangeError where the host refuses a synchronous compile
 */
export function kernelModuleSync(variant: KernelVariant): WebAssembly.Module {
  let module = compiled.get(variant);
  if (module === undefined) {
    module = new WebAssembly.Module(kernelBytes(variant));
    compiled.set(variant, module);
  }
  return module;
}

/**
 * The compiled module, compiled asynchronously on first use.
 *
 * @param variant - which module
 * @returns the module (compiled once per process)
 */
export function kernelModule(variant: KernelVariant): Promise<WebAssembly.Module> {
  const done = compiled.get(variant);
  if (done !== undefined) return Promise.resolve(done);
  let pending = compiling.get(variant);
  if (pending === undefined) {
    pending = WebAssembly.compile(kernelBytes(variant)).then((module) => {
      compiled.set(variant, module);
      return module;
    });
    compiling.set(variant, pending);
  }
  return pending;
}

/**
 * Instantiates the kernels on a memory.
 *
 * @param memory - the memory the module imports
 * @param shared - whether it is shared (selects the module variant)
 * @returns the exports
 */
export async function instantiateKernels(memory: WebAssembly.Memory, shared: boolean): Promise<KernelExports> {
  const module = await kernelModule(shared ? 'shared' : 'single');
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  return instance.exports as unknown as KernelExports;
}

/**
 * Instantiates the kernels on a memory synchronously (see {@link kernelModuleSync}).
 *
 * @param memory - the memory the module imports
 * @param shared - whether it is shared
 * @returns the exports
 * @throws RangeError where the host refuses a synchronous compile
 */
export function instantiateKernelsSync(memory: WebAssembly.Memory, shared: boolean): KernelExports {
  const instance = new WebAssembly.Instance(kernelModuleSync(shared ? 'shared' : 'single'), { env: { memory } });
  return instance.exports as unknown as KernelExports;
}
