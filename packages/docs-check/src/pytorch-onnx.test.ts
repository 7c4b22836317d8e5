// The guide "Moving to PyTorch or ONNX Runtime": its two example programs compile as a
// user's package would, run, and print what the guide says; the Python side is text.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GoldenArray } from '@normkit/conformance';
import { loadCase, vectorsDir } from '@normkit/conformance';
import { fromArray } from '@normkit/core';
import { readSafetensors, writeSafetensors } from '@normkit/io';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docsDir, guidesDir } from './paths.js';

const packageDir = new URL('..', import.meta.url).pathname;
const exampleDir = join(docsDir, 'examples', 'pytorch-onnx');
const guide = () => readFileSync(join(guidesDir, 'moving-to-pytorch-and-onnx.md'), 'utf8');

function compile(outDir: string): string {
  const configFile = join(exampleDir, 'tsconfig.json');
  const read = ts.readConfigFile(configFile, (p) => ts.sys.readFile(p));
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, exampleDir, { outDir }, configFile);
  const program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options });
  const emitted = program.emit();
  const diagnostics = [...parsed.errors, ...ts.getPreEmitDiagnostics(program), ...emitted.diagnostics];
  return ts.formatDiagnostics(diagnostics, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => packageDir, getNewLine: () => '\n' });
}

/**
 * What `safetensors.torch.save_file(model.state_dict(), ...)` writes for a model whose
 * `features.1` is `nn.BatchNorm2d(3)` with the state of a PyTorch test vector: the same bytes
 * PyTorch's writer lays out (`@normkit/io`'s tests build such a file byte by byte and check that
 * the writer reproduces it).
 */
function pytorchModelFile(): Uint8Array {
  const c = loadCase(`${vectorsDir}batchnorm-eval-4d-001.json`);
  const t = (name: string) => {
    const g = c.inputs[name] as GoldenArray;
    return fromArray(g.data as number[], g.shape, 'float32');
  };
  const tensors = {
    'features.0.weight': fromArray([0.5, -0.25, 1], [3, 1, 1, 1], 'float32'),
    'features.1.weight': t('weight'),
    'features.1.bias': t('bias'),
    'features.1.running_mean': t('runningMean'),
    'features.1.running_var': t('runningVar'),
    'features.1.num_batches_tracked': fromArray([1200], [], 'float64'),
    'classifier.weight': fromArray([1, 2, 3, 4, 5, 6], [2, 3], 'float32'),
  };
  return writeSafetensors(tensors, { format: 'pt' }, { int64: ['features.1.num_batches_tracked'] });
}

let outDir = '';
let errors = '';
beforeAll(() => {
  outDir = mkdtempSync(join(packageDir, '.readme-example-pytorch-onnx-'));
  errors = compile(outDir);
});
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

function node(args: readonly string[]): string {
  return execFileSync(process.execPath, args, { cwd: packageDir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trimEnd();
}

describe('the guide "Moving to PyTorch or ONNX Runtime"', () => {
  it('its examples compile with tsc, strict', () => {
    expect(errors).toBe('');
  });

  it('from-pytorch loads the batch norm out of the model file, matches the closed form, and writes a file PyTorch reads', () => {
    const model = join(outDir, 'model.safetensors');
    const back = join(outDir, 'bn.safetensors');
    writeFileSync(model, pytorchModelFile());
    const out = node([join(outDir, 'from-pytorch.js'), model, back]);
    expect(guide()).toContain(`\`\`\`text\n${out.replace(model, 'model.safetensors').replace(back, 'bn.safetensors')}\n\`\`\``);
    // eval: y = (x − running_mean) / sqrt(running_var + 1e-5) · weight + bias, per channel (float32 to 1e-4).
    const c = loadCase(`${vectorsDir}batchnorm-eval-4d-001.json`);
    const v = (name: string) => (c.inputs[name] as GoldenArray).data as number[];
    const x = [0.5, -1, 2, 1.5, 0, -0.5];
    const expected = x.map((xi, i) => {
      const ch = i % 3;
      return ((xi - v('runningMean')[ch]) / Math.sqrt(v('runningVar')[ch] + 1e-5)) * v('weight')[ch] + v('bias')[ch];
    });
    const printed = (/^eval y (.*)$/m.exec(out)?.[1] ?? '').split(' ').map(Number);
    expect(printed).toHaveLength(6);
    printed.forEach((p, i) => expect(Math.abs(p - expected[i])).toBeLessThanOrEqual(1e-4));
    const file = readSafetensors(readFileSync(back));
    expect(file.dtypes).toEqual({
      'features.1.num_batches_tracked': 'I64',
      'features.1.bias': 'F32',
      'features.1.running_mean': 'F32',
      'features.1.running_var': 'F32',
      'features.1.weight': 'F32',
    });
    expect(file.tensors['features.1.num_batches_tracked'].get()).toBe(1200);
    expect(file.metadata).toEqual({ format: 'pt' });
  });

  it('to-onnx runs the exported model in ONNX Runtime and agrees with normkit', () => {
    const out = node([join(outDir, 'to-onnx.js'), join(outDir, 'model.onnx')]);
    expect(out).toContain('max |difference| < 1e-5');
    expect(guide()).toContain(`\`\`\`text\n${out}\n\`\`\``);
  });
});
