/**
 * Put every input sequence on one grid (the FLAIR's): identical grids pass through; grids in one DICOM frame of
 * reference are resampled (trilinear, in patient coordinates); anything else is refused, since without a shared
 * frame of reference there is no way to know that the voxels line up.
 */
import { InputError } from '../errors';
import { sameGrid, type Geometry, type SliceGap, type Volume } from '../volume/volume';

export function describeGrid(g: Geometry): string {
  const f = (v: number[]) => v.map((x) => +x.toFixed(3)).join(', ');
  return `${g.dims.join(' x ')} voxels of ${f(g.spacing)} mm at (${f(g.origin)})`;
}

/** The most samples one grid voxel takes along one axis (a 10 mm slice over a 0.5 mm series: 8, not 20). */
const MAX_SAMPLES_PER_AXIS = 8;

/**
 * Resample `moving` onto `grid` (trilinear; 0 where it does not reach). A grid voxel larger than the moving
 * voxels takes the mean of samples spread over its extent: a 5 mm axial voxel read from a 1 mm sagittal series
 * averages five samples across its thickness, as the 5 mm acquisition itself integrates over its slice; a single
 * sample at the voxel's centre would show a thin structure on one series and not on the slice it is paired with.
 * The extent is the grid's spacing (DICOM's SliceThickness may be smaller, with a gap, which is not modelled).
 */
export function resampleOnto(moving: Volume, grid: Geometry): Float32Array {
  const m = moving.geometry;
  const { v0, step, offsets } = samplingOf(m, grid);
  const [nx, ny, nz] = grid.dims;
  const [mx, my, mz] = m.dims;
  const out = new Float32Array(nx * ny * nz);
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        const x = v0[0] + i * step[0][0] + j * step[1][0] + k * step[2][0];
        const y = v0[1] + i * step[0][1] + j * step[1][1] + k * step[2][1];
        const z = v0[2] + i * step[0][2] + j * step[1][2] + k * step[2][2];
        let sum = 0;
        let inside = 0;
        for (let n = 0; n < offsets.length; n++) {
          const o = offsets[n];
          const value = trilinear(moving.data, mx, my, mz, x + o[0], y + o[1], z + o[2]);
          if (Number.isNaN(value)) continue;
          sum += value;
          inside++;
        }
        if (inside > 0) out[i + nx * (j + ny * k)] = sum / inside;
      }
    }
  }
  return out;
}

/**
 * How a grid voxel is read from `moving`: moving voxel coordinates are affine in the grid's indices,
 * v = v0 + i·step[0] + j·step[1] + k·step[2], and each grid voxel averages samples at v + offsets[n], enough of
 * them along each grid axis to visit every moving voxel that the grid voxel spans.
 */
function samplingOf(moving: Geometry, grid: Geometry): { v0: number[]; step: number[][]; offsets: number[][] } {
  // World → moving voxel: solve origin + M v = p, M = [dir_i*s_i | dir_j*s_j | dir_k*s_k].
  const M = [0, 1, 2].map((r) => [0, 1, 2].map((c) => moving.direction[c][r] * moving.spacing[c]));
  const inv = invert3(M);
  const apply = (w: number[]) => inv.map((row) => row[0] * w[0] + row[1] * w[1] + row[2] * w[2]);
  const v0 = apply([0, 1, 2].map((c) => grid.origin[c] - moving.origin[c]));
  const step = [0, 1, 2].map((a) => apply(grid.direction[a].map((d) => d * grid.spacing[a])));
  const samples = step.map((d) => Math.min(MAX_SAMPLES_PER_AXIS, Math.max(1, Math.ceil(Math.max(...d.map(Math.abs)) - 1e-3))));
  const offsets: number[][] = [];
  for (let c = 0; c < samples[2]; c++) {
    for (let b = 0; b < samples[1]; b++) {
      for (let a = 0; a < samples[0]; a++) {
        const t = [a, b, c].map((s, axis) => (s + 0.5) / samples[axis] - 0.5); // in grid voxels, from the centre
        offsets.push([0, 1, 2].map((x) => t[0] * step[0][x] + t[1] * step[1][x] + t[2] * step[2][x]));
      }
    }
  }
  return { v0, step, offsets };
}

/** The trilinear value at moving voxel coordinates (x, y, z), or NaN beyond half a voxel outside (no closures: hot). */
function trilinear(src: ArrayLike<number>, mx: number, my: number, mz: number, x: number, y: number, z: number): number {
  if (x < -0.5 || y < -0.5 || z < -0.5 || x > mx - 0.5 || y > my - 0.5 || z > mz - 0.5) return NaN;
  const cx = x < 0 ? 0 : x > mx - 1 ? mx - 1 : x;
  const cy = y < 0 ? 0 : y > my - 1 ? my - 1 : y;
  const cz = z < 0 ? 0 : z > mz - 1 ? mz - 1 : z;
  const i0 = Math.floor(cx), j0 = Math.floor(cy), k0 = Math.floor(cz);
  const di = i0 < mx - 1 ? 1 : 0, dj = j0 < my - 1 ? mx : 0, dk = k0 < mz - 1 ? mx * my : 0;
  const fx = cx - i0, fy = cy - j0, fz = cz - k0;
  const p = i0 + mx * (j0 + my * k0);
  const a = src[p] + (src[p + di] - src[p]) * fx;
  const b = src[p + dj] + (src[p + dj + di] - src[p + dj]) * fx;
  const c = src[p + dk] + (src[p + dk + di] - src[p + dk]) * fx;
  const d = src[p + dk + dj] + (src[p + dk + dj + di] - src[p + dk + dj]) * fx;
  const lower = a + (b - a) * fy;
  return lower + (c + (d - c) * fy - lower) * fz;
}

/**
 * The slices of `grid` whose resampling from `moving` reads one of moving's slices first..last (trilinear reads
 * the two moving slices around each sample; the slice plane is linear, so its corners bound what it reads).
 */
export function slicesReading(moving: Geometry, gap: SliceGap, grid: Geometry): number[] {
  if (sameGrid(moving, grid)) return Array.from({ length: gap.last - gap.first + 1 }, (_, i) => gap.first + i);
  const { v0, step, offsets } = samplingOf(moving, grid);
  const [nx, ny, nz] = grid.dims;
  const out: number[] = [];
  for (let k = 0; k < nz; k++) {
    // The slice plane is linear, so its corner voxels' samples bound the moving slices it reads.
    const ks = [0, nx - 1].flatMap((i) =>
      [0, ny - 1].flatMap((j) => offsets.map((o) => v0[2] + i * step[0][2] + j * step[1][2] + k * step[2][2] + o[2])),
    );
    if (Math.floor(Math.min(...ks)) <= gap.last && Math.ceil(Math.max(...ks)) >= gap.first) out.push(k);
  }
  return out;
}

function invert3(a: number[][]): number[][] {
  const [[a0, a1, a2], [b0, b1, b2], [c0, c1, c2]] = a;
  const det = a0 * (b1 * c2 - b2 * c1) - a1 * (b0 * c2 - b2 * c0) + a2 * (b0 * c1 - b1 * c0);
  if (Math.abs(det) < 1e-12) throw new Error('singular voxel-to-patient matrix');
  return [
    [(b1 * c2 - b2 * c1) / det, (a2 * c1 - a1 * c2) / det, (a1 * b2 - a2 * b1) / det],
    [(b2 * c0 - b0 * c2) / det, (a0 * c2 - a2 * c0) / det, (a2 * b0 - a0 * b2) / det],
    [(b0 * c1 - b1 * c0) / det, (a1 * c0 - a0 * c1) / det, (a0 * b1 - a1 * b0) / det],
  ];
}

/**
 * The data of each named volume on the reference grid. `names` label the volumes in messages (e.g. file paths).
 */
export function alignToReference(reference: Volume, others: { name: string; volume: Volume }[], refName: string): Float32Array[] {
  const ref = reference.geometry;
  return others.map(({ name, volume }) => {
    const g = volume.geometry;
    const f1 = g.frameOfReferenceUID;
    const f2 = ref.frameOfReferenceUID;
    // Checked before the grids: identical-looking grids in two frames of reference (a patient repositioned, say)
    // are not the same voxels.
    if (f1 && f2 && f1 !== f2) {
      throw new InputError(
        `${name} and ${refName} are in different frames of reference (${f1} vs ${f2}): the patient was repositioned ` +
          'or they come from different sessions, so their voxels cannot be matched. Register them first, or choose series from one session.',
      );
    }
    if (sameGrid(g, ref)) return volume.data;
    const is2d = (x: Geometry) => x.dims[2] === 1;
    if (is2d(g) !== is2d(ref)) {
      throw new InputError(
        `${name} is ${is2d(g) ? 'a single 2D slice' : 'a 3D volume'} but ${refName} is ${is2d(ref) ? 'a single 2D slice' : 'a 3D volume'}; ` +
          'all sequences must be 3D volumes of the same study (or all single slices).',
      );
    }
    if (!f1 || !f2) {
      throw new InputError(
        `${name} (${describeGrid(g)}) and ${refName} (${describeGrid(ref)}) are on different grids, and without a shared ` +
          'DICOM frame of reference they cannot be safely resampled onto each other. Co-register the sequences onto one grid first.',
      );
    }
    return resampleOnto(volume, ref);
  });
}
