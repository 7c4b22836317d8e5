import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { KERNEL_NAMES, kernelBackendsEnabled, listKernelRegistrations, registerKernel, setKernelBackendsEnabled, tensor, unregisterBackend, zeros } from '@normkit/core';
import type { KernelName } from '@normkit/core';
import { batchNorm } from '@normkit/batch-norm';
import { groupNorm } from '@normkit/group-norm';
import { instanceNorm } from '@normkit/instance-norm';
import { layerNorm } from '@normkit/layer-norm';
import { rmsNorm } from '@normkit/rms-norm';
import { DEFAULT_BACKEND_NAME, defaultWasm } from '@normkit/wasm';
import { ratioChartSpec, renderSvg } from './chart.js';
import { compareOutputs } from './check.js';
import { fillNormal, makeWorkloadData, transposeNchw } from './data.js';
import { median, measure, QUICK_HARNESS } from './harness.js';
import { checkCRefOutput, cRefLineFor, parseCRefOutput } from './impls/c-ref.js';
import { copyCeiling } from './impls/copy.js';
import { jsReference } from './impls/js-ref.js';
import { normkitDefault, normkitKernel, normkitTs } from './impls/normkit.js';
import { disposeWasmBackends, normkitWasm, normkitWasmCopy, normkitWasmTwoThreads } from './impls/wasm.js';
import { ORT_SESSION_OPTIONS } from './impls/ort.js';
import { loadTf, tfjsImplementation } from './impls/tfjs.js';
import type { Implementation, Outputs } from './impls/types.js';
import { DEFAULT_CHART, main, parseArgs } from './main.js';
import { exposedGc, runMemoryCheck } from './memory.js';
import {
  ProtoWriter,
  batchNormalizationModel,
  groupNormalizationModel,
  instanceNormalizationModel,
  layerNormalizationModel,
  rmsNormalizationModel,
} from './onnx.js';
import type { ResultRow } from './report.js';
import { evaluateTargets, sameRunRatios } from './report.js';
import { WORKLOAD_IDS, isFamily, minimalBytes, workloads } from './workloads.js';

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

async function outputsOf(impl: Implementation, workload: ReturnType<typeof workloads>[number]): Promise<Outputs> {
  const prepared = await impl.prepare(workload, makeWorkloadData(workload));
  try {
    await prepared.beforeSample?.();
    const out = await prepared.outputs();
    if (out === null) throw new Error('no outputs');
    return out;
  } finally {
    await prepared.dispose();
    setKernelBackendsEnabled(true); // normkit-ts leaves the TypeScript kernels forced
  }
}

/** Registers, at the top priority, kernels that claim every call (writing nothing): no other backend sees a call. */
function interceptAllKernels(): () => void {
  const name = 'bench-test-interceptor';
  for (const kernel of KERNEL_NAMES) registerKernel({ kernel: kernel as KernelName, backend: name, priority: 1e9, run: () => true });
  return () => {
    unregisterBackend(name);
  };
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

  // float32 peers that take float32 statistics: 1e-5 of the output scale is ~100 float32 ulps.
  const familyShape = [2, 4, 3, 3];
  const fx = fillNormal(new Float32Array(72), 31, 0.5, 2);
  const fGamma = fillNormal(new Float32Array(4), 32, 1, 0.2);
  const fBeta = fillNormal(new Float32Array(4), 33, 0, 0.2);
  const affine = { weight: tensor(fGamma, [4]), bias: tensor(fBeta, [4]) };

  it('GroupNormalization (opset 21, per-channel γ/β, 2 groups) matches normkit group norm', async () => {
    const session = await ort.InferenceSession.create(groupNormalizationModel({ shape: familyShape, scale: fGamma, bias: fBeta, groups: 2 }), ORT_SESSION_OPTIONS);
    const { Y } = await session.run({ X: new ort.Tensor('float32', fx, familyShape) });
    const expected = groupNorm.create({ numGroups: 2, numChannels: 4 }).forward({ x: tensor(fx, familyShape), params: affine, state: {}, mode: 'train' }).y.data;
    expect(maxScaledError(expected, Y.data as Float32Array)).toBeLessThan(1e-5);
    await session.release();
  });

  it('InstanceNormalization (version 6, opset 17 model) matches normkit instance norm with affine', async () => {
    const session = await ort.InferenceSession.create(instanceNormalizationModel({ shape: familyShape, scale: fGamma, bias: fBeta }), ORT_SESSION_OPTIONS);
    const { Y } = await session.run({ X: new ort.Tensor('float32', fx, familyShape) });
    const expected = instanceNorm.create({ numFeatures: 4, affine: true }).forward({ x: tensor(fx, familyShape), params: affine, state: {}, mode: 'train' }).y.data;
    expect(maxScaledError(expected, Y.data as Float32Array)).toBeLessThan(1e-5);
    await session.release();
  });

  it('RMSNormalization (opset 23, last axis) matches normkit RMS norm at the same ε', async () => {
    const rShape = [6, 12];
    const rx = fillNormal(new Float32Array(72), 41, 0.5, 2);
    const rGamma = fillNormal(new Float32Array(12), 42, 1, 0.2);
    const session = await ort.InferenceSession.create(rmsNormalizationModel({ shape: rShape, scale: rGamma, epsilon: 1e-5 }), ORT_SESSION_OPTIONS);
    const { Y } = await session.run({ X: new ort.Tensor('float32', rx, rShape) });
    const expected = rmsNorm.create({ normalizedShape: [12], eps: 1e-5 }).forward({ x: tensor(rx, rShape), params: { weight: tensor(rGamma, [12]) }, state: {}, mode: 'train' }).y.data;
    expect(maxScaledError(expected, Y.data as Float32Array)).toBeLessThan(1e-5);
    await session.release();
  });

  it('ONNX Runtime runs the family on its CPU provider: InstanceNormalization and RMSNormalization as kernels, GroupNormalization-21 as its function body', async () => {
    const dir = mkdtempSync(join(os.tmpdir(), 'normkit-bench-ortprof-'));
    try {
      const opsRun = async (model: Uint8Array, name: string, inputShape: number[]): Promise<string[]> => {
        const session = await ort.InferenceSession.create(model, { ...ORT_SESSION_OPTIONS, enableProfiling: true, profileFilePrefix: join(dir, name) });
        await session.run({ X: new ort.Tensor('float32', new Float32Array(inputShape.reduce((a, b) => a * b, 1)).fill(0.5), inputShape) });
        session.endProfiling();
        await session.release();
        const file = readdirSync(dir).find((f) => f.startsWith(name));
        expect(file, `profile of ${name}`).toBeDefined();
        const events = JSON.parse(readFileSync(join(dir, file as string), 'utf8')) as { cat: string; name: string; args: { op_name?: string; provider?: string } }[];
        const nodes = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time'));
        for (const e of nodes) expect(e.args.provider, `${name}: ${e.args.op_name}`).toBe('CPUExecutionProvider');
        return [...new Set(nodes.map((e) => e.args.op_name as string))];
      };
      expect(await opsRun(instanceNormalizationModel({ shape: familyShape, scale: fGamma, bias: fBeta }), 'in', familyShape)).toEqual(['InstanceNormalization']);
      expect(await opsRun(rmsNormalizationModel({ shape: [6, 12], scale: new Float32Array(12).fill(1) }), 'rms', [6, 12])).toEqual(['RMSNormalization']);
      const gn = await opsRun(groupNormalizationModel({ shape: familyShape, scale: fGamma, bias: fBeta, groups: 2 }), 'gn', familyShape);
      expect(gn).not.toContain('GroupNormalization');
      expect(gn).toEqual(expect.arrayContaining(['ReduceMean', 'Reshape', 'Sub', 'Mul', 'Add']));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('implementations agree with normkit-ts on tiny inputs', () => {
  const quick = workloads(true);
  const float32 = quick.filter((w) => w.dtype === 'float32');

  for (const backend of ['cpu', 'wasm'] as const) {
    for (const workload of float32) {
      it(`TF.js ${backend}: ${workload.id} (forward${workload.passes === 5 ? ' and gradients' : ''})`, async () => {
        const reference = await outputsOf(normkitTs, workload);
        const peer = await outputsOf(tfjsImplementation(backend), workload);
        const expected = workload.passes === 5 ? Object.keys(reference).sort() : ['y'];
        expect(Object.keys(peer).sort()).toEqual(expected);
        const agreement = compareOutputs(reference, peer, 1e-4);
        expect(agreement.message).toBe('');
        expect(agreement.ok).toBe(true);
      });
    }
  }

  it('ONNX Runtime: every forward workload it has a model for agrees with normkit-ts (the family included)', async () => {
    const { onnxRuntime } = await import('./impls/ort.js');
    const forward = float32.filter((w) => onnxRuntime.unsupported(w) === null);
    expect(forward.map((w) => w.id)).toEqual(['bn-train-fwd', 'ln-fwd', 'bn-eval-fwd-nchw', 'gn-fwd', 'in-fwd', 'rms-fwd']);
    for (const workload of forward) {
      const agreement = compareOutputs(await outputsOf(normkitTs, workload), await outputsOf(onnxRuntime, workload), 1e-5);
      expect(agreement.ok, `${workload.id}: ${agreement.message}`).toBe(true);
    }
  });

  for (const impl of [normkitDefault, normkitWasm, normkitWasmCopy, normkitWasmTwoThreads]) {
    it(`${impl.name}: every float32 workload runs its kernel calls in wasm and agrees with normkit-ts`, async () => {
      try {
        for (const workload of float32) {
          // outputs() throws when the row's backend handled nothing (or, explicit, declined a call or copied a resident tensor)
          const reference = await outputsOf(normkitTs, workload);
          const agreement = compareOutputs(reference, await outputsOf(impl, workload), 1e-4);
          expect(agreement.ok, `${workload.id}: ${agreement.message}`).toBe(true);
        }
      } finally {
        await disposeWasmBackends();
      }
    });
  }

  it('an explicit wasm row whose kernel calls do not reach its backend fails its check instead of timing something else', async () => {
    const restore = interceptAllKernels();
    try {
      await expect(outputsOf(normkitWasm, float32[0])).rejects.toThrow(/normkit-wasm: the wasm kernels handled 0 and declined 0 kernel calls/);
    } finally {
      restore();
      await disposeWasmBackends();
    }
  });

  it('the normkit-default row fails its check when the default backend handles no kernel call', async () => {
    const restore = interceptAllKernels();
    try {
      await expect(outputsOf(normkitDefault, float32[0])).rejects.toThrow(/normkit-default: the default wasm backend handled no kernel call/);
    } finally {
      restore();
    }
  });

  it('each row sets the kernel registry state it needs before a sample, whatever ran before (round-robin)', async () => {
    const backend = await defaultWasm();
    expect(backend?.name).toBe(DEFAULT_BACKEND_NAME);
    const workload = float32.find((w) => w.id === 'bn-train-fwdbwd-nchw')!;
    const data = makeWorkloadData(workload);
    const rows = { ts: await normkitTs.prepare(workload, data), def: await normkitDefault.prepare(workload, data), wasm: await normkitWasm.prepare(workload, data) };
    const explicit = (): string[] => [...new Set(listKernelRegistrations().map((r) => r.backend))].filter((b) => b.startsWith('wasm-simd#'));
    const handled = (): number => backend?.counters.handled ?? 0;
    try {
      for (const order of [['wasm', 'ts', 'def'], ['def', 'wasm', 'ts'], ['ts', 'def', 'wasm']] as const) {
        for (const row of order) {
          await rows[row].beforeSample?.();
          const before = handled();
          await rows[row].run();
          if (row === 'ts') {
            expect(kernelBackendsEnabled()).toBe(false);
            expect(handled()).toBe(before);
          } else if (row === 'def') {
            expect(kernelBackendsEnabled()).toBe(true);
            expect(explicit()).toEqual([]);
            expect(handled()).toBeGreaterThan(before);
          } else {
            expect(kernelBackendsEnabled()).toBe(true);
            expect(explicit()).toHaveLength(1);
            expect(handled()).toBe(before); // the explicit backend (priority 100) took every call
          }
        }
      }
    } finally {
      for (const r of Object.values(rows)) await r.dispose();
      await disposeWasmBackends();
    }
    expect(kernelBackendsEnabled()).toBe(true);
  });

  it('js-ref (the tuned loops of ref.cjs) agrees with normkit-ts at float32 and float64 precision', async () => {
    const supported = quick.filter((w) => jsReference.unsupported(w) === null);
    expect(supported.map((w) => `${w.id}/${w.dtype}`)).toEqual([
      'bn-train-fwd/float32',
      'bn-train-fwdbwd/float32',
      'bn-train-fwdbwd/float64',
      'bn-train-fwdbwd-nchw/float32',
      'ln-fwdbwd/float32',
      'ln-fwd/float32',
      'bn-eval-fwd-nchw/float32',
    ]);
    for (const workload of supported) {
      // Both accumulate in float64 and round each output once: float32 results differ by a few
      // ulps (2⁻²³ ≈ 1.2e-7) of the output scale, float64 ones by rounding of the sums.
      const tol = workload.dtype === 'float32' ? 1e-6 : 1e-12;
      const reference = await outputsOf(normkitTs, workload);
      const peer = await outputsOf(jsReference, workload);
      expect(Object.keys(peer).sort()).toEqual(Object.keys(reference).sort());
      const agreement = compareOutputs(reference, peer, tol);
      expect(agreement.ok, `${workload.id} ${workload.dtype}: ${agreement.message}`).toBe(true);
    }
    expect(jsReference.unsupported(float32.find((w) => w.id === 'gn-fwd')!)).toMatch(/batch-norm and layer-norm/);
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
    for (const workload of quick.filter((w) => !isFamily(w))) {
      const agreement = compareOutputs(await outputsOf(normkitTs, workload), await outputsOf(normkitKernel, workload), 0);
      expect(agreement.ok, `${workload.id} ${workload.dtype}: ${agreement.message}`).toBe(true);
    }
  });

  it('TF.js reports float64 as unsupported', () => {
    const f64 = quick.find((w) => w.dtype === 'float64');
    expect(f64).toBeDefined();
    expect(tfjsImplementation('wasm').unsupported(f64!)).toMatch(/float32/);
  });
});

describe('c-ref: bench_c output', () => {
  // Lines as bench_c printed them on the reference machine (OMP_NUM_THREADS=1).
  const canned = [
    'W1 checksum sum(x)=78310.982899',
    'C-ref W1 fwd    thr=1 median_ms    0.2457 GB/s    8.54 maxAbsDiff 2.4e-07',
    'C-ref W1 fwdbwd thr=1 median_ms    0.4539 GB/s   11.55 maxAbsDiff 1.2e-07',
    'W2 checksum sum(x)=1922239.520691',
    'C-ref W2 stats-only(read x once, c-major) thr=1 median_ms    9.8603 GB/s    2.61 maxAbsDiff 0.0e+00',
    'C-ref W2 fwdbwd thr=1 median_ms   19.6361 GB/s    6.54 maxAbsDiff 1.2e-07',
    'C-ref W4 eval   thr=1 median_ms    5.2015 GB/s    9.88 maxAbsDiff 4.8e-07',
  ].join('\n');

  it('parses timing lines (phases with spaces included) and checksums', () => {
    const { lines, checksums } = parseCRefOutput(canned);
    expect(lines).toHaveLength(5);
    expect(lines[0]).toEqual({ workload: 'W1', phase: 'fwd', threads: 1, medianMs: 0.2457, gbPerS: 8.54, maxAbsDiff: 2.4e-7 });
    expect(lines[2].phase).toBe('stats-only(read x once, c-major)');
    expect(lines[4]).toEqual({ workload: 'W4', phase: 'eval', threads: 1, medianMs: 5.2015, gbPerS: 9.88, maxAbsDiff: 4.8e-7 });
    expect(checksums.get('W2')).toBe(1922239.520691);
    expect(() => parseCRefOutput('C-ref W1 fwd thr=1 median_ms x GB/s 1 maxAbsDiff 0')).toThrow(/cannot parse/);
  });

  it('checks one thread, its own error bound and that its inputs are data.cjs\'s', () => {
    const output = parseCRefOutput(canned);
    const sums = new Map([['W1', 78310.982901], ['W2', 1922239.520753]]); // data.cjs's sums in JS
    expect(checkCRefOutput(output, 1e-3, sums)).toEqual({ problems: [], checked: ['W1', 'W2'] });
    expect(checkCRefOutput(output, 1e-7, sums).problems.join()).toMatch(/W4 eval: maxAbsDiff 4.8e-7 > 1e-7/);
    expect(checkCRefOutput(output, 1e-3, new Map([['W1', 78000]])).problems.join()).toMatch(/different inputs/);
    expect(checkCRefOutput(parseCRefOutput(canned.replace('W1 fwd    thr=1', 'W1 fwd    thr=2')), 1e-3, sums).problems.join()).toMatch(/2 threads/);
  });

  it('maps the full-shape float32 workloads to bench_c lines, and nothing else', () => {
    const full = workloads(false);
    const mapped = full.filter((w) => cRefLineFor(w) !== null).map((w) => `${w.id}→${cRefLineFor(w)!.workload} ${cRefLineFor(w)!.phase}`);
    expect(mapped).toEqual(['bn-train-fwd→W1 fwd', 'bn-train-fwdbwd→W1 fwdbwd', 'bn-train-fwdbwd-nchw→W2 fwdbwd', 'ln-fwdbwd→W3 fwdbwd', 'ln-fwd→W3 fwd', 'bn-eval-fwd-nchw→W4 eval']);
    expect(workloads(true).every((w) => cRefLineFor(w) === null)).toBe(true);
  });
});

describe('workloads, data and harness', () => {
  it('has the issue workloads and the family, with bn-train-fwdbwd also in float64', () => {
    const all = workloads(false);
    expect(WORKLOAD_IDS).toEqual([
      'bn-train-fwd',
      'bn-train-fwdbwd',
      'bn-train-fwdbwd-nchw',
      'ln-fwdbwd',
      'ln-fwd',
      'bn-eval-fwd-nchw',
      'wn-fwdbwd',
      'gn-fwd',
      'gn-fwdbwd',
      'in-fwd',
      'rms-fwd',
      'rms-fwdbwd',
    ]);
    expect(all.map((w) => `${w.id}/${w.dtype}`)).toContain('bn-train-fwdbwd/float64');
    const nchw = all.find((w) => w.id === 'bn-train-fwdbwd-nchw')!;
    expect(nchw.shape).toEqual([32, 64, 56, 56]);
    expect(minimalBytes(nchw)).toBe(5 * 32 * 64 * 56 * 56 * 4);
    const gn = all.find((w) => w.id === 'gn-fwdbwd')!;
    expect([gn.shape, gn.groups, gn.passes]).toEqual([[32, 64, 56, 56], 32, 5]);
    expect(all.find((w) => w.id === 'in-fwd')!.shape).toEqual([32, 64, 56, 56]);
    expect(all.find((w) => w.id === 'rms-fwdbwd')!.shape).toEqual([4096, 768]);
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

  it('same-run ratios divide the medians of the named rows of one workload', () => {
    const row = (workload: string, impl: ResultRow['impl'], medianMs: number): ResultRow => ({
      workload, impl, dtype: 'float32', medianMs, gbPerS: 1, ratioToDefault: null, bytesModel: '', bytes: 0, shape: [1],
      minMs: medianMs, samples: 3, callsPerSample: 1, stable: true, maxRelativeError: null, note: null,
    });
    const ratios = sameRunRatios([row('ln-fwd', 'normkit-ts', 8), row('ln-fwd', 'normkit-default', 2), row('ln-fwd', 'js-ref', 4), row('ln-fwd', 'ort', 4), row('ln-fwd', 'normkit-wasm', 1), row('ln-fwd', 'c-ref', 0.5)]);
    expect(ratios.map((r) => [r.kind, r.value])).toEqual([
      ['default / ts', 0.25],
      ['wasm / c-ref', 2],
      ['wasm / ort', 0.25],
      ['default / ort', 0.5],
      ['ts / js-ref', 2],
    ]);
    const verdicts = evaluateTargets([row('ln-fwd', 'normkit-ts', 8), row('ln-fwd', 'normkit-default', 2), row('ln-fwd', 'ort', 4)]);
    expect(verdicts.find((v) => v.target === 'ln-fwd float32: normkit-default ms / ort ms')).toMatchObject({ value: 0.5, pass: true, group: 'default path' });
    expect(verdicts.find((v) => v.target === 'ln-fwd float32: normkit-default ms / normkit-ts ms')).toMatchObject({ value: 0.25, pass: true });
    // issue 18's in-process lines: TS within 1.25× of js-ref, resident wasm at ≥ 0.5× of C
    const zeroConfig = evaluateTargets([row('ln-fwd', 'normkit-ts', 5), row('ln-fwd', 'js-ref', 4), row('ln-fwd', 'normkit-wasm', 1.2), row('ln-fwd', 'c-ref', 0.5)]);
    expect(zeroConfig.find((v) => v.target === 'ln-fwd float32: normkit-ts ms / js-ref ms')).toMatchObject({ value: 1.25, pass: true, group: 'zero-config speed' });
    expect(zeroConfig.find((v) => v.target === 'ln-fwd float32: normkit-wasm ms / c-ref ms')).toMatchObject({ value: 2.4, pass: false, group: 'zero-config speed' });
  });

  it('draws the ratios as a Vega-Lite chart rendered to SVG', async () => {
    const ratios = [
      { kind: 'default / ts', workload: 'ln-fwd', dtype: 'float32', numerator: 'normkit-default', denominator: 'normkit-ts', value: 0.25 },
      { kind: 'wasm / c-ref', workload: 'ln-fwd', dtype: 'float32', numerator: 'normkit-wasm', denominator: 'c-ref', value: 2 },
    ] as const;
    const spec = ratioChartSpec(ratios, { date: '2026-12-02T00:00:00Z', node: 'v20', cpus: '2× test', load: [1, 2], quick: false });
    const svg = await renderSvg(spec);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('default / ts');
    expect(svg).toContain('0.25');
  });
});

describe('the memory check', () => {
  it('runs training steps on the default path and samples the heap after forced GCs', async () => {
    // vitest's workers run without --expose-gc; the flag can still be turned on at run time.
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const report = await runMemoryCheck({ shape: [2, 4, 6, 6], steps: 40, warmupSteps: 5, sampleEvery: 10 }, gc);
    expect(report.samples.map((s) => s.step)).toEqual([0, 10, 20, 30, 40]);
    expect(report.kernels).toBe('wasm-simd-default');
    expect(report.handledCalls).toBeGreaterThanOrEqual(40); // at least one kernel call per step in wasm
    expect(report.heapGrowth).toBe(report.samples[4].heapUsed - report.samples[0].heapUsed);
    expect(Number.isFinite(report.heapGrowthPerStep)).toBe(true);
  });

  it('--memory without a forced GC says how to run it', async () => {
    const saved = (globalThis as { gc?: unknown }).gc;
    delete (globalThis as { gc?: unknown }).gc;
    try {
      expect(exposedGc()).toBeNull();
      await expect(main(['--memory', '--quick'], quiet)).rejects.toThrow(/--expose-gc/);
    } finally {
      if (saved !== undefined) (globalThis as { gc?: unknown }).gc = saved;
    }
  });
});

describe('command line', () => {
  it('parses the options; the docs chart is drawn by full runs only', () => {
    expect(parseArgs([]).chart).toBe(DEFAULT_CHART);
    expect(parseArgs(['--quick']).chart).toBeNull();
    expect(parseArgs(['--only', 'ln-fwd']).chart).toBeNull();
    expect(parseArgs(['--quick', '--chart', 'x.svg']).chart).toMatch(/x\.svg$/);
    expect(parseArgs(['--no-chart']).chart).toBeNull();
    expect(parseArgs(['--impls', 'js-ref,c-ref']).impls).toEqual(['js-ref', 'c-ref']);
    expect(parseArgs(['--memory', '--steps', '20'])).toMatchObject({ memory: true, steps: 20 });
    expect(parseArgs(['--help']).help).toBe(true);
    expect(() => parseArgs(['--impls', 'normkit'])).toThrow(/unknown implementation 'normkit'/);
    expect(() => parseArgs(['--steps', '0'])).toThrow(/positive integer/);
  });

  it('--help prints the usage', async () => {
    const printed: string[] = [];
    expect(await main(['--help'], { print: (t) => printed.push(t), progress: () => {} })).toBeNull();
    expect(printed.join('\n')).toMatch(/--impls NAMES[\s\S]*--memory/);
  });
});

describe('main --quick', () => {
  const dir = mkdtempSync(join(os.tmpdir(), 'normkit-bench-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a couple of rows: normkit-default and js-ref against normkit-ts, with their ratios and a chart', async () => {
    const out = join(dir, 'rows.json');
    const chart = join(dir, 'rows.svg');
    const report = await main(['--quick', '--impls', 'normkit-default,js-ref', '--only', 'bn-train-fwdbwd,ln-fwd', '--out', out, '--chart', chart], quiet);
    expect(report).not.toBeNull();
    const json = JSON.parse(readFileSync(out, 'utf8')) as { results: ResultRow[]; ratios: { kind: string; workload: string; dtype: string }[]; environment: { cRef: unknown } };
    expect(json.results.map((r) => `${r.workload}/${r.dtype}/${r.impl}`).sort()).toEqual(
      [
        'bn-train-fwdbwd/float32/normkit-ts',
        'bn-train-fwdbwd/float32/normkit-default',
        'bn-train-fwdbwd/float32/js-ref',
        'bn-train-fwdbwd/float64/normkit-ts',
        'bn-train-fwdbwd/float64/normkit-default',
        'bn-train-fwdbwd/float64/js-ref',
        'ln-fwd/float32/normkit-ts',
        'ln-fwd/float32/normkit-default',
        'ln-fwd/float32/js-ref',
      ].sort(),
    );
    for (const r of json.results) {
      if (r.impl === 'normkit-default') expect(r.ratioToDefault).toBe(1);
      if (r.impl !== 'normkit-ts') expect(r.maxRelativeError).not.toBeNull();
    }
    expect(json.ratios.filter((r) => r.kind === 'default / ts').map((r) => `${r.workload}/${r.dtype}`).sort()).toEqual(['bn-train-fwdbwd/float32', 'bn-train-fwdbwd/float64', 'ln-fwd/float32']);
    expect(json.ratios.filter((r) => r.kind === 'ts / js-ref')).toHaveLength(3);
    expect(json.environment.cRef).toBeNull(); // not requested
    expect(readFileSync(chart, 'utf8').startsWith('<svg')).toBe(true);
  }, 60_000);

  it('writes JSON with the documented keys, every workload and implementation', async () => {
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
    for (const impl of ['normkit-ts', 'normkit-default', 'normkit-kernel', 'normkit-wasm', 'normkit-wasm-copy', 'normkit-wasm-2t', 'js-ref', 'tfjs-cpu', 'tfjs-wasm', 'ort', 'copy']) {
      expect(impls).toContain(impl);
    }
    const workloadIds = new Set(results.map((r) => r.workload));
    for (const id of WORKLOAD_IDS) expect(workloadIds).toContain(id);
    const skipped = json.skipped as { impl: string; reason: string }[];
    expect(skipped.filter((s) => s.impl === 'c-ref').every((s) => /full shapes/.test(s.reason))).toBe(true);
    expect(Array.isArray(json.ratios)).toBe(true);
    expect(json.chart).toBeNull();
  }, 60_000);
});
