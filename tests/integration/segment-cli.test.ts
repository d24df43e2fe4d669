/**
 * `halo segment` end to end on a real BraTS case: every output file, on the input's own grid, consistent with
 * each other, and the unprocessed slices zero.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as nifti from 'nifti-reader-js';
import { BRAIN_EXTRACTED_COMMENT } from '../../main/dicom/derived';
import { BRAIN_EXTRACTION_VERSION, extractBrain } from '../../main/engine/brain-extraction';
import { readNifti } from '../../main/io/nifti';
import { halo } from '../support/cli';
import { dciodvfy } from '../support/dicom-tools';
import { CASE_27, DATA } from '../support/paths';

const out = mkdtempSync(join(tmpdir(), 'halo-seg-'));
const cache = mkdtempSync(join(tmpdir(), 'halo-cache-'));
const ARGS = ['segment', '--case', CASE_27, '--out', out, '--slices', '70:73', '--steps', '4', '--ensemble', '3', '--seed', '7', '--cache', cache, '--samples'];

function header(path: string) {
  let buf = readFileSync(path).buffer as ArrayBuffer;
  if (nifti.isCompressed(buf)) buf = nifti.decompress(buf) as ArrayBuffer;
  return nifti.readHeader(buf) as nifti.NIFTI1;
}

describe('halo segment --case', () => {
  let run: Awaited<ReturnType<typeof halo>>;
  beforeAll(async () => {
    run = await halo(ARGS);
  });

  it('exits 0 and writes every output', async () => {
    expect(run.stderr).not.toMatch(/internal error/);
    expect(run.code).toBe(0);
    for (const f of ['mean.nii.gz', 'variance.nii.gz', 'mask.nii.gz', 'samples.nii.gz', 'summary.json']) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    expect(run.stderr).toMatch(/on (CPU|CUDA|WebGPU)\b/);
    expect(run.stderr).toMatch(/halo: device: (--device auto requested|auto: )/);
  });

  it('writes on the input grid with the input affine', async () => {
    const input = header(join(CASE_27, 'BraTS-GLI-00027-000-t2f.nii.gz'));
    for (const f of ['mean.nii.gz', 'variance.nii.gz', 'mask.nii.gz']) {
      const h = header(join(out, f));
      expect(h.dims.slice(1, 4)).toEqual(input.dims.slice(1, 4));
      expect(h.affine).toEqual(input.affine);
      expect(h.qform_code).toBe(input.qform_code);
      expect(h.sform_code).toBe(input.sform_code);
    }
    const samples = header(join(out, 'samples.nii.gz'));
    expect(samples.dims.slice(0, 5)).toEqual([4, 240, 240, 155, 3]);
    expect(header(join(out, 'mask.nii.gz')).datatypeCode).toBe(2);
    expect(header(join(out, 'mean.nii.gz')).datatypeCode).toBe(16);
  });

  it('mean and variance are those of the members, mask = mean > 0.5, unprocessed slices are 0', async () => {
    const mean = (await readNifti(join(out, 'mean.nii.gz'))).data;
    const variance = (await readNifti(join(out, 'variance.nii.gz'))).data;
    const mask = (await readNifti(join(out, 'mask.nii.gz'))).data;
    let buf = readFileSync(join(out, 'samples.nii.gz')).buffer as ArrayBuffer;
    buf = nifti.decompress(buf) as ArrayBuffer;
    const h = nifti.readHeader(buf);
    const samples = new Float32Array(nifti.readImage(h, buf));
    const plane = 240 * 240;
    const n = mean.length;
    let worstMean = 0, worstVar = 0, maskErrors = 0, outside = 0, inRange = true;
    for (let p = 0; p < n; p++) {
      const k = Math.floor(p / plane);
      const m = [0, 1, 2].map((i) => samples[i * n + p]);
      if (m.some((v) => v < 0 || v > 1)) inRange = false;
      const mu = (m[0] + m[1] + m[2]) / 3;
      const v = m.reduce((a, x) => a + (x - mu) ** 2, 0) / 3;
      worstMean = Math.max(worstMean, Math.abs(mu - mean[p]));
      worstVar = Math.max(worstVar, Math.abs(v - variance[p]));
      if ((mean[p] > 0.5 ? 1 : 0) !== mask[p]) maskErrors++;
      if ((k < 70 || k >= 73) && (mean[p] !== 0 || variance[p] !== 0 || mask[p] !== 0 || m.some((x) => x !== 0))) outside++;
    }
    expect(inRange).toBe(true);
    expect(worstMean).toBeLessThan(1e-6);
    expect(worstVar).toBeLessThan(1e-6);
    expect(maskErrors).toBe(0);
    expect(outside).toBe(0);
    // Something was sampled inside the processed slices.
    const slab = mean.subarray(70 * plane, 73 * plane);
    expect(slab.some((v) => v > 0)).toBe(true);
  });

  it('summarises the run', async () => {
    const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(s.model.id).toBe('wt-4seq');
    expect(s).toMatchObject({ sampler: 'ddpm', steps: 4, ensemble: 3, seed: 7 });
    expect(['cpu', 'cuda', 'webgpu']).toContain(s.device.provider);
    expect(s.device.requested).toBe('auto');
    expect(s.device.reason).toMatch(/^auto: /);
    if (s.device.provider === 'cpu') expect(s.device.threads).toBeGreaterThanOrEqual(1);
    // where the time went, in seconds since the process started, in order; and the process's peak memory
    const t = s.timings;
    expect(0 < t.commandStart && t.commandStart <= t.studyAndModelOpen && t.studyAndModelOpen <= t.firstStep && t.firstStep <= t.samplingDone).toBe(true);
    expect(s.peakRssMiB).toBeGreaterThan(50);
    expect(s.warnings).toEqual([]);
    expect(s.slices.processed).toEqual([70, 71, 72]);
    expect(s.slices.requested).toEqual([70, 73]);
    expect(s.perSlice).toHaveLength(3);
    // The ETA as the run gave it at 10 % and 50 % of the sampling, with the time that really followed (the bench reports the error).
    expect(s.etaCheck.map((e: { atFraction: number }) => e.atFraction)).toEqual([0.1, 0.5]);
    for (const e of s.etaCheck) expect(e.predictedSeconds > 0 && e.actualSeconds > 0).toBe(true);
    for (const p of s.perSlice) {
      expect(p.tumourAreaMm2).toBeGreaterThanOrEqual(0);
      expect(p.meanVariance).toBeGreaterThanOrEqual(0);
      expect(p.seconds).toBeGreaterThan(0);
    }
  });

  it('reopening the study reuses the cache: same result, nothing resampled; members only with --samples', async () => {
    const out2 = mkdtempSync(join(tmpdir(), 'halo-seg2-'));
    const again = await halo([...ARGS.slice(0, 4), out2, ...ARGS.slice(5, -1)]);
    expect(again.code).toBe(0);
    expect(existsSync(join(out2, 'samples.nii.gz'))).toBe(false);
    expect(again.stdout).toMatch(/wrote mean.nii.gz, variance.nii.gz, mask.nii.gz, summary.json to/);
    const s = JSON.parse(readFileSync(join(out2, 'summary.json'), 'utf8'));
    expect(s.perSlice.every((p: { fromCache: boolean }) => p.fromCache)).toBe(true);
    expect(readFileSync(join(out2, 'mean.nii.gz'))).toEqual(readFileSync(join(out, 'mean.nii.gz')));
  });
});

describe('halo segment on studies that are not skull-stripped: the brain is extracted first', () => {
  it('says so on stderr, in the summary and in the DICOM objects, and samples the card\'s larger default (a scanner series with the skull)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'halo-sag-'));
    // No --ensemble: wt-flair-t1's card asks for 10 samples on a study whose brain Halo extracts (5 otherwise).
    const r = await halo(['segment', '--dicom', join(DATA, 'dicom', 't1-sag-hfs'), '--model', 'wt-flair-t1', '--role', 'FLAIR=3', '--role', 'T1=3',
      '--out', dir, '--slices', '17:18', '--steps', '2', '--no-cache']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/warning: brain extracted automatically: the study is not skull-stripped/);
    expect(r.stderr).toMatch(/ensemble 10, seed/);
    expect(r.stderr).toMatch(/warning: 10 samples, the model's default on a study with the skull \(with 5, its validation/);
    expect(JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')).brain).toMatch(/^brain extracted automatically/);
    for (const f of ['seg.dcm', 'seg-fractional.dcm', 'variance-pm.dcm']) {
      expect(readFileSync(join(dir, f)).toString('latin1'), f).toContain(BRAIN_EXTRACTED_COMMENT);
      expect(dciodvfy(join(dir, f)), f).toEqual({ errors: [], unexpectedWarnings: [] });
    }
    expect(readFileSync(join(dir, 'seg.dcm')).toString('latin1')).toContain(`diffusion ensemble of 10, brain extracted automatically (v${BRAIN_EXTRACTION_VERSION})`);
  });

  it('marks nothing outside the extracted brain (TCGA LGG patient with the skull, FLAIR + T1)', async () => {
    const name = 'TCGA_DU_7019_19940908';
    const dir = mkdtempSync(join(tmpdir(), 'halo-lgg-'));
    // The shared copies as stored: .nii.xz.
    const files = ['flair', 't1'].map((s) => join(DATA, 'skull-on/lgg', name, `${name}_${s}.nii.xz`));
    const out = join(dir, 'out');
    const r = await halo(['segment', '--flair', files[0], '--t1', files[1], '--model', 'wt-flair-t1', '--out', out,
      '--slices', '14:17', '--steps', '2', '--ensemble', '2', '--no-cache']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/brain extracted automatically/);
    const flair = await readNifti(files[0]);
    const brain = extractBrain(flair.data, flair.geometry);
    const mean = (await readNifti(join(out, 'mean.nii.gz'))).data;
    const variance = (await readNifti(join(out, 'variance.nii.gz'))).data;
    let outside = 0;
    let inside = 0;
    for (let p = 0; p < brain.length; p++) {
      if (brain[p]) inside += mean[p] > 0 ? 1 : 0;
      else if (mean[p] !== 0 || variance[p] !== 0) outside++;
    }
    expect(inside, 'the model ran inside the brain').toBeGreaterThan(0);
    expect(outside).toBe(0);
  });
});

describe('halo segment over many slices: screening', () => {
  it('samples member 1 of every slice, the rest only where it shows tumour; skipped slices listed and 0; --no-screen samples all', async () => {
    const screened = mkdtempSync(join(tmpdir(), 'halo-screen-'));
    const all = mkdtempSync(join(tmpdir(), 'halo-noscreen-'));
    const common = ['segment', '--case', CASE_27, '--slices', '20:28', '--steps', '2', '--ensemble', '2', '--seed', '3', '--no-cache'];
    const [a, b] = await Promise.all([halo([...common, '--out', screened]), halo([...common, '--out', all, '--no-screen'])]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const sa = JSON.parse(readFileSync(join(screened, 'summary.json'), 'utf8'));
    const sb = JSON.parse(readFileSync(join(all, 'summary.json'), 'utf8'));
    const brain = sb.slices.processed as number[];
    expect(sb.slices.screening).toBeNull();
    expect(brain.length).toBeGreaterThanOrEqual(8);
    const sc = sa.slices.screening;
    expect(a.stderr).toMatch(new RegExp(`screening .*tumour in ${sc.positive.length} of ${brain.length} slices.*${sc.skipped.length} skipped`));
    // every slice with brain is either sampled in full or listed as skipped, never both, never neither
    expect([...sa.slices.processed, ...sc.skipped].sort((x: number, y: number) => x - y)).toEqual(brain);
    for (const k of sc.positive) expect(sa.slices.processed).toContain(k);
    // the slices sampled in both runs are identical (member 1 of the screening is the ensemble's own)
    const ma = (await readNifti(join(screened, 'mean.nii.gz'))).data;
    const mb = (await readNifti(join(all, 'mean.nii.gz'))).data;
    const plane = 240 * 240;
    let differing = 0;
    for (const k of sa.slices.processed) for (let p = k * plane; p < (k + 1) * plane; p++) if (ma[p] !== mb[p]) differing++;
    expect(differing).toBe(0);
    for (const k of sc.skipped) expect(ma.subarray(k * plane, (k + 1) * plane).every((v) => v === 0)).toBe(true);
  }, 300_000);
});
