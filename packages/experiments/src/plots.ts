import { compile } from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';
import * as vega from 'vega';
import type { ExperimentConfig } from './config.js';
import { interval } from './stats.js';
import type { SweepRunResult } from './sweep.js';
import type { RunResult } from './train.js';

/** Renders a Vega-Lite spec to an SVG string with Vega's headless renderer. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';
const VARIANT_ORDER = ['none', 'batch-norm', 'noisy-batch-norm', 'layer-norm', 'weight-norm', 'layer-norm-no-bias', 'weight-norm-no-init'];
const COLORS = ['#7f7f7f', '#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#98df8a', '#ff9896'];
const SWEEP_ORDER = ['batch-norm', 'group-norm', 'layer-norm', 'batch-renorm'];
const SWEEP_COLORS = ['#1f77b4', '#9467bd', '#2ca02c', '#8c564b'];
const LEGEND = { labelLimit: 220, titleLimit: 220 };
const lrLabel = (lr: number): string => `learning rate ${lr}`;

function column(title: string | null = null): object {
  return { field: 'run', type: 'nominal', title, header: { labelFontSize: 12 } };
}

function colorOf(variants: readonly string[]): object {
  const present = VARIANT_ORDER.filter((v) => variants.includes(v));
  return { field: 'variant', type: 'nominal', scale: { domain: present, range: present.map((v) => COLORS[VARIANT_ORDER.indexOf(v)]) }, title: 'normalization', legend: LEGEND };
}

/** Mean and 95% band (t-interval over seeds) of values grouped by a key; groups with fewer than `minimum` values are dropped. */
function band<T>(items: readonly T[], key: (t: T) => string, value: (t: T) => number | null, minimum: number): Map<string, { mean: number; lo: number; hi: number; n: number }> {
  const groups = new Map<string, number[]>();
  for (const t of items) {
    const v = value(t);
    if (v === null || !Number.isFinite(v)) continue;
    const k = key(t);
    groups.set(k, [...(groups.get(k) ?? []), v]);
  }
  const out = new Map<string, { mean: number; lo: number; hi: number; n: number }>();
  for (const [k, vs] of groups) {
    if (vs.length < minimum) continue;
    const i = interval(vs);
    out.set(k, { mean: i.mean, lo: i.mean - (i.half ?? 0), hi: i.mean + (i.half ?? 0), n: i.n });
  }
  return out;
}

/** Line of the seed mean with its 95% band, facetted by learning rate. */
function bandedLines(values: object[], x: object, y: object, color: object, title: object, extraLayers: object[] = []): TopLevelSpec {
  return {
    $schema: SCHEMA,
    title,
    data: { values },
    facet: { column: column() },
    spec: {
      width: 320,
      height: 220,
      layer: [
        { mark: { type: 'area', opacity: 0.25, clip: true }, encoding: { x, y: { ...y, field: 'lo' }, y2: { field: 'hi' }, color } },
        { mark: { type: 'line', strokeWidth: 1.5, clip: true }, encoding: { x, y: { ...y, field: 'mean' }, color } },
        ...extraLayers,
      ],
    },
  } as TopLevelSpec;
}

/**
 * Training loss per step: the seed mean of a moving average with its 95% band, one panel per
 * learning rate; a step is drawn only while every seed of the configuration is still finite.
 */
export function trainingLossSpec(runs: readonly RunResult[], smoothing: number): TopLevelSpec {
  const groups = new Map<string, RunResult[]>();
  for (const r of runs) groups.set(`${r.variant}|${r.lr}`, [...(groups.get(`${r.variant}|${r.lr}`) ?? []), r]);
  const values: object[] = [];
  for (const rs of groups.values()) {
    const smoothed = rs.map((r) =>
      r.trainLoss.map((_, s) => {
        const window = r.trainLoss.slice(Math.max(0, s - smoothing + 1), s + 1);
        return window.every((v) => v !== null) ? window.reduce((a, b) => a + (b as number), 0) / window.length : null;
      }),
    );
    const length = Math.max(...rs.map((r) => r.trainLoss.length));
    for (let s = 0; s < length; s += 2) {
      const v = smoothed.map((l) => l[s] ?? null);
      if (v.some((x) => x === null)) continue;
      const i = interval(v as number[]);
      values.push({ variant: rs[0].variant, run: lrLabel(rs[0].lr), step: s + 1, mean: i.mean, lo: Math.max(1e-3, i.mean - (i.half ?? 0)), hi: i.mean + (i.half ?? 0) });
    }
  }
  return bandedLines(
    values,
    { field: 'step', type: 'quantitative', title: 'step' },
    { type: 'quantitative', title: 'training loss (log scale, clipped at 10)', scale: { type: 'log', domainMax: 10 } },
    colorOf(runs.map((r) => r.variant)),
    { text: 'Training loss (SGD with momentum, MNIST)', subtitle: `seed mean of a ${smoothing}-step moving average, 95% band over seeds; a line stops where a seed diverged` },
  );
}

/** Test accuracy at every evaluation: seed mean and 95% band, one panel per learning rate. */
export function testAccuracySpec(runs: readonly RunResult[]): TopLevelSpec {
  const points = runs.flatMap((r) => r.evals.filter((e) => r.divergedAtStep === null || e.step < r.divergedAtStep).map((e) => ({ r, e })));
  const b = band(points, (p) => `${p.r.variant}|${p.r.lr}|${p.e.step}`, (p) => p.e.testAccuracy, 1);
  const values = [...b.entries()].map(([k, v]) => {
    const [variant, lr, step] = k.split('|');
    return { variant, run: lrLabel(Number(lr)), step: Number(step), mean: v.mean, lo: Math.max(0, v.lo), hi: Math.min(1, v.hi) };
  });
  return bandedLines(
    values,
    { field: 'step', type: 'quantitative', title: 'step' },
    { type: 'quantitative', title: 'test accuracy', scale: { domain: [0, 1] }, axis: { format: '.0%' } },
    colorOf(runs.map((r) => r.variant)),
    { text: 'Test accuracy', subtitle: 'eval mode (running statistics, no injected noise); seed mean and 95% band' },
  );
}

/** Which landscape measurement to draw. */
export type LandscapeMetric = 'loss' | 'gradient' | 'beta';

const METRIC_TEXT: Record<LandscapeMetric, { title: string; subtitle: string; axis: string }> = {
  loss: { title: 'Loss landscape: variation of the loss along the gradient', subtitle: 'max − min of L(θ − η∇L) over the η grid at each probed step; seed mean and 95% band', axis: 'loss variation' },
  gradient: { title: 'Gradient predictiveness', subtitle: 'max over the η grid of ‖∇L(θ) − ∇L(θ − η∇L)‖; seed mean and 95% band', axis: 'largest gradient change (ℓ2)' },
  beta: { title: 'Effective β-smoothness', subtitle: 'max over η of ‖∇L(θ) − ∇L(θ′)‖ / ‖θ − θ′‖; seed mean and 95% band', axis: 'effective β' },
};

/** One landscape measurement over training for the probed variants, one panel per learning rate (log scale). */
export function landscapeSpec(runs: readonly RunResult[], metric: LandscapeMetric): TopLevelSpec {
  const probed = runs.filter((r) => r.landscape !== null && r.landscape.length > 0);
  const points = probed.flatMap((r) => (r.landscape ?? []).map((p) => ({ r, p })));
  const value = ({ p }: { p: NonNullable<RunResult['landscape']>[number] }): number | null =>
    metric === 'loss' ? (p.lossMax === null || p.lossMin === null ? null : p.lossMax - p.lossMin) : metric === 'gradient' ? p.gradDiffMax : p.beta;
  const b = band(points, ({ r, p }) => `${r.variant}|${r.lr}|${p.step}`, value, 1);
  const values = [...b.entries()]
    .map(([k, v]) => {
      const [variant, lr, step] = k.split('|');
      return { variant, run: lrLabel(Number(lr)), step: Number(step), mean: v.mean, lo: v.lo, hi: v.hi };
    })
    .filter((v) => v.mean > 0)
    .map((v) => ({ ...v, lo: Math.max(v.lo, v.mean / 20) }));
  const text = METRIC_TEXT[metric];
  return bandedLines(
    values,
    { field: 'step', type: 'quantitative', title: 'step' },
    { type: 'quantitative', title: text.axis, scale: { type: 'log' } },
    colorOf(probed.map((r) => r.variant)),
    { text: text.title, subtitle: text.subtitle },
    [{ mark: { type: 'point', filled: true, size: 20 }, encoding: { x: { field: 'step', type: 'quantitative' }, y: { field: 'mean', type: 'quantitative' }, color: colorOf(probed.map((r) => r.variant)) } }],
  );
}

/** The top Hessian eigenvalue and the effective β over training, with the stability limit 2(1 + μ)/η. */
export function curvatureSpec(runs: readonly RunResult[], momentum: number): TopLevelSpec {
  const probed = runs.filter((r) => r.curvature !== null && r.curvature.length > 0);
  const values: object[] = [];
  const lam = band(
    probed.flatMap((r) => (r.curvature ?? []).map((c) => ({ r, c }))),
    ({ r, c }) => `${r.variant}|${r.lr}|${c.step}`,
    ({ c }) => c.eigenvalue,
    1,
  );
  const curvatureSteps = new Set(probed.flatMap((r) => (r.curvature ?? []).map((c) => `${r.variant}|${r.lr}|${c.step}`)));
  const beta = band(
    probed.flatMap((r) => (r.landscape ?? []).map((p) => ({ r, p }))),
    ({ r, p }) => `${r.variant}|${r.lr}|${p.step}`,
    ({ p }) => p.beta,
    1,
  );
  const push = (m: Map<string, { mean: number; lo: number; hi: number }>, measure: string, only?: Set<string>): void => {
    for (const [k, v] of m) {
      if (only !== undefined && !only.has(k)) continue;
      const [variant, lr, step] = k.split('|');
      if (!(v.mean > 0)) continue;
      values.push({ variant, measure, series: `${variant}: ${measure}`, run: lrLabel(Number(lr)), step: Number(step), mean: v.mean, lo: Math.max(v.lo, v.mean / 20), hi: v.hi });
    }
  };
  push(lam, 'top Hessian eigenvalue');
  push(beta, 'effective β', curvatureSteps);
  const lrs = [...new Set(probed.map((r) => r.lr))];
  const maxStep = Math.max(0, ...probed.flatMap((r) => (r.curvature ?? []).map((c) => c.step)));
  for (const lr of lrs) {
    for (const step of [0, maxStep]) {
      const limit = (2 * (1 + momentum)) / lr;
      values.push({ variant: 'limit', measure: 'stability limit 2(1+μ)/η', series: 'stability limit 2(1+μ)/η', run: lrLabel(lr), step, mean: limit, lo: limit, hi: limit });
    }
  }
  const x = { field: 'step', type: 'quantitative', title: 'step' };
  const y = { type: 'quantitative', title: 'curvature (log scale)', scale: { type: 'log' } };
  const color = { field: 'series', type: 'nominal', title: 'series', legend: LEGEND, scale: { scheme: 'category10' } };
  return {
    $schema: SCHEMA,
    title: { text: 'Curvature: top Hessian eigenvalue and effective β', subtitle: 'power iteration on exact Hessian–vector products of the batch loss; seed mean and 95% band' },
    data: { values },
    facet: { column: column() },
    spec: {
      width: 320,
      height: 220,
      layer: [
        { mark: { type: 'area', opacity: 0.2 }, encoding: { x, y: { ...y, field: 'lo' }, y2: { field: 'hi' }, color } },
        { mark: { type: 'line', strokeWidth: 1.5, point: true }, encoding: { x, y: { ...y, field: 'mean' }, color, strokeDash: { field: 'measure', type: 'nominal', title: 'measure', legend: LEGEND } } },
      ],
    },
  } as TopLevelSpec;
}

/** Per-block traces of the first steps at the largest learning rate: one row per measure, one column per variant (seed means). */
export function diagnosisSpec(runs: readonly RunResult[]): TopLevelSpec {
  const traced = runs.filter((r) => r.trace !== null && r.trace.length > 0);
  const measures: [string, (b: NonNullable<RunResult['trace']>[number]['blocks'][number]) => number][] = [
    ['log₁₀ pre-activation RMS', (b) => Math.log10(Math.max(b.preRms, 1e-12))],
    ['log₁₀ ‖∂L/∂W‖ (clipped at −12)', (b) => Math.log10(Math.max(b.gradNorm, 1e-12))],
    ['active ReLU fraction', (b) => b.active],
    ['input share of the ReLU input', (b) => b.inputShare],
  ];
  const values: object[] = [];
  for (const [measure, f] of measures) {
    const points = traced.flatMap((r) => (r.trace ?? []).flatMap((t) => t.blocks.map((b, k) => ({ r, t, k, v: f(b) }))));
    const b = band(points, (p) => `${p.r.variant}|${p.t.step}|${p.k}`, (p) => p.v, 1);
    for (const [key, v] of b) {
      const [variant, step, block] = key.split('|');
      values.push({ variant, measure, step: Number(step), block: `block ${Number(block) + 1}`, value: v.mean });
    }
  }
  return {
    $schema: SCHEMA,
    title: { text: `Inside the networks at the large learning rate: the first ${Math.max(0, ...traced.map((r) => r.trace?.length ?? 0))} steps`, subtitle: 'per hidden block, before each update; seed means over the runs still training' },
    data: { values },
    facet: { row: { field: 'measure', type: 'nominal', title: null, header: { labelAngle: -90, labelFontSize: 10, labelLimit: 220 } }, column: { field: 'variant', type: 'nominal', title: null, sort: VARIANT_ORDER, header: { labelFontSize: 11 } } },
    spec: {
      width: 150,
      height: 110,
      mark: { type: 'line', strokeWidth: 1.2, clip: true },
      encoding: {
        x: { field: 'step', type: 'quantitative', title: 'step' },
        y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false } },
        color: { field: 'block', type: 'ordinal', title: 'hidden block', scale: { scheme: 'viridis' }, legend: LEGEND },
      },
    },
    resolve: { scale: { y: 'independent' } },
  } as TopLevelSpec;
}

/** PreciseBN: test accuracy against the number of calibration batches K, with the moving-average accuracy as a reference. */
export function preciseBnSpec(runs: readonly RunResult[]): TopLevelSpec {
  const rs = runs.filter((r) => r.preciseBn !== null);
  const points = rs.flatMap((r) => r.preciseBn!.ks.map((k, i) => ({ r, k, v: r.preciseBn!.accuracies[i] })));
  const b = band(points, (p) => `${p.r.lr}|${p.k}`, (p) => p.v, 1);
  const ema = band(rs, (r) => `${r.lr}`, (r) => r.preciseBn!.emaAccuracy, 1);
  const values: object[] = [];
  for (const [key, v] of b) {
    const [lr, k] = key.split('|');
    values.push({ run: lrLabel(Number(lr)), k: Number(k), series: 'recalibrated over K batches', mean: v.mean, lo: v.lo, hi: v.hi });
    const e = ema.get(lr);
    if (e !== undefined) values.push({ run: lrLabel(Number(lr)), k: Number(k), series: 'moving average (training)', mean: e.mean, lo: e.lo, hi: e.hi });
  }
  const color = { field: 'series', type: 'nominal', title: null, legend: LEGEND, scale: { range: ['#7f7f7f', '#1f77b4'] } };
  return bandedLines(
    values,
    { field: 'k', type: 'quantitative', title: 'calibration batches K (log scale)', scale: { type: 'log' } },
    { type: 'quantitative', title: 'test accuracy', axis: { format: '.1%' }, scale: { zero: false } },
    color,
    { text: 'PreciseBN: eval accuracy of the batch-norm MLP', subtitle: 'running statistics from training against population statistics over K batches; seed mean and 95% band' },
  );
}

/** Test error against batch size per normalizer (Wu & He 2018, Fig. 1): seed mean and 95% band. */
export function batchSizeSpec(sweep: readonly SweepRunResult[], config: ExperimentConfig): TopLevelSpec {
  const b = band(sweep, (r) => `${r.norm}|${r.batchSize}`, (r) => r.testError, 1);
  const values = [...b.entries()].map(([k, v]) => {
    const [norm, batch] = k.split('|');
    return { norm, batch: Number(batch), mean: v.mean, lo: Math.max(0, v.lo), hi: v.hi };
  });
  const present = SWEEP_ORDER.filter((n) => values.some((v) => (v as { norm: string }).norm === n));
  const color = { field: 'norm', type: 'nominal', title: 'normalization', scale: { domain: present, range: present.map((n) => SWEEP_COLORS[SWEEP_ORDER.indexOf(n)]) }, legend: LEGEND };
  const x = { field: 'batch', type: 'quantitative', title: 'batch size (log scale)', scale: { type: 'log', base: 2 }, axis: { values: config.sweep.batchSizes } };
  return {
    $schema: SCHEMA,
    title: { text: 'Test error against batch size (small CNN on MNIST)', subtitle: `the same ${config.sweep.samples} training samples for every batch size, lr ∝ batch; seed mean and 95% band` },
    data: { values },
    width: 420,
    height: 260,
    layer: [
      { mark: { type: 'area', opacity: 0.2 }, encoding: { x, y: { field: 'lo', type: 'quantitative', title: 'test error', axis: { format: '.0%' } }, y2: { field: 'hi' }, color } },
      { mark: { type: 'line', strokeWidth: 1.5, point: true }, encoding: { x, y: { field: 'mean', type: 'quantitative' }, color } },
    ],
  } as TopLevelSpec;
}

/** Every figure of the experiment: file name → spec. */
export function allSpecs(runs: readonly RunResult[], sweep: readonly SweepRunResult[], config: ExperimentConfig): Record<string, TopLevelSpec> {
  return {
    'training-loss.svg': trainingLossSpec(runs.filter((r) => config.variants.includes(r.variant)), config.smoothing),
    'test-accuracy.svg': testAccuracySpec(runs.filter((r) => config.variants.includes(r.variant))),
    'landscape-loss.svg': landscapeSpec(runs, 'loss'),
    'landscape-gradient.svg': landscapeSpec(runs, 'gradient'),
    'landscape-beta.svg': landscapeSpec(runs, 'beta'),
    'curvature.svg': curvatureSpec(runs, config.momentum),
    'diagnosis.svg': diagnosisSpec(runs),
    'precise-bn.svg': preciseBnSpec(runs),
    'batch-size.svg': batchSizeSpec(sweep, config),
  };
}
