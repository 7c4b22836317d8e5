import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { VERSION } from './version.js';
import * as api from './index.js';

describe('version', () => {
  it("every plugin reports the package's version (scripts/sync-versions.mjs keeps them equal)", () => {
    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(VERSION).toBe(version);
    const plugins = Object.values(api as Record<string, unknown>).filter((v): v is { meta: { version: string } } => typeof v === 'object' && v !== null && 'meta' in v);
    expect(plugins.length).toBeGreaterThan(0);
    for (const plugin of plugins) expect(plugin.meta.version).toBe(version);
  });
});
