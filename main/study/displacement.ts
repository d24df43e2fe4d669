/**
 * Sequences that moved between series. Resampling in one frame of reference puts every sequence where its
 * headers say, which is where the head was when that series was acquired: a patient who moved between two
 * series gives voxels that no longer line up, and a result made from them would mix two positions. So, on the
 * reference grid, each sequence's head (its silhouette: above a tenth of its 98th percentile, the largest
 * connected part, holes filled) is compared with the FLAIR's, where both series cover the grid: a head that lies
 * too far from the FLAIR's (its centre in the slice plane, see inPlaneShift, and its ends along the slice axis, see
 * sliceAxisShift), or that overlaps it too little within the box both span, is refused. Compared at about 3 mm voxels: the centre of a head is still found to a
 * fraction of a millimetre (scripts/displacement-measure.ts).
 */
import { InputError } from '../errors';
import { headMask } from '../engine/brain-extraction';
import { sameGrid, type Geometry, type Vec3, type Volume } from '../volume/volume';
import { resampleOnto } from './align';

/** Largest distance (mm) between two sequences' heads that counts as not moved. */
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
  /** The head's position minus the reference's (in the slice plane and along the slice axis), in LPS millimetres. */
  shift: Vec3;
  shiftMm: number;
  dice: number;
}

/** How far each sequence's head lies from the reference's, where both cover the reference grid. */
export function measureDisplacement(reference: SequenceOnGrid, others: SequenceOnGrid[]): Displacement[] {
  const grid = reference.volume.geometry;
  const coarse = coarseGrid(grid);
  const refHead = headMask(subsample(reference.aligned, grid, coarse.stride), coarse.geometry.dims);
  return others.map((o) => {
    const own = sameGrid(o.volume.geometry, grid);
    const covered = own ? null : coverage(o.volume, coarse.geometry);
    const share = own ? headMask(subsample(o.aligned, grid, coarse.stride), coarse.geometry.dims) : headCarriedOnto(o.volume, coarse.geometry);
    const head = Uint8Array.from(share, (v) => (v >= 0.5 ? 1 : 0));
    const inPlane = inPlaneShift(refHead, head, covered, coarse.geometry);
    const along = sliceAxisShift(refHead, share, covered, coarse.geometry);
    const shift = [0, 1, 2].map((x) => inPlane[x] + along * grid.direction[2][x]) as Vec3;
    const dice = overlapWithinBoth(refHead, head, covered, coarse.geometry.dims);
    return { name: o.name, shift, shiftMm: Math.hypot(...shift), dice };
  });
}

/** A grid of about COARSE_MM voxels over the same extent: every stride-th voxel of `g`. */
function coarseGrid(g: Geometry): { geometry: Geometry; stride: Vec3 } {
  const stride = g.spacing.map((s) => Math.max(1, Math.floor(COARSE_MM / s))) as Vec3;
  const geometry = { ...g, dims: g.dims.map((n, a) => Math.ceil(n / stride[a])) as Vec3, spacing: g.spacing.map((s, a) => s * stride[a]) as Vec3 };
  return { geometry, stride };
}

/**
 * A series' head found on its own grid, then carried onto `grid` (interpolated: per voxel, the share of it that is
 * head). Found on the interpolated voxels instead, a head would grow by up to a slice wherever slices are blended
 * (a voxel half head, half air is still above the head's threshold), and a 5 mm series laid between another's
 * slices would seem to have moved.
 */
function headCarriedOnto(volume: Volume, grid: Geometry): Float32Array {
  const own = coarseGrid(volume.geometry);
  const head = headMask(subsample(volume.data, volume.geometry, own.stride), own.geometry.dims);
  return resampleOnto({ ...volume, geometry: own.geometry, data: Float32Array.from(head) }, grid);
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
 * a whole-volume centre by millimetres. (Along the slice axis the centre of a head that the grid or the field of
 * view cuts short says little: sliceAxisShift places its ends instead.)
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

/** Fractions of a head's largest slice area at which its ends are compared along the slice axis. */
const END_LEVELS = [0.25, 0.5, 0.75];
/** How many of END_LEVELS an end of the head must rise through, within the grid, to count. */
const MIN_LEVELS = 2;

/**
 * The shift (mm, along the grid's slice axis) from `a` to `b`: where each head's area, slice by slice, rises
 * through a quarter, a half and three quarters of its largest (at least two of them), counted inward from each end
 * of the head that both show within the grid and within `b`'s series (the vertex; the neck runs out of an axial
 * field of view and is not an end, nor is the edge of a series that stops inside the head). With both ends (a
 * sagittal grid's left and right), their mean: a head drawn larger by one contrast moves its two ends apart, a
 * movement moves them alike.
 * 0 when no end is in view in both.
 */
function sliceAxisShift(a: Uint8Array, b: Uint8Array | Float32Array, covered: Uint8Array | null, g: Geometry): number {
  const [areaA, areaB] = [sliceAreas(a, g.dims), sliceAreas(b, g.dims)];
  const seen = slicesCovered(covered, g.dims);
  const ends: number[] = [];
  for (const fromTop of [false, true]) {
    const za = END_LEVELS.map((l) => endCrossing(areaA, l, fromTop, seen));
    const zb = END_LEVELS.map((l) => endCrossing(areaB, l, fromTop, seen));
    const d = za.flatMap((z, n) => (z === null || zb[n] === null ? [] : [zb[n]! - z]));
    if (d.length >= MIN_LEVELS) ends.push(median(d));
  }
  return ends.length ? (ends.reduce((x, y) => x + y, 0) / ends.length) * g.spacing[2] : 0;
}

/** The number of mask voxels in each slice (a mask of shares: their sum). */
function sliceAreas(mask: Uint8Array | Float32Array, [nx, ny, nz]: Vec3): number[] {
  const plane = nx * ny;
  const areas = new Array<number>(nz).fill(0);
  for (let p = 0; p < mask.length; p++) areas[Math.floor(p / plane)] += mask[p];
  return areas;
}

/** Per slice, whether the other series covers (nearly) all of it. */
function slicesCovered(covered: Uint8Array | null, [nx, ny, nz]: Vec3): boolean[] {
  const plane = nx * ny;
  return Array.from({ length: nz }, (_, k) => {
    if (!covered) return true;
    let n = 0;
    for (let p = k * plane; p < (k + 1) * plane; p++) n += covered[p];
    return n >= 0.9 * plane;
  });
}

/**
 * Where (a fractional slice index) the area first reaches `level` of its largest, going inward from the last
 * slice (fromTop) or the first; null when the area at that end of the grid is not below it (the grid cuts the
 * head there), or the two slices it lies between are not both `seen` whole (a series that stops there cuts the
 * head, and its edge is not the head's).
 */
function endCrossing(areas: number[], level: number, fromTop: boolean, seen: boolean[]): number | null {
  const max = Math.max(...areas);
  const order = fromTop ? areas.map((_, n) => areas.length - 1 - n) : areas.map((_, n) => n);
  const target = level * max;
  if (max === 0 || areas[order[0]] >= target) return null;
  for (let n = 1; n < order.length; n++) {
    const [outer, inner] = [areas[order[n - 1]], areas[order[n]]];
    if (inner < target) continue;
    if (!seen[order[n - 1]] || !seen[order[n]]) return null;
    const t = (target - outer) / (inner - outer);
    return order[n - 1] + t * (order[n] - order[n - 1]);
  }
  return null;
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
