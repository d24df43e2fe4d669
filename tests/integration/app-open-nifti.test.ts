/**
 * A BraTS NIfTI case folder opened in the app (issue 22, item 9): converted once into a DICOM study in the app's
 * data folder and opened like any study, every sequence in its role on the NIfTI's grid; opened again, the same
 * conversion is reused. Through the real handlers, on a real BraTS case.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AppServices, type Host } from '../../main/app/services';
import { DATA } from '../support/paths';

const data = mkdtempSync(join(tmpdir(), 'halo-app-nifti-'));
process.env.HALO_DATA_DIR = data;
afterAll(() => rmSync(data, { recursive: true, force: true }));

describe('opening a BraTS NIfTI folder in the app', () => {
  it('shows it as a DICOM study with every sequence in its role, and reuses the conversion', async () => {
    const host: Host = { mode: 'bridge', emit: () => {}, allowedFolders: () => [], chooseFolder: async (_purpose, given) => given ?? null };
    const svc = new AppServices(host, { cacheDir: null });
    const folder = join(DATA, 'brats', 'BraTS-GLI-00027-000');
    try {
      const view = (await svc.openFolder(folder))!;
      expect(view.problems).toEqual([]);
      expect(view.reference!.dims).toEqual([240, 240, 155]);
      const described = (role: string) => view.series.find((s) => s.seriesInstanceUID === view.roles[role as 'FLAIR'])?.description;
      expect(['FLAIR', 'T1', 'T1ce', 'T2'].map(described).every(Boolean)).toBe(true);
      expect(new Set(Object.values(view.roles)).size).toBe(4);
      const imported = readdirSync(join(data, 'imported'));
      expect(imported).toHaveLength(1);

      const again = (await svc.openFolder(folder))!;
      expect(again.roles).toEqual(view.roles); // the same DICOM study, not a new conversion
      expect(readdirSync(join(data, 'imported'))).toEqual(imported);
    } finally {
      await svc.dispose();
    }
  }, 300_000);
});
