import { batchNorm } from '@normkit/batch-norm';
import { layerNorm } from '@normkit/layer-norm';
import { isNormkitError, tensor, toTypedArray } from '@normkit/core';
import { randn } from '@normkit/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { WasmPool, disableWasm, enableWasm } from '@normkit/wasm';
import { DEFAULT_BACKEND_NAME } from '@normkit/wasm';
import { unregisterBackend } from '@normkit/core';

// These tests compare an explicitly enabled backend with the TypeScript kernels: the zero-config
// default backend that importing a plugin installs is removed for this file (vitest runs each
// test file in its own worker).
unregisterBackend(DEFAULT_BACKEND_NAME);

afterEach(() => disableWasm());

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return isNormkitError(e) ? e.code : `not a NormkitError: ${String(e)}`;
  }
  return undefined;
}

describe('WasmPool', () => {
  it('reserves its memory up front and hands out aligned float32 views', () => {
    const pool = WasmPool.create(1 << 20);
    expect(pool.memory.buffer.byteLength).toBe(1 << 20);
    const a = pool.tensor([3, 5]);
    const b = pool.tensor([7]);
    expect(a.data).toBeInstanceOf(Float32Array);
    expect(a.data.buffer).toBe(pool.memory.buffer);
    expect(a.data.byteOffset % 16).toBe(0);
    expect(b.data.byteOffset % 16).toBe(0);
    expect(Array.from(a.data)).toEqual(new Array(15).fill(0));
    expect(a.shape).toEqual([3, 5]);
    expect(a.stride).toEqual([5, 1]);
    expect(pool.stats().liveTensors).toBe(2);
    expect(pool.stats().usedBytes).toBe(64 + 32);
  });

  it('frees and coalesces: after disposing everything one block covers the capacity', () => {
    const pool = WasmPool.create(1 << 20);
    const { capacityBytes } = pool.stats();
    const ts = Array.from({ length: 20 }, (_, i) => pool.tensor([i + 1, 3]));
    for (let i = 0; i < ts.length; i += 2) ts[i].dispose();
    for (let i = 1; i < ts.length; i += 2) pool.dispose(ts[i]);
    expect(pool.stats()).toEqual({ capacityBytes, usedBytes: 0, freeBytes: capacityBytes, largestFreeBytes: capacityBytes, liveTensors: 0 });
    // the whole capacity is one allocation again
    const big = pool.tensor([capacityBytes / 4]);
    expect(big.data.length).toBe(capacityBytes / 4);
  });

  it('copies tensors in (any dtype and strides) and from arrays', () => {
    const pool = WasmPool.create(1 << 20);
    const src = tensor(new Float64Array([1, 2, 3, 4, 5, 6]), [2, 3]).transpose(1, 0);
    const t = pool.fromTensor(src);
    expect(t.shape).toEqual([3, 2]);
    expect(Array.from(t.data)).toEqual([1, 4, 2, 5, 3, 6]);
    expect(Array.from(pool.fromArray([1, 2, 3], [3, 1]).data)).toEqual([1, 2, 3]);
    expect(code(() => pool.fromArray([1, 2], [3]))).toBe('E_SHAPE');
  });

  it('throws E_STATE "out of memory" when no block is large enough, and recovers after dispose', () => {
    const pool = WasmPool.create(1 << 16);
    const a = pool.tensor([8100]); // 64 KiB minus a 1 KiB header holds one, not two
    let error: unknown;
    try {
      pool.tensor([8100]);
    } catch (e) {
      error = e;
    }
    expect(isNormkitError(error, 'E_STATE')).toBe(true);
    expect((error as Error).message).toMatch(/^wasm pool: out of memory: a tensor of shape \[8100\] needs 32400 bytes/);
    expect(pool.tryTensor([8100])).toBeNull();
    a.dispose();
    expect(pool.tensor([8100]).data.length).toBe(8100);
  });

  it('rejects a second dispose and foreign tensors with E_STATE', () => {
    const pool = WasmPool.create(1 << 16);
    const t = pool.tensor([4]);
    t.dispose();
    expect(code(() => t.dispose())).toBe('E_STATE');
    expect(code(() => pool.dispose(randn([4], 1, 'float32')))).toBe('E_STATE');
    expect(code(() => WasmPool.create(1 << 16).dispose(pool.tensor([2])))).toBe('E_STATE');
  });

  it('scope frees what was allocated inside except what it returns; scopes nest', () => {
    const pool = WasmPool.create(1 << 20);
    const outer = pool.tensor([4]);
    const kept = pool.scope(() => {
      pool.tensor([100]);
      const inner = pool.scope(() => {
        pool.tensor([10]);
        return { a: pool.tensor([3]), list: [pool.tensor([5])] };
      });
      expect(pool.stats().liveTensors).toBe(1 + 1 + 2);
      const disposed = pool.tensor([6]);
      disposed.dispose(); // disposing inside a scope is fine
      return inner.a;
    });
    expect(pool.stats().liveTensors).toBe(2);
    expect(pool.isLive(outer)).toBe(true);
    expect(pool.isLive(kept)).toBe(true);
    kept.dispose();
    outer.dispose();
    expect(pool.stats().usedBytes).toBe(0);
  });

  it('scope frees everything when the function throws, and keep() exempts a tensor', () => {
    const pool = WasmPool.create(1 << 20);
    let escaped = pool.tensor([1]);
    escaped.dispose();
    expect(() =>
      pool.scope(() => {
        pool.tensor([10]);
        escaped = pool.keep(pool.tensor([2]));
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(pool.stats().liveTensors).toBe(1);
    expect(pool.isLive(escaped)).toBe(true);
  });

  it('rejects bad sizes with E_OPTION', () => {
    expect(code(() => WasmPool.create(0))).toBe('E_OPTION');
    expect(code(() => WasmPool.create(8 * 1024 ** 3))).toBe('E_OPTION');
  });
});

describe('the wasm kernels and the pool', () => {
  it('disposeAll frees the tensors, not the kernels\' scratch: a training step after it gives the same numbers (it gave garbage)', async () => {
    const wasm = await enableWasm({ memoryBytes: 16 << 20 });
    if (wasm === false) throw new Error('no SIMD');
    const { pool } = wasm;
    const xs = randn([64, 4, 16], 5, 'float32');
    const dys = randn([64, 4, 16], 6, 'float32');
    const step = () => {
      const bn = batchNorm.create({ numFeatures: 4 });
      const { params, state } = bn.init('float32');
      const x = pool.fromTensor(xs);
      const dy = pool.fromTensor(dys);
      const f = bn.forward({ x, params, state, mode: 'train' });
      const r = bn.backward({ dy, params, saved: f.saved });
      const out = [Array.from(toTypedArray(f.y)), Array.from(toTypedArray(r.dx))];
      pool.disposeAll();
      return out;
    };
    const first = step();
    const second = step();
    expect(pool.stats().liveTensors).toBe(0);
    // the same inputs through the same kernels: bit-identical
    expect(second).toEqual(first);
    wasm.uninstall();
  });

  it('resident inputs and pool `out` tensors: no copies, outputs written in place, scope frees them', async () => {
    const wasm = await enableWasm({ memoryBytes: 1 << 22 });
    if (wasm === false) throw new Error('no SIMD');
    const { pool } = wasm;
    const ln = layerNorm.create({ normalizedShape: [6] });
    const { params } = ln.init('float32');
    const x = pool.fromTensor(randn([5, 6], 1, 'float32'));
    const dy = pool.fromTensor(randn([5, 6], 2, 'float32'));
    const dx = pool.scope(() => {
      const y = pool.tensor([5, 6]);
      const f = ln.forward({ x, params, state: {}, mode: 'train', out: y });
      expect(f.y).toBe(y);
      return ln.backward({ dy, params, saved: f.saved, out: pool.tensor([5, 6]) }).dx;
    });
    expect(wasm.counters.handled).toBe(2); // normalizeBatch, backwardRows
    expect(wasm.counters.copiedIn).toBe(0);
    expect(wasm.counters.copiedOut).toBe(0);
    expect(pool.stats().liveTensors).toBe(3); // x, dy, dx: y was freed by the scope
    expect(pool.isLive(dx)).toBe(true);
    wasm.uninstall();
    const ref = ln.backward({ dy, params, saved: ln.forward({ x, params, state: {}, mode: 'train' }).saved }).dx;
    const a = toTypedArray(dx);
    const b = toTypedArray(ref);
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThan(4e-6);
  });

  it('JS-heap inputs are copied in once per kernel call and outputs copied out; every temporary is freed', async () => {
    const wasm = await enableWasm({ memoryBytes: 1 << 22 });
    if (wasm === false) throw new Error('no SIMD');
    const bn = batchNorm.create({ numFeatures: 3 });
    const { params, state } = bn.init('float32');
    const x = randn([4, 3, 5], 1, 'float32');
    const dy = randn([4, 3, 5], 2, 'float32');
    const f = bn.forward({ x, params, state, mode: 'train' });
    // a call carries all its inputs: the fused normalizeBatch copies x in once for the
    // statistics and the forward map
    expect(wasm.counters.kernels.normalizeBatch).toBe(1);
    expect(wasm.counters.copiedIn).toBe(1);
    expect(wasm.counters.copiedOut).toBe(1); // y
    expect(f.y.data.buffer).not.toBe(wasm.pool.buffer);
    bn.backward({ dy, params, saved: f.saved });
    expect(wasm.counters.kernels.backwardCells).toBe(1);
    expect(wasm.counters.copiedIn).toBe(3); // x and dy, once each for the sums and the input gradient
    expect(wasm.counters.copiedOut).toBe(2); // dx
    expect(wasm.pool.stats().liveTensors).toBe(0);
    await wasm.disable(); // frees the kernels' scratch: nothing else may be left
    expect(wasm.pool.stats().usedBytes).toBe(0);
  });

  it('a forward refused between the statistics and y (batch norm: non-finite running statistics) writes nothing to `out` and frees its copies', async () => {
    const wasm = await enableWasm({ memoryBytes: 1 << 22 });
    if (wasm === false) throw new Error('no SIMD');
    const bn = batchNorm.create({ numFeatures: 3 });
    const { params, state } = bn.init('float32');
    bn.forward({ x: randn([4, 3, 5], 1, 'float32'), params, state, mode: 'train' }); // sizes the scratch
    const used = wasm.pool.stats().usedBytes;
    const x = randn([4, 3, 5], 2, 'float32');
    x.set(2, 1, 3, Number.NaN); // channel 1's mean is NaN: the running statistics are refused
    const out = randn([4, 3, 5], 3, 'float32');
    const before = Array.from(out.data);
    const copiedIn = wasm.counters.copiedIn;
    expect(code(() => bn.forward({ x, params, state, mode: 'train', out }))).toBe('E_NONFINITE');
    expect(wasm.counters.copiedIn).toBe(copiedIn + 1); // the wasm normalizeBatch ran its statistics
    expect(Array.from(out.data)).toEqual(before);
    expect(wasm.pool.stats().usedBytes).toBe(used);
    expect(wasm.counters.kernels.normalizeBatch).toBe(1); // the refused call is not counted as handled
  });

  it('throws E_STATE when a disposed pool tensor reaches a wasm kernel, before any output is written', async () => {
    const wasm = await enableWasm({ memoryBytes: 1 << 22 });
    if (wasm === false) throw new Error('no SIMD');
    const bn = batchNorm.create({ numFeatures: 3 });
    const { params, state } = bn.init('float32');
    const x = wasm.pool.fromTensor(randn([4, 3], 1, 'float32'));
    x.dispose();
    let error: unknown;
    try {
      bn.forward({ x, params, state, mode: 'train' });
    } catch (e) {
      error = e;
    }
    expect(isNormkitError(error, 'E_STATE')).toBe(true);
    expect((error as Error).message).toBe('x: wasm pool tensor used after dispose()');
    // a disposed pool `out`
    const ln = layerNorm.create({ normalizedShape: [3] });
    const lp = ln.init('float32').params;
    const out = wasm.pool.tensor([2, 3]);
    out.dispose();
    expect(code(() => ln.forward({ x: randn([2, 3], 2, 'float32'), params: lp, state: {}, mode: 'train', out }))).toBe('E_STATE');
    // a saved x disposed between forward and backward
    const kept = wasm.pool.fromTensor(randn([2, 3], 1, 'float32'));
    const saved = ln.forward({ x: kept, params: lp, state: {}, mode: 'train' }).saved;
    kept.dispose();
    expect(code(() => ln.backward({ dy: randn([2, 3], 3, 'float32'), params: lp, saved }))).toBe('E_STATE');
  });

  it('when the pool cannot hold the copies, the kernels decline and the results stay correct', async () => {
    const wasm = await enableWasm({ memoryBytes: 1 << 16 });
    if (wasm === false) throw new Error('no SIMD');
    const ln = layerNorm.create({ normalizedShape: [64] });
    const { params } = ln.init('float32');
    const filler = wasm.pool.tensor([7500]); // leaves ~34 KB: no copy of x (38 KB) fits
    const x = randn([150, 64], 1, 'float32');
    const withWasm = ln.forward({ x, params, state: {}, mode: 'train' }).y;
    await disableWasm();
    const reference = ln.forward({ x, params, state: {}, mode: 'train' }).y;
    expect(Array.from(toTypedArray(withWasm))).toEqual(Array.from(toTypedArray(reference)));
    expect(wasm.counters.declined).toBe(3); // normalizeBatch, then its fallback's moments and normalizeRows
    expect(wasm.counters.handled).toBe(0);
    expect(wasm.pool.isLive(filler)).toBe(true);
  });
});
