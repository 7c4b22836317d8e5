// A PyTorch batch norm's state as `safetensors.torch.save_file(bn.state_dict(), path,
// metadata={'format': 'pt'})` writes it, built here byte by byte from the published layout
// (the state of a PyTorch test vector), loads under { names: 'pytorch' } and reproduces the
// vector's eval output.
import { BatchNorm } from '@normkit/batch-norm';
import type { GoldenArray } from '@normkit/conformance';
import { compareArray, loadCase, toleranceFor, vectorsDir } from '@normkit/conformance';
import { NormkitError, fromArray } from '@normkit/core';
import type { Tensor } from '@normkit/core';
import { describe, expect, it } from 'vitest';
import { f32Bytes, f64Bytes, i64Bytes, safetensorsFile } from '../test/safetensors-bytes.js';
import { readSafetensors } from './read-safetensors.js';
import { writeSafetensors } from './write-safetensors.js';

const c = loadCase(`${vectorsDir}batchnorm-eval-4d-001.json`);
const input = (name: string) => c.inputs[name] as GoldenArray;
const expectedY = c.expected?.y as GoldenArray;

/**
 * The file PyTorch's writer makes for `prefix + {weight, bias, running_mean, running_var,
 * num_batches_tracked}`: `__metadata__` first, then I64, then the floats by name, compact
 * JSON padded with spaces to 8 bytes, data little-endian in that order.
 */
function pytorchFile(dtype: 'F32' | 'F64', numBatchesTracked: number | bigint, prefix = ''): Uint8Array {
  const floats = ['bias', 'running_mean', 'running_var', 'weight'];
  const values: Record<string, number[]> = {
    weight: input('weight').data as number[],
    bias: input('bias').data as number[],
    running_mean: input('runningMean').data as number[],
    running_var: input('runningVar').data as number[],
  };
  const size = dtype === 'F32' ? 4 : 8;
  let header = `{"__metadata__":{"format":"pt"},"${prefix}num_batches_tracked":{"dtype":"I64","shape":[],"data_offsets":[0,8]}`;
  const data: number[] = i64Bytes([numBatchesTracked]);
  let offset = 8;
  for (const name of floats) {
    const n = values[name].length;
    header += `,"${prefix}${name}":{"dtype":"${dtype}","shape":[${n}],"data_offsets":[${offset},${offset + n * size}]}`;
    data.push(...(dtype === 'F32' ? f32Bytes(values[name]) : f64Bytes(values[name])));
    offset += n * size;
  }
  return safetensorsFile(`${header}}`, data);
}

function evalOutput(bn: BatchNorm, dtype: 'float32' | 'float64'): Tensor {
  const x = input('x');
  bn.eval();
  return bn.forward(fromArray(x.data as number[], x.shape, dtype));
}

describe("a PyTorch batch norm's safetensors file", () => {
  for (const [stored, dtype] of [
    ['F64', 'float64'],
    ['F32', 'float32'],
  ] as const) {
    it(`${stored}: loads under { names: 'pytorch' } and its eval forward matches the vector (${dtype} tolerance)`, () => {
      const file = readSafetensors(pytorchFile(stored, 0));
      expect(file.dtypes.num_batches_tracked).toBe('I64');
      const bn = new BatchNorm(c.options as { numFeatures: number }, { dtype });
      bn.loadStateDict(file.tensors, { names: 'pytorch' });
      expect(Array.from(bn.runningVar?.data ?? [])).toEqual(Array.from(dtype === 'float32' ? new Float32Array(input('runningVar').data as number[]) : (input('runningVar').data as number[])));
      const y = evalOutput(bn, dtype);
      const verdict = compareArray(y.data, y.shape, expectedY, toleranceFor(dtype, false));
      expect(verdict.ok, verdict.message).toBe(true);
    });
  }

  it('normkit writes the same bytes back (I64 counter, PyTorch names and layout)', () => {
    const bytes = pytorchFile('F32', 0);
    const bn = new BatchNorm(c.options as { numFeatures: number });
    bn.loadStateDict(readSafetensors(bytes).tensors, { names: 'pytorch' });
    const names = { names: 'pytorch' } as const;
    const written = writeSafetensors(bn.stateDict(names), { format: 'pt' }, { int64: bn.integerEntries(names) });
    expect(Buffer.from(written).equals(Buffer.from(bytes))).toBe(true);
  });

  it('reads a large int64 counter exactly, and picks the layer out of a model by prefix', () => {
    const count = 2n ** 40n + 3n;
    const bytes = pytorchFile('F64', count, 'features.1.');
    const bn = new BatchNorm(c.options as { numFeatures: number }, { dtype: 'float64' });
    bn.loadStateDict(readSafetensors(bytes).tensors, { names: 'pytorch', prefix: 'features.1.' });
    expect(bn.numBatchesTracked).toBe(2 ** 40 + 3);
    const y = evalOutput(bn, 'float64');
    expect(compareArray(y.data, y.shape, expectedY, toleranceFor('float64', false)).ok).toBe(true);
  });

  it("refuses the file under normkit's names, with a hint, and changes nothing", () => {
    const bn = new BatchNorm(c.options as { numFeatures: number }, { dtype: 'float64' });
    const before = bn.stateDict();
    let error: unknown;
    try {
      bn.loadStateDict(readSafetensors(pytorchFile('F64', 0)).tensors);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(NormkitError);
    expect((error as NormkitError).code).toBe('E_STATE');
    expect((error as NormkitError).message).toContain(`unexpected entry "num_batches_tracked" (PyTorch name; pass { names: 'pytorch' })`);
    expect(bn.stateDict()).toEqual(before);
    let prefixed: unknown;
    try {
      bn.loadStateDict(readSafetensors(pytorchFile('F64', 0, 'features.1.')).tensors, { names: 'pytorch' });
    } catch (e) {
      prefixed = e;
    }
    expect((prefixed as NormkitError).message).toContain(`(PyTorch name under prefix "features.1."; pass { names: 'pytorch', prefix: 'features.1.' })`);
  });
});
