import type { WorkloadData } from '../data.js';
import type { Workload } from '../workloads.js';

/** The implementations the benchmark compares. */
export type ImplName =
  | 'normkit-ts'
  | 'normkit-default'
  | 'normkit-kernel'
  | 'normkit-wasm'
  | 'normkit-wasm-copy'
  | 'normkit-wasm-2t'
  | 'js-ref'
  | 'c-ref'
  | 'tfjs-cpu'
  | 'tfjs-wasm'
  | 'ort'
  | 'copy';

/**
 * Named outputs of one call, row-major in the workload's layout, for the agreement check:
 * `y` (or `w`), and for backward workloads `dx` (or `dv`), `dweight`, `dbias` (or `dg`).
 */
export type Outputs = Readonly<Record<string, ArrayLike<number>>>;

/** An implementation set up on one workload's data, ready to be checked and timed. */
export interface PreparedRun {
  /** One call of the workload (synchronous, or a promise for ONNX Runtime). Outputs are dropped. */
  run(): void | Promise<void>;
  /** Untimed, before the warm-up and before each sample (TF.js: make this impl's backend the active one). */
  beforeSample?(): Promise<void>;
  /** One call whose outputs are returned for the agreement check; `null` when there is nothing to check (the copy ceiling). */
  outputs(): Promise<Outputs | null>;
  /** Frees what `prepare` allocated outside the JS heap (TF.js tensors, ORT sessions). */
  dispose(): Promise<void>;
}

/** An implementation of (some of) the workloads. */
export interface Implementation {
  /** Its name in the table and the JSON (`impl`). */
  readonly name: ImplName;
  /** One line: what it is. */
  readonly description: string;
  /** Why it cannot run this workload (e.g. ONNX has no backward), or `null` when it can. */
  unsupported(workload: Workload): string | null;
  /** Builds what a call needs (tensors, sessions, buffers) outside the timed region. */
  prepare(workload: Workload, data: WorkloadData): Promise<PreparedRun>;
}
