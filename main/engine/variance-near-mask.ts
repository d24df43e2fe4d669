/**
 * The uncertainty a reader can act on: the ensemble variance within NEAR_MASK_MM (in 3D) of the ensemble's mask,
 * i.e. where the mask's edge is in doubt and where the members disagree about tissue next to it. Far from the
 * mask the members' occasional disagreements (falx, sulci, the opposite hemisphere) are not drawn and not ranked;
 * the saved Parametric Map keeps every pixel's variance (the measurement). Used by the viewer (overlay, slice
 * strip, "Most uncertain") and by `halo evaluate`, which measures what it hides and what it keeps.
 */
import { squaredDistanceToSites } from '../volume/distance';

/**
 * Variance farther than this from the mask (3D, mm) is not shown. Measured with wt-4seq 0.5.0 on the 8 validation patients (README,
 * "The variance map as a guide"): 5 mm hides 38-89 % of the tint more than 10 mm from the tumour and keeps the share
 * of wrong pixels tinted within 0.3 points of the raw map, except 3 points on TCIA10_637, where the ensemble misses
 * much of the tumour (2 mm hides more, but loses 12 points there and 5 on TCIA02_370). Dropping small mask
 * components from the gate was tried and not kept: it hid the variance on false-positive specks, which are wrong.
 */
export const NEAR_MASK_MM = 5;
/** The viewer's default variance threshold: below it the members agree closely enough that nothing is drawn. */
export const VARIANCE_THRESHOLD = 0.05;
/** Slices whose brain is under this share of the largest brain slice are not ranked (skull-base and vertex slivers). */
export const MIN_BRAIN_SHARE = 0.25;

export interface SliceGrid {
  /** Columns and rows of a slice. */
  nx: number;
  ny: number;
  /** [x, y, z] in mm (z: between slices). */
  spacing: readonly [number, number, number];
}

/** Squared in-plane distance (mm²) from each pixel of a slice to its mask; 1e20 everywhere when the mask is empty. */
export function maskDistance2(mask: Uint8Array, grid: SliceGrid): Float32Array {
  return squaredDistanceToSites(mask, { dims: [grid.nx, grid.ny, 1], spacing: [grid.spacing[0], grid.spacing[1], grid.spacing[2]] });
}

/**
 * Which pixels of slice k lie within `radiusMm` of the mask in 3D: the smallest, over the slices j within the radius,
 * of the in-plane squared distance on j plus ((j − k) · z spacing)² (exact, since the 3D Euclidean distance
 * separates that way). `distance2(j)` is slice j's maskDistance2, undefined when j has no result (no mask there).
 */
export function nearMask(k: number, distance2: (j: number) => Float32Array | undefined, grid: SliceGrid, radiusMm = NEAR_MASK_MM): Uint8Array {
  const plane = grid.nx * grid.ny;
  const r2 = radiusMm * radiusMm;
  const dz = grid.spacing[2];
  const reach = Math.floor(radiusMm / dz);
  const best = new Float32Array(plane).fill(Infinity);
  for (let j = k - reach; j <= k + reach; j++) {
    const d2 = distance2(j);
    if (!d2) continue;
    const z2 = ((j - k) * dz) ** 2;
    for (let p = 0; p < plane; p++) {
      const v = d2[p] + z2;
      if (v < best[p]) best[p] = v;
    }
  }
  const near = new Uint8Array(plane);
  for (let p = 0; p < plane; p++) near[p] = best[p] <= r2 ? 1 : 0;
  return near;
}

/** The variance where `near` is set, 0 elsewhere. */
export function varianceNearMask(variance: Float32Array, near: Uint8Array): Float32Array {
  const out = new Float32Array(variance.length);
  for (let p = 0; p < variance.length; p++) if (near[p]) out[p] = variance[p];
  return out;
}

/** A slice's uncertain area: pixels whose (near-mask) variance reaches the threshold, in mm², and their mean variance. */
export function uncertainArea(variance: Float32Array, threshold: number, pixelMm2: number): { areaMm2: number; meanVariance: number } {
  let n = 0;
  let sum = 0;
  for (let p = 0; p < variance.length; p++) {
    if (variance[p] >= threshold) {
      n++;
      sum += variance[p];
    }
  }
  return { areaMm2: n * pixelMm2, meanVariance: n ? sum / n : 0 };
}

/**
 * The slices to look at first: most uncertain area near the mask first, leaving out slices without any and
 * slices with little brain (under MIN_BRAIN_SHARE of the largest brain slice: skull-base and vertex slivers).
 */
export function rankUncertainSlices<T extends { k: number; brainMm2: number; uncertainMm2: number }>(stats: T[]): T[] {
  const largest = Math.max(0, ...stats.map((s) => s.brainMm2));
  return stats
    .filter((s) => s.uncertainMm2 > 0 && s.brainMm2 >= MIN_BRAIN_SHARE * largest)
    .sort((a, b) => b.uncertainMm2 - a.uncertainMm2 || a.k - b.k);
}

/**
 * The near-mask variance of a stack of slices as results arrive: keeps each slice's distance map, so that a new
 * slice costs one distance transform plus the gate of the slices within reach.
 */
export class NearMaskStack {
  private readonly distances = new Map<number, Float32Array>();
  /** The slices whose mask is not empty. */
  private readonly withMask = new Set<number>();

  constructor(
    readonly grid: SliceGrid,
    readonly radiusMm = NEAR_MASK_MM,
  ) {}

  /** Set (or replace) slice k's mask; returns the slices whose gate may have changed (k and those within reach). */
  setMask(k: number, mask: Uint8Array): number[] {
    const had = this.withMask.has(k);
    const has = mask.some((v) => v);
    this.distances.set(k, maskDistance2(mask, this.grid));
    if (has) this.withMask.add(k);
    else this.withMask.delete(k);
    // An empty mask where there was none changes no other slice's gate.
    if (!has && !had) return [k];
    const reach = Math.floor(this.radiusMm / this.grid.spacing[2]);
    return Array.from({ length: 2 * reach + 1 }, (_, n) => k - reach + n);
  }

  near(k: number): Uint8Array {
    return nearMask(k, (j) => this.distances.get(j), this.grid, this.radiusMm);
  }

  varianceAt(k: number, variance: Float32Array): Float32Array {
    return varianceNearMask(variance, this.near(k));
  }

  clear(): void {
    this.distances.clear();
    this.withMask.clear();
  }
}
