import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { setKernelBackendsEnabled, tensor, zeros } from '@normkit/core';
import { batchNorm } from '@normkit/batch-norm';
import { layerNorm } from '@normkit/layer-norm';
import { compareOutputs } from './check.js';
import { fillNormal, makeWorkloadData, transposeNchw } from './data.js';
import { median, measure, QUICK_HARNESS } from './harness.js';
import { copyCeiling } from './impls/copy.js';
import { normkitApi, normkitKernel } from './impls/normkit.js';
import { disposeWasmBackends, normkitWasm, normkitWasmCopy, normkitWasmTwoThreads } from './impls/wasm.js';
import { ORT_SESSION_OPTIONS } from './impls/ort.js';
import { loadTf, tfjsImplementation } from './impls/tfjs.js';
import type { Outputs } from './impls/types.js';
import { main } from './main.js';
import { ProtoWriter, batchNormalizationModel, layerNormalizationModel } from './onnx.js';
import { evaluateTargets } from './report.js';
import { WORKLOAD_IDS, minimalBytes, workloads } from './workloads.js';

const quiet = { print: () => {}, progress: () => {} };

function maxScaledError(reference: ArrayLike<number>, values: ArrayLike<number>): number {
  let error = 0;
  let scale = 0;
  for (let i = 0; i < reference.length; i++) {
    error = Math.max(error, Math.abs(reference[i] - values[i]));
    scale = Math.max(scale, Math.abs(reference[i]));
  }
  return error / scale;
}

describe('protobuf writer', () => {
  it('writes varints, negative int64 and float fields as protobuf does', () => {
    expect(Array.from(new ProtoWriter().varint(1).finish())).toEqual([1]);
    expect(Array.from(new ProtoWriter().varint(300).finish())).toEqual([0xac, 0x02]);
    expect(Array.from(new ProtoWriter().varint(-1).finish())).toEqual([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    // field 3, wire type 0 → key 0x18; field 2 float 1.0 → key 0x15, then 00 00 80 3f.
    expect(Array.from(new ProtoWriter().int(3, 150).finish())).toEqual([0x18, 0x96, 0x01]);
    expect(Array.from(new ProtoWriter().float(2, 1).finish())).toEqual([0x15, 0x00, 0x00, 0x80, 0x3f]);
    expect(Array.from(new ProtoWriter().string(1, 'ab').finish())).toEqual([0x0a, 0x02, 0x61, 0x62]);
  });
});

describe('ONNX models written by the benchmark', () => {
  const shape = [2, 3, 2, 2];
  const channels = 3;
  const x = fillNormal(new Float32Array(24), 11, 0.5, 2);
  const gamma = fillNormal(new Float32Array(channels), 12, 1, 0.2);
  const beta = fillNormal(new Float32Array(channels), 13, 0, 0.2);
  const runningMean = fillNormal(new Float32Array(channels), 14, 0.3, 0.1);
  const runningVar = Float32Array.from([0.5, 1.5, 2.5]);
  const bn = batchNorm.create({ numFeatures: channels });
  const bnParams = { weight: tensor(gamma, [channels]), bias: tensor(beta, [channels]) };
  const bnState = { runningMean: tensor(runningMean, [channels]), runningVar: tensor(runningVar, [channels]), numBatchesTracked: zeros([], 'float64') };

  it('BatchNormalization (opset 15, inference) loads in ONNX Runtime and matches normkit eval', async () => {
    const model = batchNormalizationModel({ shape, scale: gamma, bias: beta, mean: runningMean, variance: runningVar });
    const session = await ort.InferenceSession.create(model, ORT_SESSION_OPTIONS);
    const { Y } = await session.run({ X: new ort.Tensor('float32', x, shape) });
    const expected = bn.forward({ x: tensor(x, shape), params: bnParams, state: bnState, mode: 'eval' }).y.data;
    expect(Y.dims).toEqual(shape);
    expect(maxScaledError(expected, Y.data as Float32Array)).toBeLessThan(1e-6);
    await session.release();
  });

  it('BatchNormalization with training_mode = 1 matches normkit train forward', async () => {
    const model = batchNormalizationModel({ shape, scale: gamma, bias: beta, mean: runningMean, variance: runningVar, training: true });
    const session = await ort.InferenceSession.create(model, ORT_SESSION_OPTIONS);
    const { Y } = await session.run({ X: new ort.Tensor('float32', x, shape) }, ['Y']);
    const expected = bn.forward({ x: tensor(x, shape), params: bnParams, state: bnState, mode: 'train' }).y.data;
    expect(maxScaledError(expected, Y.data as Float32Array)).toBeLessThan(1e-5);
    await session.release();
  });

  it('LayerNormalization (opset 17, last axis) matches normkit', async () => {
    const lnShape = [4, 6];
    const lnX = fillNormal(new Float32Array(24), 21, 1, 3);
    const lnGamma = fillNormal(new Float32Array(6), 22, 1, 0.2);
    const lnBeta = fillNormal(new Float32Array(6), 23, 0, 0.2);
    const session = await ort.InferenceSession.create(layerNormalizationModel({ shape: lnShape, scale: lnGamma, bias: lnBeta }), ORT_SESSION_OPTIONS);
    const { Y } = await session.run({ X: new ort.Tensor('float32', lnX, lnShape) });
    const ln = layerNorm.create({ normalizedShape: [6] });
    const params = { weight: tensor(lnGamma, [6]), bias: tensor(lnBeta, [6]) };
    const expected = ln.forward({ x: tensor(lnX, lnShape), params, state: {}, mode: 'train' }).y.data;
    expect(maxScaledError(expected, Y.data as Float32Array)).toBeLessThan(1e-5);
    await session.release();
  });
});

describe('implementations agree with normkit on tiny inputs', () => {
  const quick = workloads(true);
  const float32 = quick.filter((w) => w.dtype === 'float32');

  async function outputsOf(impl: typeof normkitApi, workload: (typeof quick)[number]): Promise<Outputs> {
    const prepared = await impl.prepare(workload, makeWorkloadData(workload));
    try {
      const out = await prepared.outputs();
      if (out === null) throw new Error('no outputs');
      return out;
    } finally {
      await prepared.dispose();
    }
  }

  for (const backend of ['cpu', 'wasm'] as const) {
    for (const workload of float32) {
      it(`TF.js ${backend}: ${workload.id} (forward${workload.passes === 5 ? ' and gradients' : ''})`, async () => {
        const reference = await outputsOf(normkitApi, workload);
        const peer = await outputsOf(tfjsImplementation(backend), workload);
        const expected = workload.passes === 5 ? Object.keys(reference).sort() : ['y'];
        expect(Object.keys(peer).sort()).toEqual(expected);
        const agreement = compareOutputs(reference, peer, 1e-4);
        expect(agreement.message).toBe('');
        expect(agreement.ok).toBe(true);
      });
    }
  }

  for (const impl of [normkitWasm, normkitWasmCopy, normkitWasmTwoThreads]) {
    it(`${impl.name}: every float32 workload runs its kernel calls in wasm and agrees with normkit`, async () => {
      try {
        for (const workload of float32) {
          // outputs() throws when a kernel call was declined or (resident) a tensor was copied
          const reference = await outputsOf(normkitApi, workload);
          const agreement = compareOutputs(reference, await outputsOf(impl, workload), 1e-4);
          expect(agreement.ok, `${workload.id}: ${agreement.message}`).toBe(true);
        }
      } finally {
        await disposeWasmBackends();
      }
    });
  }

  it('a wasm row whose kernel calls do not run in wasm fails its check instead of timing TypeScript', async () => {
    setKernelBackendsEnabled(false);
    try {
      await expect(outputsOf(normkitWasm, float32[0])).rejects.toThrow(/normkit-wasm: the wasm kernels handled 0 and declined 0 kernel calls/);
    } finally {
      setKernelBackendsEnabled(true);
      await disposeWasmBackends();
    }
  });

  it('TF.js calls leave no tensors behind (tf.tidy), on both backends', async () => {
    const { tf } = await loadTf();
    const workload = float32.find((w) => w.id === 'bn-train-fwdbwd-nchw')!;
    for (const backend of ['cpu', 'wasm'] as const) {
      const prepared = await tfjsImplementation(backend).prepare(workload, makeWorkloadData(workload));
      await prepared.beforeSample?.();
      prepared.run();
      const before = tf.memory().numTensors;
      for (let i = 0; i < 3; i++) prepared.run();
      expect(tf.memory().numTensors).toBe(before);
      await prepared.dispose();
    }
  });

  it('the bare-kernel impl reproduces the public API on the TypeScript kernels exactly, float32 and float64', async () => {
    setKernelBackendsEnabled(false); // the bare kernels are core's TypeScript ones
    try {
      for (const workload of quick) {
        const agreement = compareOutputs(await outputsOf(normkitApi, workload), await outputsOf(normkitKernel, workload), 0);
        expect(agreement.ok, `${workload.id} ${workload.dtype}: ${agreement.message}`).toBe(true);
      }
    } finally {
      setKernelBackendsEnabled(true);
    }
  });

  it('TF.js reports float64 as unsupported', () => {
    const f64 = quick.find((w) => w.dtype === 'float64');
    expect(f64).toBeDefined();
    expect(tfjsImplementation('wasm').unsupported(f64!)).toMatch(/float32/);
  });
});

describe('workloads, data and harness', () => {
  it('has the issue workloads, with bn-train-fwdbwd also in float64', () => {
    const all = workloads(false);
    expect(WORKLOAD_IDS).toEqual(['bn-train-fwd', 'bn-train-fwdbwd', 'bn-train-fwdbwd-nchw', 'ln-fwdbwd', 'ln-fwd', 'bn-eval-fwd-nchw', 'wn-fwdbwd']);
    expect(all.map((w) => `${w.id}/${w.dtype}`)).toContain('bn-train-fwdbwd/float64');
    const nchw = all.find((w) => w.id === 'bn-train-fwdbwd-nchw')!;
    expect(nchw.shape).toEqual([32, 64, 56, 56]);
    expect(minimalBytes(nchw)).toBe(5 * 32 * 64 * 56 * 56 * 4);
    expect(() => workloads(false, ['nope'])).toThrow(/unknown workload/);
  });

  it('transposes NCHW ↔ NHWC', () => {
    const shape = [2, 3, 2, 2];
    const values = Float32Array.from({ length: 24 }, (_, i) => i);
    const nhwc = transposeNchw(values, shape);
    expect(nhwc[1]).toBe(4); // (n0, h0, w0, c1) = NCHW index 1·4
    expect(Array.from(transposeNchw(nhwc, shape, true))).toEqual(Array.from(values));
  });

  it('median, and measure takes at least minSamples samples', async () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    let calls = 0;
    const m = await measure(() => {
      calls++;
    }, { ...QUICK_HARNESS, minSamples: 3, maxSamples: 3 });
    expect(m.samplesMs).toHaveLength(3);
    expect(calls).toBeGreaterThanOrEqual(4);
    expect(m.medianMs).toBeGreaterThanOrEqual(0);
  });

  it('the copy ceiling moves the bytes of the model', async () => {
    const w = workloads(true, ['ln-fwdbwd'])[0];
    const prepared = await copyCeiling.prepare(w, makeWorkloadData(w));
    expect(await prepared.outputs()).toBeNull();
    await prepared.run();
  });

  it('targets are n/a when their rows are missing', () => {
    expect(evaluateTargets([]).every((t) => t.pass === null)).toBe(true);
  });
});

describe('main --quick', () => {
  const dir = mkdtempSync(join(os.tmpdir(), 'normkit-bench-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes JSON with the documented keys', async () => {
    const out = join(dir, 'quick.json');
    await main(['--quick', '--out', out], quiet);
    const json = JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>;
    expect(typeof json.node).toBe('string');
    expect(json.node).toBe(process.version);
    const cpus = json.cpus as { model: string; count: number };
    expect(typeof cpus.model).toBe('string');
    expect(cpus.count).toBeGreaterThan(0);
    const results = json.results as Record<string, unknown>[];
    expect(results.length).toBeGreaterThan(0);
    for (const row of results) {
      expect(typeof row.workload).toBe('string');
      expect(typeof row.impl).toBe('string');
      expect(['float32', 'float64']).toContain(row.dtype);
      expect(typeof row.medianMs).toBe('number');
      expect(typeof row.gbPerS).toBe('number');
      expect(Number.isFinite(row.medianMs)).toBe(true);
    }
    const impls = new Set(results.map((r) => r.impl));
    for (const impl of ['normkit', 'normkit-kernel', 'tfjs-cpu', 'tfjs-wasm', 'ort', 'copy']) expect(impls).toContain(impl);
    const workloadIds = new Set(results.map((r) => r.workload));
    for (const id of WORKLOAD_IDS) expect(workloadIds).toContain(id);
  }, 30_000);
});
