/** The words of the control block shared by the main thread and the worker (Int32 indices). */
export const REQUEST = 0;
export const DONE = 1;
export const KERNEL = 2;
export const STOP = 3;
/** Byte offset of the float64 argument slots. */
export const ARGS_OFFSET = 64;
/** Control block size in bytes. */
export const CONTROL_BYTES = ARGS_OFFSET + 16 * 8;
/** How many `Atomics.load` polls before sleeping (the probe's 2e4: back-to-back calls never sleep). */
export const SPIN_ITERATIONS = 20000;
/** The wasm module's kernel exports, by id (the worker receives the id). */
export const EXPORT_NAMES = ['moments', 'squareMoments', 'bnNormalize', 'bnGradientSums', 'bnInputGradient', 'lnForward', 'lnBackward'] as const;

/** The name of a wasm kernel export. */
export type ExportName = (typeof EXPORT_NAMES)[number];
