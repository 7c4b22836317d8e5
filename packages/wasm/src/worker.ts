/**
 * The second thread of a `threads: 2` wasm backend: a `worker_threads` worker that
 * instantiates the shared-memory kernel module on the pool's memory and runs the half of a
 * kernel the main thread hands it. It spins briefly on the request word before it sleeps
 * (`Atomics.wait`), so back-to-back kernel calls do not pay a wake-up.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { KernelExports } from './kernels.js';
import { ARGS_OFFSET, DONE, EXPORT_NAMES, KERNEL, REQUEST, SPIN_ITERATIONS, STOP } from './protocol.js';

interface Data {
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;
  readonly control: SharedArrayBuffer;
}

const { module, memory, control } = workerData as Data;
const instance = await WebAssembly.instantiate(module, { env: { memory } });
const k = instance.exports as unknown as Record<string, (...args: number[]) => void>;
const ctl = new Int32Array(control, 0, 8);
const args = new Float64Array(control, ARGS_OFFSET, 16);
parentPort?.postMessage('ready');

let seen = 0;
for (;;) {
  let spins = 0;
  while (Atomics.load(ctl, REQUEST) === seen) {
    if (++spins > SPIN_ITERATIONS) {
      Atomics.wait(ctl, REQUEST, seen);
      spins = 0;
    }
  }
  seen = Atomics.load(ctl, REQUEST);
  if (Atomics.load(ctl, STOP) !== 0) break;
  const name = EXPORT_NAMES[Atomics.load(ctl, KERNEL)] as keyof KernelExports;
  const n = k[name].length;
  const a: number[] = [];
  for (let i = 0; i < n; i++) a.push(args[i]);
  k[name](...a);
  Atomics.store(ctl, DONE, seen);
  Atomics.notify(ctl, DONE);
}
