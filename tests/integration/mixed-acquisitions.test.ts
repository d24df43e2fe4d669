/**
 * A 5 mm axial FLAIR and a 1 mm 3D sagittal T1 of one study (issue 23, "clinical series"): the T1 is resampled
 * onto the FLAIR's grid, each 5 mm voxel averaging the T1 across its thickness as a 5 mm acquisition would.
 *
 * No study in the shared data has such a pair, so it is made from a real 1 mm BraTS case without inventing a
 * voxel: its T1 written as a sagittal DICOM series (the same voxels, slices along L-R), its FLAIR as 5 mm axial
 * slabs (the mean of five 1 mm slices), both in one study and frame of reference. The resampled T1 must then be
 * the mean of the same five 1 mm T1 slices.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeSeries } from '../../main/dicom/import-nifti';
import type { MrSeriesInfo } from '../../main/dicom/mr-image';
import { newUid } from '../../main/dicom/uid';
import { readNifti } from '../../main/io/nifti';
import { loadStudy } from '../../main/study/load-study';
import { voxelToWorld, type Volume } from '../../main/volume/volume';
import { dciodvfy } from '../support/dicom-tools';
import { DATA } from '../support/paths';

const work = mkdtempSync(join(tmpdir(), 'halo-mixed-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const CASE = join(DATA, 'brats', 'BraTS2021_00006');
const SLAB = 5; // 1 mm slices per 5 mm axial slice

/** The same voxels with the slices along the first axis (L-R): a sagittal series. */
function asSagittal(v: Volume): Volume {
  const [nx, ny, nz] = v.geometry.dims;
  const data = new Float32Array(v.data.length);
  for (let k = 0; k < nz; k++) for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) data[j + ny * (k + nz * i)] = v.data[i + nx * (j + ny * k)];
  const g = v.geometry;
  return { ...v, data, geometry: { ...g, dims: [ny, nz, nx], spacing: [g.spacing[1], g.spacing[2], g.spacing[0]], direction: [g.direction[1], g.direction[2], g.direction[0]] } };
}

/** Slabs of SLAB axial slices, each the mean of its slices (rounded when `round`), centred on its middle slice. */
function thickAxial(v: Volume, round: boolean): Volume {
  const [nx, ny, nz] = v.geometry.dims;
  const slabs = Math.floor(nz / SLAB);
  const plane = nx * ny;
  const data = new Float32Array(plane * slabs);
  for (let s = 0; s < slabs; s++) {
    for (let p = 0; p < plane; p++) {
      let sum = 0;
      for (let t = 0; t < SLAB; t++) sum += v.data[p + plane * (s * SLAB + t)];
      data[p + plane * s] = round ? Math.round(sum / SLAB) : sum / SLAB;
    }
  }
  const g = v.geometry;
  const origin = voxelToWorld(g, 0, 0, (SLAB - 1) / 2);
  return { ...v, data, geometry: { ...g, dims: [nx, ny, slabs], spacing: [g.spacing[0], g.spacing[1], g.spacing[2] * SLAB], origin } };
}

describe('a 5 mm axial FLAIR with a 1 mm 3D sagittal T1 of one study', () => {
  it('resamples the T1 onto the FLAIR grid, averaging it over each 5 mm slice', async () => {
    const t1 = await readNifti(join(CASE, 'BraTS2021_00006_t1.nii.gz'));
    const flair = await readNifti(join(CASE, 'BraTS2021_00006_flair.nii.gz'));
    const frameOfReferenceUID = newUid();
    const study = { studyInstanceUID: newUid(), frameOfReferenceUID, patientName: 'MIXED^ACQUISITIONS', patientID: 'BraTS2021_00006' };
    const info = (n: number, description: string): MrSeriesInfo => ({
      ...study,
      studyDescription: 'BraTS2021_00006 as a 5 mm axial FLAIR and a 3D sagittal T1',
      seriesInstanceUID: newUid(),
      seriesNumber: n,
      seriesDescription: description,
      scanningSequence: n === 1 ? ['SE', 'IR'] : ['GR'],
      sequenceVariant: ['NONE'],
      derivationDescription: 'Made from a BraTS 1 mm case for a test of mixed acquisitions.',
    });
    const folder = join(work, 'study');
    const write = async (v: Volume, n: number, description: string) => {
      const dir = join(folder, `${n}-${description}`);
      mkdirSync(dir, { recursive: true });
      return writeSeries(v, info(n, description), dir, description, {}, new Date());
    };
    const flairFiles = await write(thickAxial(flair, true), 1, 'FLAIR');
    const t1Files = await write(asSagittal(t1), 2, 'T1');
    expect(t1Files).toHaveLength(t1.geometry.dims[0]);
    for (const file of [flairFiles[0], t1Files[0]]) expect(dciodvfy(file).errors).toEqual([]);

    const loaded = await loadStudy({ kind: 'dicom', folder }, ['FLAIR', 'T1']);
    expect(loaded.reference.geometry.spacing[2]).toBeCloseTo(5, 3);
    const aligned = loaded.aligned.T1!;
    const truth = thickAxial(t1, false).data;
    const plane = t1.geometry.dims[0] * t1.geometry.dims[1];
    const centre = truth.map((_, p) => t1.data[(p % plane) + plane * (Math.floor(p / plane) * SLAB + (SLAB - 1) / 2)]);
    let error = 0, centreError = 0, max = 0;
    for (let p = 0; p < truth.length; p++) {
      error = Math.max(error, Math.abs(aligned[p] - truth[p]));
      centreError += Math.abs(centre[p] - truth[p]) / truth.length;
      max = Math.max(max, truth[p]);
    }
    // The mean over the 5 mm slice, to float precision; a sample at its centre only would be off by this much on average.
    expect(error).toBeLessThan(1e-3 * max);
    expect(centreError).toBeGreaterThan(1e-3 * max);
  }, 120_000);
});
