/** A skull-on LGG patient (skull-on/lgg) as a BraTS-style case folder of its own, with its FLAIR, T1 and T1ce. */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DATA } from './paths';

/** Copies the patient's stored .nii.xz files (Halo reads them as they are) into `into`/<name>; returns that folder. */
export function lggCase(name: string, into: string): string {
  const folder = join(into, name);
  mkdirSync(folder, { recursive: true });
  for (const s of ['flair', 't1', 't1ce']) copyFileSync(join(DATA, 'skull-on/lgg', name, `${name}_${s}.nii.xz`), join(folder, `${name}_${s}.nii.xz`));
  return folder;
}
