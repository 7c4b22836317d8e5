/**
 * `@normkit/conformance`: the PyTorch 1.13.1 float64 test vectors for normalization
 * layers (batch, layer, weight, group, instance and RMS norm), and a runner that
 * checks any normkit plugin against them at stated tolerances.
 *
 * @packageDocumentation
 */
export * from './format.js';
export { parseCase, sortCases } from './parse.js';
export * from './load.js';
export * from './compare.js';
export * from './run.js';
