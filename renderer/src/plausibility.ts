/**
 * Sanity checks a radiologist expects on a result, from the per-slice statistics: the tumour volume, and slices
 * whose mask is implausible (too large a share of the brain, or alone far from every other mask).
 */
export interface SliceArea {
  k: number;
  areaMm2: number;
  brainMm2: number;
}

/** A mask above this share of the slice's brain area is implausible for a brain tumour. */
export const MAX_BRAIN_SHARE = 0.25;
/** A mask with no other mask within this many slices, while segmented neighbours are empty, is implausible. */
export const ISOLATION_SLICES = 3;

/** Sum of mask areas × slice spacing, in cm³. */
export function tumourVolumeCm3(stats: SliceArea[], spacingZmm: number): number {
  return stats.reduce((sum, s) => sum + s.areaMm2, 0) * spacingZmm / 1000;
}

/** k → why the slice's mask is implausible. */
export function implausibleSlices(stats: SliceArea[]): Record<number, string> {
  const out: Record<number, string> = {};
  const masked = stats.filter((s) => s.areaMm2 > 0);
  for (const s of masked) {
    if (s.brainMm2 > 0 && s.areaMm2 > MAX_BRAIN_SHARE * s.brainMm2) {
      out[s.k] = `mask covers ${Math.round((100 * s.areaMm2) / s.brainMm2)} % of the brain on this slice: check it`;
      continue;
    }
    const near = (d: number) => Math.abs(d - s.k) <= ISOLATION_SLICES && d !== s.k;
    const emptyNeighbours = stats.filter((o) => near(o.k) && o.areaMm2 === 0).length;
    if (emptyNeighbours >= 2 && !masked.some((o) => near(o.k))) out[s.k] = `no other slice within ${ISOLATION_SLICES} has a mask: check it`;
  }
  return out;
}
