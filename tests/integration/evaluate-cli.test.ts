/**
 * `halo evaluate` on a real labelled BraTS case: finds the labelled case folders (and only those), scores the
 * ensemble and the baseline per patient and as a mean, and refuses a folder without ground truth.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EvaluationReport } from '../../main/evaluate/evaluate-cases';
import { formatPaperTable, formatUncertaintyTable } from '../../main/cli/commands/evaluate-run';
import { NEAR_MASK_MM } from '../../main/engine/variance-near-mask';
import { readNifti } from '../../main/io/nifti';
import { halo } from '../support/cli';
import { CASE_27, DATA } from '../support/paths';

const out = join(mkdtempSync(join(tmpdir(), 'halo-eval-')), 'report.json');

describe('halo evaluate', () => {
  let run: Awaited<ReturnType<typeof halo>>;
  beforeAll(async () => {
    // ../shared/data/brats holds one labelled case (BraTS2021_00006) beside unlabelled ones and 2D slices.
    run = await halo(['evaluate', '--cases', join(DATA, 'brats'), '--slices', 'all', '--stride', '30', '--steps', '3', '--ensemble', '2', '--json', '--out', out]);
  });

  it('scores the one labelled case, per patient and as the mean', () => {
    expect(run.stderr).not.toMatch(/internal error/);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as EvaluationReport;
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(report);
    expect(report.cases.map((c) => c.case)).toEqual(['BraTS2021_00006']);
    expect(report).toMatchObject({ ensemble: 2, sampler: { steps: 3 }, slices: 'all', stride: 30 });
    const c = report.cases[0];
    expect(c.tumourSlices).toBeGreaterThan(0);
    expect(c.tumourFreeSlices).toBeGreaterThan(0);
    for (const v of [c.single.dice, c.ensemble.dice, c.baseline.dice, c.varianceAuroc]) {
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(1);
    }
    // A FLAIR threshold finds some of a glioma's oedema on this case: the baseline is a real, non-trivial number.
    expect(c.baseline.dice!).toBeGreaterThan(0.2);
    expect(c.falsePositiveCm2).toBeGreaterThanOrEqual(0);
    expect(report.mean).toMatchObject({ patients: 1, tumourSlices: c.tumourSlices, single: c.single, ensemble: c.ensemble });
  });

  it("scores by the paper's protocol: exactly the tumour slices 80-128, the empty count, 3D Dice over the range", async () => {
    const caseDir = join(DATA, 'brats', 'BraTS2021_00006');
    const r = await halo(['evaluate', '--cases', caseDir, '--protocol', 'paper', '--no-volume', '--steps', '2', '--ensemble', '2', '--json']);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as EvaluationReport;
    const seg = await readNifti(join(caseDir, 'BraTS2021_00006_seg.nii.gz'));
    const size = seg.geometry.dims[0] * seg.geometry.dims[1];
    const expected = Array.from({ length: 49 }, (_, i) => 80 + i).filter((k) => seg.data.subarray(k * size, (k + 1) * size).some((v) => v > 0));
    expect(expected.length).toBeGreaterThan(10);
    const c = report.cases[0];
    expect(report).toMatchObject({ protocol: 'paper', volume: false, slices: 'tumour', stride: 1 });
    expect(c.paper!.perSlice.map((s) => s.k)).toEqual(expected);
    expect(c.tumourSlices).toBe(expected.length);
    expect(c.volumeDice3d).toBeUndefined();
    const p = c.paper!;
    expect(p.empty.ensemble).toBe(p.perSlice.filter((s) => s.empty.ensemble).length);
    expect(p.dice3dRange.ensemble).toBeGreaterThan(0);
    expect(p.dice3dRange.ensemble).toBeLessThanOrEqual(1);
    expect(report.mean.paper!.pooled.slices).toBe(expected.length);
    // The variance map as a guide: the raw AUROC is the report's, the map shown near the mask tints no more.
    const u = c.uncertainty!;
    expect(u).toMatchObject({ threshold: 0.05, nearMaskMm: NEAR_MASK_MM });
    expect(u.auroc.raw).toBe(c.varianceAuroc);
    expect(u.auroc.nearMask).toBeGreaterThanOrEqual(0);
    expect(u.tintedFarCm3.raw + u.tintedNearCm3.raw).toBeGreaterThan(0);
    expect(u.tintedFarCm3.nearMask).toBeLessThanOrEqual(u.tintedFarCm3.raw);
    expect(u.tintedNearCm3.nearMask).toBeLessThanOrEqual(u.tintedNearCm3.raw);
    expect(u.wrongTinted.nearMask!).toBeLessThanOrEqual(u.wrongTinted.raw!);
    expect(report.mean.uncertainty).toMatchObject({ tintedFarCm3: u.tintedFarCm3, auroc: u.auroc });
    // The table names the protocol and brackets the Dice without empty slices, as the paper does.
    const table = formatPaperTable(report);
    expect(table).toMatch(/the paper's protocol/);
    expect(table).toMatch(/pooled over all \d+ slices, as the paper's Table 1: Dice 2 \d\.\d{3} \(\d\.\d{3}\)/);
    expect(formatUncertaintyTable(report)).toMatch(/BraTS2021_00006 +[\d.]+ → [\d.]+ +[\d.]+ → [\d.]+ +\d+ % → \d+ % +0\.\d{3} → 0\.\d{3}/);
  });

  it('refuses a folder without ground truth, saying what it needs', async () => {
    const r = await halo(['evaluate', '--cases', CASE_27]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/No labelled case folders in .*_seg\.nii/);
  });
});
