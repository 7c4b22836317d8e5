// Before/after: the layers of another built checkout (e.g. c7922cd, before the engine) against
// this one's, in one process, samples interleaved so background load hits both alike.
//   node packages/bench/scripts/before-after.mjs OLD_CHECKOUT [dtypes] [budgetMs]
// OLD_CHECKOUT must be built (npm ci && npx turbo run build). Prints a JSON line per workload
// and a Markdown table of medians (ms per call) and speedups.
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
if (process.argv[2] === undefined) {
  console.error('usage: node packages/bench/scripts/before-after.mjs OLD_CHECKOUT [float32,float64] [budgetMs]');
  process.exit(2);
}
const OLD = path.resolve(process.argv[2], 'packages');
const NEW = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const oc = await import(`${OLD}/core/dist/index.js`);
const obn = await import(`${OLD}/batch-norm/dist/index.js`);
const oln = await import(`${OLD}/layer-norm/dist/index.js`);
const nc = await import(`${NEW}/core/dist/index.js`);
const nbn = await import(`${NEW}/batch-norm/dist/index.js`);
const nln = await import(`${NEW}/layer-norm/dist/index.js`);
const { defaultWasm } = await import(`${NEW}/wasm/dist/index.js`);
await defaultWasm();

function fill(core, shape, dtype, seed) {
  const t = core.zeros(shape, dtype);
  let s = seed >>> 0;
  for (let i = 0; i < t.data.length; i++) { s = (s * 1664525 + 1013904223) >>> 0; t.data[i] = s / 2 ** 32 * 4 - 2; }
  return t;
}
const workloads = [
  { id: 'BN train fwd (256,1024)', kind: 'bn', shape: [256, 1024], bwd: false, train: true },
  { id: 'BN train fwd+bwd (256,1024)', kind: 'bn', shape: [256, 1024], bwd: true, train: true },
  { id: 'BN train fwd+bwd (32,64,56,56)', kind: 'bn', shape: [32, 64, 56, 56], bwd: true, train: true },
  { id: 'LN fwd (4096,768)', kind: 'ln', shape: [4096, 768], bwd: false, train: true },
  { id: 'LN fwd+bwd (4096,768)', kind: 'ln', shape: [4096, 768], bwd: true, train: true },
  { id: 'BN eval (32,64,56,56)', kind: 'bn', shape: [32, 64, 56, 56], bwd: false, train: false },
];
const dtypes = (process.argv[3] ?? 'float32,float64').split(',');
const budgetMs = Number(process.argv[4] ?? 3000);
function make(core, mod, w, dtype) {
  const layer = w.kind === 'bn'
    ? new mod.BatchNorm({ numFeatures: w.shape[1] }, { dtype })
    : new mod.LayerNorm({ normalizedShape: [w.shape.at(-1)] }, { dtype });
  if (!w.train) { layer.forward(fill(core, w.shape, dtype, 7)); layer.eval(); }
  const x = fill(core, w.shape, dtype, 1), dy = fill(core, w.shape, dtype, 2);
  const y = core.zeros(w.shape, dtype), dx = core.zeros(w.shape, dtype);
  return () => { layer.forward(x, y); if (w.bwd) layer.backward(dy, dx); };
}
const rows = [];
for (const dtype of dtypes) for (const w of workloads) {
  const impls = [
    { name: 'old-ts', step: make(oc, w.kind === 'bn' ? obn : oln, w, dtype), before: () => {} },
    { name: 'new-ts', step: make(nc, w.kind === 'bn' ? nbn : nln, w, dtype), before: () => nc.setKernelBackendsEnabled(false) },
  ];
  if (dtype === 'float32') impls.push({ name: 'new-default', step: make(nc, w.kind === 'bn' ? nbn : nln, w, dtype), before: () => nc.setKernelBackendsEnabled(true) });
  const samples = Object.fromEntries(impls.map((i) => [i.name, []]));
  for (const i of impls) { i.before(); for (let k = 0; k < 3; k++) i.step(); }
  const t0 = performance.now();
  while (performance.now() - t0 < budgetMs * impls.length) {
    for (const i of impls) { i.before(); const a = performance.now(); i.step(); samples[i.name].push(performance.now() - a); }
  }
  const med = (a) => { const s = [...a].sort((p, q) => p - q); return s[Math.floor(s.length / 2)]; };
  const r = { workload: w.id, dtype, n: samples['old-ts'].length };
  for (const i of impls) r[i.name] = med(samples[i.name]);
  r['new-ts/old-ts speedup'] = r['old-ts'] / r['new-ts'];
  if (r['new-default']) r['default/old-ts speedup'] = r['old-ts'] / r['new-default'];
  rows.push(r);
  console.log(JSON.stringify(r));
}
nc.setKernelBackendsEnabled(true);
console.log('\n| workload | dtype | old TS (ms) | new TS (ms) | new default (ms) | new TS speedup | default speedup | samples |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.workload} | ${r.dtype} | ${r['old-ts'].toFixed(3)} | ${r['new-ts'].toFixed(3)} | ${r['new-default']?.toFixed(3) ?? '—'} | ${r['new-ts/old-ts speedup'].toFixed(2)}× | ${r['default/old-ts speedup']?.toFixed(2) ?? '—'}${r['default/old-ts speedup'] ? '×' : ''} | ${r.n} |`);
