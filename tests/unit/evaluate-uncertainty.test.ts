/**
 * `halo evaluate`'s measure of the variance map as a guide (main/evaluate/uncertainty-metrics.ts), on a volume
 * whose answer is known by hand: tint far from and near the tumour, wrong pixels tinted, AUROC, raw and near the mask.
 */
import { describe, expect, it } from 'vitest';
import type { SliceResult } from '../../main/engine/ensemble';
import { NEAR_MASK_MM } from '../../main/engine/variance-near-mask';
import { scoreUncertainty } from '../../main/evaluate/uncertainty-metrics';

const [nx, ny, nz] = [40, 10, 3];
const plane = nx * ny;
const column = (i: number, f: (p: number) => void) => {
  for (let j = 0; j < ny; j++) f(j * nx + i);
};

describe('the variance map as a guide', () => {
  it('counts the tint far from the tumour, the wrong pixels it covers and its AUROC, raw and near the mask', () => {
    // Tumour: columns 0-3 of the middle slice. The ensemble marks it and column 5 too (10 wrong pixels, 2 mm away).
    const truth = new Uint8Array(plane * nz);
    for (let i = 0; i < 4; i++) column(i, (p) => (truth[plane + p] = 1));
    const results: SliceResult[] = [0, 1, 2].map((k) => {
      const mask = Uint8Array.from(truth.subarray(k * plane, (k + 1) * plane));
      const variance = new Float32Array(plane);
      if (k === 1) {
        column(5, (p) => {
          mask[p] = 1;
          variance[p] = 0.1; // the wrong pixels: uncertain, near the mask
        });
        column(30, (p) => (variance[p] = 0.2)); // right, uncertain, 26 mm from tumour, 25 mm from the mask
      }
      return { k, members: [], mean: new Float32Array(plane), variance, mask, seconds: 0, fromCache: false };
    });
    const u = scoreUncertainty(results, {
      truth,
      dims: [nx, ny, nz],
      spacing: [1, 1, 1],
      brain: () => new Uint8Array(plane).fill(1),
      scored: new Set([1]),
      threshold: 0.05,
    });
    expect(u.nearMaskMm).toBe(NEAR_MASK_MM);
    expect(u.tintedFarCm3).toEqual({ raw: 0.01, nearMask: 0 }); // 10 voxels of 1 mm³
    expect(u.tintedNearCm3).toEqual({ raw: 0.01, nearMask: 0.01 });
    expect(u.wrongTinted).toEqual({ raw: 1, nearMask: 1 });
    // 390 right pixels: 10 score above the wrong ones in the raw map, none near the mask.
    expect(u.auroc.raw).toBeCloseTo(380 / 390, 12);
    expect(u.auroc.nearMask).toBe(1);
  });

  it('has no AUROC or wrong-pixel share where the ensemble is right everywhere', () => {
    const truth = new Uint8Array(plane * nz);
    const r: SliceResult = { k: 0, members: [], mean: new Float32Array(plane), variance: new Float32Array(plane), mask: new Uint8Array(plane), seconds: 0, fromCache: false };
    const u = scoreUncertainty([r], { truth, dims: [nx, ny, nz], spacing: [1, 1, 1], brain: () => new Uint8Array(plane).fill(1), scored: new Set([0]), threshold: 0.05 });
    expect(u.auroc).toEqual({ raw: null, nearMask: null });
    expect(u.wrongTinted).toEqual({ raw: null, nearMask: null });
    expect(u.tintedFarCm3).toEqual({ raw: 0, nearMask: 0 });
  });
});
