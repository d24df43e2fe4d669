import { join, resolve } from 'node:path';

/** The project root and the shared real data beside it (../shared/data, read-only). */
export const ROOT = resolve(__dirname, '../..');
export const DATA = resolve(ROOT, '..', 'shared', 'data');
export const CASE_27 = join(DATA, 'brats', 'BraTS-GLI-00027-000');
export const HALO_BIN = join(ROOT, 'bin', 'halo.mjs');
