import type { TopLevelSpec } from 'vega-lite';
import type { RatioRow } from './report.js';
import { RATIO_KINDS } from './report.js';
import { WORKLOAD_IDS } from './workloads.js';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';

/** What the chart's subtitle says about the run. */
export interface ChartRunFacts {
  /** ISO date of the run. */
  readonly date: string;
  /** `process.version`. */
  readonly node: string;
  /** CPU model and count. */
  readonly cpus: string;
  /** Load average (1 min) at the start and the end of the run. */
  readonly load: readonly [number, number];
  /** Whether the run was `--quick` (its numbers mean nothing). */
  readonly quick: boolean;
}

/** The workload label of a ratio row: the id, with `(f64)` for float64. */
function label(row: RatioRow): string {
  return row.dtype === 'float32' ? row.workload : `${row.workload} (f64)`;
}

/**
 * The Vega-Lite spec of the same-run ratios: one panel per ratio kind, one dot per workload
 * on a log axis, a dashed rule at 1 (dots left of it: the first impl is faster), the value
 * written next to each dot.
 *
 * @param ratios - the ratios of one run ({@link sameRunRatios})
 * @param facts - the run, for the subtitle
 */
export function ratioChartSpec(ratios: readonly RatioRow[], facts: ChartRunFacts): TopLevelSpec {
  const values = ratios.map((r) => ({ kind: r.kind, workload: label(r), value: r.value, faster: r.value < 1 ? 'first faster' : 'second faster' }));
  const workloadOrder = WORKLOAD_IDS.flatMap((id) => [id, `${id} (f64)`]);
  const kinds = RATIO_KINDS.map((k) => k.kind).filter((kind) => ratios.some((r) => r.kind === kind));
  const y = { field: 'workload', type: 'nominal', title: null, sort: workloadOrder, axis: { labelLimit: 200 } };
  const x = { field: 'value', type: 'quantitative', title: 'ms ÷ ms (log scale)', scale: { type: 'log', nice: false, padding: 12 } };
  return {
    $schema: SCHEMA,
    title: {
      text: `normkit benchmark: same-run ratios${facts.quick ? ' (--quick: meaningless numbers)' : ''}`,
      subtitle: [
        `${facts.date.slice(0, 10)}, node ${facts.node}, ${facts.cpus}; load average ${facts.load[0].toFixed(1)} at start, ${facts.load[1].toFixed(1)} at end`,
        'each panel: first impl ms ÷ second impl ms, measured in one run; left of the dashed line the first is faster',
      ],
    },
    data: { values },
    facet: { field: 'kind', type: 'nominal', title: null, sort: kinds, header: { labelFontSize: 13, labelFontWeight: 'bold' } },
    columns: 2,
    resolve: { scale: { y: 'independent' }, axis: { x: 'independent' } },
    spec: {
      width: 320,
      height: { step: 18 },
      encoding: { y, x },
      layer: [
        // A vertical rule at 1 over the panel's height (its own y and y2 replace the shared y).
        { mark: { type: 'rule', strokeDash: [4, 3], color: '#555' }, encoding: { x: { datum: 1, type: 'quantitative' }, y: { value: 0 }, y2: { value: 'height' } } },
        {
          mark: { type: 'point', filled: true, size: 70, opacity: 1 },
          encoding: {
            color: { field: 'faster', type: 'nominal', title: null, scale: { domain: ['first faster', 'second faster'], range: ['#2ca02c', '#d62728'] } },
          },
        },
        { mark: { type: 'text', align: 'left', dx: 7, fontSize: 10 }, encoding: { text: { field: 'value', type: 'quantitative', format: '.2f' } } },
      ],
    },
  } as TopLevelSpec;
}

/**
 * Renders a Vega-Lite spec to an SVG string with Vega's headless renderer (the approach of
 * `packages/experiments/src/plots.ts`). Vega and Vega-Lite are loaded on first use only.
 *
 * @param spec - the Vega-Lite spec
 */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const [{ compile }, vega] = await Promise.all([import('vega-lite'), import('vega')]);
  // Vega-Lite warns that the layers' independent y scales come from different forks of the same
  // data; they do (one fork per layer of the same values), so only errors are logged.
  const view = new vega.View(vega.parse(compile(spec, { logger: vega.logger(vega.Error) }).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
