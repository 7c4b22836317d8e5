// End-to-end demo of @normkit/core: stable statistics and an exact Moments merge.
// (The `normkit` command replaces this as `npm start` once it exists.)
import { channelMoments, fromArray, mergeMoments, momentsOf, varianceOf } from '@normkit/core';

const values = Array.from({ length: 12 }, (_, i) => 1e4 + 0.01 * Math.sin(i));
const x = fromArray(values, [6, 2], 'float32');
const { mean, variance } = channelMoments(x, 1);
console.log('per-channel mean    ', Array.from(mean, (v) => v.toFixed(6)).join('  '));
console.log('per-channel variance', Array.from(variance, (v) => v.toExponential(4)).join('  '));
const whole = momentsOf(values);
const merged = mergeMoments(momentsOf(values.slice(0, 5)), momentsOf(values.slice(5)));
console.log('variance of the whole', varianceOf(whole).toExponential(6), '= merged parts', varianceOf(merged).toExponential(6));
