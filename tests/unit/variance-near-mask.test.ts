/**
 * The variance shown near the mask (main/engine/variance-near-mask.ts): the 3D distance gate on synthetic masks
 * (exact radii through slices) and on a real run of the shipped model (the same gate as scipy's exact Euclidean
 * distance transform), the uncertain area, and the ranking that skips slivers of brain.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSegmentation } from '../../main/engine/segment-study';
import { NearMaskStack, rankUncertainSlices, uncertainArea, varianceNearMask, type SliceGrid } from '../../main/engine/variance-near-mask';
import { CASE_27 } from '../support/paths';

const grid: SliceGrid = { nx: 40, ny: 30, spacing: [1, 1, 2] };
const plane = grid.nx * grid.ny;
const at = (i: number, j: number) => j * grid.nx + i;
const count = (m: Uint8Array) => m.reduce((s, v) => s + v, 0);

describe('the near-mask gate', () => {
  it('is a ball of the radius in mm around the mask, through slices of another spacing', () => {
    const stack = new NearMaskStack(grid, 5);
    const mask = new Uint8Array(plane);
    mask[at(20, 15)] = 1;
    expect(stack.setMask(10, mask)).toEqual([8, 9, 10, 11, 12]); // 5 mm reach = 2 slices of 2 mm each way
    // Pixel (i, j) of slice k is near when (i-20)² + (j-15)² + (2(k-10))² ≤ 25.
    for (const k of [7, 8, 9, 10, 11, 12, 13]) {
      const near = stack.near(k);
      for (let j = 0; j < grid.ny; j++) {
        for (let i = 0; i < grid.nx; i++) expect(near[at(i, j)], `k ${k} i ${i} j ${j}`).toBe((i - 20) ** 2 + (j - 15) ** 2 + (2 * (k - 10)) ** 2 <= 25 ? 1 : 0);
      }
    }
    expect(count(stack.near(10))).toBe(81); // lattice points of a disc of radius 5
    expect(count(stack.near(12))).toBe(29); // radius 3 at 4 mm above
  });

  it('takes the nearest of several slices, and a slice without a result counts as no mask', () => {
    const stack = new NearMaskStack(grid, 4);
    const a = new Uint8Array(plane);
    a[at(5, 5)] = 1;
    const b = new Uint8Array(plane);
    b[at(30, 20)] = 1;
    stack.setMask(0, a);
    stack.setMask(2, b);
    const near1 = stack.near(1); // 2 mm from both
    expect(near1[at(5, 5)]).toBe(1);
    expect(near1[at(30, 20)]).toBe(1);
    expect(near1[at(5 + 3, 5)]).toBe(1); // 9 + 4 ≤ 16
    expect(near1[at(5 + 4, 5)]).toBe(0); // 16 + 4 > 16
    expect(count(stack.near(5))).toBe(0);
  });

  it('an empty mask changes only its own slice; clearing a mask changes its neighbours back', () => {
    const stack = new NearMaskStack(grid, 5);
    expect(stack.setMask(3, new Uint8Array(plane))).toEqual([3]);
    const m = new Uint8Array(plane);
    m[at(1, 1)] = 1;
    stack.setMask(4, m);
    expect(count(stack.near(5))).toBeGreaterThan(0);
    expect(stack.setMask(4, new Uint8Array(plane))).toEqual([2, 3, 4, 5, 6]);
    expect(count(stack.near(5))).toBe(0);
  });

  it('keeps the variance near the mask only, and measures the uncertain area at a threshold', () => {
    const near = new Uint8Array([1, 1, 1, 0, 0]);
    const v = new Float32Array([0.2, 0.04, 0.06, 0.25, 0]);
    const shown = varianceNearMask(v, near);
    expect([...shown]).toEqual([v[0], v[1], v[2], 0, 0]);
    expect(uncertainArea(shown, 0.05, 0.5)).toEqual({ areaMm2: 1, meanVariance: (v[0] + v[2]) / 2 });
    expect(uncertainArea(new Float32Array(4), 0.05, 1)).toEqual({ areaMm2: 0, meanVariance: 0 });
  });
});

describe('ranking slices for "Most uncertain"', () => {
  it('puts the largest uncertain area first and leaves out slivers of brain and slices without any', () => {
    const ranked = rankUncertainSlices([
      { k: 2, brainMm2: 900, uncertainMm2: 800 }, // skull-base sliver: 6 % of the largest brain slice
      { k: 40, brainMm2: 15000, uncertainMm2: 300 },
      { k: 41, brainMm2: 15200, uncertainMm2: 500 },
      { k: 42, brainMm2: 15100, uncertainMm2: 0 },
      { k: 90, brainMm2: 4000, uncertainMm2: 300 }, // 26 %: ranked
    ]);
    expect(ranked.map((s) => s.k)).toEqual([41, 40, 90]);
    expect(rankUncertainSlices([])).toEqual([]);
  });
});

describe('on a real run of the shipped model', () => {
  it('gates exactly as scipy\'s Euclidean distance transform, and hides only variance far from the mask', async () => {
    const s = await openSegmentation({ kind: 'case', folder: CASE_27 }, { modelId: 'wt-4seq', device: 'cpu', sampler: { kind: 'ddpm', steps: 3 }, ensemble: 3, seed: 0, cacheDir: null });
    const dir = mkdtempSync(join(tmpdir(), 'halo-near-'));
    try {
      const ks = Array.from({ length: 9 }, (_, n) => 66 + n);
      const results = (await s.engine.run({ slices: ks })).sort((a, b) => a.k - b.k);
      expect(results.map((r) => r.k)).toEqual(ks);
      const g = s.study.reference.geometry;
      const real: SliceGrid = { nx: g.dims[0], ny: g.dims[1], spacing: g.spacing };
      const stack = new NearMaskStack(real, 5);
      for (const r of results) stack.setMask(r.k, r.mask);
      const p = real.nx * real.ny;
      const masks = new Uint8Array(ks.length * p);
      results.forEach((r, n) => masks.set(r.mask, n * p));
      expect(count(masks)).toBeGreaterThan(500); // the tumour is on these slices
      writeFileSync(join(dir, 'masks.u8'), masks);
      const py = spawnSync('/usr/bin/python3', ['-c', `
import numpy as np, sys
from scipy import ndimage
m = np.fromfile(sys.argv[1], np.uint8).reshape(${ks.length}, ${real.ny}, ${real.nx}).astype(bool)
d = ndimage.distance_transform_edt(~m, sampling=(${g.spacing[2]}, ${g.spacing[1]}, ${g.spacing[0]}))
(d <= 5).astype(np.uint8).tofile(sys.argv[2])`, join(dir, 'masks.u8'), join(dir, 'near.u8')], { encoding: 'utf8' });
      expect(py.stderr).toBe('');
      const expected = new Uint8Array(readFileSync(join(dir, 'near.u8')));
      let tintedRaw = 0;
      let tintedShown = 0;
      results.forEach((r, n) => {
        const near = stack.near(r.k);
        expect(near).toEqual(expected.subarray(n * p, (n + 1) * p));
        const shown = varianceNearMask(r.variance, near);
        for (let q = 0; q < p; q++) {
          if (r.variance[q] >= 0.05) tintedRaw++;
          if (shown[q] >= 0.05) tintedShown++;
          if (shown[q] !== 0) expect(shown[q]).toBe(r.variance[q]); // shown as computed, or not at all
        }
      });
      expect(tintedShown).toBeGreaterThan(0);
      expect(tintedShown).toBeLessThanOrEqual(tintedRaw);
    } finally {
      await s.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
