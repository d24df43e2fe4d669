import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { importNiftiCase } from '../../main/dicom/import-nifti';
import { describeSeries, readDicomFolder, seriesToVolume } from '../../main/dicom/read-study';
import { readNifti } from '../../main/io/nifti';
import { sliceSize, voxelToWorld } from '../../main/volume/volume';
import { DATA, dciodvfy, tempDir } from '../support/dicom-tools';
import { lggCase } from '../support/lgg-case';

describe('import-nifti', () => {
  it('turns a BraTS 2023 case into a valid MR study with the NIfTI geometry and values', async () => {
    const caseDir = path.join(DATA, 'brats', 'BraTS-GLI-00027-000');
    const out = path.join(tempDir('import'), 'study');
    const from = 70;
    const to = 73; // a few slices keep the test fast; geometry is per slice anyway
    const result = await importNiftiCase(caseDir, out, { slices: { from, to } });
    expect(result.series.map((s) => s.role)).toEqual(['FLAIR', 'T1', 'T1ce', 'T2']);
    expect(result.patientID).toBe('BraTS-GLI-00027-000');

    for (const s of result.series) {
      const check = dciodvfy(s.files[0]);
      expect(check.errors).toEqual([]);
      expect(check.unexpectedWarnings).toEqual([]);
    }

    const series = await readDicomFolder(out);
    expect(series).toHaveLength(4);
    for (const s of series) {
      const vol = seriesToVolume(s);
      const imported = result.series.find((r) => r.seriesInstanceUID === s.seriesInstanceUID)!;
      const nifti = await readNifti(imported.niftiPath);
      expect(vol.geometry.frameOfReferenceUID).toBe(result.frameOfReferenceUID);
      expect(s.studyInstanceUID).toBe(result.studyInstanceUID);
      const [nx, ny] = nifti.geometry.dims;
      expect(vol.geometry.dims).toEqual([nx, ny, to - from + 1]);
      for (let k = 0; k <= to - from; k++) {
        for (const [i, j] of [[0, 0], [nx - 1, 0], [0, ny - 1], [nx - 1, ny - 1], [97, 131]]) {
          const a = voxelToWorld(vol.geometry, i, j, k);
          const b = voxelToWorld(nifti.geometry, i, j, k + from);
          for (let c = 0; c < 3; c++) expect(Math.abs(a[c] - b[c])).toBeLessThan(1e-3);
        }
        const n = sliceSize(nifti.geometry);
        const a = vol.data.subarray(k * n, (k + 1) * n);
        const b = nifti.data.subarray((k + from) * n, (k + from + 1) * n);
        expect(a.every((x, p) => x === b[p])).toBe(true);
      }
      const d = describeSeries(s);
      if (imported.role === 'T1ce') {
        expect(d.seriesDescription).toBe('T1 post-contrast');
        expect(d.contrastAgent).toMatch(/Gadolinium/);
      } else {
        expect(d.contrastAgent).toBe('');
      }
    }
  });

  it('describes a skull-on clinical case (TCGA) as what it is, not as a skull-stripped BraTS case', async () => {
    const name = 'TCGA_EZ_7264_20010816';
    const out = path.join(tempDir('import-lgg'), 'study');
    const result = await importNiftiCase(lggCase(name, tempDir('lgg')), out, { slices: { from: 10, to: 10 } });
    expect(dciodvfy(result.series[0].files[0]).errors).toEqual([]);
    const ds = (await readDicomFolder(out))[0].instances[0].dataset;
    expect(ds.StudyDescription).toBe(`${name} (imported from NIfTI)`);
    expect(ds.DerivationDescription).toContain(`(case ${name})`);
    expect(ds.DerivationDescription).not.toMatch(/BraTS|skull-stripped/);
  });

  it('refuses a folder without BraTS sequence files', async () => {
    await expect(importNiftiCase(tempDir('empty'), tempDir('out'))).rejects.toThrow(/no BraTS sequence files/);
  });
});
