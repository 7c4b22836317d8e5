import type { Dtype } from '@normkit/core';
import type { Outputs } from './impls/types.js';

/**
 * The agreement tolerance: for each output, `max |peer − ref| ≤ tol · max |ref|`
 * (the error relative to the output's scale). float32: 1e-3, which float32 peers that
 * accumulate in float32 over ~10⁵ values per channel still meet; float64: 1e-9.
 */
export function tolerance(dtype: Dtype): number {
  return dtype === 'float32' ? 1e-3 : 1e-9;
}

/** The agreement of one output. */
export interface OutputAgreement {
  /** The output's name (`y`, `dx`, `dweight`, …). */
  readonly name: string;
  /** `max |peer − ref| / max |ref|`. */
  readonly relativeError: number;
  /** Whether it is within the tolerance. */
  readonly ok: boolean;
}

/** The agreement of an implementation's outputs with the reference. */
export interface Agreement {
  /** Whether every compared output agrees. */
  readonly ok: boolean;
  /** The largest relative error over the compared outputs. */
  readonly worst: number;
  /** Per output. */
  readonly outputs: readonly OutputAgreement[];
  /** A one-line explanation when not ok. */
  readonly message: string;
}

/**
 * Compares a peer's outputs with the reference (normkit's public API) on every output the
 * peer returns; a peer must return at least one, each of the reference's length.
 *
 * @param reference - normkit's outputs
 * @param peer - the implementation's outputs
 * @param tol - see {@link tolerance}
 */
export function compareOutputs(reference: Outputs, peer: Outputs, tol: number): Agreement {
  const results: OutputAgreement[] = [];
  const problems: string[] = [];
  for (const [name, values] of Object.entries(peer)) {
    const ref = reference[name];
    if (ref === undefined) {
      problems.push(`${name}: not an output of the reference`);
      continue;
    }
    if (ref.length !== values.length) {
      problems.push(`${name}: ${values.length} values, reference has ${ref.length}`);
      continue;
    }
    let scale = 0;
    let error = 0;
    for (let i = 0; i < ref.length; i++) {
      const r = ref[i];
      const d = Math.abs(values[i] - r);
      if (!(d <= error)) error = d; // NaN sticks
      if (Math.abs(r) > scale) scale = Math.abs(r);
    }
    const relativeError = error / Math.max(scale, Number.MIN_VALUE);
    const ok = relativeError <= tol;
    results.push({ name, relativeError, ok });
    if (!ok) problems.push(`${name}: max |Δ|/max|ref| = ${relativeError.toExponential(2)} > ${tol}`);
  }
  if (results.length === 0 && problems.length === 0) problems.push('no outputs to compare');
  const worst = results.reduce((m, r) => (r.relativeError > m || Number.isNaN(r.relativeError) ? r.relativeError : m), 0);
  return { ok: problems.length === 0, worst, outputs: results, message: problems.join('; ') };
}
