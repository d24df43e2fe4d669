/** Reading the shared data's `.nii.xz` volumes (NIfTI-1 compressed with xz, which Node cannot decompress itself). */
import { execFileSync } from 'node:child_process';
import { decodeNifti } from '../../main/io/nifti';
import type { Volume } from '../../main/volume/volume';

export function readNiftiXz(path: string): Promise<Volume> {
  const bytes = execFileSync('xz', ['-dc', path], { maxBuffer: 1 << 30 });
  return decodeNifti(new Uint8Array(bytes), path);
}
