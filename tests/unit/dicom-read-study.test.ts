import { execFileSync } from 'node:child_process';
import { copyFileSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../main/errors';
import { describeSeries, readDicomFolder, scanDicomFolder, seriesToVolume } from '../../main/dicom/read-study';
import { writePart10 } from '../../main/dicom/dcmjs';
import { IMPLEMENTATION } from '../../main/dicom/iod';
import { newUid } from '../../main/dicom/uid';
import { voxelToWorld } from '../../main/volume/volume';
import { DATA, pydicomGeometry, tempDir } from '../support/dicom-tools';

const dist = (a: number[], b: number[]) => Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);

describe('seriesToVolume on real series', () => {
  // pd-ax-oblique: GE rounds positions, gaps 6.93-7.06 mm around 7.0; the grid is regularised within 0.1 mm.
  for (const [name, tol] of [['t1-sag-hfs', 1e-3], ['t1-sag-hfp', 1e-3], ['pd-ax-oblique', 0.1]] as const) {
    it(`${name}: geometry matches every slice's ImagePositionPatient (pydicom)`, async () => {
      const folder = path.join(DATA, 'dicom', name);
      const series = await readDicomFolder(folder);
      expect(series).toHaveLength(1);
      const vol = seriesToVolume(series[0]);
      const ref = pydicomGeometry(folder);
      expect(vol.geometry.dims[2]).toBe(ref.length);
      const g = vol.geometry;
      // direction = [row, column, normal]; spacing = [between columns, between rows, slice gap]
      const iop = ref[0].iop;
      for (let a = 0; a < 3; a++) {
        expect(g.direction[0][a]).toBeCloseTo(iop[a], 5);
        expect(g.direction[1][a]).toBeCloseTo(iop[3 + a], 5);
      }
      expect(g.spacing[0]).toBeCloseTo(ref[0].pixelSpacing[1], 6);
      expect(g.spacing[1]).toBeCloseTo(ref[0].pixelSpacing[0], 6);
      // every file's IPP is some k's position, in normal order
      const positions = ref.map((r) => r.ipp);
      for (let k = 0; k < g.dims[2]; k++) {
        const p = voxelToWorld(g, 0, 0, k);
        const best = Math.min(...positions.map((q) => dist(p, q)));
        expect(best).toBeLessThan(tol);
      }
      expect(vol.source.kind).toBe('dicom');
      if (vol.source.kind === 'dicom') {
        expect(vol.source.instances).toHaveLength(g.dims[2]);
        expect(vol.source.firstDataset.PixelData).toBeUndefined();
      }
    });
  }

  it('describes a series for role mapping', async () => {
    const [s] = await readDicomFolder(path.join(DATA, 'dicom', 't1-sag-hfs'));
    const d = describeSeries(s);
    expect(d.scanningSequence).toEqual(['GR']);
    expect(d.echoTime).toBeCloseTo(2.46);
    expect(d.seriesDescription).toBe('t1_fl2d_sag');
    expect(d.contrastAgent).toBe('');
  });
});

describe('bad input', () => {
  const src = path.join(DATA, 'dicom', 't1-sag-hfs');
  const files = readdirSync(src).sort();

  it('skips and counts non-DICOM files', async () => {
    const dir = tempDir('nondicom');
    copyFileSync(path.join(src, files[0]), path.join(dir, 'a.dcm'));
    writeFileSync(path.join(dir, 'README.txt'), 'not dicom');
    mkdirSync(path.join(dir, 'sub'));
    writeFileSync(path.join(dir, 'sub', '.DS_Store'), Buffer.alloc(10));
    const scan = await scanDicomFolder(dir);
    expect(scan.series).toHaveLength(1);
    expect(scan.skippedFiles).toHaveLength(2);
    // a single slice is a valid 2D volume, spacing[2] = SliceThickness
    const vol = seriesToVolume(scan.series[0]);
    expect(vol.geometry.dims).toEqual([256, 256, 1]);
    expect(vol.geometry.spacing[2]).toBe(4);
  });

  it('reads a CD/USB export: the DICOMDIR (made by DCMTK dcmmkdir) is skipped, the images it indexes are read', async () => {
    const dir = tempDir('dicomdir');
    mkdirSync(path.join(dir, 'S1'));
    // dcmmkdir wants ISO 9660 file names (8 characters, upper case), as on the media.
    files.forEach((f, n) => copyFileSync(path.join(src, f), path.join(dir, 'S1', `IM${String(n).padStart(6, '0')}`)));
    execFileSync('dcmmkdir', ['-q', '+r', '+I', '+id', dir, 'S1'], { cwd: dir, stdio: 'ignore' });
    const scan = await scanDicomFolder(dir);
    expect(scan.skippedFiles).toEqual([path.join(dir, 'DICOMDIR')]);
    expect(scan.series).toHaveLength(1);
    expect(seriesToVolume(scan.series[0]).geometry.dims[2]).toBe(files.length);
  });

  it('skips a truncated DICOM file and names it', async () => {
    const dir = tempDir('truncated');
    const bytes = readFileSync(path.join(src, files[0]));
    writeFileSync(path.join(dir, 'cut.dcm'), bytes.subarray(0, bytes.length - 5000));
    let scan = await scanDicomFolder(dir);
    expect(scan.series).toEqual([]);
    expect(scan.unreadableFiles.map((f) => f.path)).toEqual([path.join(dir, 'cut.dcm')]);
    expect(scan.unreadableFiles[0].reason).toMatch(/cut\.dcm ends 5000 bytes before the end of its pixel data: the file is truncated/);
    // cut inside the header: dcmjs itself fails
    writeFileSync(path.join(dir, 'cut.dcm'), bytes.subarray(0, 700));
    scan = await scanDicomFolder(dir);
    expect(scan.unreadableFiles[0].reason).toMatch(/cut\.dcm.*(cannot be parsed|no SeriesInstanceUID)/);
  });

  it('refuses a non-image series and a missing folder', async () => {
    const dir = tempDir('sr');
    const sr = writePart10(
      {
        SOPClassUID: '1.2.840.10008.5.1.4.1.1.88.11', // Basic Text SR
        SOPInstanceUID: newUid(),
        StudyInstanceUID: newUid(),
        SeriesInstanceUID: newUid(),
        Modality: 'SR',
      },
      IMPLEMENTATION,
    );
    writeFileSync(path.join(dir, 'sr.dcm'), sr);
    const [series] = await readDicomFolder(dir);
    expect(() => seriesToVolume(series)).toThrow(/no pixel data/);
    await expect(readDicomFolder(path.join(dir, 'nope'))).rejects.toThrow(InputError);
  });

  it('puts a stack with a missing slice on its full grid, the slice empty and named', async () => {
    const [whole] = await readDicomFolder(src);
    const complete = seriesToVolume(whole);
    const dir = tempDir('gap');
    for (const f of files.filter((_, n) => n !== 5)) copyFileSync(path.join(src, f), path.join(dir, f));
    const [series] = await readDicomFolder(dir);
    const vol = seriesToVolume(series);
    const gone = complete.source.kind === 'dicom' ? complete.source.instances.findIndex((i) => i!.path.endsWith(files[5])) : -1;
    expect(vol.geometry).toEqual(complete.geometry);
    expect(vol.gaps).toEqual([{ first: gone, last: gone }]);
    const plane = vol.geometry.dims[0] * vol.geometry.dims[1];
    expect(vol.data.subarray(gone * plane, (gone + 1) * plane).every((v) => v === 0)).toBe(true);
    expect(vol.data.subarray(0, gone * plane)).toEqual(complete.data.subarray(0, gone * plane));
    expect(vol.data.subarray((gone + 1) * plane)).toEqual(complete.data.subarray((gone + 1) * plane));
  });

  it('still refuses uneven spacing, naming the two slices', async () => {
    const [series] = await readDicomFolder(src);
    const sorted = [...series.instances].sort((a, b) => (a.dataset.ImagePositionPatient as number[])[0] - (b.dataset.ImagePositionPatient as number[])[0]);
    const moved = sorted[10].dataset.ImagePositionPatient as number[];
    sorted[10].dataset.ImagePositionPatient = [moved[0] + 2, moved[1], moved[2]]; // 4.8 mm spacing: 2 mm off
    // The moved slice is one of the two named (the first uneven step met, in slice order).
    expect(() => seriesToVolume(series)).toThrow(new RegExp(`${path.basename(sorted[10].path)}.* mm apart, not a whole number of the series' 4\\.800 mm spacing`));
  });
});

describe('seriesToVolume refuses headers that do not describe a real scan, with the reason', () => {
  /** The real t1-sag-hfs series with `change` applied to every slice's dataset (in memory). */
  async function edited(change: Record<string, unknown>) {
    const [series] = await readDicomFolder(path.join(DATA, 'dicom', 't1-sag-hfs'));
    for (const inst of series.instances) Object.assign(inst.dataset, change);
    return series;
  }
  const refusal = async (change: Record<string, unknown>) => {
    const series = await edited(change);
    let err: unknown;
    try {
      seriesToVolume(series);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    return (err as Error).message;
  };

  it('Rows = Columns = 65535 is refused before its memory is allocated', async () => {
    expect(await refusal({ Rows: 65535, Columns: 65535 })).toMatch(/describes 65535 x 65535 x 35 voxels .* more than the 1\.0 GiB Halo reads per volume/);
    // under the size limit, the pixel data's length is checked before the volume is allocated
    expect(await refusal({ Rows: 1024, Columns: 1024 })).toMatch(/has \d+ bytes of pixel data, but 1024x1024 pixels of BitsAllocated 16 need 2097152/);
  });

  it('a RescaleSlope that is not a number is not read as 1', async () => {
    expect(await refusal({ RescaleSlope: 'NaN' })).toMatch(/has RescaleSlope "NaN", not a finite number/);
  });

  it('ImageOrientationPatient with a zero direction, and PixelSpacing of 1e-9 mm, say so', async () => {
    expect(await refusal({ ImageOrientationPatient: [0, 0, 0, 0, 1, 0] })).toMatch(/ImageOrientationPatient 0\\0\\0\\0\\1\\0, whose row and column directions are not unit vectors/);
    expect(await refusal({ ImageOrientationPatient: ['NaN', 0, 0, 0, 1, 0] })).toMatch(/no valid ImageOrientationPatient/);
    // dcmjs reads a DS "NaN" (as dcmodify writes it) as null, which must not become 0
    expect(await refusal({ ImageOrientationPatient: [null, null, null, null, null, null] })).toMatch(/no valid ImageOrientationPatient/);
    expect(await refusal({ PixelSpacing: [1e-9, 1e-9] })).toMatch(/PixelSpacing 1e-9\\1e-9 mm, outside the 0\.01-100 mm of any real scan/);
  });
});
