/**
 * NIfTI files no scanner writes but a damaged disk, a bad converter or an attacker can: each must be refused with
 * a sentence that names the file and the problem, never read as a volume (NaN → "no tumour"), never crash, and
 * never allowed to inflate past what its own header describes.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../main/errors';
import { MAX_VOLUME_VOXELS } from '../../main/io/input-limits';
import { decodeNifti, writeNifti } from '../../main/io/nifti';
import type { Geometry } from '../../main/volume/volume';
import { CASE_27 } from '../support/paths';
import { tempDir } from '../support/dicom-tools';

const GRID: Geometry = {
  dims: [32, 32, 8],
  spacing: [1, 1, 2],
  origin: [0, 0, 0],
  direction: [
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
  ],
};

/** A float32 .nii (uncompressed bytes) written by Halo's own writer, then edited by `edit`. */
async function nifti(data: Float32Array, edit: (h: DataView) => void = () => undefined): Promise<Buffer> {
  const file = `${tempDir('nifti-hostile')}/v.nii.gz`;
  await writeNifti(file, GRID, data, { type: 'float32' });
  const raw = gunzipSync(readFileSync(file));
  edit(new DataView(raw.buffer, raw.byteOffset, 352));
  return raw;
}

const ramp = () => Float32Array.from({ length: 32 * 32 * 8 }, (_, v) => v % 97);

async function refusal(bytes: Uint8Array): Promise<string> {
  const err = await decodeNifti(bytes, '/in/flair.nii.gz').catch((e: unknown) => e);
  expect(err).toBeInstanceOf(InputError);
  return (err as Error).message;
}

describe('decodeNifti refuses hostile NIfTI', () => {
  it('reads the well-formed control', async () => {
    const v = await decodeNifti(gzipSync(await nifti(ramp())), 'ok.nii.gz');
    expect(v.geometry.dims).toEqual([32, 32, 8]);
    expect(v.data[96]).toBe(96);
  });

  it('an all-NaN volume and one voxel in seven NaN or infinite', async () => {
    expect(await refusal(await nifti(new Float32Array(32 * 32 * 8).fill(NaN)))).toMatch(
      /\/in\/flair\.nii\.gz holds 8192 NaN or infinite voxel\(s\) of 8192 \(the first at voxel 0, 0, 0\)/,
    );
    const some = ramp().map((x, v) => (v % 7 === 3 ? (v % 2 ? NaN : Infinity) : x));
    expect(await refusal(gzipSync(await nifti(some)))).toMatch(/holds 1170 NaN or infinite voxel\(s\) of 8192 \(the first at voxel 3, 0, 0\)/);
  });

  it('a decompression bomb: a small header followed by 256 MB of zeros', async () => {
    // gzip members concatenate: the first holds a 32x32x8 volume, the others 16 MiB of zeros each (16 KiB packed).
    const zeros = gzipSync(Buffer.alloc(16 << 20), { level: 9 });
    const bomb = Buffer.concat([gzipSync(await nifti(ramp())), ...Array.from({ length: 16 }, () => zeros)]);
    expect(bomb.length).toBeLessThan(1 << 20);
    expect(await refusal(bomb)).toMatch(/inflates to more than the 33120 bytes its header describes \(32 x 32 x 8 voxels\)/);
  });

  it('a header that claims more voxels than any volume Halo reads', async () => {
    const huge = await nifti(ramp(), (h) => [42, 44, 46].forEach((at) => h.setInt16(at, 32767, true)));
    expect(32767 ** 3).toBeGreaterThan(MAX_VOLUME_VOXELS);
    expect(await refusal(gzipSync(huge))).toMatch(/describes 32767 x 32767 x 32767 voxels .* more than the 1\.0 GiB Halo reads per volume/);
  });

  it('a negative or zero dimension', async () => {
    expect(await refusal(await nifti(ramp(), (h) => h.setInt16(44, -5, true)))).toMatch(/damaged header: dim = \[3, 32, -5, 8/);
    expect(await refusal(await nifti(ramp(), (h) => h.setInt16(46, 0, true)))).toMatch(/damaged header: dim = \[3, 32, 32, 0/);
  });

  it('a zero voxel size or a singular sform', async () => {
    // sform row r, column c is at 280 + 16r + 4c: zero the third column (the slice axis has no length) ...
    const flat = await nifti(ramp(), (h) => [0, 1, 2].forEach((r) => h.setFloat32(280 + 16 * r + 8, 0, true)));
    expect(await refusal(flat)).toMatch(/no usable voxel-to-patient transform \(voxel size 1 x 1 x 0 mm/);
    // ... or make two columns the same direction (a singular matrix with non-zero voxel sizes).
    const singular = await nifti(ramp(), (h) => [0, 1, 2].forEach((r) => h.setFloat32(280 + 16 * r + 4, h.getFloat32(280 + 16 * r, true), true)));
    expect(await refusal(singular)).toMatch(/degenerate: the sform\/qform is singular/);
  });

  it('still reads a real BraTS volume whole', async () => {
    const v = await decodeNifti(readFileSync(`${CASE_27}/BraTS-GLI-00027-000-t2f.nii.gz`), 't2f');
    expect(v.geometry.dims).toEqual([240, 240, 155]);
  });
});
