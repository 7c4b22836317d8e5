// Max errors of every float32 golden case, TypeScript kernels vs wasm kernels (after `npm run build`).
import { loadCases, pluginFor, runCase } from '@normkit/conformance';
import { batchNorm } from '@normkit/batch-norm';
import { layerNorm } from '@normkit/layer-norm';
import { disableWasm, enableWasm } from '@normkit/wasm';

const plugins = [batchNorm, layerNorm];
const cases = loadCases().filter((c) => pluginFor(c, plugins) !== undefined && !c.expectError);
const run = () => cases.map((c) => runCase(c, pluginFor(c, plugins), { dtype: 'float32' }));
const ts = run();
await enableWasm({ memoryBytes: 16 << 20 });
const wasm = run();
await disableWasm();
const e = (v) => v.toExponential(1);
console.log('| case | TS f32 max abs / rel | wasm f32 max abs / rel | wasm status |');
console.log('|---|---|---|---|');
cases.forEach((c, i) => console.log(`| ${c.id}${c.numericallyHard ? ' (hard)' : ''} | ${e(ts[i].maxAbsErr)} / ${e(ts[i].maxRelErr)} | ${e(wasm[i].maxAbsErr)} / ${e(wasm[i].maxRelErr)} | ${wasm[i].status} |`));
