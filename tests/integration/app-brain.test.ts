/**
 * The brain mask the viewer outlines (issue 23): `study.brain` through the real handlers, on a real TCGA LGG
 * patient with the skull (the BraTS-style NIfTI folder opened in the app) and a skull-stripped BraTS case. The
 * mask sent is the brain the run segmented inside, slice for slice; none is sent for a skull-stripped study.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { unpack } from '../../main/app/binary';
import type { HaloEvents, StudyBrainMeta } from '../../main/app/contract';
import { dispatch } from '../../main/app/handlers';
import { AppServices, type Host } from '../../main/app/services';
import { CASE_27, DATA } from '../support/paths';
import { lggCase } from '../support/lgg-case';

const work = mkdtempSync(join(tmpdir(), 'halo-app-brain-'));
process.env.HALO_DATA_DIR = join(work, 'data');
afterAll(() => rmSync(work, { recursive: true, force: true }));

function services(events: { name: string; payload: unknown }[] = []): AppServices {
  const host: Host = { mode: 'bridge', emit: (name, payload) => events.push({ name, payload }), allowedFolders: () => [], chooseFolder: async (_p, given) => given ?? null };
  return new AppServices(host, { cacheDir: null });
}

describe('study.brain: the brain the viewer outlines', () => {
  it('sends the extracted brain of a study with the skull, on the reference grid, the same the run segments inside', async () => {
    const events: { name: string; payload: unknown }[] = [];
    const svc = services(events);
    try {
      const view = (await svc.openFolder(lggCase('TCGA_EZ_7264_20010816', work)))!;
      const r = await dispatch(svc, 'study.brain', { studyId: view.studyId });
      expect(r.ok, JSON.stringify(r)).toBe(true);
      const { meta, arrays } = unpack<StudyBrainMeta>((r as { value: Uint8Array }).value);
      const [nx, ny, nz] = view.reference!.dims;
      expect(meta).toEqual({ studyId: view.studyId, studyInstanceUID: view.studyInstanceUID, seriesInstanceUID: view.roles.FLAIR, dims: [nx, ny, nz], extracted: true });
      const mask = arrays.mask as Uint8Array;
      expect(mask.length).toBe(nx * ny * nz);
      const share = mask.reduce((a, b) => a + b, 0) / mask.length;
      expect(share, 'a brain, not the whole head nor nothing').toBeGreaterThan(0.05);
      expect(share).toBeLessThan(0.5);

      // One slice segmented: the brain of its result is the mask's plane k.
      const k = Math.floor(nz / 2);
      const run = await svc.startSegmentation({ studyId: view.studyId, modelId: 'wt-flair-t1', steps: 1, ensemble: 1, focus: k, range: { from: k, to: k + 1 }, device: 'cpu' });
      expect(run.brainExtraction).toMatch(/^brain extracted automatically/);
      expect(run.ensembleNote, 'a size the user chose is not the default').toBeUndefined();
      await expect.poll(() => events.some((e) => e.name === 'segment.done'), { timeout: 120_000 }).toBe(true);
      expect((events.find((e) => e.name === 'segment.done')!.payload as HaloEvents['segment.done']).status).toBe('done');
      const slice = unpack(svc.sliceResult(run.runId, k)).arrays.brain as Uint8Array;
      expect(slice).toEqual(mask.subarray(k * nx * ny, (k + 1) * nx * ny));
    } finally {
      await svc.dispose();
    }
  }, 300_000);

  it('runs the model default ensemble for the study: the card\'s larger one with the skull, and says why', async () => {
    const svc = services();
    try {
      const skull = (await svc.openFolder(lggCase('TCGA_FG_6691_20020405', work)))!;
      const k = 26;
      const settings = { modelId: 'wt-flair-t1', steps: 1, ensemble: null, focus: k, range: { from: k, to: k + 1 }, device: 'cpu' as const };
      const run = await svc.startSegmentation({ studyId: skull.studyId, ...settings });
      expect(run.ensemble).toBe(10);
      expect(run.ensembleNote).toMatch(/^10 samples, the model's default on a study with the skull \(with 5, its validation on such studies showed scattered false positives/);
      const stripped = (await svc.openFolder(CASE_27))!;
      const plain = await svc.startSegmentation({ studyId: stripped.studyId, ...settings, focus: 70, range: { from: 70, to: 71 } });
      expect(plain.ensemble).toBe(5);
      expect(plain.ensembleNote).toBeUndefined();
    } finally {
      await svc.dispose();
    }
  }, 300_000);

  it('sends no mask for a skull-stripped study, and only for the open study', async () => {
    const svc = services();
    try {
      const view = (await svc.openFolder(CASE_27))!;
      const { meta, arrays } = unpack<StudyBrainMeta>(svc.brain(view.studyId));
      expect(meta.extracted).toBe(false);
      expect(arrays).toEqual({});
      await svc.openFolder(join(DATA, 'dicom', 't1-sag-hfs'));
      expect(await dispatch(svc, 'study.brain', { studyId: view.studyId })).toEqual({ ok: false, error: { kind: 'input', message: 'That study is no longer open. Open it again.' } });
      expect(await dispatch(svc, 'study.brain', { studyId: '../x' })).toMatchObject({ ok: false, error: { kind: 'validation' } });
    } finally {
      await svc.dispose();
    }
  }, 300_000);

  it('says the FLAIR is needed when the study has none assigned', async () => {
    const svc = services();
    try {
      const view = (await svc.openFolder(join(DATA, 'dicom', 't1-sag-hfs')))!;
      expect(await dispatch(svc, 'study.brain', { studyId: view.studyId })).toEqual({
        ok: false,
        error: { kind: 'input', message: 'Halo finds the brain on the FLAIR: assign the FLAIR series in the viewport header first.' },
      });
    } finally {
      await svc.dispose();
    }
  }, 120_000);
});
