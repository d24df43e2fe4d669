/**
 * Missing slices: a series with images left out (an incomplete export or transfer) or unreadable is still put on
 * its regular grid, as OHIF and Slicer show it, with the missing slices empty. They are shown as missing, never
 * segmented, and no result claims them; a run may not span them (an interpolated slice would be a guess).
 */
import { InputError } from '../errors';
import { voxelToWorld, type Geometry, type SliceGap } from './volume';

/** Runs of consecutive slice indices. */
export function gapsOf(missing: Iterable<number>): SliceGap[] {
  const ks = [...new Set(missing)].sort((a, b) => a - b);
  const out: SliceGap[] = [];
  for (const k of ks) {
    const last = out[out.length - 1];
    if (last && k === last.last + 1) last.last = k;
    else out.push({ first: k, last: k });
  }
  return out;
}

export const missingSlices = (gaps: readonly SliceGap[]): number[] =>
  gaps.flatMap((g) => Array.from({ length: g.last - g.first + 1 }, (_, i) => g.first + i));

/**
 * Where a slice is, in words a radiologist reads off the scanner console: "z=-12.5" for an axial stack (x, y, z of
 * the patient's LPS coordinates when the slice normal is within ~25° of that axis), else the distance along the
 * slice normal.
 */
function position(g: Geometry, k: number): string {
  const normal = g.direction[2];
  const axis = normal.findIndex((c) => Math.abs(c) > 0.9);
  const p = voxelToWorld(g, 0, 0, k);
  if (axis >= 0) return `${'xyz'[axis]}=${p[axis].toFixed(1)}`;
  return `${(p[0] * normal[0] + p[1] * normal[1] + p[2] * normal[2]).toFixed(1)} along the slice normal`;
}

/** "slices between z=12.0 and z=19.0 mm are missing (about 6 images; slices 21-26 of 48 are empty)". */
export function describeGap(g: Geometry, gap: SliceGap): string {
  const n = gap.last - gap.first + 1;
  const nz = g.dims[2];
  const before = Math.max(0, gap.first - 1);
  const after = Math.min(nz - 1, gap.last + 1);
  const slices = n === 1 ? `slice ${gap.first + 1}` : `slices ${gap.first + 1}-${gap.last + 1}`;
  return (
    `slices between ${position(g, before)} and ${position(g, after)} mm are missing ` +
    `(about ${n} image${n === 1 ? '' : 's'}; ${slices} of ${nz} ${n === 1 ? 'is' : 'are'} empty)`
  );
}

export interface NamedGap extends SliceGap {
  /** The gap in a sentence, naming the series (see describeGap). */
  text: string;
}

/** How a caller's user writes a range of slices: the CLI's `--slices A:B` (0-based, half-open), the app's 1-based numbers. */
export type RangeWords = (from: number, to: number) => string;
export const appRange: RangeWords = (from, to) => (to - from === 1 ? `slice ${from + 1}` : `slices ${from + 1}-${to}`);
export const cliRange: RangeWords = (from, to) => `--slices ${from}:${to}`;

/**
 * Refuse a chosen run over from..to-1 that includes a missing slice: the model would see an empty slice and the
 * result would stand for a slice that was never imaged. Says which gap, and the ranges on either side of it.
 */
export function refuseRangeAcrossGap(gaps: readonly NamedGap[], from: number, to: number, nz: number, words: RangeWords): void {
  const hit = gaps.find((g) => g.first < to && g.last >= from);
  if (!hit) return;
  const sides = [hit.first > 0 ? words(0, hit.first) : '', hit.last < nz - 1 ? words(hit.last + 1, nz) : ''].filter(Boolean);
  const range = words(from, to);
  throw new InputError(
    `${range[0].toUpperCase()}${range.slice(1)} include${to - from === 1 ? 's' : ''} missing images: in ${hit.text}. Halo does not segment across a gap ` +
      '(a result there would be a guess, not a measurement). Segment a range on one side of it' +
      (sides.length ? ` (${sides.join(' or ')})` : '') +
      ', or the whole study (the parts on either side are segmented, the gap is left out); ' +
      'or find the missing images (re-export or re-send the series) and open the study again.',
  );
}

/**
 * A copy of `data` with each missing slice filled from its nearest imaged neighbour (the lower one on a tie), or
 * `data` itself when nothing is missing. Only for finding the brain: a 3D method would see the empty slices as a
 * cut and keep one side of the head; the model never sees these slices.
 */
export function bridgeGaps(data: Float32Array, dims: readonly [number, number, number], gaps: readonly SliceGap[]): Float32Array {
  if (!gaps.length) return data;
  const plane = dims[0] * dims[1];
  const out = data.slice();
  for (const g of gaps) {
    for (let k = g.first; k <= g.last; k++) {
      const below = g.first - 1;
      const above = g.last + 1;
      const from = below < 0 ? above : above >= dims[2] || k - below <= above - k ? below : above;
      if (from >= 0 && from < dims[2]) out.copyWithin(k * plane, from * plane, (from + 1) * plane);
    }
  }
  return out;
}
