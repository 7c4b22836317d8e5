import type { Workload } from '../workloads.js';
import { minimalBytes } from '../workloads.js';
import type { Implementation, PreparedRun } from './types.js';

/**
 * Copies `source` into `target` element by element: the plain JS loop the ceiling times.
 * Exported so the loop under test is visible (and not `TypedArray.prototype.set`).
 */
export function copyLoop(source: Float32Array, target: Float32Array): void {
  const n = source.length;
  for (let i = 0; i < n; i++) target[i] = source[i];
}

/**
 * The JS memory ceiling: a `Float32Array` copy loop that reads and writes, in total,
 * the workload's minimal bytes (`bytes/8` float32 elements read + the same written).
 * Its GB/s is what a single JS thread gets from streaming the same traffic with no
 * arithmetic; it computes nothing and is not checked.
 */
export const copyCeiling: Implementation = {
  name: 'copy',
  description: 'JS memory ceiling: Float32Array copy loop moving the bytes-model bytes',
  unsupported: () => null,
  async prepare(workload: Workload): Promise<PreparedRun> {
    const length = Math.max(1, Math.round(minimalBytes(workload) / 8));
    const source = new Float32Array(length);
    for (let i = 0; i < length; i++) source[i] = (i % 1021) * 0.5;
    const target = new Float32Array(length).fill(1);
    return {
      run: () => copyLoop(source, target),
      outputs: async () => null,
      dispose: async () => {},
    };
  },
};
