/**
 * Every bad input gets exit code 2 and a message that says what is wrong and where, with no stack trace and
 * nothing written to the output folder.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { readNifti, writeNifti } from '../../main/io/nifti';
import { halo } from '../support/cli';
import { CASE_27, DATA } from '../support/paths';

const tmp = (p: string) => mkdtempSync(join(tmpdir(), `halo-bad-${p}-`));
const file = (role: string) => join(CASE_27, `BraTS-GLI-00027-000-${role}.nii.gz`);

async function expectInputError(args: string[], message: RegExp) {
  const out = tmp('out');
  const r = await halo(['segment', ...args, '--out', out, '--no-cache', '--no-progress']);
  expect(r.stderr).toMatch(message);
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr).not.toMatch(/^\s+at /m); // no stack trace
  expect(readdirSync(out)).toEqual([]); // nothing half-written
  return r.stderr;
}

/** A case folder with some of the 2023 files linked in, others replaced. */
function caseWith(files: Record<string, string | null>): string {
  const dir = tmp('case');
  for (const role of ['t1n', 't1c', 't2w', 't2f']) {
    const src = role in files ? files[role] : file(role);
    if (src) symlinkSync(src, join(dir, `BraTS-X-${role}.nii.gz`));
  }
  return dir;
}

function dicomFolder(...series: string[]): string {
  const dir = tmp('dicom');
  for (const s of series) {
    mkdirSync(join(dir, s));
    for (const f of readdirSync(join(DATA, 'dicom', s))) copyFileSync(join(DATA, 'dicom', s, f), join(dir, s, f));
  }
  return dir;
}

describe('halo segment refuses bad input clearly', () => {
  it('a missing sequence', async () => {
    const err = await expectInputError(['--case', caseWith({ t1c: null })], /Missing T1ce/);
    expect(err).toMatch(/t1c/);
  });

  it('a truncated .nii.gz', async () => {
    const bad = join(tmp('trunc'), 'flair.nii.gz');
    const bytes = readFileSync(file('t2f'));
    writeFileSync(bad, bytes.subarray(0, bytes.length / 2));
    await expectInputError(['--case', caseWith({ t2f: bad })], /t2f\.nii\.gz.*(truncated|corrupt)/);
  });

  it('a truncated .nii', async () => {
    const bad = join(tmp('trunc'), 'BraTS-X-t2f.nii');
    const raw = gunzipSync(readFileSync(file('t2f')));
    writeFileSync(bad, raw.subarray(0, raw.length - 1000));
    const dir = caseWith({ t2f: null });
    symlinkSync(bad, join(dir, 'BraTS-X-t2f.nii'));
    await expectInputError(['--case', dir], /truncated/);
  });

  it('a file that is not NIfTI at all', async () => {
    const bad = join(tmp('txt'), 'notes.nii');
    writeFileSync(bad, 'this is a text file, not an image\n'.repeat(20));
    await expectInputError(['--model', 'wt-flair-t1', '--flair', bad, '--t1', file('t1n')], /not a NIfTI-1 file/);
  });

  it('an all-zero volume', async () => {
    const v = await readNifti(file('t2w'));
    const zero = join(tmp('zero'), 'BraTS-X-t2w.nii.gz');
    await writeNifti(zero, v.geometry, new Float32Array(v.data.length), { type: 'float32', template: v.source.kind === 'nifti' ? v.source.header : undefined });
    await expectInputError(['--case', caseWith({ t2w: zero })], /every voxel is 0/);
  });

  it('an all-NaN FLAIR, which would read as "no tumour"', async () => {
    const v = await readNifti(file('t2f'));
    const nan = join(tmp('nan'), 'BraTS-X-t2f.nii.gz');
    await writeNifti(nan, v.geometry, new Float32Array(v.data.length).fill(NaN), { type: 'float32', template: v.source.kind === 'nifti' ? v.source.header : undefined });
    await expectInputError(['--case', caseWith({ t2f: nan })], /BraTS-X-t2f\.nii\.gz holds 8928000 NaN or infinite voxel\(s\) of 8928000/);
  });

  it('inputs that together would not fit in memory, refused from their headers before decompression', async () => {
    // Four headers that each claim 1024 x 1024 x 200 float32 voxels (0.8 GiB, under the per-volume limit), and no data.
    const header = gunzipSync(readFileSync(file('t2f'))).subarray(0, 352);
    const h = new DataView(header.buffer, header.byteOffset, 352);
    [1024, 1024, 200].forEach((d, i) => h.setInt16(42 + 2 * i, d, true));
    h.setInt16(70, 16, true); // float32
    h.setInt16(72, 32, true);
    const dir = tmp('huge');
    for (const role of ['t1n', 't1c', 't2w', 't2f']) writeFileSync(join(dir, `BraTS-X-${role}.nii`), header);
    await expectInputError(['--case', dir], /The inputs together hold 3\.1 GiB of voxels .* more than the 2\.0 GiB Halo reads for one study/);
  });

  it('a 2D slice mixed with 3D volumes', async () => {
    const slice = join(DATA, 'brats', 'slices-pt001', 'brats_train_001_t1_080_w.nii.gz');
    await expectInputError(['--model', 'wt-flair-t1', '--flair', file('t2f'), '--t1', slice], /single 2D slice.*3D volume|3D volume.*single 2D slice/s);
  });

  it('different grids and no shared frame of reference', async () => {
    const v = await readNifti(file('t1n'));
    const shifted = join(tmp('shift'), 't1.nii.gz');
    await writeNifti(shifted, { ...v.geometry, origin: [v.geometry.origin[0] + 3, v.geometry.origin[1], v.geometry.origin[2]] }, v.data, { type: 'float32' });
    await expectInputError(['--model', 'wt-flair-t1', '--flair', file('t2f'), '--t1', shifted], /different grids.*frame of reference/s);
  });

  it('series from different frames of reference', async () => {
    // The same patient scanned supine and prone: the prone series is put into the supine series' study, as when a
    // patient is repositioned within one exam (a new frame of reference).
    const dir = dicomFolder('t1-sag-hfs', 't1-sag-hfp');
    const study = '1.3.12.2.1107.5.2.43.67060.30000022040717195958300000010';
    for (const f of readdirSync(join(dir, 't1-sag-hfp'))) {
      execFileSync('dcmodify', ['-nb', '-m', `StudyInstanceUID=${study}`, join(dir, 't1-sag-hfp', f)], { stdio: 'ignore' });
    }
    await expectInputError(['--dicom', dir, '--model', 'wt-flair-t1', '--role', 'FLAIR=3', '--role', 'T1=2'], /different frames of reference/);
  }, 60_000);

  it('series of different patients, in one study and frame of reference', async () => {
    // A second copy of the T1 series (new series and instance UIDs) relabelled as another patient: what a mixed-up
    // export or a bad merge produces. The FLAIR's patient must not be given the other patient's images.
    const dir = dicomFolder('t1-sag-hfs');
    mkdirSync(join(dir, 'other'));
    const files = readdirSync(join(dir, 't1-sag-hfs')).map((f) => {
      copyFileSync(join(dir, 't1-sag-hfs', f), join(dir, 'other', f));
      return join(dir, 'other', f);
    });
    const edits = ['SeriesInstanceUID=1.2.826.0.1.3680043.8.498.21.2', 'SeriesNumber=77', 'PatientID=OTHER', 'PatientName=OTHER^PATIENT'];
    execFileSync('dcmodify', ['-nb', '-gin', ...edits.flatMap((e) => ['-m', e]), ...files], { stdio: 'ignore' });
    const err = await expectInputError(['--dicom', dir, '--model', 'wt-flair-t1', '--role', 'FLAIR=3', '--role', 'T1=77'], /not of one patient/);
    expect(err).toMatch(/the T1 series ".*" is of PatientID "OTHER", PatientName "OTHER\^PATIENT"/);
    expect(err).toMatch(/--allow-mixed-patients/);
    // The user's explicit override lets it through (to the next check: nothing else is wrong, so it runs).
    const out = tmp('mixed-ok');
    const ok = await halo(['segment', '--dicom', dir, '--model', 'wt-flair-t1', '--role', 'FLAIR=3', '--role', 'T1=77', '--allow-mixed-patients', '--slices', '10:11', '--ensemble', '1', '--steps', '2', '--out', out, '--no-cache', '--no-progress']);
    expect(ok.code, ok.stderr).toBe(0);
  }, 120_000);

  it('series of different studies', async () => {
    const dir = dicomFolder('t1-sag-hfs', 'pd-ax-oblique');
    await expectInputError(['--dicom', dir, '--model', 'wt-flair-t1', '--role', 'FLAIR=2', '--role', 'T1=3'], /2 different studies/);
  }, 60_000);

  it('a non-image DICOM object', async () => {
    const dir = dicomFolder('pd-ax-oblique');
    for (const f of readdirSync(join(dir, 'pd-ax-oblique'))) execFileSync('dcmodify', ['-nb', '-ea', '(7fe0,0010)', join(dir, 'pd-ax-oblique', f)], { stdio: 'ignore' });
    await expectInputError(['--dicom', dir, '--model', 'wt-flair-t1', '--role', 'FLAIR=2', '--role', 'T1=2'], /no pixel data/);
  }, 60_000);

  it('a truncated DICOM file: skipped and named, a range over its slice refused', async () => {
    const dir = dicomFolder('pd-ax-oblique');
    const f = join(dir, 'pd-ax-oblique', readdirSync(join(dir, 'pd-ax-oblique'))[3]);
    writeFileSync(f, readFileSync(f).subarray(0, 2000));
    const file = f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    await expectInputError(
      ['--dicom', dir, '--model', 'wt-flair-t1', '--role', 'FLAIR=2', '--role', 'T1=2', '--slices', '0:10'],
      new RegExp(`skipped a file that cannot be read: ${file} [^]*--slices 0:10 include missing images`),
    );
  }, 60_000);

  it('--slices outside the volume, or malformed', async () => {
    await expectInputError(['--case', CASE_27, '--slices', '150:160'], /--slices 150:160 is outside the volume: it has 155/);
    await expectInputError(['--case', CASE_27, '--slices', '70-74'], /--slices must look like A:B/);
  });

  it('an unknown model id', async () => {
    await expectInputError(['--case', CASE_27, '--model', 'nope'], /Unknown model "nope".*wt-4seq/s);
  });

  it('an output folder that cannot be written', async () => {
    const r = await halo(['segment', '--case', CASE_27, '--out', '/dev/null/out', '--no-cache']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Output folder \/dev\/null\/out is not writable/);
  });

  it('no input, or two kinds of input', async () => {
    await expectInputError([], /Give exactly one input/);
    await expectInputError(['--case', CASE_27, '--dicom', CASE_27], /Give exactly one input.*--case and --dicom/);
  });
});
