/**
 * The planes of the reference grid (renderer/src/viewer/planes.ts): their anatomical names, the cameras of the
 * reformats, voxel lookup and reference lines, on the grids of the real series the e2e tests open (BraTS axial,
 * the Siemens sagittal t1-sag-hfs, an axial-oblique grid).
 */
import { describe, expect, it } from 'vitest';
import { edgeLabels, voxelToWorld, type V3 } from '../../renderer/src/viewer/geometry';
import { planeCamera, planeNames, referenceLine, viewRight, worldToVoxel, type Axis } from '../../renderer/src/viewer/planes';

const AXIAL: [V3, V3, V3] = [[1, 0, 0], [0, 1, 0], [0, 0, 1]];
/** t1-sag-hfs: ImageOrientationPatient 0\1\0\0\0\-1, slices along +x. */
const SAGITTAL: [V3, V3, V3] = [[0, 1, 0], [0, 0, -1], [1, 0, 0]];
/** An axial-oblique grid tilted 20° about x (pd-ax-oblique is tilted 7.7°). */
const c = Math.cos((20 * Math.PI) / 180);
const s = Math.sin((20 * Math.PI) / 180);
const OBLIQUE: [V3, V3, V3] = [[1, 0, 0], [0, c, -s], [0, s, c]];

const labels = (d: [V3, V3, V3], axis: Axis) => {
  const cam = planeCamera(d, axis);
  return edgeLabels(cam.viewUp, viewRight(cam));
};

describe('grid planes', () => {
  it('names the plane normal to each grid axis', () => {
    expect(planeNames(AXIAL)).toEqual(['sagittal', 'coronal', 'axial']);
    expect(planeNames(SAGITTAL)).toEqual(['coronal', 'axial', 'sagittal']);
    expect(planeNames(OBLIQUE)).toEqual(['sagittal', 'coronal', 'axial']);
    // Even at 45° the three names stay different.
    const h = Math.SQRT1_2;
    expect(new Set(planeNames([[1, 0, 0], [0, h, -h], [0, h, h]])).size).toBe(3);
  });

  it('shows each reformat the radiological way up, along the grid axes', () => {
    // Axial study: sagittal seen from the left (face left, head up), coronal from the front (patient right on the left).
    expect(labels(AXIAL, 0)).toEqual({ top: 'S', bottom: 'I', left: 'A', right: 'P' });
    expect(labels(AXIAL, 1)).toEqual({ top: 'S', bottom: 'I', left: 'R', right: 'L' });
    // Sagittal study: its axial reformat from the feet (anterior up), its coronal from the front.
    expect(labels(SAGITTAL, 1)).toEqual({ top: 'A', bottom: 'P', left: 'R', right: 'L' });
    expect(labels(SAGITTAL, 0)).toEqual({ top: 'S', bottom: 'I', left: 'R', right: 'L' });
    // Oblique: the camera lies on the grid's own axes (every pixel on one voxel column), not on the patient's.
    const cam = planeCamera(OBLIQUE, 0);
    expect(cam.viewPlaneNormal).toEqual([1, 0, 0]);
    expect(cam.viewUp).toEqual(OBLIQUE[2]);
    const cor = planeCamera(OBLIQUE, 1);
    expect(cor.viewPlaneNormal).toEqual(OBLIQUE[1].map((x) => -x));
  });

  it('finds the voxel of a world point, and nothing outside the grid', () => {
    const g = { dims: [10, 20, 30], origin: [5, -3, 7] as V3, spacing: [0.5, 1, 4.8] as V3, direction: OBLIQUE };
    const w = voxelToWorld(g, 3, 17, 22);
    expect(worldToVoxel(g, w)).toEqual([3, 17, 22]);
    expect(worldToVoxel(g, voxelToWorld(g, 3.4, 16.6, 22.4))).toEqual([3, 17, 22]);
    expect(worldToVoxel(g, voxelToWorld(g, 3, 17, 30))).toBeNull();
    expect(worldToVoxel(g, voxelToWorld(g, -1, 0, 0))).toBeNull();
  });

  it('draws a reference line where two planes cross, over the whole grid', () => {
    const g = { dims: [10, 20, 30], origin: [5, -3, 7] as V3, spacing: [0.5, 1, 4.8] as V3, direction: SAGITTAL };
    // Slice k = 12 as seen in the reformat normal to j (j = 4): along i, at k = 12 and j = 4.
    const [a, b] = referenceLine(g, { axis: 1, index: 4 }, { axis: 2, index: 12 })!;
    expect(a).toEqual(voxelToWorld(g, -0.5, 4, 12));
    expect(b).toEqual(voxelToWorld(g, 9.5, 4, 12));
    expect(referenceLine(g, { axis: 2, index: 3 }, { axis: 2, index: 12 })).toBeNull();
  });
});
