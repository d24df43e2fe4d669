/** The renderer's sanity checks on a result: tumour volume and implausible masks. */
import { describe, expect, it } from 'vitest';
import { implausibleSlices, tumourVolumeCm3 } from '../../renderer/src/plausibility';

const s = (k: number, areaMm2: number, brainMm2 = 10_000) => ({ k, areaMm2, brainMm2 });

describe('plausibility', () => {
  it('sums mask areas times the slice spacing, in cm³', () => {
    expect(tumourVolumeCm3([s(0, 500), s(1, 700), s(2, 0)], 2.5)).toBeCloseTo(3, 10);
    expect(tumourVolumeCm3([], 1)).toBe(0);
  });

  it('flags a mask above a quarter of the brain, and a lone mask among empty neighbours', () => {
    const w = implausibleSlices([s(10, 3000), s(11, 2000), s(20, 50), s(18, 0), s(19, 0), s(21, 0)]);
    expect(w[10]).toMatch(/30 % of the brain/);
    expect(w[11]).toBeUndefined();
    expect(w[20]).toMatch(/no other slice within 3/);
    // A mask whose neighbours were not segmented is not judged.
    expect(implausibleSlices([s(5, 100)])).toEqual({});
  });
});
