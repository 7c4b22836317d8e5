// formatTensor: PyTorch's layout, exact strings.
import { describe, expect, it } from 'vitest';
import { NormkitError } from './errors.js';
import { formatTensor } from './format-tensor.js';
import { fromArray, tensor, zeros } from './tensor.js';

describe('formatTensor', () => {
  it('prints integers as integers, one row per line, aligned, with the dtype', () => {
    expect(formatTensor(tensor([[1, 2], [3, 40]]))).toBe('tensor([[ 1,  2],\n        [ 3, 40]], dtype=float32)');
    expect(formatTensor(tensor(5, 'float64'))).toBe('tensor(5, dtype=float64)');
    expect(formatTensor(tensor([]))).toBe('tensor([], dtype=float32)');
  });

  it('prints fractions fixed-point with 4 decimals (or `precision`), signs aligned', () => {
    expect(formatTensor(tensor([[1.5, -2.25], [3, 4]], 'float64'))).toBe('tensor([[ 1.5000, -2.2500],\n        [ 3.0000,  4.0000]], dtype=float64)');
    expect(formatTensor(tensor([0.5, 0.25], 'float64'), { precision: 1 })).toBe('tensor([0.5, 0.3], dtype=float64)');
  });

  it('switches to exponent notation for a wide range, and prints NaN and ±Infinity', () => {
    expect(formatTensor(tensor([1e-5, 1e5], 'float64'))).toBe('tensor([1.0000e-5, 1.0000e+5], dtype=float64)');
    expect(formatTensor(tensor([NaN, 1, -Infinity]))).toBe('tensor([      NaN,         1, -Infinity], dtype=float32)');
  });

  it('separates blocks of rank ≥ 3 with a blank line', () => {
    expect(formatTensor(tensor([[[1, 2], [3, 4]], [[5, 6], [7, 8]]]))).toBe(
      'tensor([[[1, 2],\n         [3, 4]],\n\n        [[5, 6],\n         [7, 8]]], dtype=float32)',
    );
  });

  it('reads any view (transposed here)', () => {
    expect(formatTensor(tensor([[1, 2], [3, 4]]).transpose(1, 0))).toBe('tensor([[1, 3],\n        [2, 4]], dtype=float32)');
  });

  it('summarizes tensors with more than `threshold` elements with ...', () => {
    expect(formatTensor(fromArray(Array.from({ length: 2000 }, (_, i) => i)))).toBe('tensor([   0,    1,    2, ..., 1997, 1998, 1999], dtype=float32)');
    expect(formatTensor(zeros([4, 4]), { threshold: 10, edgeItems: 1 })).toBe('tensor([[0, ..., 0],\n        ...,\n        [0, ..., 0]], dtype=float32)');
  });

  it('refuses bad options with E_OPTION', () => {
    for (const options of [{ precision: -1 }, { precision: 21 }, { threshold: 1.5 }, { edgeItems: -2 }]) {
      expect(() => formatTensor(zeros([2]), options)).toThrow(NormkitError);
    }
  });
});
