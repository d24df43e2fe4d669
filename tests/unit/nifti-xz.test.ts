/**
 * .nii.xz (the shared skull-on and BraTS training volumes, as public data sets ship them) read by Halo's own
 * reader: the same volume as the decompressed .nii, the header read without decompressing the rest, and a
 * damaged or lying file refused with a sentence that names it.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../main/errors';
import { decodeNifti, readNifti, readNiftiLayout } from '../../main/io/nifti';
import { isXz } from '../../main/io/xz';
import { DATA } from '../support/paths';

const FLAIR = join(DATA, 'skull-on', 'lgg', 'TCGA_DU_6399_19830416', 'TCGA_DU_6399_19830416_flair.nii.xz');
/** xz-utils' own decompression: the reference. */
const plain = (path: string) => new Uint8Array(execFileSync('xz', ['-dc', path], { maxBuffer: 1 << 30 }));
const xz = (bytes: Uint8Array) => new Uint8Array(execFileSync('xz', ['-c', '--check=crc64'], { input: bytes, maxBuffer: 1 << 30 }));

async function refusal(bytes: Uint8Array): Promise<string> {
  const err = await decodeNifti(bytes, '/in/flair.nii.xz').catch((e: unknown) => e);
  expect(err).toBeInstanceOf(InputError);
  return (err as Error).message;
}

describe('.nii.xz', () => {
  it('reads a real skull-on LGG FLAIR exactly as the decompressed .nii', async () => {
    const file = readFileSync(FLAIR);
    expect(isXz(file)).toBe(true);
    const got = await readNifti(FLAIR);
    const want = await decodeNifti(plain(FLAIR), FLAIR);
    expect(got.geometry).toEqual(want.geometry);
    expect(got.geometry.dims).toEqual([128, 128, 53]);
    expect(got.geometry.spacing).toEqual([1.875, 1.875, 5]);
    expect(got.data.length).toBe(want.data.length);
    expect(got.data.every((v, p) => v === want.data[p])).toBe(true);
    expect(got.data.some((v) => v > 100)).toBe(true); // real intensities, 8-bit as published
  });

  it('reads the header from the start of the stream alone', async () => {
    const file = readFileSync(FLAIR);
    // The first 4 KiB of the compressed file hold the header and then some: enough for the layout, not the volume.
    const layout = await readNiftiLayout(file.subarray(0, 4096), FLAIR);
    expect(layout.dims).toEqual([128, 128, 53]);
    expect(layout.bytes).toBe(352 + 128 * 128 * 53);
  });

  it('refuses a truncated file, naming it', async () => {
    const file = readFileSync(FLAIR);
    const message = await refusal(file.subarray(0, Math.floor(file.length / 2)));
    expect(message).toMatch(/\/in\/flair\.nii\.xz is not a readable xz file \(truncated or corrupt\)/);
  });

  it('stops a file that inflates past its header (a decompression bomb) at what the header promises', async () => {
    const nii = plain(FLAIR);
    // The same header, followed by 8 MiB more than its 128 x 128 x 53 voxels (the reader allows 1 MiB of padding).
    const bomb = new Uint8Array(nii.length + (8 << 20));
    bomb.set(nii);
    const message = await refusal(xz(bomb));
    expect(message).toMatch(/inflates to more than the 868704 bytes its header describes \(128 x 128 x 53 voxels\)/);
  });

  it('refuses an xz file that holds no NIfTI', async () => {
    const message = await refusal(xz(new TextEncoder().encode('not an image\n'.repeat(100))));
    expect(message).toMatch(/is not a NIfTI-1 file .*\.nii, \.nii\.gz and \.nii\.xz/);
  });
});
