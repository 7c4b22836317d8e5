import type { ExperimentConfig } from './config.js';
import type { ReparamCheck } from './reparam.js';
import { interval } from './stats.js';
import type { Interval } from './stats.js';
import type { SweepRunResult } from './sweep.js';
import type { LandscapePoint, RunResult } from './train.js';

/** The landscape of one run, condensed over its probed steps. */
export interface LandscapeSummary {
  readonly variant: string;
  readonly lr: number;
  readonly seed: number;
  readonly points: number;
  /** Overall band of L(θ − η∇L) over every probe: [min, max]. */
  readonly lossBand: readonly [number, number] | null;
  /** Mean over probes of the loss variation max_η L − min_η L. */
  readonly meanLossVariation: number | null;
  /** Overall band of ‖∇L(θ) − ∇L(θ − η∇L)‖ over every probe. */
  readonly gradientBand: readonly [number, number] | null;
  /** Mean over probes of max_η ‖∇L(θ) − ∇L(θ − η∇L)‖. */
  readonly meanMaxGradientChange: number | null;
  /** Mean and max over probes of the effective β-smoothness. */
  readonly meanBeta: number | null;
  readonly maxBeta: number | null;
}

const mean = (v: number[]): number | null => (v.length === 0 ? null : v.reduce((a, b) => a + b, 0) / v.length);
const present = (v: (number | null)[]): number[] => v.filter((x): x is number => x !== null && Number.isFinite(x));

/** Condenses the landscape probes of one run. */
export function summarizeLandscape(run: RunResult): LandscapeSummary | null {
  const pts: LandscapePoint[] = run.landscape ?? [];
  if (run.landscape === null) return null;
  const lo = present(pts.map((p) => p.lossMin));
  const hi = present(pts.map((p) => p.lossMax));
  const glo = present(pts.map((p) => p.gradDiffMin));
  const ghi = present(pts.map((p) => p.gradDiffMax));
  const betas = present(pts.map((p) => p.beta));
  return {
    variant: run.variant,
    lr: run.lr,
    seed: run.seed,
    points: pts.length,
    lossBand: lo.length > 0 ? [Math.min(...lo), Math.max(...hi)] : null,
    meanLossVariation: mean(present(pts.map((p) => (p.lossMin === null || p.lossMax === null ? null : p.lossMax - p.lossMin)))),
    gradientBand: glo.length > 0 ? [Math.min(...glo), Math.max(...ghi)] : null,
    meanMaxGradientChange: mean(ghi),
    meanBeta: mean(betas),
    maxBeta: betas.length > 0 ? Math.max(...betas) : null,
  };
}

/** A number with 3 significant digits (exponent form outside [1e-3, 1e4)). */
export const num = (v: number | null): string => (v === null ? 'n/a' : Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : v.toPrecision(3));
/** A fraction as a percentage with one decimal. */
export const pct = (v: number): string => `${(100 * v).toFixed(1)}%`;
/** An interval of fractions: `93.1 ± 0.4%` (the half-width in percentage points). */
export const pctInterval = (i: Interval): string => (i.half === null ? pct(i.mean) : `${(100 * i.mean).toFixed(1)} ± ${(100 * i.half).toFixed(1)}%`);
/** An interval of plain numbers, 3 significant digits: `0.207 ± 0.0150`. */
export const numInterval = (i: Interval): string => (i.half === null ? num(i.mean) : `${num(i.mean)} ± ${num(i.half)}`);
/** A difference of fractions in percentage points, signed: `+0.6 ± 0.4 points`. */
const pointsInterval = (i: Interval): string => `${i.mean >= 0 ? '+' : '−'}${Math.abs(100 * i.mean).toFixed(1)} ± ${(100 * (i.half ?? 0)).toFixed(1)} points`;

/** The runs of one variant at one learning rate, in seed order. */
export function runsOf(runs: readonly RunResult[], variant: string, lr: number): RunResult[] {
  return runs.filter((r) => r.variant === variant && r.lr === lr).sort((a, b) => a.seed - b.seed);
}

/** Does the interval of a (paired) difference exclude 0? */
const differs = (i: Interval): boolean => i.half !== null && Math.abs(i.mean) > i.half;

/** The 1-based step numbers as a compact list: `3, 3, 4`. */
const steps = (v: number[]): string => v.join(', ');

/** Is a run at chance at the end (a constant prediction gives 10%)? */
export const atChance = (r: RunResult): boolean => r.divergedAtStep === null && r.finalTestAccuracy < 0.115;

/** One cell of the accuracy table: mean ± interval over seeds, and how many diverged or stuck. */
function accuracyCell(rs: RunResult[]): string {
  if (rs.length === 0) return '—';
  const diverged = rs.filter((r) => r.divergedAtStep !== null);
  const stuck = rs.filter(atChance);
  const notes: string[] = [];
  if (diverged.length > 0) notes.push(`${diverged.length}/${rs.length} diverged (steps ${steps(diverged.map((r) => r.divergedAtStep as number))})`);
  if (stuck.length > 0) notes.push(`${stuck.length}/${rs.length} at chance`);
  if (diverged.length === rs.length) return notes.join('; ');
  return `${pctInterval(interval(rs.map((r) => r.finalTestAccuracy)))}${notes.length > 0 ? ` (${notes.join('; ')})` : ''}`;
}

/** The paired difference `a − b` of final accuracy over common seeds (both trained), or null. */
function pairedAccuracy(runs: readonly RunResult[], a: string, b: string, lr: number): Interval | null {
  const ra = runsOf(runs, a, lr);
  const rb = runsOf(runs, b, lr);
  const diffs: number[] = [];
  for (const x of ra) {
    const y = rb.find((r) => r.seed === x.seed);
    if (y === undefined || x.divergedAtStep !== null || y.divergedAtStep !== null) continue;
    diffs.push(x.finalTestAccuracy - y.finalTestAccuracy);
  }
  return diffs.length >= 2 ? interval(diffs) : null;
}

/** The trace of a run at a step, block b (0-based). */
const traced = (r: RunResult, step: number, block: number) => r.trace?.find((t) => t.step === step)?.blocks[block] ?? null;

/** The Markdown summary of a whole experiment: every table the guides quote. */
export function summaryMarkdown(config: ExperimentConfig, runs: readonly RunResult[], sweep: readonly SweepRunResult[], reparam: ReparamCheck, seconds: number, cpuSeconds: number): string {
  const lrs = config.learningRates;
  const top = Math.max(...lrs);
  const n = config.seeds.length;
  const L: string[] = [];
  const table = (head: string[], align: string[]): void => {
    L.push(`| ${head.join(' | ')} |`);
    L.push(`| ${align.join(' | ')} |`);
  };
  L.push(`# Does batch norm work? Summary (${config.name} run)`);
  L.push('');
  L.push(
    `MNIST from the \`mnist\` package: ${config.trainPerClass * 10} training and ${config.testPerClass * 10} test digits (one split, data seed ${config.dataSeed}). ` +
      `Seeds ${config.seeds.join(', ')}: every configuration ran once per seed (initial weights, batch order, noise). ` +
      `Intervals are 95% t-intervals over the ${n} seeds (mean ± t(0.975; ${n - 1})·s/√${n}). ` +
      `Wall time ${seconds.toFixed(0)} s (CPU ${cpuSeconds.toFixed(0)} s over all threads).`,
  );
  L.push('');

  // 1. Accuracy.
  L.push('## Final test accuracy (MLP)');
  L.push('');
  L.push(
    `MLP 784 → ${config.depth} × ${config.hidden} → 10 with ReLU, SGD with momentum ${config.momentum}, batch ${config.batchSize}, ${config.steps} steps; ` +
      `test accuracy in eval mode after the last step. A diverged run (non-finite loss) counts with the accuracy it had when it stopped.`,
  );
  L.push('');
  table(['normalization', ...lrs.map((lr) => `lr = ${lr}`)], ['---', ...lrs.map(() => '---:')]);
  for (const variant of [...config.variants, ...config.ablations]) {
    L.push(`| ${variant} | ${lrs.map((lr) => accuracyCell(runsOf(runs, variant, lr))).join(' | ')} |`);
  }
  L.push('');
  L.push('Paired differences of final accuracy (same seed: same initial weights and batches), seeds where both trained. "differs" when the interval excludes 0.');
  L.push('');
  table(['comparison', 'lr', 'seeds', 'difference', 'verdict'], ['---', '---:', '---:', '---:', '---']);
  const pairs: [string, string][] = [
    ['batch-norm', 'none'],
    ['noisy-batch-norm', 'none'],
    ['noisy-batch-norm', 'batch-norm'],
    ['layer-norm', 'none'],
    ['weight-norm', 'none'],
    ['layer-norm', 'batch-norm'],
    ['weight-norm', 'batch-norm'],
  ];
  for (const lr of lrs) {
    for (const [a, b] of pairs) {
      const d = pairedAccuracy(runs, a, b, lr);
      if (d === null) continue;
      L.push(`| ${a} − ${b} | ${lr} | ${d.n} | ${pointsInterval(d)} | ${differs(d) ? 'differs' : 'no difference shown'} |`);
    }
  }
  L.push('');

  // 2. Failures.
  L.push(`## The failures at lr = ${top}: traces of the first ${config.traceSteps} steps`);
  L.push('');
  L.push(
    'Per hidden block, before each step\'s update, on that step\'s batch; mean over seeds of the runs still training at that step. ' +
      '`active`: fraction of ReLU outputs > 0; `dead`: fraction of units with no positive output on the batch; ' +
      '`input share`: the share of the ReLU input\'s second moment that varies across the batch (0: the block outputs the same for every sample); ' +
      '`‖∇W‖`: gradient norm of the block\'s linear layer; `‖b‖`: its bias norm; `pre RMS`: RMS of its output.',
  );
  L.push('');
  const traceVariants = [...config.variants, ...config.ablations];
  const probeSteps = [0, 2, 10, 50, config.traceSteps - 1].filter((s, i, a) => s < config.traceSteps && a.indexOf(s) === i);
  const shown = [0, Math.floor(config.depth / 2) - 1, config.depth - 1].filter((b, i, all) => all.indexOf(b) === i);
  const blocksLabel = shown.map((b) => b + 1).join(' / ');
  table(
    ['normalization', 'step', 'runs', 'loss', 'logit RMS', `input share (blocks ${blocksLabel})`, `dead units (blocks ${blocksLabel})`, `‖∇W‖ (blocks ${blocksLabel})`, `pre RMS (blocks ${blocksLabel})`],
    ['---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:'],
  );
  for (const variant of traceVariants) {
    const rs = runsOf(runs, variant, top);
    for (const step of probeSteps) {
      const at = rs.filter((r) => traced(r, step, 0) !== null);
      if (at.length === 0) continue;
      const m = (f: (r: RunResult) => number): string => num(mean(at.map(f)));
      const perBlock = (f: (b: NonNullable<ReturnType<typeof traced>>) => number): string => shown.map((b) => m((r) => f(traced(r, step, b)!))).join(' / ');
      const stepTrace = (r: RunResult) => r.trace!.find((t) => t.step === step)!;
      L.push(
        `| ${variant} | ${step} | ${at.length} | ${m((r) => stepTrace(r).loss)} | ${m((r) => stepTrace(r).logitRms)} | ${perBlock((b) => b.inputShare)} | ${perBlock((b) => b.deadUnits)} | ${perBlock((b) => b.gradNorm)} | ${perBlock((b) => b.preRms)} |`,
      );
    }
  }
  L.push('');
  L.push(`Gradient checks at lr = ${top} (float64 copy of the parameters, the step's batch, train mode; directional derivative along a random unit direction against central differences, ε = 1e-5; and the relative difference of the float32 gradient training uses from the float64 one):`);
  L.push('');
  table(['normalization', 'checks', 'largest relative error', 'largest float32 − float64 gradient difference', 'steps'], ['---', '---:', '---:', '---:', '---']);
  for (const variant of traceVariants) {
    const checks = runsOf(runs, variant, top).flatMap((r) => r.gradChecks);
    const ok = checks.filter((c) => Number.isFinite(c.relativeError));
    if (ok.length === 0) continue;
    L.push(`| ${variant} | ${ok.length} | ${num(Math.max(...ok.map((c) => c.relativeError)))} | ${num(Math.max(...ok.map((c) => c.float32Difference)))} | ${[...new Set(ok.map((c) => c.step))].join(', ')} |`);
  }
  L.push('');

  // 3. Landscape.
  L.push('## Landscape (Santurkar et al. 2018, Fig. 4 measurements)');
  L.push('');
  L.push(
    `Every ${config.landscapeEvery} steps, θ′ = θ − η∇L(θ) for η ∈ {${config.landscapeEtas.join(', ')}} on the current batch. ` +
      'Per run: loss variation = mean over probes of (max − min of L over θ and every θ′); gradient change = mean over probes of max_η ‖∇L(θ) − ∇L(θ′)‖; ' +
      'β = mean over probes of max_η ‖∇L(θ) − ∇L(θ′)‖ / ‖θ − θ′‖. Then mean ± interval over seeds.',
  );
  L.push('');
  table(['normalization', 'lr', 'runs', 'loss variation', 'max gradient change', 'effective β'], ['---', '---:', '---:', '---:', '---:', '---:']);
  for (const lr of lrs) {
    for (const variant of config.landscapeVariants) {
      const s = runsOf(runs, variant, lr).map(summarizeLandscape).filter((x): x is LandscapeSummary => x !== null);
      const f = (g: (x: LandscapeSummary) => number | null): string => {
        const v = present(s.map(g));
        return v.length === 0 ? 'n/a' : numInterval(interval(v));
      };
      L.push(`| ${variant} | ${lr} | ${s.length} | ${f((x) => x.meanLossVariation)} | ${f((x) => x.meanMaxGradientChange)} | ${f((x) => x.meanBeta)} |`);
    }
  }
  L.push('');

  // 4. Curvature.
  L.push('## Curvature: top Hessian eigenvalue against effective β');
  L.push('');
  L.push(
    `λ_max: power iteration (≤ ${config.curvature.maxIterations} products, stop at a relative change < ${config.curvature.tolerance}) on exact Hessian–vector products of the batch loss ` +
      `(the layers' doubleBackward, float64, train mode), every ${config.curvature.every} steps on that step's batch. β: the effective β-smoothness of the landscape probe at the same step and batch. ` +
      `Heavy-ball SGD on a quadratic is stable when λ < 2(1 + μ)/η: ${lrs.map((lr) => `${num((2 * (1 + config.momentum)) / lr)} at lr ${lr}`).join(', ')}.`,
  );
  L.push('');
  table(['normalization', 'lr', 'step', 'runs', 'λ_max', 'effective β', 'β / λ_max', 'residual (median)'], ['---', '---:', '---:', '---:', '---:', '---:', '---:', '---:']);
  for (const lr of lrs) {
    for (const variant of config.landscapeVariants) {
      const rs = runsOf(runs, variant, lr);
      const stepsProbed = [...new Set(rs.flatMap((r) => (r.curvature ?? []).map((c) => c.step)))].sort((a, b) => a - b);
      for (const step of stepsProbed) {
        const pts = rs.flatMap((r) => {
          const c = r.curvature?.find((p) => p.step === step);
          return c === undefined || !Number.isFinite(c.eigenvalue) ? [] : [{ c, beta: r.landscape?.find((p) => p.step === step)?.beta ?? null }];
        });
        if (pts.length === 0) continue;
        const lam = interval(pts.map((p) => p.c.eigenvalue));
        const betas = present(pts.map((p) => p.beta));
        const ratios = present(pts.map((p) => (p.beta === null ? null : p.beta / p.c.eigenvalue)));
        const residuals = pts.map((p) => p.c.residual).sort((a, b) => a - b);
        L.push(
          `| ${variant} | ${lr} | ${step} | ${pts.length} | ${numInterval(lam)} | ${betas.length > 0 ? numInterval(interval(betas)) : 'n/a'} | ${ratios.length > 0 ? numInterval(interval(ratios)) : 'n/a'} | ${num(residuals[Math.floor(residuals.length / 2)])} |`,
        );
      }
    }
  }
  L.push('');

  // 5. PreciseBN.
  L.push('## PreciseBN: running averages against recalibrated statistics (batch norm)');
  L.push('');
  L.push(
    `After training, the running statistics (exponential moving average, momentum 0.1) are replaced by population statistics over K training batches of ${config.preciseBn.batchSize} ` +
      '(core\'s `recalibrate`); test accuracy in eval mode. Difference: recalibrated − moving average, paired by seed.',
  );
  L.push('');
  const ks = config.preciseBn.ks;
  table(['lr', 'runs', 'moving average', ...ks.map((k) => `K = ${k}`)], ['---:', '---:', '---:', ...ks.map(() => '---:')]);
  const preciseRuns = (lr: number) => runsOf(runs, 'batch-norm', lr).filter((r) => r.preciseBn !== null);
  for (const lr of lrs) {
    const rs = preciseRuns(lr);
    if (rs.length === 0) continue;
    L.push(`| ${lr} | ${rs.length} | ${pctInterval(interval(rs.map((r) => r.preciseBn!.emaAccuracy)))} | ${ks.map((_, i) => pctInterval(interval(rs.map((r) => r.preciseBn!.accuracies[i])))).join(' | ')} |`);
  }
  for (const lr of lrs) {
    const rs = preciseRuns(lr);
    if (rs.length < 2) continue;
    L.push(`| ${lr} | difference | | ${ks.map((_, i) => pointsInterval(interval(rs.map((r) => r.preciseBn!.accuracies[i] - r.preciseBn!.emaAccuracy)))).join(' | ')} |`);
  }
  L.push('');

  // 6. Batch size.
  const s = config.sweep;
  L.push('## Batch size (Wu & He 2018, Fig. 1): test error of a small CNN');
  L.push('');
  L.push(
    `CNN: three 3×3 stride-2 convolutions without bias (${s.channels.join(', ')} channels, im2col), each followed by the normalization and ReLU, then the ${s.channels[2]} × 4 × 4 values flattened into a dense layer to 10. ` +
      `Every run sees ${s.samples} training samples (so ${Math.ceil(s.samples / Math.max(...s.batchSizes))} to ${Math.ceil(s.samples / Math.min(...s.batchSizes))} steps), ` +
      `lr = ${s.baseLr} × batch / ${s.baseBatch}, momentum ${s.momentum}; group norm with ${s.channelsPerGroup} channels per group; running statistics with momentum ${s.statsMomentum}; ` +
      'batch renorm ramps rmax to 3 and dmax to 5 over the run (plain batch norm for the first 10% of the steps). Test error in eval mode, mean ± interval over seeds.',
  );
  L.push('');
  table(['normalization', ...s.batchSizes.map((b) => `batch ${b}`)], ['---', ...s.batchSizes.map(() => '---:')]);
  const sweepCell = (rs: SweepRunResult[], f: (r: SweepRunResult) => number | null): string => {
    const v = present(rs.map(f));
    const div = rs.filter((r) => r.diverged).length;
    if (v.length === 0) return '—';
    return `${pctInterval(interval(v))}${div > 0 ? ` (${div} diverged)` : ''}`;
  };
  for (const norm of s.norms) {
    L.push(`| ${norm} | ${s.batchSizes.map((b) => sweepCell(sweep.filter((r) => r.norm === norm && r.batchSize === b), (r) => r.testError)).join(' | ')} |`);
  }
  for (const norm of s.norms.filter((x) => x === 'batch-norm' || x === 'batch-renorm')) {
    L.push(
      `| ${norm} + PreciseBN (${s.preciseBn.batches} × ${s.preciseBn.batchSize}) | ${s.batchSizes.map((b) => sweepCell(sweep.filter((r) => r.norm === norm && r.batchSize === b), (r) => r.preciseBnTestError)).join(' | ')} |`,
    );
  }
  L.push('');
  L.push('Paired differences of test error against group norm at the same batch size and seed (negative: lower error than group norm):');
  L.push('');
  table(['normalization', ...s.batchSizes.map((b) => `batch ${b}`)], ['---', ...s.batchSizes.map(() => '---:')]);
  for (const norm of s.norms.filter((x) => x !== 'group-norm')) {
    const cells = s.batchSizes.map((b) => {
      const diffs = sweep
        .filter((r) => r.norm === norm && r.batchSize === b)
        .flatMap((r) => {
          const g = sweep.find((x) => x.norm === 'group-norm' && x.batchSize === b && x.seed === r.seed);
          return g === undefined ? [] : [r.testError - g.testError];
        });
      if (diffs.length < 2) return 'n/a';
      const d = interval(diffs);
      return `${pointsInterval(d)}${differs(d) ? ' *' : ''}`;
    });
    L.push(`| ${norm} − group-norm | ${cells.join(' | ')} |`);
  }
  L.push('');
  L.push('`*`: the interval excludes 0.');
  L.push('');

  // 7. Reparameterization.
  L.push('## Reparameterization check (float64)');
  L.push('');
  L.push(
    `Zero-mean batch ${reparam.n} × ${reparam.inFeatures}, ${reparam.outFeatures} units, eps ${reparam.eps}: ` +
      `max |BN(x·W) − x·Ŵ| = ${reparam.batchNormMaxAbsError.toExponential(2)} (values up to ${reparam.batchNormMaxAbs.toFixed(2)}); ` +
      `whitened batch (S = I): max |BN(x·W) − WeightNormLinear(x)| = ${reparam.weightNormMaxAbsError.toExponential(2)}.`,
  );
  L.push('');
  return L.join('\n');
}
