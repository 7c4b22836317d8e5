import { compile } from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';
import * as vega from 'vega';
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
const VARIANT_ORDER = ['none', 'batch-norm', 'noisy-batch-norm', 'layer-norm', 'weight-norm'];
const COLORS = ['#7f7f7f', '#1f77b4', '#ff7f0e', '#2ca02c', '#d62728'];
const LEGEND = { labelLimit: 220, titleLimit: 220 };
const lrLabel = (lr: number): string => `learning rate ${lr}`;

function column(title: string | null = null): object {
  return { field: 'run', type: 'nominal', title, header: { labelFontSize: 12 } };
}

/** Training loss per step (a 20-step moving average; diverged steps dropped), one panel per learning rate. */
export function trainingLossSpec(runs: readonly RunResult[], smoothing: number): TopLevelSpec {
  const values = runs.flatMap((r) =>
    r.trainLoss.flatMap((loss, step) => (loss === null ? [] : [{ variant: r.variant, run: lrLabel(r.lr), step: step + 1, loss }])),
  );
  return {
    $schema: SCHEMA,
    title: { text: 'Training loss (SGD with momentum, MNIST)', subtitle: `moving average over ${smoothing} steps; a line that stops has diverged` },
    data: { values },
    transform: [
      { window: [{ op: 'mean', field: 'loss', as: 'smoothed' }], frame: [-(smoothing - 1), 0], groupby: ['variant', 'run'], sort: [{ field: 'step' }] },
    ],
    facet: { column: column() },
    spec: {
      width: 320,
      height: 220,
      mark: { type: 'line', strokeWidth: 1.5, clip: true },
      encoding: {
        x: { field: 'step', type: 'quantitative', title: 'step' },
        y: { field: 'smoothed', type: 'quantitative', title: 'training loss (log scale, clipped at 10)', scale: { type: 'log', domainMax: 10 } },
        color: { field: 'variant', type: 'nominal', scale: { domain: VARIANT_ORDER, range: COLORS }, title: 'normalization', legend: LEGEND },
      },
    },
  } as TopLevelSpec;
}

/** Test accuracy at every evaluation, one panel per learning rate. */
export function testAccuracySpec(runs: readonly RunResult[]): TopLevelSpec {
  const values = runs.flatMap((r) => r.evals.map((e) => ({ variant: r.variant, run: lrLabel(r.lr), step: e.step, accuracy: e.testAccuracy })));
  return {
    $schema: SCHEMA,
    title: { text: 'Test accuracy', subtitle: 'eval mode: running statistics, no injected noise' },
    data: { values },
    facet: { column: column() },
    spec: {
      width: 320,
      height: 220,
      mark: { type: 'line', point: { size: 18 }, strokeWidth: 1.5 },
      encoding: {
        x: { field: 'step', type: 'quantitative', title: 'step' },
        y: { field: 'accuracy', type: 'quantitative', title: 'test accuracy', scale: { domain: [0, 1] }, axis: { format: '.0%' } },
        color: { field: 'variant', type: 'nominal', scale: { domain: VARIANT_ORDER, range: COLORS }, title: 'normalization', legend: LEGEND },
      },
    },
  } as TopLevelSpec;
}

/** Which landscape measurement to draw. */
export type LandscapeMetric = 'loss' | 'gradient' | 'beta';

const METRIC_TEXT: Record<LandscapeMetric, { title: string; subtitle: string; axis: string }> = {
  loss: {
    title: 'Loss landscape: variation of the loss along the gradient',
    subtitle: 'band: min to max of L(θ − η∇L) over the η grid, at each probed step',
    axis: 'loss',
  },
  gradient: {
    title: 'Gradient predictiveness',
    subtitle: 'band: min to max of ‖∇L(θ) − ∇L(θ − η∇L)‖ over the η grid',
    axis: 'gradient change (ℓ2)',
  },
  beta: {
    title: 'Effective β-smoothness',
    subtitle: 'max over η of ‖∇L(θ) − ∇L(θ′)‖ / ‖θ − θ′‖',
    axis: 'effective β',
  },
};

/** One landscape measurement over training for the probed variants, one panel per learning rate (log scale). */
export function landscapeSpec(runs: readonly RunResult[], metric: LandscapeMetric): TopLevelSpec {
  const probed = runs.filter((r) => r.landscape !== null && r.landscape.length > 0);
  const values = probed.flatMap((r) =>
    (r.landscape ?? []).flatMap((p) => {
      const lo = metric === 'loss' ? p.lossMin : metric === 'gradient' ? p.gradDiffMin : p.beta;
      const hi = metric === 'loss' ? p.lossMax : metric === 'gradient' ? p.gradDiffMax : p.beta;
      return lo === null || hi === null || !(lo > 0) || !(hi > 0) ? [] : [{ variant: r.variant, run: lrLabel(r.lr), step: p.step, lo, hi }];
    }),
  );
  const text = METRIC_TEXT[metric];
  const present = VARIANT_ORDER.filter((v) => probed.some((r) => r.variant === v));
  const color = {
    field: 'variant',
    type: 'nominal',
    scale: { domain: present, range: present.map((v) => COLORS[VARIANT_ORDER.indexOf(v)]) },
    title: 'normalization',
    legend: LEGEND,
  };
  const layers =
    metric === 'beta'
      ? [{ mark: { type: 'line', point: true, strokeWidth: 1.5 }, encoding: { x: { field: 'step', type: 'quantitative', title: 'step' }, y: { field: 'hi', type: 'quantitative', title: text.axis, scale: { type: 'log' } }, color } }]
      : [
          {
            mark: { type: 'area', opacity: 0.35 },
            encoding: {
              x: { field: 'step', type: 'quantitative', title: 'step' },
              y: { field: 'lo', type: 'quantitative', title: text.axis, scale: { type: 'log' } },
              y2: { field: 'hi' },
              color,
            },
          },
          { mark: { type: 'line', strokeWidth: 1 }, encoding: { x: { field: 'step', type: 'quantitative' }, y: { field: 'hi', type: 'quantitative' }, color } },
          { mark: { type: 'line', strokeWidth: 1 }, encoding: { x: { field: 'step', type: 'quantitative' }, y: { field: 'lo', type: 'quantitative' }, color } },
        ];
  return {
    $schema: SCHEMA,
    title: { text: text.title, subtitle: text.subtitle },
    data: { values },
    facet: { column: column() },
    spec: { width: 320, height: 220, layer: layers },
    resolve: { scale: { y: 'shared' } },
  } as TopLevelSpec;
}

/** Every figure of the experiment: file name → spec. */
export function allSpecs(runs: readonly RunResult[], smoothing: number): Record<string, TopLevelSpec> {
  return {
    'training-loss.svg': trainingLossSpec(runs, smoothing),
    'test-accuracy.svg': testAccuracySpec(runs),
    'landscape-loss.svg': landscapeSpec(runs, 'loss'),
    'landscape-gradient.svg': landscapeSpec(runs, 'gradient'),
    'landscape-beta.svg': landscapeSpec(runs, 'beta'),
  };
}
