/**
 * The engine's preprocessing (main/engine/preprocess.ts) against the training code's (models/training/data.py)
 * on a real BraTS case: same crop box, same model inputs, same mapping back to the source grid; and on a real
 * skull-on case, the same extracted brain (brain-extraction.ts against brain.py).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { brainIfUnstripped } from '../../main/engine/brain-extraction';
import { BrainStats } from '../../main/engine/brain-stats';
import { prepareStudy } from '../../main/engine/preprocess';
import { loadModel, type ModelCard } from '../../main/model/card';
import { loadStudy } from '../../main/study/load-study';
import { maxAbsDifference } from '../support/arrays';
import { DATA } from '../support/paths';

const f32 = (p: string) => {
  const b = readFileSync(p);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};

/** prep_reference.py's files for these slices (data.py's preprocessing); extra: its optional arguments. */
async function pythonReference(caseDir: string, card: ModelCard, slices: number[], ...extra: string[]): Promise<string> {
  const out = mkdtempSync(join(tmpdir(), 'halo-prep-'));
  const args = [caseDir, card.inputs.join(','), String(card.preprocessing.pixelSpacingMm), out, slices.join(','), ...extra];
  await promisify(execFile)('/usr/bin/python3', ['tests/support/prep_reference.py', ...args]);
  return out;
}

describe('preprocessing parity with the training code', () => {
  it('matches data.py on BraTS2021_00006 in the volume box (box, inputs, inverse mapping)', async () => {
    // Both crop settings are tested whatever the shipped cards say (both use each slice's box today).
    const { card: shipped } = await loadModel('wt-4seq');
    const card = { ...shipped, preprocessing: { ...shipped.preprocessing, cropPer: 'volume' as const, cropMultiple: 32 } };
    const caseDir = join(DATA, 'brats', 'BraTS2021_00006');
    const slices = [20, 77, 120];
    const out = await pythonReference(caseDir, card, slices);
    const ref = JSON.parse(readFileSync(join(out, 'box.json'), 'utf8'));

    const study = await loadStudy({ kind: 'case', folder: caseDir }, card.inputs);
    const prepared = prepareStudy(card, study.reference.geometry, card.inputs.map((r) => study.aligned[r]!))!;
    const { row0, col0, rows, cols } = prepared.box;
    expect([row0, col0, rows, cols]).toEqual(ref.box);
    expect(prepared.modelShape).toEqual(ref.model_shape);
    expect(prepared.hasBrain).toEqual(ref.has_brain);

    const expected = f32(join(out, 'cond.f32'));
    const size = card.inputs.length * rows * cols;
    let worst = 0;
    slices.forEach((k, n) => {
      const got = prepared.conditionFor(k);
      for (let p = 0; p < size; p++) worst = Math.max(worst, Math.abs(got[p] - expected[n * size + p]));
    });
    expect(worst).toBeLessThan(1e-5);
    // and the inputs are not trivially zero
    expect(prepared.conditionFor(77).some((v) => v > 0.5)).toBe(true);

    const back = prepared.toSource(prepared.conditionFor(slices[0]).subarray(0, rows * cols), slices[0]);
    const backRef = f32(join(out, 'back.f32'));
    expect(maxAbsDifference(back, backRef)).toBeLessThan(1e-5);
  });

  it('matches data.py with each slice in its own box (cropPer "slice")', async () => {
    const { card: shipped } = await loadModel('wt-4seq');
    const card = { ...shipped, preprocessing: { ...shipped.preprocessing, cropPer: 'slice' as const, cropMultiple: 16 } };
    const caseDir = join(DATA, 'brats', 'BraTS2021_00006');
    const slices = [0, 20, 77, 120, 135];
    const out = await pythonReference(caseDir, card, slices, '16');
    const ref = JSON.parse(readFileSync(join(out, 'box.json'), 'utf8'));
    // As openSegmentation does it: the brain mask and percentiles gathered volume by volume while the inputs decode.
    let gathered: BrainStats | undefined;
    const study = await loadStudy({ kind: 'case', folder: caseDir }, card.inputs, {
      onVolumeDecoded: (role, { data }) => card.inputs.includes(role) && (gathered ??= new BrainStats(data.length)).add(data),
    });
    const volumes = card.inputs.map((r) => study.aligned[r]!);
    expect(gathered?.covers(volumes)).toBe(true);
    const prepared = prepareStudy(card, study.reference.geometry, volumes, gathered)!;
    const areas = new Set<number>();
    for (const k of slices) {
      const { row0, col0, rows, cols } = prepared.boxFor(k);
      expect([row0, col0, rows, cols], `slice ${k}`).toEqual(ref.slice_boxes[k]);
      areas.add(rows * cols);
      const expected = f32(join(out, `slice-${k}.f32`));
      const got = prepared.conditionFor(k);
      expect(got.length).toBe(expected.length);
      expect(maxAbsDifference(got, expected), `slice ${k}`).toBeLessThan(1e-5);
      // Mapped back, a slice's input lands where the volume-box input of the same slice does.
      const back = prepared.toSource(got.subarray(0, rows * cols), k);
      const viaVolume = prepareStudy(shipped, study.reference.geometry, card.inputs.map((r) => study.aligned[r]!))!;
      const { rows: vr, cols: vc } = viaVolume.box;
      const backVolume = viaVolume.toSource(viaVolume.conditionFor(k).subarray(0, vr * vc), k);
      expect(maxAbsDifference(back, backVolume), `slice ${k}`).toBeLessThan(1e-6);
    }
    expect(areas.size).toBeGreaterThan(1); // the boxes really differ from slice to slice
    expect(prepared.boxFor(135)).toMatchObject({ rows: 16, cols: 16 }); // the top of the head
    expect(Math.max(...areas)).toBeLessThanOrEqual(prepared.box.rows * prepared.box.cols);
  });

  it('matches data.stack_neighbours with 2.5D input (neighbours 5 mm away on a 1 mm volume, its end included)', async () => {
    const { card: shipped } = await loadModel('wt-4seq');
    const card = { ...shipped, preprocessing: { ...shipped.preprocessing, cropPer: 'slice' as const, cropMultiple: 16, neighboursMm: 5 } };
    const caseDir = join(DATA, 'brats', 'BraTS2021_00006');
    const slices = [2, 77, 132]; // 2 - 5 lies beyond the volume; 132 + 5 above the brain's top (slice 135)
    const out = await pythonReference(caseDir, card, slices, '16', 'neighbours=5');
    const study = await loadStudy({ kind: 'case', folder: caseDir }, card.inputs);
    const prepared = prepareStudy(card, study.reference.geometry, card.inputs.map((r) => study.aligned[r]!))!;
    expect(prepared.channels).toBe(3 * card.inputs.length);
    for (const k of slices) {
      const expected = f32(join(out, `slice-${k}.f32`));
      const got = prepared.conditionFor(k);
      expect(got.length).toBe(expected.length);
      expect(maxAbsDifference(got, expected), `slice ${k}`).toBeLessThan(1e-5);
    }
    // Slice 77's neighbours are real images (not zero), and slice 2's lower neighbour is zero (beyond the volume).
    const { rows, cols } = prepared.boxFor(77);
    const part = (a: Float32Array, n: number, size: number) => a.subarray(n * 4 * size, (n + 1) * 4 * size);
    expect(part(prepared.conditionFor(77), 1, rows * cols).some((v) => v > 0.5)).toBe(true);
    const b2 = prepared.boxFor(2);
    expect(part(prepared.conditionFor(2), 1, b2.rows * b2.cols).every((v) => v === 0)).toBe(true);
  });

  // TCGA_EZ_7264: its bright scalp sets the first threshold above the cortex, so the second pass runs.
  it.each([
    ['TCGA_DU_6399_19830416', [10, 25, 40]],
    ['TCGA_EZ_7264_20010816', [10, 15, 19]],
  ])('extracts the same brain and gives the same inputs on a skull-on LGG case, %s (brain.py, data.py)', async (patient, slices) => {
    const { card } = await loadModel('wt-flair-t1');
    const caseDir = join(DATA, 'skull-on', 'lgg', patient);
    const out = await pythonReference(caseDir, card, slices, String(card.preprocessing.cropMultiple), 'skull');
    const ref = JSON.parse(readFileSync(join(out, 'box.json'), 'utf8'));
    // As openSegmentation does it: the brain from the FLAIR, when the study has the skull.
    const study = await loadStudy({ kind: 'case', folder: caseDir }, card.inputs);
    const brain = brainIfUnstripped(study.reference.data, study.reference.geometry);
    expect(brain, 'the skull is detected').not.toBeNull();
    const refBrain = readFileSync(join(out, 'brain.u8'));
    expect(refBrain.length).toBe(brain!.length);
    let differ = 0;
    let inside = 0;
    brain!.forEach((v, p) => {
      if (v !== refBrain[p]) differ++;
      inside += v;
    });
    expect(differ).toBe(0);
    expect(inside / brain!.length).toBeGreaterThan(0.1); // a real brain, not an empty or full mask
    const prepared = prepareStudy(card, study.reference.geometry, card.inputs.map((r) => study.aligned[r]!), undefined, brain!)!;
    expect(prepared.hasBrain).toEqual(ref.has_brain);
    for (const k of slices) {
      const { row0, col0, rows, cols } = prepared.boxFor(k);
      expect([row0, col0, rows, cols], `slice ${k}`).toEqual(ref.slice_boxes[k]);
      const expected = f32(join(out, `slice-${k}.f32`));
      const got = prepared.conditionFor(k);
      expect(got.length).toBe(expected.length);
      expect(maxAbsDifference(got, expected), `slice ${k}`).toBeLessThan(1e-5);
    }
  });
});
