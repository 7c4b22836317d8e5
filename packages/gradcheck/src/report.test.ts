import { describe, expect, it } from 'vitest';
import { checkGradients } from './check.js';
import { formatNumber, formatReport } from './report.js';
import { batchNorm, makeBatchNorm } from '../test/fixtures/batch-norm.js';
import { makeLayerNorm } from '../test/fixtures/layer-norm.js';

describe('formatReport', () => {
  it('prints PASS, a line per tensor check and no failure sections for a correct plugin', () => {
    const report = checkGradients(batchNorm);
    const text = formatReport(report);
    expect(text.split('\n')[0]).toBe('gradcheck test-batch-norm@0.0.0: PASS');
    const rows = text.split('\n').filter((l) => /^(PASS|FAIL|ERROR) /.test(l));
    expect(rows).toHaveLength(report.checks.length);
    expect(rows[0]).toMatch(/^PASS\s+#0 \{"numFeatures":3\}\s+train\s+\[4,3\]\s+x\s+full-jacobian\s+\S+e-\d+\s+\S+e-\d+$/);
    expect(text).not.toContain('Failures:');
    expect(text).not.toContain('Failed contract checks:');
  });

  it('names the failing tensor and shows its worst entries with analytic and numeric values', () => {
    const report = checkGradients(makeBatchNorm('dweight-without-xhat'), { shapes: [[4, 3]], modes: ['train'] });
    const text = formatReport(report);
    expect(text.split('\n')[0]).toContain('FAIL');
    expect(text).toMatch(/^FAIL\s+.*\s+weight\s+full-jacobian/m);
    expect(text).toMatch(/^PASS\s+.*\s+x\s+full-jacobian/m);
    const failures = text.slice(text.indexOf('Failures:'));
    expect(failures).toContain('weight  #0 train [4,3]');
    expect(failures).toMatch(/source\s+index\s+y index\s+analytic\s+numeric\s+abs err\s+rel err/);
    const worst = report.checks.find((c) => c.tensor === 'weight')!.worst[0];
    expect(failures).toContain(worst.analytic.toPrecision(10));
    expect(failures).toContain(worst.numeric.toPrecision(10));
  });

  it('lists failing contract checks with their messages', () => {
    const text = formatReport(checkGradients(makeLayerNorm('wrong-dx-shape')));
    expect(text).toContain('Failed contract checks:');
    expect(text).toMatch(/FAIL {2}shapes-dtypes {2}#0 train \[3,4\]: float64: dx has shape \[12\], expected \[3, 4\]/);
  });

  it('formats numbers compactly', () => {
    expect(formatNumber(0)).toBe('0');
    expect(formatNumber(1.23456e-7)).toBe('1.23e-7');
    expect(formatNumber(Infinity)).toBe('Inf');
    expect(formatNumber(Number.NaN)).toBe('NaN');
  });
});

describe('report JSON', () => {
  it('has a stable shape a CLI maps to one entry per check', () => {
    const report = checkGradients(batchNorm, { shapes: [[4, 3]] });
    expect(Object.keys(report)).toEqual(['plugin', 'version', 'ok', 'seed', 'settings', 'checks', 'contracts']);
    const label = ['mode', 'modeListed', 'options', 'optionsIndex', 'plugin', 'shape', 'size', 'variant'];
    expect(Object.keys(report.checks[0]).sort()).toEqual(
      [...label, 'compared', 'failures', 'id', 'maxAbsErr', 'maxRelErr', 'message', 'method', 'ok', 'status', 'tensor', 'worst'].sort(),
    );
    expect(Object.keys(report.contracts[0]).sort()).toEqual([...label, 'id', 'message', 'name', 'ok', 'status'].sort());
    const ids = [...report.checks, ...report.contracts].map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });
});
