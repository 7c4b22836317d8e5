/**
 * The compiled AssemblyScript kernels (`assembly/index.ts` → `dist/kernels.wasm`, built by
 * `npm run build`), their exports, and the SIMD feature check.
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

/** The module file names in `dist/`: single-thread (own memory) and shared-memory variants. */
export const KERNEL_FILES = { single: 'kernels.wasm', shared: 'kernels-shared.wasm' } as const;

/**
 * The URL of a module file. `../dist/` resolves to the package's `dist/` both from
 * `dist/kernels.js` and from `src/kernels.ts` (tests run the sources).
 */
export function kernelUrl(variant: keyof typeof KERNEL_FILES): URL {
  return new URL(`../dist/${KERNEL_FILES[variant]}`, import.meta.url);
}

const compiled = new Map<string, Promise<WebAssembly.Module>>();

async function readBytes(url: URL): Promise<Uint8Array<ArrayBuffer>> {
  if (url.protocol === 'file:') {
    const { readFile } = await import('node:fs/promises');
    return new Uint8Array(await readFile(url));
  }
  const response = await fetch(url);
  if (!response.ok) throw new Error(`@normkit/wasm: cannot load ${url.href}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** The compiled module (read and compiled once per process). */
export function kernelModule(variant: keyof typeof KERNEL_FILES): Promise<WebAssembly.Module> {
  let module = compiled.get(variant);
  if (module === undefined) {
    module = readBytes(kernelUrl(variant)).then(
      (bytes) => WebAssembly.compile(bytes),
      (error: unknown) => {
        compiled.delete(variant);
        throw new Error(
          `@normkit/wasm: cannot read ${kernelUrl(variant).pathname} (${(error as Error).message}); run \`npm run build\` in packages/wasm`,
        );
      },
    );
    compiled.set(variant, module);
  }
  return module;
}

/** Instantiates the kernels on a memory. */
export async function instantiateKernels(memory: WebAssembly.Memory, shared: boolean): Promise<KernelExports> {
  const module = await kernelModule(shared ? 'shared' : 'single');
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  return instance.exports as unknown as KernelExports;
}
