/**
 * The three planes of the reference grid (each normal to one of its axes i, j, k), named by the anatomical plane
 * they are closest to, and the cameras that show them. A reformat is always one of these grid planes, never an
 * oblique cut: every screen pixel then falls on one voxel column of the grid, so a result of slice k is drawn
 * exactly where its voxels are, whatever the acquisition plane (axial BraTS, a sagittal T1, an axial-oblique PD).
 * Independent of Cornerstone, so it can be unit-tested.
 */
import { acquisitionCamera, cross, dot, scale, voxelToWorld, type V3 } from './geometry';

export type PlaneName = 'axial' | 'sagittal' | 'coronal';
/** The grid axis a plane is normal to: 2 = k, the acquisition plane; 0 = i (columns), 1 = j (rows). */
export type Axis = 0 | 1 | 2;

export interface GridGeometry {
  dims: [number, number, number] | number[];
  origin: V3 | number[];
  spacing: V3 | number[];
  direction: [V3, V3, V3] | number[][];
}

/** Cornerstone's radiological camera of each anatomical plane (LPS): normal towards the camera, and up. */
const STANDARD: Record<PlaneName, { viewPlaneNormal: V3; viewUp: V3 }> = {
  axial: { viewPlaneNormal: [0, 0, -1], viewUp: [0, -1, 0] },
  sagittal: { viewPlaneNormal: [1, 0, 0], viewUp: [0, 0, 1] },
  coronal: { viewPlaneNormal: [0, -1, 0], viewUp: [0, 0, 1] },
};
/** The patient axis (LPS x, y, z) normal to each anatomical plane. */
const NORMAL_AXIS: PlaneName[] = ['sagittal', 'coronal', 'axial'];

const PERMUTATIONS: [number, number, number][] = [
  [0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0],
];

/**
 * The anatomical name of the plane normal to each grid axis: the one-to-one match of grid axes to patient axes
 * that best fits the direction cosines (an oblique grid still gets three different names).
 */
export function planeNames(direction: GridGeometry['direction']): [PlaneName, PlaneName, PlaneName] {
  let best = PERMUTATIONS[0];
  let bestScore = -1;
  for (const p of PERMUTATIONS) {
    const score = Math.abs(direction[0][p[0]]) + Math.abs(direction[1][p[1]]) + Math.abs(direction[2][p[2]]);
    if (score > bestScore + 1e-9) {
      best = p;
      bestScore = score;
    }
  }
  return [NORMAL_AXIS[best[0]], NORMAL_AXIS[best[1]], NORMAL_AXIS[best[2]]];
}

/**
 * The camera of the plane normal to grid axis `axis`. The acquisition plane (k) keeps the stored image's
 * orientation (rows top to bottom); a reformat uses the grid axes themselves, signed to come closest to the
 * radiological view of its anatomical plane (sagittal seen from the left, coronal from the front, axial from
 * the feet).
 */
export function planeCamera(direction: GridGeometry['direction'], axis: Axis): { viewPlaneNormal: V3; viewUp: V3 } {
  const d = direction as [V3, V3, V3];
  if (axis === 2) return acquisitionCamera(d);
  const std = STANDARD[planeNames(d)[axis]];
  const signed = (v: V3, towards: V3): V3 => (dot(v, towards) < 0 ? scale(v, -1) : [...v]);
  const viewPlaneNormal = signed(d[axis], std.viewPlaneNormal);
  const others = ([0, 1, 2] as Axis[]).filter((a) => a !== axis).map((a) => d[a]);
  const up = Math.abs(dot(others[0], std.viewUp)) >= Math.abs(dot(others[1], std.viewUp)) ? others[0] : others[1];
  return { viewPlaneNormal, viewUp: signed(up, std.viewUp) };
}

/** Voxel index (i, j, k) of a world point (LPS), rounded to the nearest voxel; null outside the grid. */
export function worldToVoxel(g: GridGeometry, w: V3): [number, number, number] | null {
  const d = [w[0] - g.origin[0], w[1] - g.origin[1], w[2] - g.origin[2]] as V3;
  const ijk = [0, 1, 2].map((a) => Math.round(dot(d, g.direction[a] as V3) / g.spacing[a])) as [number, number, number];
  return ijk.every((v, a) => v >= 0 && v < g.dims[a]) ? ijk : null;
}

/**
 * The reference line of plane `line` (normal to grid axis line.axis, at index line.index) as drawn in a view of
 * plane `view`: the two planes cross along the third grid axis, from its first voxel's outer edge to its last's.
 * World (LPS) end points; null when the planes are parallel.
 */
export function referenceLine(
  g: GridGeometry,
  view: { axis: Axis; index: number },
  line: { axis: Axis; index: number },
): [V3, V3] | null {
  if (view.axis === line.axis) return null;
  const along = (3 - view.axis - line.axis) as Axis;
  const at = (t: number): V3 => {
    const ijk = [0, 0, 0];
    ijk[view.axis] = view.index;
    ijk[line.axis] = line.index;
    ijk[along] = t;
    return voxelToWorld(g as { origin: V3; spacing: V3; direction: [V3, V3, V3] }, ijk[0], ijk[1], ijk[2]);
  };
  return [at(-0.5), at(g.dims[along] - 0.5)];
}

/** Screen right of a camera (world), as Cornerstone has it: viewUp × viewPlaneNormal. */
export const viewRight = (c: { viewUp: V3; viewPlaneNormal: V3 }): V3 => cross(c.viewUp, c.viewPlaneNormal);

