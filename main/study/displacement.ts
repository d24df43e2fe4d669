/**
 * Sequences that moved between series. Resampling in one frame of reference puts every sequence where its
 * headers say, which is where the head was when that series was acquired: a patient who moved between two
 * series gives voxels that no longer line up, and a result made from them would mix two positions. So, on the
 * reference grid, each sequence's head (its silhouette: above a tenth of its 98th percentile, the largest
 * connected part, holes filled) is compared with the FLAIR's, where both series cover the grid: a head whose
 * centre lies too far from the FLAIR's in the slice plane (see inPlaneShift), or that overlaps it too little
 * within the box both span, is refused. Compared at about 3 mm voxels: the centre of a head is still found to a
 * fraction of a millimetre (scripts/displacement-measure.ts).
 */
import { InputError } from '../errors';
import { headMask } from '../engine/brain-extraction';
import { sameGrid, type Geometry, type Vec3, type Volume } from '../volume/volume';
import { resampleOnto } from './align';

/** Largest distance (mm) between the centres of two sequences' heads that counts as not moved. */
export const MAX_SHIFT_MM = 4;
/** Smallest overlap (Dice) of two sequences' heads that counts as not moved. */
export const MIN_DICE = 0.9;
const COARSE_MM = 3;

export interface SequenceOnGrid {
  name: string;
  /** The series as read (its own grid: what it covers). */
  volume: Volume;
  /** Its data on the reference grid. */
  aligned: Float32Array;
}

export interface Displacement {
  name: string;
  /** The head's centre minus the reference's in the slice plane, in LPS millimetres. */
  shift: Vec3;
  shiftMm: number;
  dice: number;
}

/** How far each sequence's head lies from the reference's, where both cover the reference grid. */
export function measureDisplacement(reference: SequenceOnGrid, others: SequenceOnGrid[]): Displacement[] {
  const grid = reference.volume.geometry;
  const stride = grid.spacing.map((s) => Math.max(1, Math.floor(COARSE_MM / s))) as Vec3;
  const coarse: Geometry = {
    ...grid,
    dims: grid.dims.map((n, a) => Math.ceil(n / stride[a])) as Vec3,
    spacing: grid.spacing.map((s, a) => s * stride[a]) as Vec3,
  };
  const refHead = headMask(subsample(reference.aligned, grid, stride), coarse.dims);
  return others.map((o) => {
    const covered = sameGrid(o.volume.geometry, grid) ? null : coverage(o.volume, coarse);
    const head = headMask(subsample(o.aligned, grid, stride), coarse.dims);
    const shift = inPlaneShift(refHead, head, covered, coarse);
    const dice = overlapWithinBoth(refHead, head, covered, coarse.dims);
    return { name: o.name, shift, shiftMm: Math.hypot(...shift), dice };
  });
}

/** Refuse sequences whose head moved against the reference's (see the top of this file). */
export function refuseDisplaced(reference: SequenceOnGrid, others: SequenceOnGrid[]): void {
  const moved = measureDisplacement(reference, others).filter((d) => d.shiftMm > MAX_SHIFT_MM || d.dice < MIN_DICE);
  if (!moved.length) return;
  const lps = (v: Vec3) => `${v.map((x) => x.toFixed(1)).join(', ')} mm L, P, S`;
  throw new InputError(
    `The patient moved between series (or a series does not show the head where the FLAIR does): ` +
      moved.map((d) => `${d.name} lies ${d.shiftMm.toFixed(1)} mm from ${reference.name} (${lps(d.shift)}; head overlap Dice ${d.dice.toFixed(2)})`).join('; ') +
      `. Their voxels do not line up (Halo allows ${MAX_SHIFT_MM} mm and Dice ${MIN_DICE}), so a result would mix two head positions. ` +
      'Choose series acquired without movement between them, or register them onto the FLAIR first.',
  );
}

/** Every stride-th voxel along each axis. */
function subsample(data: Float32Array, g: Geometry, stride: Vec3): Float32Array {
  const [nx, ny, nz] = g.dims;
  const out = new Float32Array(Math.ceil(nx / stride[0]) * Math.ceil(ny / stride[1]) * Math.ceil(nz / stride[2]));
  let q = 0;
  for (let k = 0; k < nz; k += stride[2]) for (let j = 0; j < ny; j += stride[1]) for (let i = 0; i < nx; i += stride[0]) out[q++] = data[i + nx * (j + ny * k)];
  return out;
}

/** 1 where a voxel of `grid` lies inside the volume's own extent (the series covers it). */
function coverage(volume: Volume, grid: Geometry): Uint8Array {
  const ones = resampleOnto({ ...volume, data: new Float32Array(volume.data.length).fill(1) }, grid);
  const covered = new Uint8Array(ones.length);
  for (let p = 0; p < ones.length; p++) covered[p] = ones[p] > 0.5 ? 1 : 0;
  return covered;
}

/** A difference (coarse voxels) between how far a slice's two edges moved beyond which one edge is a cut. */
const EDGE_AGREEMENT = 4;

/**
 * The shift (LPS mm) from `a` to `b` in the slice plane: the median over slices of the difference between their
 * centres, on slices where both hold a head and the series cover it. Per slice and by the median, because the
 * sequences differ in contrast at the skull base and the neck (bright fat in a T1, not in a FLAIR), which moves
 * a whole-volume centre by millimetres; and not along the slice axis, which thick slices cover only in part.
 * A head that moved moves both its edges alike along an axis; where one edge moved much more than the other,
 * a field of view cut the head short there (BraTS's Brats18_2013_20_1: its FLAIR stops 7 cm before its T1),
 * and that slice says nothing about movement along that axis.
 */
function inPlaneShift(a: Uint8Array, b: Uint8Array, covered: Uint8Array | null, g: Geometry): Vec3 {
  const [nx, ny, nz] = g.dims;
  const plane = nx * ny;
  const di: number[] = [];
  const dj: number[] = [];
  for (let k = 0; k < nz; k++) {
    const ea = sliceExtent(a, covered, k * plane, nx, plane);
    const eb = sliceExtent(b, covered, k * plane, nx, plane);
    if (!ea || !eb) continue;
    const [ca, cb] = [ea.centre, eb.centre];
    if (Math.abs(eb.box[0] - ea.box[0] - (eb.box[1] - ea.box[1])) <= EDGE_AGREEMENT) di.push(cb[0] - ca[0]);
    if (Math.abs(eb.box[2] - ea.box[2] - (eb.box[3] - ea.box[3])) <= EDGE_AGREEMENT) dj.push(cb[1] - ca[1]);
  }
  const [mi, mj] = [di.length ? median(di) * g.spacing[0] : 0, dj.length ? median(dj) * g.spacing[1] : 0];
  return [0, 1, 2].map((x) => mi * g.direction[0][x] + mj * g.direction[1][x]) as Vec3;
}

/**
 * A slice's mask (covered voxels only): its first and last column and row, and its column and row centre;
 * null when it holds under 20 voxels.
 */
function sliceExtent(mask: Uint8Array, covered: Uint8Array | null, base: number, nx: number, plane: number): { box: [number, number, number, number]; centre: [number, number] } | null {
  let n = 0;
  let si = 0, sj = 0;
  let i0 = Infinity, i1 = -Infinity, j0 = Infinity, j1 = -Infinity;
  for (let p = 0; p < plane; p++) {
    if (!mask[base + p] || (covered && !covered[base + p])) continue;
    n++;
    const i = p % nx;
    const j = (p - i) / nx;
    si += i;
    sj += j;
    if (i < i0) i0 = i;
    if (i > i1) i1 = i;
    if (j < j0) j0 = j;
    if (j > j1) j1 = j;
  }
  return n >= 20 ? { box: [i0, i1, j0, j1], centre: [si / n, sj / n] } : null;
}

/**
 * The Dice of two heads, counted per slice within the box both span (a field of view that cuts one head short
 * is not a difference of the heads) and where the series cover the grid.
 */
function overlapWithinBoth(a: Uint8Array, b: Uint8Array, covered: Uint8Array | null, [nx, ny, nz]: Vec3): number {
  const plane = nx * ny;
  let na = 0, nb = 0, both = 0;
  for (let k = 0; k < nz; k++) {
    const ea = sliceExtent(a, covered, k * plane, nx, plane);
    const eb = sliceExtent(b, covered, k * plane, nx, plane);
    // A slice where one head is missing entirely counts whole: that is a difference.
    const [i0, i1, j0, j1] = ea && eb
      ? [Math.max(ea.box[0], eb.box[0]), Math.min(ea.box[1], eb.box[1]), Math.max(ea.box[2], eb.box[2]), Math.min(ea.box[3], eb.box[3])]
      : [0, nx - 1, 0, ny - 1];
    for (let j = j0; j <= j1; j++) {
      for (let i = i0; i <= i1; i++) {
        const p = k * plane + j * nx + i;
        if (covered && !covered[p]) continue;
        na += a[p];
        nb += b[p];
        both += a[p] & b[p];
      }
    }
  }
  return na + nb ? (2 * both) / (na + nb) : 1;
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
