/**
 * The app's own folders. Dev: relative to the project root; packaged: main/index.ts sets HALO_DEMO_DIR and
 * HALO_MODELS_DIR from process.resourcesPath before anything reads them.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

/** The bundled demo study (resources/demo). */
export function demoDir(): string {
  return process.env.HALO_DEMO_DIR ? resolve(process.env.HALO_DEMO_DIR) : join(projectRoot(), 'resources', 'demo');
}

/** Per-user data: retrieved studies and saved objects waiting to be sent. */
export function dataDir(): string {
  if (process.env.HALO_DATA_DIR) return resolve(process.env.HALO_DATA_DIR);
  return join(process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'halo');
}

export const retrievedDir = (): string => join(dataDir(), 'retrieved');
export const savedDir = (): string => join(dataDir(), 'saved');
export const outboxDir = (): string => join(dataDir(), 'outbox');
/** BraTS NIfTI cases opened in the app, as the DICOM studies Halo made of them (nifti-studies.ts). */
export const importedDir = (): string => join(dataDir(), 'imported');
