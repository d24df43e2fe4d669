/**
 * Whole-volume runs: a screening pass samples member 0 of every slice first (several slices per model call),
 * and only the slices where it shows tumour, with their neighbours, get the other members. Member 0 is the
 * ensemble's own first member (same sampler, same noise), kept for the full run: screening wastes no sampling,
 * and with the default ensemble of 5 a skipped slice costs a fifth of a full one. The slices it skips are printed,
 * listed in summary.json and are 0 in every output, like any slice that was not processed; `--no-screen` samples
 * every slice in full.
 */
export const SCREENING = {
  /** A slice is kept when its member 0 has at least this many tumour pixels (model grid)... */
  minPixels: 1,
  /** ...or a slice this close to it does (tumours are continuous across slices; catches their thin ends). */
  neighbours: 1,
  /** Runs over fewer slices than this are sampled in full. */
  minSlices: 8,
} as const;

export interface ScreeningPlan {
  /** Slices whose screening sample shows tumour. */
  positive: number[];
  /** Slices to sample in full: the positive ones and their neighbours (among the screened slices). */
  sampled: number[];
  /** Screened slices left out. */
  skipped: number[];
}

/** tumourPixels: the screening result per slice (slice index → tumour pixels of its one sample). */
export function planFromScreening(tumourPixels: Map<number, number>, rule: { minPixels: number; neighbours: number } = SCREENING): ScreeningPlan {
  const screened = [...tumourPixels.keys()].sort((a, b) => a - b);
  const positive = screened.filter((k) => tumourPixels.get(k)! >= rule.minPixels);
  const keep = new Set<number>();
  for (const k of positive) for (let d = -rule.neighbours; d <= rule.neighbours; d++) if (tumourPixels.has(k + d)) keep.add(k + d);
  return { positive, sampled: screened.filter((k) => keep.has(k)), skipped: screened.filter((k) => !keep.has(k)) };
}
