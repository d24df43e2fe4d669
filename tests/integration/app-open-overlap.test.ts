/**
 * Two openings that overlap (issue 22: the demo still loading when the user picks a folder) end with the later
 * one open, whichever finishes first: the earlier is refused, never installed over the later. Before, the slower
 * earlier opening replaced the study on screen and its ensemble size, and Segment then ran nothing.
 * Through the real handlers: a BraTS NIfTI folder (converted first, so slow) and then the demo.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AppServices, type Host } from '../../main/app/services';
import { CASE_27 } from '../support/paths';

const data = mkdtempSync(join(tmpdir(), 'halo-app-overlap-'));
process.env.HALO_DATA_DIR = data;
afterAll(() => rmSync(data, { recursive: true, force: true }));

describe('overlapping openings', () => {
  it('keep the one asked for last', async () => {
    const host: Host = { mode: 'bridge', emit: () => {}, allowedFolders: () => [], chooseFolder: async (_purpose, given) => given ?? null };
    const svc = new AppServices(host, { cacheDir: null });
    try {
      const first = svc.openFolder(CASE_27);
      await new Promise((r) => setTimeout(r, 50)); // the folder is chosen (and its opening begun) first
      const [folder, demo] = await Promise.allSettled([first, svc.openDemo()]);
      expect(demo.status).toBe('fulfilled');
      const shown = (demo as PromiseFulfilledResult<Awaited<ReturnType<AppServices['openDemo']>>>).value;
      expect(svc.held().studies).toBe(1);
      expect((await svc.volume(shown.studyId, 'FLAIR')).byteLength).toBeGreaterThan(0); // the later one is the open one
      // The conversion of the NIfTI folder outlasts opening the demo: the earlier opening is refused, by name.
      expect(folder.status).toBe('rejected');
      expect(String((folder as PromiseRejectedResult).reason)).toMatch(/BraTS-GLI-00027-000.* was not opened: another study was opened while it loaded/);
    } finally {
      await svc.dispose();
    }
  }, 300_000);
});
