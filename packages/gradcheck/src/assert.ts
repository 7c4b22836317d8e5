import type { Normalizer, NormalizerTypes } from '@normkit/core';
import { checkGradients } from './check.js';
import type { GradcheckConfig } from './check.js';
import { formatReport } from './report.js';
import type { GradcheckReport } from './report.js';

/**
 * The test helper: runs {@link checkGradients} and throws when anything failed, with the
 * {@link formatReport} table as the error message. Framework-agnostic: any test runner that
 * fails a test on a thrown error (vitest, jest, node:test, mocha) shows the table.
 *
 * @example
 * ```ts
 * import { it } from 'vitest';
 * import { assertGradients } from '@normkit/gradcheck';
 * import { myNorm } from '../src/index.js';
 *
 * it('has correct gradients', () => {
 *   assertGradients(myNorm);
 * });
 * ```
 *
 * @param plugin - any normalizer
 * @param config - what to check and how (see {@link GradcheckConfig})
 * @returns the report, when everything passed
 * @throws Error whose message is `formatReport(report)` when a check failed
 */
export function assertGradients<T extends NormalizerTypes>(plugin: Normalizer<T>, config: GradcheckConfig<T> = {}): GradcheckReport {
  const report = checkGradients(plugin, config);
  if (!report.ok) {
    const error = new Error(formatReport(report));
    error.name = 'GradcheckError';
    throw error;
  }
  return report;
}
