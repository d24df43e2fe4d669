/**
 * A 3D scalar image with its exact geometry, in DICOM patient coordinates (LPS, millimetres).
 *
 * Voxel (i, j, k) is at  origin + i*spacing[0]*direction[0] + j*spacing[1]*direction[1] + k*spacing[2]*direction[2],
 * and is stored at data[i + dims[0] * (j + dims[1] * k)]. For DICOM input, i runs along a row (columns), j down
 * the columns (rows) and k along the slice normal; for NIfTI input, (i, j, k) are the file's own voxel axes.
 * A "slice" is always a fixed k: an image of dims[1] rows by dims[0] columns.
 */
export type Vec3 = [number, number, number];

export interface Geometry {
  dims: Vec3;
  spacing: Vec3;
  origin: Vec3;
  /** Unit vectors of the i, j and k axes in LPS. */
  direction: [Vec3, Vec3, Vec3];
  /** DICOM FrameOfReferenceUID when known: grids in the same frame can be resampled onto each other. */
  frameOfReferenceUID?: string;
}

export type SequenceRole = 'T1' | 'T1ce' | 'T2' | 'FLAIR';
export const SEQUENCE_ROLES: readonly SequenceRole[] = ['T1', 'T1ce', 'T2', 'FLAIR'];

/** Where a volume came from, so outputs can reference it (DICOM) or copy its header (NIfTI). */
export type VolumeSource =
  | { kind: 'nifti'; path: string; /** the raw 348-byte NIfTI-1 header, reused for outputs on this grid */ header: Uint8Array }
  | {
      kind: 'dicom';
      folder: string;
      studyInstanceUID: string;
      seriesInstanceUID: string;
      seriesDescription: string;
      /** SOP Class / Instance UID of each slice, index = k; null where the series has no image (see `gaps`). */
      instances: ({ sopClassUID: string; sopInstanceUID: string; path: string } | null)[];
      /** Patient/study-level attributes (naturalized dcmjs dataset of the first slice) to copy into derived objects. */
      firstDataset: Record<string, unknown>;
    };

/** Slices first..last (k, inclusive) of a volume's regular grid that its series has no image for (see gaps.ts). */
export interface SliceGap {
  first: number;
  last: number;
}

export interface Volume {
  geometry: Geometry;
  data: Float32Array;
  source: VolumeSource;
  /** Missing slices (DICOM series with images left out or unreadable); absent or empty for a complete stack. */
  gaps?: SliceGap[];
}

export const voxelCount = (g: Geometry): number => g.dims[0] * g.dims[1] * g.dims[2];
export const sliceSize = (g: Geometry): number => g.dims[0] * g.dims[1];

/** World (LPS) position of voxel (i, j, k). */
export function voxelToWorld(g: Geometry, i: number, j: number, k: number): Vec3 {
  const out: Vec3 = [0, 0, 0];
  for (let a = 0; a < 3; a++) {
    out[a] =
      g.origin[a] +
      i * g.spacing[0] * g.direction[0][a] +
      j * g.spacing[1] * g.direction[1][a] +
      k * g.spacing[2] * g.direction[2][a];
  }
  return out;
}

/** True when two grids are the same voxel lattice (within tol mm / tol in direction cosines). */
export function sameGrid(a: Geometry, b: Geometry, tol = 1e-3): boolean {
  const close = (x: number, y: number) => Math.abs(x - y) <= tol;
  return (
    a.dims.every((d, n) => d === b.dims[n]) &&
    a.spacing.every((s, n) => close(s, b.spacing[n])) &&
    a.origin.every((o, n) => close(o, b.origin[n])) &&
    a.direction.every((v, n) => v.every((c, m) => close(c, b.direction[n][m])))
  );
}

/**
 * Plausible voxel sizes (mm) for a head scan. Outside them the header is damaged: a 1e-9 mm pixel would shrink
 * the head to nothing on the model's grid and come out as "no tumour".
 */
export const MIN_VOXEL_MM = 0.01;
export const MAX_VOXEL_MM = 100;
