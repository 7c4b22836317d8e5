import { fileURLToPath } from 'node:url';
import { runReadmeExample } from '@normkit/testkit';
import { describe, expect, it } from 'vitest';

describe('README', () => {
  it('the usage example runs as written and prints what the README says', () => {
    const output = runReadmeExample(fileURLToPath(new URL('..', import.meta.url)));
    const lines = output.trimEnd().split('\n');
    expect(lines[0]).toBe('model: 735 bytes');
    // Layer norm's output per row: z·γ with Σz = 0 and Σz² = 3 (up to ε), γ = (1, 2, 3).
    expect(lines[1]).toBe('ONNX Runtime: -1.3575 2.0444 1.0058 -0.6198 -1.5819 4.2323');
    expect(lines[2]).toBe('normkit:      -1.3575 2.0444 1.0058 -0.6198 -1.5819 4.2323');
    for (const row of [[-1.3575, 2.0444 / 2, 1.0058 / 3], [-0.6198, -1.5819 / 2, 4.2323 / 3]]) {
      expect(Math.abs(row[0] + row[1] + row[2])).toBeLessThan(1e-3);
      expect(row[0] ** 2 + row[1] ** 2 + row[2] ** 2).toBeCloseTo(3, 2);
    }
  });
});
