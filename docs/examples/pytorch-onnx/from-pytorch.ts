// Load one batch norm out of a PyTorch model's safetensors file, run it, save it back.
// Usage: node from-pytorch.js model.safetensors out.safetensors
import { readFileSync, writeFileSync } from 'node:fs';
import { BatchNorm } from '@normkit/batch-norm';
import { fromArray } from '@normkit/core';
import { readSafetensors, writeSafetensors } from '@normkit/io';

const [input, output] = process.argv.slice(2);
const { tensors, metadata, dtypes } = readSafetensors(readFileSync(input));
console.log('file:', Object.keys(tensors).length, 'tensors, metadata', JSON.stringify(metadata));
console.log('counter stored as', dtypes['features.1.num_batches_tracked']);

// model.features[1] is nn.BatchNorm2d(3): its keys start with "features.1.".
const names = { names: 'pytorch', prefix: 'features.1.' } as const;
const bn = new BatchNorm({ numFeatures: 3 });
bn.loadStateDict(tensors, names); // checks every name, shape and dtype; all or nothing
bn.eval();
console.log('running mean', Array.from(bn.runningMean?.data ?? [], (v) => v.toFixed(4)).join(' '));

const x = fromArray([0.5, -1, 2, 1.5, 0, -0.5], [2, 3], 'float32');
console.log('eval y', Array.from(bn.forward(x).data, (v) => v.toFixed(4)).join(' '));

// Back to a file PyTorch reads: PyTorch's names, num_batches_tracked as int64.
writeFileSync(output, writeSafetensors(bn.stateDict(names), metadata, { int64: bn.integerEntries(names) }));
console.log('wrote', output);
