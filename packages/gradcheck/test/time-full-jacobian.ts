// Times a full-Jacobian check of the batch-norm fixture on a (4, 3, 5, 5) input in both
// modes (a measurement, not a test). Run from the package folder:
//   npx tsc --outDir .time --rootDir . --module nodenext --moduleResolution nodenext --target es2022 --skipLibCheck test/time-full-jacobian.ts
//   node .time/test/time-full-jacobian.js && rm -rf .time
import { checkGradients } from '../src/check.js';
import { batchNorm } from './fixtures/batch-norm.js';

for (const richardson of [false, true]) {
  for (let run = 0; run < 3; run++) {
    const start = performance.now();
    const report = checkGradients(batchNorm, { shapes: [[4, 3, 5, 5]], richardson, seed: run });
    const ms = performance.now() - start;
    const compared = report.checks.reduce((s, c) => s + c.compared, 0);
    console.log(
      `batch norm (4,3,5,5), modes ${[...new Set(report.checks.map((c) => c.mode))].join('+')}, ${report.checks[0].method}` +
        `${richardson ? ', Richardson' : ''}, run ${run}: ${ms.toFixed(0)} ms, ${compared} values compared, ok=${report.ok}`,
    );
  }
}
