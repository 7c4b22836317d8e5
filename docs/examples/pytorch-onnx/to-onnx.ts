// Export normkit layers to ONNX and run the model in ONNX Runtime.
// Usage: node to-onnx.js model.onnx
import { writeFileSync } from 'node:fs';
import { BatchNorm } from '@normkit/batch-norm';
import { fromArray } from '@normkit/core';
import type { Tensor } from '@normkit/core';
import { RMSNorm } from '@normkit/rms-norm';
import { exportOnnx } from '@normkit/onnx';
import * as ort from 'onnxruntime-node';

const [output] = process.argv.slice(2);

// Train a channels-last batch norm for a few steps; RMS norm after it.
const bn = new BatchNorm({ numFeatures: 4, channelAxis: -1 });
for (let step = 0; step < 3; step++) {
  const batch = Array.from({ length: 8 * 4 }, (_, i) => Math.sin(i * 0.7 + step) * (1 + (i % 4)));
  bn.forward(fromArray(batch, [8, 4], 'float32'));
}
const rms = new RMSNorm({ normalizedShape: [4] });

const bytes = exportOnnx([bn, rms], { inputShape: [2, 4], opset: 23 });
writeFileSync(output, bytes);
const session = await ort.InferenceSession.create(bytes);
console.log('inputs', session.inputNames.join(' '), '| outputs', session.outputNames.join(' '));

const x = [0.3, -1.2, 2.5, 0.8, -0.4, 1.1, -2, 3];
const { y } = await session.run({ x: new ort.Tensor('float32', Float32Array.from(x), [2, 4]) });

bn.eval(); // the graph is the eval forward
const expected: Tensor = rms.forward(bn.forward(fromArray(x, [2, 4], 'float32')));
let worst = 0;
for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs((y.data as Float32Array)[i] - expected.data[i]));
console.log('ONNX Runtime', Array.from(y.data as Float32Array, (v) => v.toFixed(4)).join(' '));
console.log('normkit     ', Array.from(expected.data, (v) => v.toFixed(4)).join(' '));
console.log('max |difference|', worst < 1e-5 ? '< 1e-5' : worst);
