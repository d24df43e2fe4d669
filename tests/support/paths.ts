import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project root and the shared real data beside it (../shared/data, read-only). */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
export const DATA = resolve(ROOT, '..', 'shared', 'data');
export const CASE_27 = join(DATA, 'brats', 'BraTS-GLI-00027-000');
export const T1_SAG = join(DATA, 'dicom', 't1-sag-hfs');
export const HALO_BIN = join(ROOT, 'bin', 'halo.mjs');
