/**
 * `halo evaluate` on a real skull-on clinical case (TCGA lower-grade glioma, 8-bit FLAIR + T1 with the skull, as
 * .nii.xz): the case is read as stored, the brain is extracted as `halo segment` does it, and the report gives per
 * patient the Dice per tumour slice, the false positives per tumour-free slice, the whole-volume 3D Dice and the
 * FLAIR-threshold baseline inside the extracted brain.
 */
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EvaluationReport } from '../../main/evaluate/evaluate-cases';
import { formatTable } from '../../main/cli/commands/evaluate-run';
import { brainIfUnstripped } from '../../main/engine/brain-extraction';
import { dice, percentile } from '../../main/evaluate/metrics';
import { readNifti } from '../../main/io/nifti';
import { halo } from '../support/cli';
import { DATA } from '../support/paths';

const LGG = join(DATA, 'skull-on', 'lgg');
const PATIENT = 'TCGA_CS_4942_19970222';

describe('halo evaluate on a skull-on LGG patient', () => {
  let run: Awaited<ReturnType<typeof halo>>;
  beforeAll(async () => {
    run = await halo(['evaluate', '--cases', LGG, '--patients', PATIENT, '--model', 'wt-flair-t1', '--slices', 'all',
      '--steps', '2', '--ensemble', '2', '--device', 'cpu', '--json']);
  }, 300_000);

  it('extracts the brain and reports every slice: Dice per tumour slice, false positives, 3D Dice, baseline', async () => {
    expect(run.stderr).not.toMatch(/internal error/);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as EvaluationReport;
    expect(report.cases.map((c) => c.case)).toEqual([PATIENT]);
    expect(report).toMatchObject({ model: { id: 'wt-flair-t1' }, ensemble: 2, sampler: { steps: 2 }, slices: 'all', stride: 1 });
    const c = report.cases[0];
    expect(c.brainExtracted).toBe(true);
    expect(report.mean.brainExtracted).toBe(1);

    // The slices, from the stored ground truth and the brain the engine extracts from the FLAIR.
    const flair = await readNifti(join(LGG, PATIENT, `${PATIENT}_flair.nii.xz`));
    const seg = await readNifti(join(LGG, PATIENT, `${PATIENT}_seg.nii.xz`));
    const brain = brainIfUnstripped(flair.data, flair.geometry)!;
    const [nx, ny, nz] = flair.geometry.dims;
    const size = nx * ny;
    const slice = (a: ArrayLike<number>, k: number) => Uint8Array.from({ length: size }, (_, p) => (a[k * size + p] > 0 ? 1 : 0));
    const ks = Array.from({ length: nz }, (_, k) => k);
    const withBrain = ks.filter((k) => slice(brain, k).some((v) => v));
    const tumour = ks.filter((k) => slice(seg.data, k).some((v) => v));
    expect(tumour.length).toBe(6);
    expect(c.tumourSlices).toBe(tumour.length);
    expect(c.tumourFreeSlices).toBe(withBrain.filter((k) => !tumour.includes(k)).length);
    expect(c.tumourSlicesWithoutBrain).toBe(0);
    expect(c.tumourOutsideBrain).toBeLessThan(0.02);

    // The baseline is the FLAIR above its 90th percentile inside the extracted brain: recomputed here.
    const inBrain: number[] = [];
    for (const k of withBrain) for (let p = 0; p < size; p++) if (brain[k * size + p]) inBrain.push(flair.data[k * size + p]);
    const threshold = percentile(inBrain, 90);
    const baselineDice = tumour.map((k) => {
      const b = slice(brain, k);
      const pred = Uint8Array.from({ length: size }, (_, p) => (b[p] && flair.data[k * size + p] > threshold ? 1 : 0));
      return dice(pred, slice(seg.data, k));
    });
    expect(c.baseline.dice).toBeCloseTo(baselineDice.reduce((a, b) => a + b, 0) / baselineDice.length, 12);
    expect(report.baseline).toMatch(/inside the brain .*extracted brain/);

    for (const v of [c.single.dice, c.ensemble.dice, c.volumeDice3d!.ensemble, c.volumeDice3d!.single, c.volumeDice3d!.baseline, c.varianceAuroc]) {
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(1);
    }
    expect(c.falsePositiveCm2).toBeGreaterThanOrEqual(0);
    expect(c.baseline.falsePositiveCm2).toBeGreaterThanOrEqual(0);
    expect(report.mean.volumeDice3d).toEqual(c.volumeDice3d);

    const table = formatTable(report);
    expect(table).toMatch(/brain extracted automatically \(skull on\) in 1 of 1 patients/);
    expect(table).toMatch(/3D Dice 2 .* baseline 3D .* tumour outside brain/);
  });

  it('refuses to pool studies with and without the skull at their default ensemble sizes (10 and 5), before sampling any', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'halo-mixed-'));
    try {
      symlinkSync(join(LGG, PATIENT), join(dir, 'a-skull-on'));
      symlinkSync(join(DATA, 'brats', 'BraTS2021_00006'), join(dir, 'b-skull-stripped'));
      const r = await halo(['evaluate', '--cases', dir, '--model', 'wt-flair-t1', '--steps', '1', '--stride', '50', '--device', 'cpu']);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/wt-flair-t1 takes 10 samples by default on a study with the skull \(a-skull-on\) and 5 on a skull-stripped one \(b-skull-stripped\).*evaluate such cases apart, or pass --ensemble/);
      // Refused before any case is sampled (it used to evaluate a-skull-on first, then throw that away).
      expect(r.stderr).not.toMatch(/evaluating a-skull-on/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);

  it('refuses a patient that is not in the folder, listing the ones that are', async () => {
    const r = await halo(['evaluate', '--cases', LGG, '--patients', `${PATIENT},TCGA_XX_0000`, '--model', 'wt-flair-t1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--patients .*: no labelled case folder TCGA_XX_0000 in .*lgg\. Name case folders .* \(it holds TCGA_CS_4942_19970222, /);
  });
});
