// use.ts: the plugin as a layer, and in a registry.
import { Layer, createRegistry, formatTensor, tensor } from '@normkit/core';
import { rmsNorm } from './rms-norm.js';

const norm = new Layer(rmsNorm, { normalizedShape: 4 }); // weight = 1, float32
const y = norm.forward(tensor([[1, 2, 3, 4], [2, 2, 2, 2]]));
console.log(formatTensor(y));
norm.backward(tensor([[1, 0, 0, 0], [0, 0, 0, 1]])); // gradients accumulate in norm.grads.weight

const registry = createRegistry([rmsNorm]);
console.log(registry.list()); // [ 'rms-norm' ]
