import { isNormkitError } from '@normkit/core';
import type { Dtype, Tensor } from '@normkit/core';
import type { ContractOutcome } from './contract-checks.js';
import { FLOAT32_ATOL, FLOAT32_RTOL } from './float32-check.js';
import { errorMessage } from './jacobian.js';
import type { CheckPoint } from './point.js';
import { allIn, inputsIn } from './point.js';
import type { TensorRecord } from './problem.js';
import type { NamedOutput, OutputTolerance, RunInputs } from './run.js';
import { namedOutputs, outputDifferences, runForwardBackward } from './run.js';
import type { InputLayout } from './views.js';
import { LAYOUT_PADDING, outBuffer, outProblems, viewInLayout } from './views.js';

/**
 * Relative tolerance of the float64 layout checks: the outputs on views must equal the
 * outputs on contiguous inputs within 1e-9·|e| + {@link LAYOUT_ATOL}·S. A layout may change
 * the order of the sums (a strided walk instead of a blocked loop), which moves a result by a
 * few ulps of the terms summed; reading the wrong elements moves it by O(1).
 */
export const LAYOUT_RTOL = 1e-9;

/**
 * Absolute tolerance of the float64 layout checks, times S = max(1, max|e|) over the
 * outputs of the same pass (y and the state; or dy, dx and the gradients): as the linearity
 * check's floor, for outputs that are zero in exact arithmetic and computed as rounding noise
 * of larger terms, which a different order of summation changes.
 */
export const LAYOUT_ATOL = 1e-9;

/** What a layout check runs: the three input layouts, and `'out'` (preallocated outputs). */
export type LayoutCheck = InputLayout | 'out';

/** Every {@link LayoutCheck}, in order. */
export const LAYOUT_CHECKS: readonly LayoutCheck[] = ['offset', 'permuted', 'negative-stride', 'out'];

/** The contiguous inputs and outputs of a case in one dtype, which every layout is compared with. */
export interface LayoutBaseline {
  /** The dtype. */
  readonly dtype: Dtype;
  /**
   * Fresh contiguous inputs, a new copy on every call (so that a plugin that mutates an
   * input is reported by the purity checks, not as a layout difference).
   */
  readonly inputs: () => RunInputs;
  /** The outputs of the contiguous run, or the error it threw. */
  readonly outputs: NamedOutput[] | string;
}

/**
 * The contiguous runs of a point, computed once per case for every layout check: in float64
 * only. The layout logic of a kernel (offsets, strides, `out`) does not depend on the dtype in
 * TypeScript, and the float32 check already covers float32 arithmetic; a kernel that is wrong
 * for one dtype and one layout only (a backend's float32 fast path) is left to that backend's
 * own tests.
 */
export function layoutBaselines(point: CheckPoint): LayoutBaseline[] {
  return (['float64'] as const).map((dtype) => {
    const inputs = (): RunInputs => inputsIn(point, allIn(dtype));
    try {
      return { dtype, inputs, outputs: namedOutputs(runForwardBackward(point.bound, point.mode, inputs())) };
    } catch (e) {
      return { dtype, inputs, outputs: errorMessage(e) };
    }
  });
}

function toleranceOf(dtype: Dtype): OutputTolerance {
  return dtype === 'float64' ? { rtol: LAYOUT_RTOL, atol: LAYOUT_ATOL, scale: 'pass' } : { rtol: FLOAT32_RTOL, atol: FLOAT32_ATOL, scale: 'tensor' };
}

type InputName = 'x' | 'dy' | 'params' | 'state';

function viewed(inputs: RunInputs, layout: InputLayout, which: ReadonlySet<InputName>): RunInputs {
  const record = (r: TensorRecord): TensorRecord => Object.fromEntries(Object.entries(r).map(([k, t]) => [k, viewInLayout(t, layout)]));
  return {
    x: which.has('x') ? viewInLayout(inputs.x, layout) : inputs.x,
    dy: which.has('dy') ? viewInLayout(inputs.dy, layout) : inputs.dy,
    params: which.has('params') ? record(inputs.params) : inputs.params,
    state: which.has('state') ? record(inputs.state) : inputs.state,
  };
}

/** How messages name each input layout. */
export const LAYOUT_TEXT: Readonly<Record<InputLayout, string>> = {
  offset: `at offset ${LAYOUT_PADDING} in larger buffers`,
  permuted: 'with permuted strides',
  'negative-stride': 'with negative strides',
};

/**
 * One input-layout check of a case: forward and backward with x, dy,
 * the parameters and the state all given in `layout`, against the contiguous run of the same
 * values (`saved.x` is then the view too, so backward sees it). The outputs must agree within
 * {@link LAYOUT_RTOL} / {@link LAYOUT_ATOL} in float64 (the float32 tolerances in float32).
 * Each input is also given in the layout alone, the others contiguous (a fast path chosen from
 * one input's layout must not assume the others'); when the all-views run differs, those runs
 * name the inputs that matter.
 *
 * @param point - the point of the case
 * @param layout - the layout
 * @param baselines - the contiguous runs ({@link layoutBaselines})
 */
export function checkInputLayout(point: CheckPoint, layout: InputLayout, baselines: readonly LayoutBaseline[]): ContractOutcome {
  const name = 'layout';
  const problems: string[] = [];
  for (const base of baselines) {
    if (typeof base.outputs === 'string') {
      problems.push(`${base.dtype}: the contiguous run threw: ${base.outputs}`);
      continue;
    }
    const reference = base.outputs;
    const attempt = (which: ReadonlySet<InputName>): string[] => {
      try {
        const inputs = base.inputs();
        const outputs = namedOutputs(runForwardBackward(point.bound, point.mode, viewed(inputs, layout, which)));
        return outputDifferences(outputs, reference, toleranceOf(base.dtype), point.r);
      } catch (e) {
        return [`forward or backward threw: ${errorMessage(e)}`];
      }
    };
    const all: InputName[] = ['x', 'dy'];
    if (Object.keys(point.params).length > 0) all.push('params');
    if (Object.keys(point.state).length > 0) all.push('state');
    const differences = attempt(new Set(all));
    // Each input alone in the layout as well, the others contiguous: a kernel that picks its
    // fast path from one input (x contiguous) and then reads another (dy, γ) as contiguous is
    // right when all are contiguous and when all are views, and wrong only in a mix.
    const alone = all.length > 1 ? all.map((input) => ({ input, differences: attempt(new Set([input])) })) : [];
    const culprits = alone.filter((a) => a.differences.length > 0);
    if (differences.length > 0) {
      const blame = culprits.length === 0 ? 'no single input reproduces it' : `reproduced with ${culprits.map((c) => c.input).join(', ')} alone`;
      problems.push(`${base.dtype}, ${all.join(', ')} ${LAYOUT_TEXT[layout]}: ${differences.slice(0, 3).join('; ')} (${blame})`);
    } else if (culprits.length > 0) {
      const first = culprits[0];
      problems.push(
        `${base.dtype}, ${culprits.map((c) => c.input).join(', ')} alone ${LAYOUT_TEXT[layout]} (the other inputs contiguous; all of them in the layout agree): ${first.input}: ${first.differences.slice(0, 3).join('; ')}`,
      );
    }
  }
  if (problems.length > 0) return { name, detail: layout, status: 'fail', message: problems.join(' | ') };
  return { name, detail: layout, status: 'pass', message: `x, dy, params and state ${LAYOUT_TEXT[layout]}, together and each alone, give the contiguous results` };
}

/**
 * The preallocated-output check of a case: forward with `out` and
 * backward with `out`, each at offset 0 in a buffer of exactly its size and at offset
 * {@link LAYOUT_PADDING} in a larger one. Every buffer starts filled with NaN. Checked: the
 * returned y (dx) is `out` or a view of exactly its memory, every element of `out` was written,
 * no element outside it was, and the values equal the run without `out`. A plugin that refuses
 * `out` with a `NormkitError` passes (the contract lets it; it must not ignore `out`).
 *
 * @param point - the point of the case
 * @param baselines - the contiguous runs ({@link layoutBaselines})
 */
export function checkOutBuffers(point: CheckPoint, baselines: readonly LayoutBaseline[]): ContractOutcome {
  const name = 'layout';
  const detail = 'out';
  const problems: string[] = [];
  const refusals: string[] = [];
  for (const base of baselines) {
    if (typeof base.outputs === 'string') {
      problems.push(`${base.dtype}: the run without out threw: ${base.outputs}`);
      continue;
    }
    for (const offset of [0, LAYOUT_PADDING]) {
      // Both outputs in one run; when it is refused, each alone, to tell which call refuses.
      const both = attemptOut(point, base, offset, ['forward', 'backward']);
      if (both.refused === undefined) {
        if (both.problems.length > 0) problems.push(`${base.dtype}, out at offset ${offset}: ${both.problems.join('; ')}`);
        continue;
      }
      for (const pass of ['forward', 'backward'] as const) {
        const alone = attemptOut(point, base, offset, [pass]);
        if (alone.refused !== undefined) refusals.push(`${base.dtype}, ${pass} with out at offset ${offset}: ${alone.refused}`);
        else if (alone.problems.length > 0) problems.push(`${base.dtype}, ${pass} with out at offset ${offset}: ${alone.problems.join('; ')}`);
      }
    }
  }
  if (problems.length > 0) return { name, detail, status: 'fail', message: problems.join(' | ') };
  if (refusals.length > 0) return { name, detail, status: 'pass', message: `out refused with a NormkitError (allowed): ${refusals[0]}` };
  return {
    name,
    detail,
    status: 'pass',
    message: `y and dx written into out (offset 0 and ${LAYOUT_PADDING}): returned as out's memory, every element written, nothing outside, the values of the run without out`,
  };
}

/**
 * One run with preallocated outputs for the given passes: the problems found (the returned
 * tensor, unwritten elements, elements written outside `out`, values), or the message of the
 * `NormkitError` that refused `out`.
 */
function attemptOut(
  point: CheckPoint,
  base: LayoutBaseline,
  offset: number,
  passes: readonly ('forward' | 'backward')[],
): { problems: string[]; refused?: string } {
  const reference = base.outputs as NamedOutput[];
  const inputs = base.inputs();
  const yOut = passes.includes('forward') ? outBuffer(point.yShape, base.dtype, offset) : undefined;
  const dxOut = passes.includes('backward') ? outBuffer(inputs.x.shape, base.dtype, offset) : undefined;
  let y: Tensor;
  let dx: Tensor;
  let outputs: NamedOutput[];
  try {
    const run = runForwardBackward(point.bound, point.mode, { ...inputs, forwardOut: yOut?.out, backwardOut: dxOut?.out });
    y = run.y;
    dx = run.dx;
    outputs = namedOutputs(run);
  } catch (e) {
    if (isNormkitError(e)) return { problems: [], refused: errorMessage(e) };
    return { problems: [`threw: ${errorMessage(e)}`] };
  }
  const problems = [
    ...(yOut === undefined ? [] : outProblems(y, yOut, 'y').map((p) => `forward: ${p}`)),
    ...(dxOut === undefined ? [] : outProblems(dx, dxOut, 'dx').map((p) => `backward: ${p}`)),
    ...outputDifferences(outputs, reference, toleranceOf(base.dtype), point.r).slice(0, 3),
  ];
  return { problems };
}
