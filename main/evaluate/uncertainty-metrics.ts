/**
 * Does the variance map guide the reader? Per case, for the raw variance and for the variance shown (within
 * NEAR_MASK_MM of the ensemble's mask, variance-near-mask.ts): how much brain it tints far from the real tumour
 * (false alarms), how many of the pixels the ensemble gets wrong it tints, and its AUROC for those pixels.
 * Pure functions over the engine's slice results; no I/O.
 */
import type { SliceResult } from '../engine/ensemble';
import { NearMaskStack, NEAR_MASK_MM } from '../engine/variance-near-mask';
import { squaredDistanceToSites } from '../volume/distance';
import { auroc } from './metrics';

/** "Far from the tumour": more than this (3D, mm) from every ground-truth tumour voxel. */
export const FAR_FROM_TUMOUR_MM = 10;

export interface RawAndShown<T> {
  /** The ensemble's variance as computed (and saved in the Parametric Map). */
  raw: T;
  /** The variance the viewer shows and ranks: within NEAR_MASK_MM of the ensemble's mask. */
  nearMask: T;
}

export interface UncertaintyScores {
  /** The display threshold the tint is counted at. */
  threshold: number;
  nearMaskMm: number;
  /** Brain tinted (variance ≥ threshold) more than FAR_FROM_TUMOUR_MM from the ground truth, cm³, over every sampled slice. */
  tintedFarCm3: RawAndShown<number>;
  /** Brain tinted within FAR_FROM_TUMOUR_MM of the ground truth, cm³ (what is left to guide the reader). */
  tintedNearCm3: RawAndShown<number>;
  /** Share of the wrong pixels (ensemble mask ≠ truth, scored slices, in the brain) that are tinted. */
  wrongTinted: RawAndShown<number | null>;
  /** AUROC of the variance for the wrong pixels of the scored slices (in the brain). */
  auroc: RawAndShown<number | null>;
}

export interface UncertaintyInputs {
  /** Ground truth of the whole volume (1 = tumour), x fastest, on the results' grid. */
  truth: Uint8Array;
  dims: readonly [number, number, number];
  spacing: readonly [number, number, number];
  brain: (k: number) => Uint8Array;
  /** The slices whose wrong pixels are scored (the others only count for the tint). */
  scored: ReadonlySet<number>;
  threshold: number;
  nearMaskMm?: number;
}

/** `results`: every sampled slice of the case (the near-mask gate of a slice needs its neighbours' masks). */
export function scoreUncertainty(results: SliceResult[], c: UncertaintyInputs): UncertaintyScores {
  const [nx, ny] = c.dims;
  const plane = nx * ny;
  const radius = c.nearMaskMm ?? NEAR_MASK_MM;
  const stack = new NearMaskStack({ nx, ny, spacing: c.spacing }, radius);
  for (const r of results) stack.setMask(r.k, r.mask);
  const far2 = FAR_FROM_TUMOUR_MM ** 2;
  const toTumour = squaredDistanceToSites(c.truth, { dims: [c.dims[0], c.dims[1], c.dims[2]], spacing: [c.spacing[0], c.spacing[1], c.spacing[2]] });
  const voxelCm3 = (c.spacing[0] * c.spacing[1] * c.spacing[2]) / 1000;
  const tintedFar = { raw: 0, nearMask: 0 };
  const tintedNear = { raw: 0, nearMask: 0 };
  const wrongTinted = { raw: 0, nearMask: 0 };
  let wrongCount = 0;
  const scores = { raw: [] as number[], nearMask: [] as number[] };
  const labels: number[] = [];
  for (const r of results) {
    const brain = c.brain(r.k);
    const shown = stack.varianceAt(r.k, r.variance);
    const base = r.k * plane;
    const scored = c.scored.has(r.k);
    for (let p = 0; p < plane; p++) {
      if (!brain[p]) continue;
      const far = toTumour[base + p] > far2;
      const raw = r.variance[p] >= c.threshold;
      const near = shown[p] >= c.threshold;
      const tinted = far ? tintedFar : tintedNear;
      if (raw) tinted.raw++;
      if (near) tinted.nearMask++;
      if (!scored) continue;
      const wrong = r.mask[p] !== c.truth[base + p] ? 1 : 0;
      labels.push(wrong);
      scores.raw.push(r.variance[p]);
      scores.nearMask.push(shown[p]);
      if (wrong) {
        wrongCount++;
        if (raw) wrongTinted.raw++;
        if (near) wrongTinted.nearMask++;
      }
    }
  }
  const cm3 = (v: { raw: number; nearMask: number }) => ({ raw: v.raw * voxelCm3, nearMask: v.nearMask * voxelCm3 });
  const share = (v: number) => (wrongCount ? v / wrongCount : null);
  const y = Uint8Array.from(labels);
  return {
    threshold: c.threshold,
    nearMaskMm: radius,
    tintedFarCm3: cm3(tintedFar),
    tintedNearCm3: cm3(tintedNear),
    wrongTinted: { raw: share(wrongTinted.raw), nearMask: share(wrongTinted.nearMask) },
    auroc: { raw: auroc(Float64Array.from(scores.raw), y), nearMask: auroc(Float64Array.from(scores.nearMask), y) },
  };
}
