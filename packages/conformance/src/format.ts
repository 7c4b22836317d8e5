/**
 * One array of a test vector: its shape and its values in row-major order.
 * A 0-d scalar has `shape: []` and one value.
 */
export interface GoldenArray {
  /** The size of each axis. */
  readonly shape: readonly number[];
  /** The values, row-major. */
  readonly data: readonly number[];
}

/** A value in `inputs` / `expected`: one array, or one per step (multi-step cases). */
export type GoldenValue = GoldenArray | readonly GoldenArray[];

/** The golden layer names (PyTorch's functional names). */
export type GoldenLayer = 'batch_norm' | 'layer_norm' | 'weight_norm' | 'group_norm' | 'instance_norm' | 'rms_norm';

/**
 * One test case, as in `vectors/README.md`: inputs and options fed to PyTorch 1.13.1
 * in float64, and what it computed.
 */
export interface GoldenCase {
  /** Equals the file name without `.json`. */
  readonly id: string;
  /** Which layer. */
  readonly layer: GoldenLayer;
  /** What was computed. */
  readonly description: string;
  /** The layer's options, camelCase. */
  readonly options: Readonly<Record<string, unknown>>;
  /** Train or eval. */
  readonly mode: 'train' | 'eval';
  /** True when the call must fail. */
  readonly expectError: boolean;
  /** Inputs, PyTorch-named. */
  readonly inputs: Readonly<Record<string, GoldenValue>>;
  /** Expected outputs, PyTorch-named (absent for error cases). */
  readonly expected?: Readonly<Record<string, GoldenValue>>;
  /** Mean ≈ 1e4, std ≈ 1e-2 per group: needs a stable variance. */
  readonly numericallyHard?: boolean;
  /** Second-order outputs (present on second-order cases). */
  readonly secondOrder?: unknown;
  /** PyTorch's error message, for error cases. */
  readonly errorMessage?: string;
}
