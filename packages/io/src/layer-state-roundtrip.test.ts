// Every layer's state through both formats and back, in normkit's names and in PyTorch's
// (with a model prefix): the same keys, dtypes, shapes and values bit for bit, and the
// counters stay int64 in safetensors.
import { BatchNorm } from '@normkit/batch-norm';
import { BatchRenorm } from '@normkit/batch-renorm';
import type { Layer, StateDictNaming, Tensor } from '@normkit/core';
import { dtypeOf } from '@normkit/core';
import { GhostBatchNorm } from '@normkit/ghost-batch-norm';
import { GroupNorm } from '@normkit/group-norm';
import { InstanceNorm } from '@normkit/instance-norm';
import { LayerNorm } from '@normkit/layer-norm';
import { RMSNorm } from '@normkit/rms-norm';
import { SyncBatchNorm } from '@normkit/sync-batch-norm';
import { randn } from '@normkit/testkit';
import { WeightNorm, WeightNormLinear } from '@normkit/weight-norm';
import { describe, expect, it } from 'vitest';
import { valuesOf } from '../test/safetensors-bytes.js';
import { readSafetensors } from './read-safetensors.js';
import { stateDictFromJSON } from './state-dict-from-json.js';
import { stateDictToJSON } from './state-dict-to-json.js';
import { writeSafetensors } from './write-safetensors.js';

type Dtype = 'float32' | 'float64';
type AnyLayer = Layer<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

interface LayerCase {
  readonly name: string;
  /** A fresh layer of this kind. */
  make(dtype: Dtype): AnyLayer;
  /** An input for two training steps (none: the layer keeps no state that training changes). */
  readonly xShape?: readonly number[];
  /** The PyTorch keys of its state dict (no prefix). */
  readonly pytorchKeys: readonly string[];
  /** The keys that are int64 in PyTorch files. */
  readonly int64: readonly string[];
}

const BN_KEYS = ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked'];
const CASES: readonly LayerCase[] = [
  { name: 'batch norm', make: (dtype) => new BatchNorm({ numFeatures: 3 }, { dtype }), xShape: [6, 3, 2], pytorchKeys: BN_KEYS, int64: ['num_batches_tracked'] },
  { name: 'batch renorm', make: (dtype) => new BatchRenorm({ numFeatures: 3 }, { dtype }), xShape: [6, 3, 2], pytorchKeys: BN_KEYS, int64: ['num_batches_tracked'] },
  {
    name: 'ghost batch norm',
    make: (dtype) => new GhostBatchNorm({ numFeatures: 3, virtualBatchSize: 3 }, { dtype }),
    xShape: [6, 3, 2],
    pytorchKeys: BN_KEYS,
    int64: ['num_batches_tracked'],
  },
  { name: 'sync batch norm', make: (dtype) => new SyncBatchNorm({ numFeatures: 3 }, { dtype }), xShape: [6, 3, 2], pytorchKeys: BN_KEYS, int64: ['num_batches_tracked'] },
  {
    name: 'instance norm (tracked, affine)',
    make: (dtype) => new InstanceNorm({ numFeatures: 3, affine: true, trackRunningStats: true }, { dtype }),
    xShape: [2, 3, 4],
    pytorchKeys: BN_KEYS,
    int64: ['num_batches_tracked'],
  },
  { name: 'layer norm', make: (dtype) => new LayerNorm({ normalizedShape: [2, 4] }, { dtype }), pytorchKeys: ['weight', 'bias'], int64: [] },
  { name: 'group norm', make: (dtype) => new GroupNorm({ numGroups: 2, numChannels: 4 }, { dtype }), pytorchKeys: ['weight', 'bias'], int64: [] },
  { name: 'RMS norm', make: (dtype) => new RMSNorm({ normalizedShape: [4] }, { dtype }), pytorchKeys: ['weight'], int64: [] },
  { name: 'weight norm', make: (dtype) => new WeightNorm({ shape: [3, 4], dim: 0 }, { dtype }), pytorchKeys: ['parametrizations.weight.original0'], int64: [] },
  {
    name: 'weight-normalized linear',
    make: (dtype) => new WeightNormLinear({ inFeatures: 4, outFeatures: 3 }, { dtype }),
    pytorchKeys: ['parametrizations.weight.original1', 'parametrizations.weight.original0', 'bias'],
    int64: [],
  },
];

/** A layer with random parameters and, where it has them, running statistics from two training steps. */
function trained(c: LayerCase, dtype: Dtype, seed: number): AnyLayer {
  const layer = c.make(dtype);
  if (c.xShape !== undefined) {
    layer.forward(randn(c.xShape, seed, dtype));
    layer.forward(randn(c.xShape, seed + 1, dtype, 0.5, 2));
  }
  const sd: Record<string, Tensor> = { ...layer.stateDict() };
  let k = 0;
  for (const name of Object.keys(layer.params)) sd[name] = randn(sd[name].shape, seed + 10 + k++, dtype, 1, 0.5);
  layer.loadStateDict(sd);
  return layer;
}

/** Same keys, dtypes, shapes, and values compared with Object.is (bit for bit but NaN payloads). */
function expectIdentical(actual: Readonly<Record<string, Tensor>>, expected: Readonly<Record<string, Tensor>>, what: string): void {
  expect(Object.keys(actual).sort(), what).toEqual(Object.keys(expected).sort());
  for (const [key, t] of Object.entries(expected)) {
    const a = actual[key];
    expect(dtypeOf(a), `${what} ${key}`).toBe(dtypeOf(t));
    expect(a.shape, `${what} ${key}`).toEqual(t.shape);
    const [av, tv] = [valuesOf(a), valuesOf(t)];
    expect(av.every((v, i) => Object.is(v, tv[i])) && av.length === tv.length, `${what} ${key}: ${av} vs ${tv}`).toBe(true);
  }
}

const NAMINGS: readonly [string, StateDictNaming][] = [
  ['normkit names', {}],
  ['PyTorch names in a model', { names: 'pytorch', prefix: 'features.1.' }],
];

describe.each(CASES)('$name state through the formats', (c) => {
  it('uses the PyTorch keys and int64 entries PyTorch does', () => {
    const layer = trained(c, 'float32', 1);
    expect(Object.keys(layer.stateDict({ names: 'pytorch' })).sort()).toEqual([...c.pytorchKeys].sort());
    expect(layer.integerEntries({ names: 'pytorch' })).toEqual(c.int64);
    expect(layer.integerEntries({ names: 'pytorch', prefix: 'features.1.' })).toEqual(c.int64.map((k) => `features.1.${k}`));
  });

  for (const dtype of ['float32', 'float64'] as const) {
    for (const [label, naming] of NAMINGS) {
      it(`${dtype}, ${label}: safetensors and back, counters stored as I64, bytes stable`, () => {
        const layer = trained(c, dtype, 7);
        const sd = layer.stateDict(naming);
        const int64 = layer.integerEntries(naming);
        const bytes = writeSafetensors(sd, { format: 'pt' }, { int64 });
        const file = readSafetensors(bytes);
        for (const key of Object.keys(sd)) {
          expect(file.dtypes[key], key).toBe(int64.includes(key) ? 'I64' : dtype === 'float32' ? 'F32' : 'F64');
        }
        const fresh = c.make(dtype);
        fresh.loadStateDict(file.tensors, naming);
        expectIdentical(fresh.stateDict(naming), sd, 'safetensors');
        expectIdentical(fresh.stateDict(), layer.stateDict(), 'safetensors, normkit names');
        // Written again with the stored I64 names: the same file.
        const again = writeSafetensors(fresh.stateDict(naming), file.metadata, { int64: Object.keys(file.dtypes).filter((k) => file.dtypes[k] === 'I64') });
        expect(Buffer.from(again).equals(Buffer.from(bytes))).toBe(true);
      });

      it(`${dtype}, ${label}: JSON and back`, () => {
        const layer = trained(c, dtype, 11);
        const sd = layer.stateDict(naming);
        const fresh = c.make(dtype);
        fresh.loadStateDict(stateDictFromJSON(stateDictToJSON(sd)), naming);
        expectIdentical(fresh.stateDict(naming), sd, 'JSON');
        expectIdentical(fresh.stateDict(), layer.stateDict(), 'JSON, normkit names');
      });
    }
  }
});
