/**
 * Private test helpers for normkit's packages.
 *
 * @packageDocumentation
 */
export * from './random.js';
export * from './readme.js';
export * from './checks.js';
export * from './compare.js';
