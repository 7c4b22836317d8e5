import type { ExperimentConfig } from './config.js';
import type { ReparamCheck } from './reparam.js';
import type { LandscapePoint, RunResult } from './train.js';

/** The landscape of one run, condensed over its probed steps. */
export interface LandscapeSummary {
  readonly variant: string;
  readonly lr: number;
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
    points: pts.length,
    lossBand: lo.length > 0 ? [Math.min(...lo), Math.max(...hi)] : null,
    meanLossVariation: mean(present(pts.map((p) => (p.lossMin === null || p.lossMax === null ? null : p.lossMax - p.lossMin)))),
    gradientBand: glo.length > 0 ? [Math.min(...glo), Math.max(...ghi)] : null,
    meanMaxGradientChange: mean(ghi),
    meanBeta: mean(betas),
    maxBeta: betas.length > 0 ? Math.max(...betas) : null,
  };
}

const pct = (v: number): string => `${(100 * v).toFixed(1)}%`;
const num = (v: number | null): string => (v === null ? 'n/a' : v >= 1e4 || v < 1e-3 ? v.toExponential(2) : v.toPrecision(3));
const band = (b: readonly [number, number] | null): string => (b === null ? 'n/a' : `${num(b[0])} – ${num(b[1])}`);

/** The Markdown summary: final accuracy per variant and learning rate, then the landscape table. */
export function summaryMarkdown(config: ExperimentConfig, runs: readonly RunResult[], reparam: ReparamCheck, seconds: number, cpuSeconds: number): string {
  const lrs = config.learningRates;
  const lines: string[] = [];
  lines.push(`# Does batch norm work? Summary (${config.name} run)`);
  lines.push('');
  lines.push(
    `MNIST from the \`mnist\` package: ${config.trainPerClass * 10} training and ${config.testPerClass * 10} test digits. ` +
      `MLP 784 → ${config.depth} × ${config.hidden} → 10 with ReLU, SGD with momentum ${config.momentum}, batch ${config.batchSize}, ` +
      `${config.steps} steps. Same initial weights and batch order for every variant. Wall time ${seconds.toFixed(0)} s (CPU ${cpuSeconds.toFixed(0)} s over all threads).`,
  );
  lines.push('');
  lines.push('## Final test accuracy');
  lines.push('');
  lines.push(`| normalization | ${lrs.map((lr) => `lr = ${lr}`).join(' | ')} |`);
  lines.push(`| --- | ${lrs.map(() => '---:').join(' | ')} |`);
  for (const variant of config.variants) {
    const cells = lrs.map((lr) => {
      const r = runs.find((x) => x.variant === variant && x.lr === lr);
      if (r === undefined) return 'n/a';
      return r.divergedAtStep === null ? `${pct(r.finalTestAccuracy)} (best ${pct(r.bestTestAccuracy)})` : `diverged at step ${r.divergedAtStep} (${pct(r.finalTestAccuracy)})`;
    });
    lines.push(`| ${variant} | ${cells.join(' | ')} |`);
  }
  lines.push('');
  lines.push('## Landscape (Santurkar et al. 2018, Fig. 4 measurements)');
  lines.push('');
  lines.push(
    `Every ${config.landscapeEvery} steps, θ′ = θ − η∇L(θ) for η ∈ {${config.landscapeEtas.join(', ')}} on the current batch. ` +
      'Loss band: min – max of L over θ and every θ′, across all probes; loss variation: mean over probes of (max − min). ' +
      'Gradient band: min – max of ‖∇L(θ) − ∇L(θ′)‖; β: max over η of ‖∇L(θ) − ∇L(θ′)‖ / ‖θ − θ′‖, mean (max) over probes.',
  );
  lines.push('');
  lines.push('| normalization | lr | probes | loss band | loss variation (mean) | gradient-change band | max gradient change (mean) | effective β mean (max) |');
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of runs) {
    const s = summarizeLandscape(r);
    if (s === null) continue;
    lines.push(
      `| ${s.variant} | ${s.lr} | ${s.points} | ${band(s.lossBand)} | ${num(s.meanLossVariation)} | ${band(s.gradientBand)} | ${num(s.meanMaxGradientChange)} | ${num(s.meanBeta)} (${num(s.maxBeta)}) |`,
    );
  }
  lines.push('');
  lines.push('## Reparameterization check (float64)');
  lines.push('');
  lines.push(
    `Zero-mean batch ${reparam.n} × ${reparam.inFeatures}, ${reparam.outFeatures} units, eps ${reparam.eps}: ` +
      `max |BN(x·W) − x·Ŵ| = ${reparam.batchNormMaxAbsError.toExponential(2)} (values up to ${reparam.batchNormMaxAbs.toFixed(2)}); ` +
      `whitened batch (S = I): max |BN(x·W) − WeightNormLinear(x)| = ${reparam.weightNormMaxAbsError.toExponential(2)}.`,
  );
  lines.push('');
  return lines.join('\n');
}
