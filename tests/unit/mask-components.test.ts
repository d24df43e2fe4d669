/**
 * 3D connected components of a result (issue 22, item 4): a blob over five slices far from the main lesion is one
 * component with one warning, a component touching the main lesion across slices is not separate, and a small
 * satellite close by is flagged as small.
 */
import { describe, expect, it } from 'vitest';
import { maskComponents } from '../../renderer/src/mask-components';

const nx = 40, ny = 40;
function volume(blobs: { i: number; j: number; k: number[]; size: number }[]): Map<number, Uint8Array> {
  const masks = new Map<number, Uint8Array>();
  for (let k = 0; k < 30; k++) masks.set(k, new Uint8Array(nx * ny));
  for (const b of blobs) {
    for (const k of b.k) for (let j = b.j; j < b.j + b.size; j++) for (let i = b.i; i < b.i + b.size; i++) masks.get(k)![j * nx + i] = 1;
  }
  return masks;
}
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, n) => a + n);

describe('3D components of a mask', () => {
  it('finds the main lesion and a distant five-slice blob, and warns of the blob only', () => {
    const masks = volume([
      { i: 5, j: 5, k: range(10, 20), size: 10 }, // main lesion: 11 slices of 10 x 10
      { i: 30, j: 30, k: range(2, 6), size: 4 }, // five slices low down, far away (skull base)
    ]);
    const c = maskComponents(masks, nx, [1, 1, 1]);
    expect(c).toHaveLength(2);
    expect(c[0]).toMatchObject({ voxels: 1100, firstSlice: 10, lastSlice: 20, warning: null });
    expect(c[1]).toMatchObject({ voxels: 80, firstSlice: 2, lastSlice: 6 });
    expect(c[1].warning).toMatch(/^separate component on slices 3–7: small \(0\.08 cm³\), \d+ mm from the main lesion$/);
    expect([...c[1].pixels.keys()]).toEqual([2, 3, 4, 5, 6]);
    expect(c[1].pixels.get(4)).toHaveLength(16);
  });

  it('joins what touches across slices, and lists no speck', () => {
    const masks = volume([
      { i: 5, j: 5, k: range(10, 20), size: 10 },
      { i: 14, j: 14, k: [21, 22], size: 6 }, // overlaps the lesion's corner on the next slice: the same component
      { i: 22, j: 5, k: [12], size: 2 }, // 2 pixels beyond the lesion's box in-plane: separate, close, small
    ]);
    const c = maskComponents(masks, nx, [1, 1, 1]);
    expect(c).toHaveLength(2);
    expect(c[0].voxels).toBe(1100 + 72);
    expect(c[1].gapMm).toBe(2);
    expect(c[1].warning).toBeNull(); // 4 mm³: a speck, not listed
  });

  it('lists a small satellite next to the lesion as small only', () => {
    const masks = volume([
      { i: 5, j: 5, k: range(10, 20), size: 10 },
      { i: 22, j: 5, k: [11, 12, 13], size: 3 }, // 27 mm³, 2 mm beyond the lesion's box
    ]);
    const c = maskComponents(masks, nx, [1, 1, 1]);
    expect(c[1].warning).toBe('separate component on slices 12–14: small (0.03 cm³)');
  });
});
