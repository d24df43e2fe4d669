/**
 * 2.5D input on a series whose slice spacing does not divide the card's neighbour distance: 5 mm on 2 mm slices
 * lies halfway between slices k ± 2 and k ± 3, and the engine interpolates between them (the parity test covers
 * 1 mm volumes against data.stack_neighbours; a clinical series is often 2-6 mm).
 */
import { describe, expect, it } from 'vitest';
import { prepareStudy } from '../../main/engine/preprocess';
import { loadModel } from '../../main/model/card';
import type { Geometry } from '../../main/volume/volume';
import { maxAbsDifference } from '../support/arrays';

describe('2.5D input between slices', () => {
  it('interpolates neighbours 5 mm away on 2 mm slices, and gives 0 beyond the volume', async () => {
    const { card: shipped } = await loadModel('wt-flair-t1');
    const card = { ...shipped, preprocessing: { ...shipped.preprocessing, cropPer: 'volume' as const, cropMultiple: 16, neighboursMm: 5 } };
    const [nx, ny, nz] = [24, 24, 10];
    const grid: Geometry = {
      dims: [nx, ny, nz],
      spacing: [card.preprocessing.pixelSpacingMm, card.preprocessing.pixelSpacingMm, 2],
      origin: [0, 0, 0],
      direction: [[1, 0, 0], [0, 1, 0], [0, 0, 1]],
    };
    // A brain block whose brightness changes from slice to slice (and differs between the two sequences).
    const volumes = [0, 1].map((seq) => {
      const v = new Float32Array(nx * ny * nz);
      for (let k = 0; k < nz; k++)
        for (let j = 6; j < 18; j++) for (let i = 5; i < 19; i++) v[i + nx * (j + ny * k)] = 10 + k * (seq + 1) + ((i + j) % 3);
      return v;
    });
    const prepared = prepareStudy(card, grid, volumes)!;
    expect(prepared.channels).toBe(6);
    const size = prepared.box.rows * prepared.box.cols;
    const own = (k: number) => prepared.conditionFor(k).subarray(0, 2 * size);
    const k = 5;
    const input = prepared.conditionFor(k);
    const below = input.subarray(2 * size, 4 * size);
    const above = input.subarray(4 * size, 6 * size);
    const mean = (a: Float32Array, b: Float32Array) => a.map((v, p) => (v + b[p]) / 2);
    expect(maxAbsDifference(below, mean(own(2), own(3)))).toBeLessThan(1e-6); // 5 - 2.5
    expect(maxAbsDifference(above, mean(own(7), own(8)))).toBeLessThan(1e-6); // 5 + 2.5
    expect(below.some((v) => v > 0.1)).toBe(true);
    // Slice 2: 2 - 2.5 = -0.5, halfway between slice 0 and one beyond the volume (0); slice 1's lies wholly beyond.
    expect(maxAbsDifference(prepared.conditionFor(2).subarray(2 * size, 4 * size), own(0).map((v) => v / 2))).toBeLessThan(1e-6);
    expect(prepared.conditionFor(1).subarray(2 * size, 4 * size).every((v) => v === 0)).toBe(true);
    // Slice 9: 9 + 2.5 lies wholly beyond the volume.
    expect(prepared.conditionFor(9).subarray(4 * size).every((v) => v === 0)).toBe(true);
  });

  it('gives a 2D card the slice alone', async () => {
    const { card } = await loadModel('wt-flair-t1');
    expect(card.preprocessing.neighboursMm).toBeUndefined();
  });
});
