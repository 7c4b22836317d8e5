/**
 * The docs' live page: pick a normalizer and a batch; normkit, bundled into this page,
 * normalizes the batch and runs the backward pass here, and the page draws the activations
 * before and after, the per-channel statistics and the gradient flowing back. Built with
 * esbuild into `docs/api/live/` by `npm run docs`; works under
 * `script-src 'self' 'wasm-unsafe-eval'` (no inline script or style, no code generation).
 */
import { defaultWasm } from '@normkit/wasm';
import { computeLiveView, LIVE_NORMALIZERS } from './compute.js';
import type { Histogram, LiveInput, LiveNormalizer, LiveView } from './compute.js';
import { formatCell } from './format.js';

const SVG = 'http://www.w3.org/2000/svg';
const BATCH_SIZES = [2, 4, 8, 16, 32];

function element<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attributes)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function svg(tag: string, attributes: Record<string, string | number>): SVGElement {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attributes)) e.setAttribute(k, String(v));
  return e;
}

/** Two histograms over one range, drawn as outlined bars (first) and filled bars (second). */
function chart(title: string, first: Histogram, second: Histogram, labels: [string, string]): HTMLElement {
  const width = 520;
  const height = 200;
  const pad = { left: 8, right: 8, top: 10, bottom: 26 };
  const figure = element('figure', { class: 'chart' });
  figure.append(element('figcaption', {}, title));
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': title });
  const peak = Math.max(1, ...first.counts, ...second.counts);
  const bins = first.counts.length;
  const barWidth = (width - pad.left - pad.right) / bins;
  const barHeight = (n: number) => ((height - pad.top - pad.bottom) * n) / peak;
  second.counts.forEach((n, i) => {
    root.append(svg('rect', { class: 'after', x: pad.left + i * barWidth + 1, y: height - pad.bottom - barHeight(n), width: barWidth - 2, height: barHeight(n) }));
  });
  first.counts.forEach((n, i) => {
    root.append(svg('rect', { class: 'before', x: pad.left + i * barWidth + 1, y: height - pad.bottom - barHeight(n), width: barWidth - 2, height: barHeight(n) }));
  });
  root.append(svg('line', { class: 'axis', x1: pad.left, x2: width - pad.right, y1: height - pad.bottom, y2: height - pad.bottom }));
  const ticks = [first.lo, (first.lo + first.hi) / 2, first.hi];
  ticks.forEach((v, i) => {
    const label = svg('text', { class: 'tick', x: pad.left + (i * (width - pad.left - pad.right)) / 2, y: height - 8, 'text-anchor': ['start', 'middle', 'end'][i] });
    label.textContent = v.toFixed(2);
    root.append(label);
  });
  figure.append(root);
  const legend = element('p', { class: 'legend' });
  legend.append(element('span', { class: 'swatch before' }), ` ${labels[0]}  `, element('span', { class: 'swatch after' }), ` ${labels[1]}`);
  figure.append(legend);
  return figure;
}

const COLUMNS = ['channel', 'mean before', 'std before', 'mean after', 'std after', 'Σ dx', 'rms dx', '∂L/∂γ', '∂L/∂β'] as const;

function table(view: LiveView): HTMLTableElement {
  const t = element('table', { id: 'channel-stats' });
  const head = t.createTHead().insertRow();
  for (const c of COLUMNS) head.append(element('th', { scope: 'col' }, c));
  const body = t.createTBody();
  for (const s of view.channels) {
    const row = body.insertRow();
    const cells = [String(s.channel), formatCell(s.meanBefore), formatCell(s.stdBefore), formatCell(s.meanAfter), formatCell(s.stdAfter), formatCell(s.sumDx, 'sum'), formatCell(s.rmsDx), formatCell(s.dweight), formatCell(s.dbias)];
    for (const text of cells) row.append(element('td', {}, text));
  }
  return t;
}

interface Controls {
  readonly normalizer: HTMLSelectElement;
  readonly batchSize: HTMLSelectElement;
  readonly seed: HTMLInputElement;
  readonly kernels: HTMLSelectElement;
}

function controls(form: HTMLFormElement, wasm: boolean): Controls {
  const field = (label: string, control: HTMLElement) => {
    const l = element('label', {}, `${label} `);
    l.append(control);
    form.append(l);
  };
  const normalizer = element('select', { id: 'normalizer', name: 'normalizer' });
  for (const n of LIVE_NORMALIZERS) normalizer.append(element('option', { value: n }, n));
  const batchSize = element('select', { id: 'batch-size', name: 'batch-size' });
  for (const n of BATCH_SIZES) batchSize.append(element('option', { value: String(n) }, String(n)));
  batchSize.value = '8';
  const seed = element('input', { id: 'seed', name: 'seed', type: 'number', min: '0', step: '1', value: '1' });
  const kernels = element('select', { id: 'kernels', name: 'kernels' });
  kernels.append(element('option', { value: 'wasm' }, wasm ? 'WebAssembly SIMD' : 'WebAssembly (unavailable here)'), element('option', { value: 'typescript' }, 'TypeScript'));
  if (!wasm) kernels.value = 'typescript';
  field('normalizer', normalizer);
  field('batch size N', batchSize);
  field('seed', seed);
  field('kernels', kernels);
  return { normalizer, batchSize, seed, kernels };
}

function read(c: Controls): LiveInput {
  const seed = Number.parseInt(c.seed.value, 10);
  return {
    normalizer: c.normalizer.value as LiveNormalizer,
    batchSize: Number.parseInt(c.batchSize.value, 10),
    seed: Number.isInteger(seed) && seed >= 0 ? seed : 0,
    kernels: c.kernels.value === 'typescript' ? 'typescript' : 'wasm',
  };
}

/** What the page publishes for the browser test: the last view, and how many views it drew. */
interface LiveGlobal {
  view: LiveView | null;
  renders: number;
  wasm: boolean;
}

async function main(): Promise<void> {
  const app = document.getElementById('app');
  if (app === null) throw new Error('no #app element');
  const wasm = (await defaultWasm()) !== null;
  const form = element('form', { id: 'controls' });
  const c = controls(form, wasm);
  const status = element('p', { id: 'status' });
  const output = element('div', { id: 'output' });
  app.append(form, status, output);
  const published: LiveGlobal = { view: null, renders: 0, wasm };
  (globalThis as { normkitLive?: LiveGlobal }).normkitLive = published;

  const draw = () => {
    const input = read(c);
    const started = performance.now();
    const view = computeLiveView(input);
    const ms = performance.now() - started;
    const [n, ch, h, w] = view.shape;
    status.textContent = `${input.normalizer} on a batch of shape (${n}, ${ch}, ${h}, ${w}): ${view.description}. Forward and backward computed in this page in ${ms.toFixed(1)} ms on the ${input.kernels === 'wasm' ? 'WebAssembly SIMD' : 'TypeScript'} kernels.`;
    output.replaceChildren(
      element('h2', {}, 'Activations'),
      chart('x before and y after the normalizer', view.before, view.after, ['x (before)', 'y (after)']),
      element('h2', {}, 'Per channel'),
      table(view),
      element('h2', {}, 'The gradient flowing back'),
      chart('upstream gradient dy and the gradient dx it becomes', view.upstream, view.gradient, ['dy (from the loss)', 'dx (to the layer below)']),
    );
    published.view = view;
    published.renders++;
    document.body.dataset.renders = String(published.renders);
  };
  form.addEventListener('change', draw);
  form.addEventListener('submit', (e) => e.preventDefault());
  draw();
}

main().catch((e: unknown) => {
  const app = document.getElementById('app');
  if (app !== null) app.textContent = `The page failed: ${e instanceof Error ? e.message : String(e)}`;
  throw e;
});
