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

/**
 * Refuse a run over first..last (k, inclusive) that includes a missing slice: the model would see an empty
 * slice, or its neighbours' interpolation, and the result would claim a slice that was never imaged. `range`
 * names the range as the caller's user gave it ("--slices 18:24", "slices 19-23").
 */
export function refuseRangeAcrossGap(gaps: readonly NamedGap[], first: number, last: number, range: string, nz: number): void {
  const hit = gaps.find((g) => g.first <= last && g.last >= first);
  if (!hit) return;
  const sides = [
    hit.first > 0 ? `slices 1-${hit.first}` : '',
    hit.last < nz - 1 ? `slices ${hit.last + 2}-${nz}` : '',
  ].filter(Boolean);
  throw new InputError(
    `${range} cross${range.startsWith('slices') ? '' : 'es'} a gap: in ${hit.text}. Halo does not segment across missing images ` +
      `(the result there would be a guess, not a measurement). Segment a range on one side of the gap` +
      (sides.length ? ` (${sides.join(' or ')})` : '') +
      ', or the whole study (its parts on either side are segmented, the gap is left out); ' +
      'or find the missing images (re-export or re-send the series) and open it again.',
  );
}
