/**
 * `@normkit/reliability`: property and fuzz tests across every built-in normkit plugin,
 * and the bad-input table (see the README). What the tests share is exported here:
 *
 * - fixed-seed / fuzz configuration ({@link checkProperty}, {@link BASE_SEED});
 * - strided-view and value generators ({@link makeView}, {@link viewSpecArb});
 * - plain-loop float64 reference implementations of every plugin;
 * - tolerance-stated comparisons and byte snapshots.
 *
 * @packageDocumentation
 */
export * from './config.js';
export * from './views.js';
export * from './reference.js';
export * from './compare.js';
export * from './snapshot.js';
export * from './harnesses.js';
