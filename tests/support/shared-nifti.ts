/** Reading the shared data's `.nii.xz` volumes (NIfTI-1 compressed with xz, which Node cannot decompress itself). */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeNifti } from '../../main/io/nifti';
import type { Volume } from '../../main/volume/volume';
import { DATA } from './paths';

export function readNiftiXz(path: string): Promise<Volume> {
  const bytes = execFileSync('xz', ['-dc', path], { maxBuffer: 1 << 30 });
  return decodeNifti(new Uint8Array(bytes), path);
}

/**
 * A skull-on LGG patient (skull-on/lgg) as a BraTS-style case folder in `into` that the app and `halo segment
 * --case` open: its FLAIR, T1 and T1ce decompressed to .nii (Halo reads .nii and .nii.gz, not .xz).
 */
export function lggCase(name: string, into: string): string {
  const folder = join(into, name);
  mkdirSync(folder, { recursive: true });
  for (const s of ['flair', 't1', 't1ce']) {
    writeFileSync(join(folder, `${name}_${s}.nii`), execFileSync('xz', ['-dc', join(DATA, 'skull-on/lgg', name, `${name}_${s}.nii.xz`)], { maxBuffer: 1 << 28 }));
  }
  return folder;
}
