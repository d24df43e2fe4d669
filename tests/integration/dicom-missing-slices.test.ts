/**
 * Missing slices (issue 22, item 7) on real DICOM: the demo study with six FLAIR images removed from the middle and
 * one more cut short (tests/support/gapped-study.ts). The reader skips the broken file by its own name and puts the
 * rest on the full regular grid with the gaps empty; the CLI and the app refuse a range that includes a missing
 * slice (naming the gap), segment a range beside it, and segment the whole study on its parts; no output claims a
 * missing slice.
 */
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { HaloEvents } from '../../main/app/contract';
import { unpack } from '../../main/app/binary';
import { AppServices, type Host } from '../../main/app/services';
import { parsePart10 } from '../../main/dicom/dcmjs';
import type { DicomSource } from '../../main/dicom/derived';
import { readDicomFolder, scanDicomFolder, seriesToVolume } from '../../main/dicom/read-study';
import { InputError } from '../../main/errors';
import { loadStudy } from '../../main/study/load-study';
import type { Volume } from '../../main/volume/volume';
import { halo } from '../support/cli';
import { dciodvfy } from '../support/dicom-tools';
import { DEMO, gappedDemo, REMOVED, TRUNCATED } from '../support/gapped-study';

const tmp = (p: string) => mkdtempSync(join(tmpdir(), `halo-gaps-${p}-`));
const GAP_SENTENCE = /the FLAIR series "FLAIR": slices between z=65\.0 and z=72\.0 mm are missing \(about 6 images; slices 20-25 of 48 are empty\)/;

let study: string;
let flair: string;
let complete: Volume;
/** Slice indices (k) of the removed images and of the cut one, in the complete FLAIR. */
let removedKs: number[];
let truncatedK: number;

beforeAll(async () => {
  study = tmp('study');
  flair = gappedDemo(study);
  complete = seriesToVolume((await readDicomFolder(join(DEMO, '1-FLAIR')))[0]);
  const kOf = (name: string) => (complete.source as DicomSource).instances.findIndex((i) => i!.path.endsWith(`/${name}`));
  removedKs = REMOVED.map(kOf);
  truncatedK = kOf(TRUNCATED);
});

describe('the reader', () => {
  it('skips the cut file by its own name and puts the rest on the full grid, the missing slices empty', async () => {
    const scan = await scanDicomFolder(study);
    expect(scan.unreadableFiles).toEqual([
      { path: join(flair, TRUNCATED), reason: `${join(flair, TRUNCATED)} ends 20000 bytes before the end of its pixel data: the file is truncated` },
    ]);
    const series = scan.series.find((s) => s.instances[0].path.startsWith(flair))!;
    expect(series.instances).toHaveLength(48 - 7);
    const vol = seriesToVolume(series);
    // Exactly the complete series' grid (spacing from the neighbours' median step, not stretched over the gap).
    expect(vol.geometry).toEqual(complete.geometry);
    expect(removedKs).toEqual([19, 20, 21, 22, 23, 24]);
    expect(vol.gaps).toEqual([{ first: 19, last: 24 }, { first: truncatedK, last: truncatedK }]);
    const plane = vol.geometry.dims[0] * vol.geometry.dims[1];
    const src = vol.source as DicomSource;
    for (let k = 0; k < 48; k++) {
      const slice = vol.data.subarray(k * plane, (k + 1) * plane);
      if (removedKs.includes(k) || k === truncatedK) {
        expect(slice.every((v) => v === 0), `slice ${k}`).toBe(true);
        expect(src.instances[k]).toBeNull();
      } else {
        expect(slice, `slice ${k}`).toEqual(complete.data.subarray(k * plane, (k + 1) * plane));
        expect(src.instances[k]).toEqual((complete.source as DicomSource).instances[k] && { ...(complete.source as DicomSource).instances[k]!, path: src.instances[k]!.path });
      }
    }
  });

  it('loads the study with every sequence empty on the missing slices, the gaps and the file named', async () => {
    const s = await loadStudy({ kind: 'dicom', folder: study }, ['T1', 'T1ce', 'T2']);
    expect(s.gaps.map(({ first, last }) => [first, last])).toEqual([[19, 24], [truncatedK, truncatedK]]);
    expect(s.gaps[0].text).toMatch(GAP_SENTENCE);
    expect(s.warnings!.join('\n')).toContain(`skipped a file that cannot be read: ${join(flair, TRUNCATED)} ends 20000 bytes`);
    const plane = complete.geometry.dims[0] * complete.geometry.dims[1];
    for (const role of ['FLAIR', 'T1', 'T1ce', 'T2'] as const) {
      for (const k of [...removedKs, truncatedK]) expect(s.aligned[role]!.subarray(k * plane, (k + 1) * plane).every((v) => v === 0), `${role} ${k}`).toBe(true);
      expect(s.aligned[role]!.subarray(30 * plane, 31 * plane).some((v) => v !== 0), role).toBe(true);
    }
    // The T1's own volume is untouched: only the model's copy is emptied.
    expect(s.volumes.T1!.data.subarray(20 * plane, 21 * plane).some((v) => v !== 0)).toBe(true);
  }, 60_000);
});

describe('halo segment --dicom', () => {
  const fast = ['--ensemble', '1', '--steps', '1', '--no-cache', '--no-progress', '--no-screen'];

  it('refuses a --slices range across the gap (exit 2), naming the gap, the cut file and the ranges beside it', async () => {
    const out = tmp('out');
    const r = await halo(['segment', '--dicom', study, '--slices', '18:22', '--out', out, ...fast]);
    expect(r.stderr).toContain(`warning: skipped a file that cannot be read: ${join(flair, TRUNCATED)} ends 20000 bytes before the end of its pixel data`);
    expect(r.stderr).toMatch(new RegExp(`--slices 18:22 include missing images: in ${GAP_SENTENCE.source}\\. Halo does not segment across a gap`));
    expect(r.stderr).toContain('(--slices 0:19 or --slices 25:48)');
    expect(r.code, r.stderr).toBe(2);
    expect(readdirSync(out)).toEqual([]);
  }, 120_000);

  it('segments a range beside the gap, and the whole study on its parts: no output claims a missing slice', async () => {
    const part = tmp('part');
    const r1 = await halo(['segment', '--dicom', study, '--slices', '26:29', '--out', part, ...fast]);
    expect(r1.code, r1.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(part, 'summary.json'), 'utf8')).slices.processed).toEqual([26, 27, 28]);

    const whole = tmp('whole');
    const r = await halo(['segment', '--dicom', study, '--out', whole, ...fast]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(GAP_SENTENCE);
    // The gap does not cut the head in two for the brain test (the demo is skull-stripped: nothing extracted).
    expect(r.stderr).not.toMatch(/brain extracted automatically/);
    const summary = JSON.parse(readFileSync(join(whole, 'summary.json'), 'utf8'));
    const missing = [...removedKs, truncatedK];
    expect(summary.slices.missing).toEqual(missing);
    expect(summary.slices.processed).toEqual(Array.from({ length: 48 }, (_, k) => k).filter((k) => !missing.includes(k)));
    const present = new Set((complete.source as DicomSource).instances.filter((_, k) => !missing.includes(k)).map((i) => i!.sopInstanceUID));
    for (const f of ['seg.dcm', 'seg-fractional.dcm', 'variance-pm.dcm']) {
      expect(dciodvfy(join(whole, f)), f).toEqual({ errors: [], unexpectedWarnings: [] });
      const ds = parsePart10(readFileSync(join(whole, f))).dataset as Record<string, unknown>;
      const frames = ds.PerFrameFunctionalGroupsSequence as { DerivationImageSequence: { SourceImageSequence: { ReferencedSOPInstanceUID: string }[] }[] }[];
      expect(frames).toHaveLength(41);
      for (const fr of frames) expect(present.has(fr.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID), f).toBe(true);
      expect(String(ds.ImageComments)).toContain('The source series has no image for slices 20-25, 30 (missing or unreadable files).');
    }
  }, 300_000);
});

describe('the app (handlers, as the viewer calls them)', () => {
  it('opens the study with the warning and the missing slices; refuses a range across the gap, runs one beside it and the whole study on its parts', async () => {
    const done: HaloEvents['segment.done'][] = [];
    const host: Host = {
      mode: 'bridge',
      emit: (event, payload) => {
        if (event === 'segment.done') done.push(payload as HaloEvents['segment.done']);
      },
      allowedFolders: () => [{ label: 'study', path: study }],
      chooseFolder: async (_why, given) => given ?? null,
    };
    const svc = new AppServices(host, { cacheDir: null });
    try {
      const view = (await svc.openFolder(study))!;
      expect(view.reference?.dims).toEqual([...complete.geometry.dims]);
      expect(view.missing).toEqual({ FLAIR: [...removedKs, truncatedK] });
      expect(view.problems[0]).toContain(`A file cannot be read and was skipped: ${join(flair, TRUNCATED)} ends 20000 bytes`);
      expect(view.problems[1]).toMatch(new RegExp(`^The FLAIR series "FLAIR": slices between z=65\\.0 and z=72\\.0 mm are missing \\(about 6 images`));
      // The FLAIR's thumbnail is its imaged slice nearest the middle (the middle one, k 24, is missing), not black.
      const thumb = unpack<unknown>(svc.thumbnail(view.studyId, view.roles.FLAIR!)).arrays.pixels;
      expect(thumb.some((v) => v > 128)).toBe(true);

      const settings = { studyId: view.studyId, modelId: 'wt-4seq', steps: 1, ensemble: 1, device: 'cpu' as const };
      // 'Around' slice 19 (k 18) ±2 includes k 19-20 of the gap: refused, naming it.
      const across = svc.startSegmentation({ ...settings, focus: 18, range: { from: 16, to: 21 } });
      await expect(across).rejects.toThrow(InputError);
      await expect(across).rejects.toThrow(/^Slices 17-21 include missing images: in the FLAIR series "FLAIR": slices between z=65\.0 and z=72\.0 mm .*\(slices 1-19 or slices 26-48\)/);

      // 'Around' slice 27 (k 26) ±1: slices 26-28 lie between the two gaps.
      const run = await svc.startSegmentation({ ...settings, focus: 26, range: { from: 25, to: 28 } });
      expect(run.slices.sort((a, b) => a - b)).toEqual([25, 26, 27]);
      while (!done.some((d) => d.runId === run.runId)) await new Promise((r) => setTimeout(r, 50));
      expect(done.find((d) => d.runId === run.runId)!.status).toBe('done');

      // The whole study ('all slices'): its parts, never a missing slice.
      const all = await svc.startSegmentation({ ...settings, focus: 30 });
      expect(all.slices.filter((k) => view.missing.FLAIR!.includes(k))).toEqual([]);
      expect(all.slices).toHaveLength(41);
      while (!done.some((d) => d.runId === all.runId)) await new Promise((r) => setTimeout(r, 50));
      expect(done.find((d) => d.runId === all.runId)!.status).toBe('done');
    } finally {
      await svc.dispose();
    }
  }, 180_000);
});
