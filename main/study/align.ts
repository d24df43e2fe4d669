/**
 * Put every input sequence on one grid (the FLAIR's): identical grids pass through; grids in one DICOM frame of
 * reference are resampled (trilinear, in patient coordinates); anything else is refused, since without a shared
 * frame of reference there is no way to know that the voxels line up.
 */
import { InputError } from '../errors';
import { sameGrid, voxelToWorld, type Geometry, type SliceGap, type Volume } from '../volume/volume';

export function describeGrid(g: Geometry): string {
  const f = (v: number[]) => v.map((x) => +x.toFixed(3)).join(', ');
  return `${g.dims.join(' x ')} voxels of ${f(g.spacing)} mm at (${f(g.origin)})`;
}

/** Resample `moving` onto `grid` (trilinear; 0 outside). */
export function resampleOnto(moving: Volume, grid: Geometry): Float32Array {
  const m = moving.geometry;
  // World → moving voxel: solve origin + M v = p, M = [dir_i*s_i | dir_j*s_j | dir_k*s_k].
  const M = [0, 1, 2].map((r) => [0, 1, 2].map((c) => m.direction[c][r] * m.spacing[c]));
  const inv = invert3(M);
  const [nx, ny, nz] = grid.dims;
  const [mx, my, mz] = m.dims;
  const out = new Float32Array(nx * ny * nz);
  const src = moving.data;
  const at = (i: number, j: number, k: number) => src[i + mx * (j + my * k)];
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        const p = voxelToWorld(grid, i, j, k);
        const d = [p[0] - m.origin[0], p[1] - m.origin[1], p[2] - m.origin[2]];
        const v = inv.map((row) => row[0] * d[0] + row[1] * d[1] + row[2] * d[2]);
        if (v[0] < -0.5 || v[1] < -0.5 || v[2] < -0.5 || v[0] > mx - 0.5 || v[1] > my - 0.5 || v[2] > mz - 0.5) continue;
        const c = v.map((x, a) => Math.min(Math.max(x, 0), [mx, my, mz][a] - 1));
        const i0 = Math.floor(c[0]), j0 = Math.floor(c[1]), k0 = Math.floor(c[2]);
        const i1 = Math.min(i0 + 1, mx - 1), j1 = Math.min(j0 + 1, my - 1), k1 = Math.min(k0 + 1, mz - 1);
        const fx = c[0] - i0, fy = c[1] - j0, fz = c[2] - k0;
        const lerp = (a: number, b: number, t: number) => a + (b - a) * t;
        out[i + nx * (j + ny * k)] = lerp(
          lerp(lerp(at(i0, j0, k0), at(i1, j0, k0), fx), lerp(at(i0, j1, k0), at(i1, j1, k0), fx), fy),
          lerp(lerp(at(i0, j0, k1), at(i1, j0, k1), fx), lerp(at(i0, j1, k1), at(i1, j1, k1), fx), fy),
          fz,
        );
      }
    }
  }
  return out;
}

/**
 * The slices of `grid` whose resampling from `moving` reads one of moving's slices first..last (trilinear reads
 * the two moving slices around each sample; the slice plane is linear, so its corners bound what it reads).
 */
export function slicesReading(moving: Geometry, gap: SliceGap, grid: Geometry): number[] {
  if (sameGrid(moving, grid)) return Array.from({ length: gap.last - gap.first + 1 }, (_, i) => gap.first + i);
  const M = [0, 1, 2].map((r) => [0, 1, 2].map((c) => moving.direction[c][r] * moving.spacing[c]));
  const inv = invert3(M);
  const movingK = (p: number[]) => inv[2].reduce((sum, c, a) => sum + c * (p[a] - moving.origin[a]), 0);
  const [nx, ny, nz] = grid.dims;
  const out: number[] = [];
  for (let k = 0; k < nz; k++) {
    const ks = [0, nx - 1].flatMap((i) => [0, ny - 1].map((j) => movingK(voxelToWorld(grid, i, j, k))));
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
