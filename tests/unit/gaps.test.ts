/**
 * Missing slices on the reference grid (main/volume/gaps.ts, study/align.ts slicesReading): runs, the sentence,
 * the refusal of a range across a gap, and which slices of another grid a gap reaches through resampling.
 */
import { describe, expect, it } from 'vitest';
import { InputError } from '../../main/errors';
import { slicesReading } from '../../main/study/align';
import { appRange, bridgeGaps, cliRange, describeGap, gapsOf, refuseRangeAcrossGap } from '../../main/volume/gaps';
import type { Geometry } from '../../main/volume/volume';

const axial = (nz: number, dz = 1, z0 = 0): Geometry => ({
  dims: [4, 4, nz],
  spacing: [1, 1, dz],
  origin: [0, 0, z0],
  direction: [[1, 0, 0], [0, 1, 0], [0, 0, 1]],
  frameOfReferenceUID: '1.2.3',
});

describe('missing slices', () => {
  it('groups missing slices into runs', () => {
    expect(gapsOf([29, 19, 20, 21, 22, 23, 24])).toEqual([{ first: 19, last: 24 }, { first: 29, last: 29 }]);
    expect(gapsOf([])).toEqual([]);
  });

  it('names a gap by the positions of the images on either side', () => {
    expect(describeGap(axial(48, 1, 46), { first: 19, last: 24 })).toBe(
      'slices between z=64.0 and z=71.0 mm are missing (about 6 images; slices 20-25 of 48 are empty)',
    );
    const oblique: Geometry = { ...axial(10), direction: [[1, 0, 0], [0, 0.8, 0.6], [0, -0.6, 0.8]] };
    expect(describeGap(oblique, { first: 4, last: 4 })).toBe('slices between 3.0 along the slice normal and 5.0 along the slice normal mm are missing (about 1 image; slice 5 of 10 is empty)');
  });

  it('refuses a range that includes a missing slice, in the words of the CLI and of the app', () => {
    const gaps = [{ first: 19, last: 24, text: 'the FLAIR series "F": …' }];
    expect(() => refuseRangeAcrossGap(gaps, 0, 19, 48, cliRange)).not.toThrow();
    expect(() => refuseRangeAcrossGap(gaps, 25, 48, 48, cliRange)).not.toThrow();
    expect(() => refuseRangeAcrossGap(gaps, 18, 20, 48, cliRange)).toThrow(InputError);
    expect(() => refuseRangeAcrossGap(gaps, 18, 20, 48, cliRange)).toThrow(/^--slices 18:20 include missing images: in the FLAIR series "F": …\. .*\(--slices 0:19 or --slices 25:48\)/);
    expect(() => refuseRangeAcrossGap(gaps, 24, 25, 48, appRange)).toThrow(/^Slice 25 includes missing images: .*\(slices 1-19 or slices 26-48\)/);
  });

  it('bridges a gap with the nearest imaged slice, for the brain search only', () => {
    const dims: [number, number, number] = [1, 1, 6];
    const data = Float32Array.from([1, 2, 0, 0, 0, 6]);
    expect([...bridgeGaps(data, dims, [{ first: 2, last: 4 }])]).toEqual([1, 2, 2, 2, 6, 6]); // a tie takes the lower
    expect([...data]).toEqual([1, 2, 0, 0, 0, 6]); // a copy
  });

  it('finds the slices of another grid that resampling reads from a gap', () => {
    // Same lattice: the same slices.
    expect(slicesReading(axial(10), { first: 4, last: 5 }, axial(10))).toEqual([4, 5]);
    // Shifted half a slice: each reference slice interpolates two moving slices, so the gap reaches one more.
    expect(slicesReading(axial(10), { first: 4, last: 5 }, axial(10, 1, 0.5))).toEqual([3, 4, 5]);
    // Twice as thick reference slices: each averages samples at ±0.5 mm, so reads the moving slices z-1..z+1.
    expect(slicesReading(axial(10), { first: 4, last: 4 }, axial(5, 2))).toEqual([2]);
    // A moving slice between two reference slices (z=5 between z=4 and z=6) lies within both thick slices.
    expect(slicesReading(axial(10), { first: 5, last: 5 }, axial(5, 2))).toEqual([2, 3]);
    expect(slicesReading(axial(10), { first: 7, last: 9 }, axial(5, 2))).toEqual([3, 4]);
  });
});
