import * as fs from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { nodeBuiltin } from './node-builtin.js';

describe('nodeBuiltin', () => {
  afterEach(() => vi.unstubAllGlobals());

  it("is Node's own module on Node", () => {
    expect(nodeBuiltin<typeof fs>('node:fs')?.readFileSync).toBe(fs.readFileSync);
  });

  it('is undefined where there is no process.getBuiltinModule (a browser, a Web Worker)', () => {
    vi.stubGlobal('process', { env: {} });
    expect(nodeBuiltin('node:fs')).toBeUndefined();
  });
});
