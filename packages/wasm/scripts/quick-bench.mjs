// Quick, unasserted timing of the wasm kernels against the TypeScript kernels (same process).
// Usage (after `npm run build`): node scripts/quick-bench.mjs [threads=1|2]
// Each value is the median of 7 samples of ≥ 30 ms, after a warm-up; ms per call.
// resident: x, dy and the outputs (`out`) are pool tensors; copy: JS-heap tensors, copied in
// and out by every kernel call; ts: the TypeScript kernels (the backend uninstalled).
import { batchNorm } from '@normkit/batch-norm';
import { layerNorm } from '@normkit/layer-norm';
import { randn } from '@normkit/testkit';
import { enableWasm } from '@normkit/wasm';

const threads = Number(process.argv[2] ?? 1);
const only = process.argv[3];
const wasm = await enableWasm({ memoryBytes: 512 * 1024 * 1024, threads });
if (wasm === false) throw new Error('no SIMD');
const { pool } = wasm;

function time(fn) {
  for (let i = 0; i < 3; i++) fn();
  const samples = [];
  for (let s = 0; s < 7; s++) {
    let n = 0;
    const t0 = performance.now();
    let t = t0;
    while (t - t0 < 30) {
      fn();
      n++;
      t = performance.now();
    }
    samples.push((t - t0) / n);
  }
  samples.sort((a, b) => a - b);
  return samples[3];
}

const workloads = [
  { name: 'W1 BN (256,1024)', kind: 'bn', shape: [256, 1024], axis: 1 },
  { name: 'W2 BN NCHW (32,64,56,56)', kind: 'bn', shape: [32, 64, 56, 56], axis: 1 },
  { name: 'W2c BN NHWC (32,56,56,64)', kind: 'bn', shape: [32, 56, 56, 64], axis: 3 },
  { name: 'W3 LN (4096,768)', kind: 'ln', shape: [4096, 768] },
  { name: 'W4 BN eval (32,64,56,56)', kind: 'bn-eval', shape: [32, 64, 56, 56], axis: 1 },
];

const rows = [];
for (const w of workloads) {
  if (only !== undefined && !w.name.startsWith(only)) continue;
  const xh = randn(w.shape, 1, 'float32');
  const dyh = randn(w.shape, 2, 'float32');
  const xr = pool.fromTensor(xh);
  const dyr = pool.fromTensor(dyh);
  let fwd;
  let bwd;
  if (w.kind === 'ln') {
    const ln = layerNorm.create({ normalizedShape: [w.shape[1]] });
    const { params } = ln.init('float32');
    fwd = (x, out) => ln.forward({ x, params, state: {}, mode: 'train', out });
    bwd = (f, dy, out) => ln.backward({ dy, params, saved: f.saved, out });
  } else {
    const bn = batchNorm.create({ numFeatures: w.shape[w.axis], channelAxis: w.axis });
    const { params, state } = bn.init('float32');
    const mode = w.kind === 'bn-eval' ? 'eval' : 'train';
    fwd = (x, out) => bn.forward({ x, params, state, mode, out });
    bwd = (f, dy, out) => bn.backward({ dy, params, saved: f.saved, out });
  }
  const measure = (x, dy, inPool) => {
    const yOut = inPool ? pool.tensor(w.shape) : undefined;
    const dxOut = inPool ? pool.tensor(w.shape) : undefined;
    const tf = time(() => fwd(x, yOut));
    const f = fwd(x, yOut);
    const tb = w.kind === 'bn-eval' ? NaN : time(() => bwd(f, dy, dxOut));
    const tfb = w.kind === 'bn-eval' ? NaN : time(() => bwd(fwd(x, yOut), dy, dxOut));
    yOut?.dispose();
    dxOut?.dispose();
    return [tf, tb, tfb];
  };
  const resident = measure(xr, dyr, true);
  const copy = measure(xh, dyh, false);
  wasm.uninstall();
  const ts = measure(xh, dyh, false);
  wasm.install();
  rows.push({ w: w.name, ts, resident, copy });
  const f = (v) => (Number.isNaN(v) ? '—' : v.toFixed(3));
  console.log(
    `${w.name.padEnd(28)} fwd ts ${f(ts[0])} wasm ${f(resident[0])} copy ${f(copy[0])} (×${(ts[0] / resident[0]).toFixed(1)}) | bwd ts ${f(ts[1])} wasm ${f(resident[1])} copy ${f(copy[1])} | fwd+bwd ts ${f(ts[2])} wasm ${f(resident[2])} copy ${f(copy[2])}`,
  );
  xr.dispose();
  dyr.dispose();
}
console.log(`threads=${threads} counters`, JSON.stringify(wasm.counters));
await wasm.disable();
