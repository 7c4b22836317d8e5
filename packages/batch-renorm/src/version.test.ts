import { pluginVersions } from '@normkit/testkit';
import { describe, expect, it } from 'vitest';
import * as api from './index.js';
import { VERSION } from './version.js';

describe('version', () => {
  it("every plugin reports the package's version (scripts/sync-versions.mjs keeps them equal)", () => {
    const { version, reported } = pluginVersions(api as Record<string, unknown>, new URL('../package.json', import.meta.url));
    expect(VERSION).toBe(version);
    expect(reported.length).toBeGreaterThan(0);
    expect(reported.every((v) => v === version)).toBe(true);
  });
});
