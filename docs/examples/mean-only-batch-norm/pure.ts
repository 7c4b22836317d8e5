// pure.ts: the plugin without a Layer, as a framework that keeps the state itself uses it.
import { formatTensor, tensor } from '@normkit/core';
import { meanOnlyBatchNorm } from './mean-only-batch-norm.js';

const bound = meanOnlyBatchNorm.create({ numFeatures: 2, momentum: 0.25 });
const { params, state } = bound.init('float64');
const x = tensor([[1, 10], [3, 30]], 'float64');
const train = bound.forward({ x, params, state, mode: 'train' });
console.log(train.state.runningMean === state.runningMean); // false: new tensors
const running = train.state.runningMean;
if (running !== undefined) console.log(formatTensor(running));
const evaluated = bound.forward({ x, params, state: train.state, mode: 'eval' });
console.log(evaluated.state === train.state); // true: eval returns the state it was given
