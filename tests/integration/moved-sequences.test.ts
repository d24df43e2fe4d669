/**
 * Sequences that moved between series (issue 23): real aligned studies pass the check, and a real series whose
 * slices were moved as a patient's movement between series records them (ImagePositionPatient and
 * ImageOrientationPatient rewritten in a copy of the demo study's T1) is refused with a message that names the
 * series and the shift: by `halo segment`'s study loader and in the app (a problem on the study, and Segment
 * refused), where the study can still be viewed.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AppServices, type Host } from '../../main/app/services';
import { loadStudy } from '../../main/study/load-study';
import { MAX_SHIFT_MM, measureDisplacement, refuseDisplaced, type SequenceOnGrid } from '../../main/study/displacement';
import { readNifti } from '../../main/io/nifti';
import { resampleOnto } from '../../main/study/align';
import type { Vec3, Volume } from '../../main/volume/volume';
import { moveSeries, nodAbout, shiftBy, type RigidMove } from '../support/moved-series';
import { CASE_27, DATA, ROOT } from '../support/paths';
import { lggCase } from '../support/lgg-case';

const work = mkdtempSync(join(tmpdir(), 'halo-moved-'));
process.env.HALO_DATA_DIR = join(work, 'data');
afterAll(() => rmSync(work, { recursive: true, force: true }));
const DEMO = join(ROOT, 'resources', 'demo');
const ALL = ['FLAIR', 'T1', 'T1ce', 'T2'] as const;

/** What a load said: its refusal, or 'loaded' (never the study itself, whose voxels a failed match would print). */
const refusal = (p: Promise<unknown>): Promise<string> => p.then(() => 'loaded', (e: Error) => e.message);

/** The demo study with its T1 series moved. */
function demoWithMovedT1(name: string, move: RigidMove): string {
  const dir = join(work, name);
  cpSync(DEMO, dir, { recursive: true });
  moveSeries(join(dir, '2-T1'), move);
  return dir;
}

describe('sequences that moved between series', () => {
  it('lets real aligned studies through: the demo (DICOM), a BraTS case, a skull-on LGG patient', async () => {
    expect(await refusal(loadStudy({ kind: 'dicom', folder: DEMO }, ALL))).toBe('loaded');
    expect(await refusal(loadStudy({ kind: 'case', folder: CASE_27 }, ALL))).toBe('loaded');
    // Its FLAIR's field of view stops 7 cm short of its T1's: a cut, not a movement (refused before session 12).
    const cut = join(DATA, 'brats-train', 'Brats18_2013_20_1');
    expect(await refusal(loadStudy({ kind: 'case', folder: cut }, ALL))).toBe('loaded');
    const lgg = lggCase('TCGA_EZ_7264_20010816', work);
    expect(await refusal(loadStudy({ kind: 'case', folder: lgg }, ['FLAIR', 'T1', 'T1ce']))).toBe('loaded');
  }, 120_000);

  it('refuses a T1 shifted 5 mm to the left, naming the series and the shift', async () => {
    const folder = demoWithMovedT1('shifted', shiftBy([5, 0, 0]));
    const message = await refusal(loadStudy({ kind: 'dicom', folder }, ALL));
    expect(message).toMatch(/^The patient moved between series \(or a series does not show the head where the FLAIR does\): the T1 series "T1" lies (4\.\d|5\.\d) mm from the FLAIR series "FLAIR" \((4|5)\.\d, -?0\.\d, -?0\.\d mm L, P, S; head overlap Dice 0\.\d\d\)/);
    expect(message).toMatch(new RegExp(`Halo allows ${MAX_SHIFT_MM} mm.*register them onto the FLAIR first\\.$`));
  }, 120_000);

  it('refuses a T1 nodded 5° about the neck', async () => {
    const folder = demoWithMovedT1('nodded', nodAbout(5, [120, 120, -60]));
    expect(await refusal(loadStudy({ kind: 'dicom', folder }, ALL))).toMatch(/^The patient moved between series \(or a series does not show the head where the FLAIR does\): the T1 series "T1" lies \d+\.\d mm from the FLAIR series/);
  }, 120_000);

  it('in the app: the study opens with the movement as a problem, and Segment is refused with it', async () => {
    const folder = demoWithMovedT1('app', shiftBy([5, 0, 0]));
    const host: Host = { mode: 'bridge', emit: () => {}, allowedFolders: () => [], chooseFolder: async (_p, given) => given ?? null };
    const svc = new AppServices(host, { cacheDir: null });
    try {
      const view = (await svc.openFolder(folder))!;
      expect(view.reference).not.toBeNull(); // still viewable
      expect(view.problems.join('\n')).toMatch(/The patient moved between series \(or a series does not show the head where the FLAIR does\): the T1 series "T1" lies/);
      const start = svc.startSegmentation({ studyId: view.studyId, modelId: 'wt-4seq', steps: 1, ensemble: 1, focus: 20, range: { from: 20, to: 21 }, device: 'cpu' });
      expect(await refusal(start)).toMatch(
        /The patient moved between series \(or a series does not show the head where the FLAIR does\): the T1 series "T1" lies/,
      );
    } finally {
      await svc.dispose();
    }
  }, 120_000);
});

describe('movement along the slice axis (the head-foot axis of an axial study)', () => {
  const lgg = 'TCGA_DU_5849_19950405'; // 5 mm slices, the vertex in the field of view
  const read = (s: string) => readNifti(join(DATA, 'skull-on/lgg', lgg, `${lgg}_${s}.nii.xz`));
  const moved = (v: Volume, along: number): Volume => {
    const g = v.geometry;
    return { ...v, geometry: { ...g, origin: [0, 1, 2].map((a) => g.origin[a] + along * g.direction[2][a]) as Vec3 } };
  };
  /** Not moved, but sampled half a slice further along (its slices lie between the FLAIR's, blended). */
  const between = (v: Volume): Volume => {
    const g = moved(v, 0.5 * v.geometry.spacing[2]).geometry;
    return { ...v, geometry: g, data: resampleOnto(v, g) };
  };
  const onFlair = (flair: Volume, name: string, v: Volume): SequenceOnGrid => ({ name, volume: v, aligned: resampleOnto(v, flair.geometry) });

  it('places a 5 mm series along its slice axis to within a third of a slice: aligned and between-slice series pass, one moved 5 mm up is refused', async () => {
    const [flair, t1] = [await read('flair'), await read('t1')];
    const ref: SequenceOnGrid = { name: 'FLAIR', volume: flair, aligned: flair.data };
    const [aligned, half, up, down] = measureDisplacement(ref, [
      onFlair(flair, 'aligned', t1),
      onFlair(flair, 'between', between(t1)),
      onFlair(flair, 'up', moved(t1, 5)),
      onFlair(flair, 'down', moved(t1, -5)),
    ]);
    expect(aligned.shiftMm).toBeLessThan(MAX_SHIFT_MM);
    expect(half.shiftMm).toBeLessThan(MAX_SHIFT_MM);
    // Along the slice axis (S for this axial grid), in the direction moved, by 5 mm to within a third of a slice
    // (this T1's head already reaches 1 mm higher than the FLAIR's, aligned).
    expect(Math.abs(up.shift[2] - aligned.shift[2] - 5)).toBeLessThan(5 / 3);
    expect(Math.abs(down.shift[2] - aligned.shift[2] + 5)).toBeLessThan(5 / 3);
    expect(() => refuseDisplaced(ref, [onFlair(flair, 'the T1 series "T1"', moved(t1, 5))])).toThrow(
      /the T1 series "T1" lies \d\.\d mm from FLAIR \(-?0\.\d, -?0\.\d, [4-6]\.\d mm L, P, S/,
    );
  }, 120_000);

  it('finds a 5 mm movement along the slice axis of a 1 mm BraTS study (both series on their own grids)', async () => {
    const f = (s: string) => join(CASE_27, `BraTS-GLI-00027-000-${s}.nii.gz`);
    const [flair, t2] = [await readNifti(f('t2f')), await readNifti(f('t2w'))];
    const ref: SequenceOnGrid = { name: 'FLAIR', volume: flair, aligned: flair.data };
    const [aligned, up] = measureDisplacement(ref, [onFlair(flair, 'aligned', t2), onFlair(flair, 'up', moved(t2, 5))]);
    expect(aligned.shiftMm).toBeLessThan(1);
    expect(Math.abs(up.shift[2]) - 5).toBeLessThan(1);
  }, 120_000);
});
