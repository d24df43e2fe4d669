/**
 * The variance map's colours: a continuous colour map from a visible threshold to the largest possible variance,
 * drawn as fine bins (the labels of the variance overlay; label 0 = below the threshold = not drawn). Shared by
 * the overlay, its legend and the slice strip.
 */

/** Colour stops of the variance map, x = 0 at the threshold, 1 at VARIANCE_MAX: [x, r, g, b] in 0..1. */
export const VARIANCE_STOPS: [number, number, number, number][] = [
  [0, 0.2, 0.0, 0.5],
  [0.35, 0.8, 0.0, 0.6],
  [0.7, 1.0, 0.45, 0.0],
  [1, 1.0, 0.95, 0.1],
];
/** Largest possible variance of a [0,1] ensemble (all members 0 or 1, half each). */
export const VARIANCE_MAX = 0.25;
/** Number of colour bins of the variance overlay: fine enough to look continuous. */
export const VARIANCE_BINS = 48;
/** Default threshold (the user can change it), shared with `halo evaluate`, which counts the tint at it. */
export { VARIANCE_THRESHOLD } from '../../../main/engine/variance-near-mask';

/** Colour of a value x in 0..1 along VARIANCE_STOPS, as 0..255 RGB. */
export function varianceColour(x: number): [number, number, number] {
  const t = Math.min(1, Math.max(0, x));
  for (let i = 0; i < VARIANCE_STOPS.length - 1; i++) {
    const a = VARIANCE_STOPS[i];
    const b = VARIANCE_STOPS[i + 1];
    if (t <= b[0]) {
      const f = b[0] > a[0] ? (t - a[0]) / (b[0] - a[0]) : 0;
      return [1, 2, 3].map((n) => Math.round(255 * (a[n] + f * (b[n] - a[n])))) as [number, number, number];
    }
  }
  const last = VARIANCE_STOPS[VARIANCE_STOPS.length - 1];
  return [Math.round(255 * last[1]), Math.round(255 * last[2]), Math.round(255 * last[3])];
}

/** Label of the variance overlay for a variance value: 0 (below the threshold: not drawn) or 1..VARIANCE_BINS. */
export function varianceBin(v: number, threshold: number): number {
  if (!(v >= threshold)) return 0;
  return 1 + Math.min(VARIANCE_BINS - 1, Math.floor(((v - threshold) / (VARIANCE_MAX - threshold)) * VARIANCE_BINS));
}
