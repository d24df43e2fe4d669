/**
 * The DICOM path end to end, as the "done when" says: a BraTS case imported as a DICOM MR study
 * (`halo import-nifti`), segmented (`halo segment --dicom`), the SEG, fractional SEG and Parametric Map valid
 * by dciodvfy and equal to the NIfTI results when read back with pydicom, and sent into a real Orthanc by both
 * STOW-RS and C-STORE (`halo send`, confirmed and read back).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePart10 } from '../../main/dicom/dcmjs';
import { readNifti } from '../../main/io/nifti';
import { halo } from '../support/cli';
import { dciodvfy, readWithPydicom } from '../support/dicom-tools';
import { TestOrthanc } from '../support/orthanc';
import { DATA } from '../support/paths';

const tmp = (p: string) => mkdtempSync(join(tmpdir(), `halo-dcm-${p}-`));
const study = tmp('study');
const out = tmp('out');
const outOmit = tmp('out-omit');
const cache = tmp('cache');
const SLICES = [70, 71, 72];
const OUTPUTS = ['seg.dcm', 'seg-fractional.dcm', 'variance-pm.dcm'];

describe('DICOM in, DICOM out, into the PACS', () => {
  const orthanc = new TestOrthanc();

  beforeAll(async () => {
    const imp = await halo(['import-nifti', '--case', join(DATA, 'brats', 'BraTS-GLI-00028-000'), '--out', study]);
    expect(imp.code, imp.stderr).toBe(0);
    const seg = await halo(['segment', '--dicom', study, '--out', out, '--slices', '70:73', '--steps', '4', '--ensemble', '3', '--cache', cache, '--no-progress']);
    expect(seg.code, seg.stderr).toBe(0);
    // The same run again (from the cache), leaving out empty SEG frames.
    const omit = await halo(['segment', '--dicom', study, '--out', outOmit, '--slices', '70:73', '--steps', '4', '--ensemble', '3', '--cache', cache, '--no-progress', '--omit-empty-frames']);
    expect(omit.code, omit.stderr).toBe(0);
    await orthanc.start();
  }, 300_000);

  afterAll(async () => {
    await orthanc.stop();
  });

  it('writes SEG, fractional SEG and Parametric Map that dciodvfy accepts without errors', () => {
    for (const f of OUTPUTS) {
      const v = dciodvfy(join(out, f));
      expect(v.errors, f).toEqual([]);
      expect(v.unexpectedWarnings, f).toEqual([]);
    }
  });

  it('the DICOM objects hold exactly the NIfTI results, slice by slice (read back with pydicom)', async () => {
    const mask = (await readNifti(join(out, 'mask.nii.gz'))).data;
    const mean = (await readNifti(join(out, 'mean.nii.gz'))).data;
    const variance = (await readNifti(join(out, 'variance.nii.gz'))).data;
    const [seg, frac, pm] = readWithPydicom(OUTPUTS.map((f) => join(out, f)));
    const plane = seg.rows * seg.columns;
    expect(plane).toBe(240 * 240);
    // A partial run: every object holds frames for the processed slices only, and all three agree.
    expect(seg.frames).toHaveLength(SLICES.length);
    expect(frac.frames.map((f) => f.sourceUID)).toEqual(seg.frames.map((f) => f.sourceUID));
    expect(pm.frames.map((f) => f.sourceUID)).toEqual(seg.frames.map((f) => f.sourceUID));
    const segPixels = Buffer.from(seg.pixels, 'base64');
    const fracPixels = Buffer.from(frac.pixels, 'base64');
    const pmBytes = Buffer.from(pm.pixels, 'base64');
    const pmPixels = new Float32Array(pmBytes.buffer, pmBytes.byteOffset, pmBytes.byteLength / 4);
    let maskDiff = 0, fracDiff = 0, pmDiff = 0, tumour = 0;
    SLICES.forEach((k, n) => {
      for (let p = 0; p < plane; p++) {
        if (segPixels[n * plane + p] !== mask[k * plane + p]) maskDiff++;
        if (Math.abs(fracPixels[n * plane + p] - Math.round(mean[k * plane + p] * 255)) > 0) fracDiff++;
        if (pmPixels[n * plane + p] !== variance[k * plane + p]) pmDiff++;
        tumour += mask[k * plane + p];
      }
    });
    for (const f of OUTPUTS) {
      const d = parsePart10(new Uint8Array(readFileSync(join(out, f)))).dataset;
      expect(d.ImageComments, f).toMatch(/^PARTIAL RESULT: computed on 3 of 155 slices .*: 71-73\. /);
    }
    expect(maskDiff).toBe(0);
    expect(fracDiff).toBe(0);
    expect(pmDiff).toBe(0);
    expect(tumour).toBeGreaterThan(0);
  });

  it('--omit-empty-frames leaves out the SEG frames without tumour, and still lists every processed slice', async () => {
    const mask = (await readNifti(join(out, 'mask.nii.gz'))).data;
    const plane = 240 * 240;
    const withTumour = SLICES.filter((k) => mask.subarray(k * plane, (k + 1) * plane).some((v) => v > 0));
    const [seg, , pm] = readWithPydicom(OUTPUTS.map((f) => join(outOmit, f)));
    const [full] = readWithPydicom([join(out, 'seg.dcm')]);
    const uidOf = (k: number) => full.frames[SLICES.indexOf(k)].sourceUID;
    expect(seg.frames.map((f) => f.sourceUID)).toEqual(withTumour.length ? withTumour.map(uidOf) : [uidOf(SLICES[0])]);
    expect(pm.frames).toHaveLength(SLICES.length);
    for (const f of OUTPUTS) {
      const v = dciodvfy(join(outOmit, f));
      expect(v.errors, f).toEqual([]);
      const d = parsePart10(new Uint8Array(readFileSync(join(outOmit, f)))).dataset;
      expect(d.ImageComments, f).toMatch(/: 71-73\. /);
    }
  });

  it('the SEG frames sit on the FLAIR slices they were derived from', () => {
    const [seg] = readWithPydicom([join(out, 'seg.dcm')]);
    const flair = readFileSync(join(out, 'summary.json'), 'utf8');
    expect(JSON.parse(flair).input.kind).toBe('dicom');
    // Consecutive processed slices: frames 1 mm apart along the normal, each on its own FLAIR slice.
    const z = seg.frames.map((f) => f.position[2]);
    for (let k = 1; k < z.length; k++) expect(Math.abs(Math.abs(z[k] - z[k - 1]) - 1)).toBeLessThan(1e-3);
    expect(new Set(seg.frames.map((f) => f.sourceUID)).size).toBe(SLICES.length);
  });

  for (const via of ['STOW-RS', 'C-STORE'] as const) {
    it(`halo send puts them into Orthanc by ${via} and verifies them`, async () => {
      const to = via === 'STOW-RS' ? orthanc.dicomWebUrl : orthanc.dimseUrl;
      const r = await halo(['send', ...OUTPUTS.map((f) => join(out, f)), '--to', to, '--calling-aet', orthanc.clientAet, '--outbox', tmp('outbox'), '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr.match(/^verified/gm)).toHaveLength(3);
    });
  }

  it('halo pacs find and get bring the study with our objects back from Orthanc (QIDO + WADO-RS, C-FIND + C-GET)', async () => {
    const { readdirSync } = await import('node:fs');
    for (const from of [orthanc.dicomWebUrl, orthanc.dimseUrl]) {
      const find = await halo(['pacs', 'find', '--patient-id', 'BraTS-GLI-00028-000', '--from', from, '--calling-aet', orthanc.clientAet, '--json']);
      expect(find.code, find.stderr).toBe(0);
      const studies = JSON.parse(find.stdout);
      expect(studies).toHaveLength(1);
      const uid = studies[0].studyInstanceUID;
      const dest = tmp('get');
      // Only the derived series are in this Orthanc (the MR images were never sent): 3 instances come back.
      const get = await halo(['pacs', 'get', uid, '--from', from, '--calling-aet', orthanc.clientAet, '--out', dest]);
      expect(get.code, get.stderr).toBe(0);
      const files = readdirSync(dest, { recursive: true }).filter((f) => String(f).endsWith('.dcm'));
      expect(files).toHaveLength(3);
    }
  });
});
