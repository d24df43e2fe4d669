/**
 * A BraTS NIfTI case folder opened in the app: the viewer reads DICOM, so the case is converted once into a DICOM
 * MR study in the app's data folder (import-nifti, exact geometry, labelled as converted) and that study is opened.
 * The same files opened again reuse it; changed files make a new one.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { importNiftiCase } from '../dicom/import-nifti';
import { findCaseFiles } from '../study/load-study';
import { importedDir } from './paths';
import { newId } from './studies';

/** The DICOM study to open for `folder`: a converted copy when it is a BraTS NIfTI case, else `folder` itself. */
export async function dicomFolderFor(folder: string): Promise<string> {
  if (!(await stat(folder).catch(() => undefined))?.isDirectory()) return folder; // openStudyFolder says what is wrong
  const files = Object.values(await findCaseFiles(folder));
  if (!files.length) return folder;
  const hash = createHash('sha256').update(resolve(folder));
  for (const f of files.sort()) {
    const s = await stat(f);
    hash.update(`\n${f}\t${s.size}\t${s.mtimeMs}`);
  }
  const out = join(importedDir(), hash.digest('hex').slice(0, 32));
  if (existsSync(out)) return out;
  // Converted into a partial folder renamed only when complete: a failed import leaves nothing to open.
  const partial = join(importedDir(), `.partial-${newId()}`);
  try {
    await importNiftiCase(folder, partial);
    await rename(partial, out);
  } finally {
    await rm(partial, { recursive: true, force: true });
  }
  return out;
}
