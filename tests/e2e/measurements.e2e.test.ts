/**
 * End to end, measuring (issue 22, item 2) in headless Chromium against the real handlers behind the loopback
 * HTTP bridge, on the bundled demo study: RANO's bidirectional diameters drawn by mouse across the tumour, an
 * elliptical ROI with its area and mean, a length deleted again; their values listed per slice; Save writes them
 * as a DICOM SR next to the SEG, which dcmjs reads back with the values shown and the FLAIR image of that slice
 * (dciodvfy: no errors), and sends it to a real Orthanc with the rest; opening another study forgets them; on a
 * study with nothing segmented (a real sagittal T1) a length is saved on its own.
 *
 * Needs `npx electron-vite build` first. Artefacts: test-results/e2e/ms-*.png and docs/screenshot-measurement.png.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../main/app/http-bridge';
import { parsePart10, type Dataset } from '../../main/dicom/dcmjs';
import { readDicomFolder, seriesToVolume } from '../../main/dicom/read-study';
import { items, num, str } from '../../main/dicom/values';
import type { Volume } from '../../main/volume/volume';
import { dciodvfy } from '../support/dicom-tools';
import { TestOrthanc } from '../support/orthanc';
import { ROOT, T1_SAG } from '../support/paths';
import { closeViewer, makeWork, openViewer, OUT } from './session';

let bridge: Bridge;
let ctx: BrowserContext;
let page: Page;
let work: string;
let saveDir: string;
let errors: string[] = [];
let orthanc: TestOrthanc;
/** The demo's FLAIR as the main process reads it: its grid and the instance of each slice. */
let flair: Volume;

type Dbg = {
  haloViewer: { slice: number; voxelToCanvas(r: string, i: number, j: number): [number, number] | null; debugMaskPoints(r: string, n?: number): { inside: [number, number][] } };
  haloDebug: { dims(): number[]; stats(): Record<number, unknown> };
};
const shot = (name: string) => page.screenshot({ path: join(OUT, `ms-${name}.png`) });
const rows = () => page.locator('[data-test=measurement]');

/** Drag with the left button from a to b (CSS px inside the FLAIR viewport), in small steps as a hand does. */
async function drag(a: [number, number], b: [number, number]): Promise<void> {
  const box = (await page.locator('[data-test=viewport-FLAIR]').boundingBox())!;
  await page.mouse.move(box.x + a[0], box.y + a[1]);
  await page.mouse.down();
  for (let s = 1; s <= 10; s++) await page.mouse.move(box.x + a[0] + ((b[0] - a[0]) * s) / 10, box.y + a[1] + ((b[1] - a[1]) * s) / 10);
  await page.mouse.up();
}

/** Distance (px) of p from the segment a-b. */
function toSegment(p: [number, number], a: [number, number], b: [number, number]): number {
  const d = [b[0] - a[0], b[1] - a[1]];
  const t = Math.max(0, Math.min(1, ((p[0] - a[0]) * d[0] + (p[1] - a[1]) * d[1]) / (d[0] ** 2 + d[1] ** 2 || 1)));
  return Math.hypot(p[0] - a[0] - t * d[0], p[1] - a[1] - t * d[1]);
}

/** Every content item of an SR tree, depth first. */
const flatten = (seq: Dataset[]): Dataset[] => seq.flatMap((it) => [it, ...flatten(items(it, 'ContentSequence'))]);
const named = (all: Dataset[], meaning: string) => all.filter((it) => str(items(it, 'ConceptNameCodeSequence')[0] ?? {}, 'CodeMeaning') === meaning);
const value = (it: Dataset) => num(items(it, 'MeasuredValueSequence')[0], 'NumericValue')!;

describe('measurements (bridge + Chromium)', () => {
  beforeAll(async () => {
    work = await makeWork('ms-');
    saveDir = join(work, 'results');
    await mkdir(saveDir);
    orthanc = new TestOrthanc();
    await orthanc.start();
    await writeFile(join(work, 'pacs.json'), JSON.stringify({ callingAet: 'HALO', nodes: [{ name: 'orthanc', kind: 'dicomweb', url: orthanc.dicomWebUrl }] }));
    flair = seriesToVolume((await readDicomFolder(join(ROOT, 'resources', 'demo', '1-FLAIR')))[0]);
    ({ bridge, ctx, page, errors } = await openViewer({ allow: [saveDir, T1_SAG] }));
  });

  afterAll(async () => {
    await closeViewer({ ctx, bridge, work });
    await orthanc?.dispose();
  });

  let k = 0;
  let shown = { long: 0, short: 0, area: 0, mean: 0 };

  it('measures the tumour by mouse: RANO diameters and an ROI, listed with their values on their slice', async () => {
    await page.goto(bridge.pageUrl);
    await page.waitForSelector('[data-test=uncertainty-strip]', { timeout: 90_000 });
    // A result on the slice in view, so the diameters can be drawn across the tumour the model found.
    await page.selectOption('[data-test=scope]', 'around');
    await page.fill('[data-test=radius]', '0');
    await page.fill('[data-test=steps]', '10');
    await page.fill('[data-test=ensemble]', '2');
    await page.click('[data-test=segment]');
    await expect.poll(() => page.locator('[data-test=run-status]').innerText().catch(() => ''), { timeout: 240_000, interval: 500 }).toMatch(/^Done/);
    k = await page.evaluate(() => (window as unknown as Dbg).haloViewer.slice);

    // The longest chord of the mask on screen: where a reader puts RANO's longest diameter.
    const inside = await page.evaluate(() => (window as unknown as Dbg).haloViewer.debugMaskPoints('FLAIR', 400).inside);
    expect(inside.length).toBeGreaterThan(10);
    let ends: [[number, number], [number, number]] = [inside[0], inside[1]];
    for (const p of inside) for (const q of inside) if (Math.hypot(p[0] - q[0], p[1] - q[1]) > Math.hypot(ends[0][0] - ends[1][0], ends[0][1] - ends[1][1])) ends = [p, q];
    // Its length in mm, from the canvas scale of the FLAIR's grid (voxel 0,0 to 100,0 and 0,100).
    const scale = await page.evaluate(() => {
      const v = (window as unknown as Dbg).haloViewer;
      const o = v.voxelToCanvas('FLAIR', 0, 0)!;
      const x = v.voxelToCanvas('FLAIR', 100, 0)!;
      const y = v.voxelToCanvas('FLAIR', 0, 100)!;
      return { col: [(x[0] - o[0]) / 100, (x[1] - o[1]) / 100], row: [(y[0] - o[0]) / 100, (y[1] - o[1]) / 100] };
    });

    const px0 = Math.hypot(ends[1][0] - ends[0][0], ends[1][1] - ends[0][1]);
    await page.keyboard.press('d');
    await expect.poll(() => page.locator('[data-test=measure-bidirectional]').getAttribute('class')).toContain('on');
    await drag(ends[0], ends[1]);
    await expect.poll(() => rows().count()).toBe(1);
    const rano = rows().first();
    expect(await rano.getAttribute('data-kind')).toBe('bidirectional');
    expect(await rano.getAttribute('data-slice')).toBe(String(k));
    expect(await rano.innerText()).toContain(`Slice ${k + 1} · FLAIR`);
    await expect.poll(() => rano.locator('[data-test=measurement-value]').innerText()).toMatch(/^\d+\.\d × \d+\.\d mm \(\d+\.\d cm²\)$/);
    const [long, short] = (await rano.locator('[data-test=measurement-value]').innerText()).match(/\d+\.\d/g)!.map(Number);
    // The drag's length in mm: canvas px → voxels (solving the 2x2 scale) → mm with the grid's spacing.
    const px = [ends[1][0] - ends[0][0], ends[1][1] - ends[0][1]];
    const det = scale.col[0] * scale.row[1] - scale.row[0] * scale.col[1];
    const di = (px[0] * scale.row[1] - scale.row[0] * px[1]) / det;
    const dj = (scale.col[0] * px[1] - px[0] * scale.col[1]) / det;
    const [sx, sy] = flair.geometry.spacing;
    const mm = Math.hypot(di * sx, dj * sy);
    expect(Math.abs(long - mm)).toBeLessThan(1.5); // within a screen pixel or two of the drag
    expect(short).toBeCloseTo((long * 2) / 3, 0); // Cornerstone starts the perpendicular at 2/3 of the long axis

    // An elliptical ROI in the tumour, clear of the diameters (a press on a line or handle would move them):
    // area in mm² and the mean of the FLAIR under it.
    await page.keyboard.press('a');
    const mid: [number, number] = [(ends[0][0] + ends[1][0]) / 2, (ends[0][1] + ends[1][1]) / 2];
    const u = [(ends[1][0] - ends[0][0]) / px0, (ends[1][1] - ends[0][1]) / px0];
    const shortEnds: [number, number][] = [-1, 1].map((s) => [mid[0] - (s * u[1] * px0) / 3, mid[1] + (s * u[0] * px0) / 3]);
    const clear = (p: [number, number]) => Math.min(toSegment(p, ends[0], ends[1]), toSegment(p, shortEnds[0], shortEnds[1]));
    const centre = inside.reduce((best, p) => (clear(p) > clear(best) ? p : best), inside[0]);
    const r = Math.max(4, Math.min(12, clear(centre) * 0.6));
    await drag([centre[0] - r, centre[1] - r * 0.7], [centre[0] + r, centre[1] + r * 0.7]);
    await expect.poll(() => rows().count()).toBe(2);
    const roi = page.locator('[data-test=measurement][data-kind=ellipse]');
    await expect.poll(() => roi.locator('[data-test=measurement-value]').innerText()).toMatch(/^\d+ mm², mean \d+ ± \d+$/);

    // A length, deleted again: it leaves the list (and will not be saved).
    await page.keyboard.press('r');
    // Across the front of the head (the demo's tumour is at the back), clear of the others.
    const [a, b] = await page.evaluate(() => {
      const v = (window as unknown as Dbg).haloViewer;
      const [nx, ny] = (window as unknown as Dbg).haloDebug.dims();
      return [v.voxelToCanvas('FLAIR', nx * 0.4, ny * 0.25)!, v.voxelToCanvas('FLAIR', nx * 0.6, ny * 0.25)!];
    });
    await drag(a, b);
    await expect.poll(() => rows().count()).toBe(3);
    await page.locator('[data-test=measurement][data-kind=length] [data-test=measurement-delete]').click();
    await expect.poll(() => rows().count()).toBe(2);

    await page.keyboard.press('Escape');
    await expect.poll(() => page.locator('[data-test=measure-ellipse]').getAttribute('class')).not.toContain('on');
    // The ROI's values as shown when Save is pressed (Cornerstone's statistics settle within a few frames of the drag).
    const [area, mean] = (await roi.locator('[data-test=measurement-value]').innerText()).match(/\d+/g)!.map(Number);
    expect(area).toBeGreaterThan(50);
    expect(mean).toBeGreaterThan(0);
    shown = { long, short, area, mean };
    await page.screenshot({ path: join(ROOT, 'docs', 'screenshot-measurement.png') });
    await shot('01-measured');
    expect(errors).toEqual([]);
  });

  it('saves them with the result as a DICOM SR: valid, with the values shown and the FLAIR image of the slice', async () => {
    await page.selectOption('[data-test=save-dest]', 'folder');
    await page.click('[data-test=save]');
    await expect.poll(() => page.locator('[data-test=save-status] li[data-state=written]').count(), { timeout: 90_000 }).toBe(4);
    expect(await page.locator('[data-test=save-status]').innerText()).toContain('Measurement report (DICOM SR), 2 measurements');
    const names = await readdir(saveDir);
    const srName = names.find((f) => /_SR-measurements_[\d.]+\.dcm$/.test(f))!;
    expect(srName).toBeDefined();
    const file = join(saveDir, srName);
    const valid = dciodvfy(file);
    expect(valid.errors).toEqual([]);
    expect(valid.unexpectedWarnings).toEqual([]);

    const { dataset: sr } = parsePart10(new Uint8Array(await readFile(file)));
    const src = flair.source as Extract<Volume['source'], { kind: 'dicom' }>;
    expect(str(sr, 'StudyInstanceUID')).toBe(src.studyInstanceUID);
    expect(str(sr, 'PatientID')).toBe(str(src.firstDataset, 'PatientID'));

    const all = flatten(items(sr, 'ContentSequence'));
    const longItem = named(all, 'Long Axis')[0];
    const shortItem = named(all, 'Short Axis')[0];
    expect(value(longItem).toFixed(1)).toBe(shown.long.toFixed(1));
    expect(value(shortItem).toFixed(1)).toBe(shown.short.toFixed(1));
    expect(Math.round(value(named(all, 'Area')[0]))).toBe(shown.area);
    expect(Math.round(value(named(all, 'Mean')[0]))).toBe(shown.mean);
    // Both measurements are selected from the FLAIR image of the slice they were drawn on.
    const refs = all.filter((it) => str(it, 'ValueType') === 'IMAGE' && str(it, 'RelationshipType') === 'SELECTED FROM');
    expect(refs.length).toBeGreaterThanOrEqual(2);
    for (const r of refs) expect(str(items(r, 'ReferencedSOPSequence')[0], 'ReferencedSOPInstanceUID')).toBe(src.instances[k]!.sopInstanceUID);
    // The SEG saved with it is listed as evidence.
    const segUid = names.find((f) => f.includes('_SEG-mask_'))!.match(/_([\d.]+)\.dcm$/)![1];
    const other = items(items(sr, 'PertinentOtherEvidenceSequence')[0], 'ReferencedSeriesSequence').flatMap((s) => items(s, 'ReferencedSOPSequence'));
    expect(other.map((o) => str(o, 'ReferencedSOPInstanceUID'))).toContain(segUid);

    // To the PACS with the rest of the result: stored, and found again by the read-back.
    await page.selectOption('[data-test=save-dest]', 'pacs:orthanc');
    await page.click('[data-test=save]');
    await expect.poll(() => page.locator('[data-test=save-status] li[data-state=verified]').count(), { timeout: 90_000 }).toBe(4);
    const series = await orthanc.rest<{ MainDicomTags: { Modality: string; SeriesDescription: string } }[]>('/series?expand');
    expect(series.filter((x) => x.MainDicomTags.Modality === 'SR').map((x) => x.MainDicomTags.SeriesDescription)).toEqual([
      'Halo measurements (1 bidirectional, 1 ROI)',
    ]);
    expect(errors).toEqual([]);
  });

  it('forgets the measurements when another study opens', async () => {
    await page.click('[data-test=open-study]');
    await page.fill('[data-test=folder-path]', T1_SAG);
    await page.click('[data-test=folder-path-open]');
    await expect.poll(() => page.locator('[data-test=slice-label]').innerText(), { timeout: 60_000 }).toMatch(/^Slice \d+ \/ 35$/);
    expect(await rows().count()).toBe(0);
    expect(errors).toEqual([]);
  });

  it('saves measurements on their own (no result to go with) on a real sagittal scan, referencing its image', async () => {
    const k = await page.evaluate(() => (window as unknown as Dbg).haloViewer.slice);
    const [a, b] = await page.evaluate(() => {
      const v = (window as unknown as Dbg).haloViewer;
      const [nx, ny] = (window as unknown as Dbg).haloDebug.dims();
      return [v.voxelToCanvas('T1', nx * 0.3, ny * 0.5)!, v.voxelToCanvas('T1', nx * 0.7, ny * 0.6)!];
    });
    await page.keyboard.press('r');
    const box = (await page.locator('[data-test=viewport-T1]').boundingBox())!;
    await page.mouse.move(box.x + a[0], box.y + a[1]);
    await page.mouse.down();
    for (let s = 1; s <= 10; s++) await page.mouse.move(box.x + a[0] + ((b[0] - a[0]) * s) / 10, box.y + a[1] + ((b[1] - a[1]) * s) / 10);
    await page.mouse.up();
    await page.keyboard.press('Escape');
    await expect.poll(() => rows().count()).toBe(1);
    expect(await rows().first().innerText()).toContain(`Slice ${k + 1} · T1`);
    const shownMm = Number((await rows().first().locator('[data-test=measurement-value]').innerText()).match(/^(\d+\.\d) mm$/)![1]);

    expect(await page.locator('[data-test=save]').isDisabled()).toBe(true); // nothing segmented here
    await page.selectOption('[data-test=save-dest]', 'folder');
    const before = new Set(await readdir(saveDir));
    await page.click('[data-test=save-measurements]');
    await expect.poll(() => page.locator('[data-test=save-status] li[data-state=written]').count(), { timeout: 60_000 }).toBe(1);
    const name = (await readdir(saveDir)).find((f) => !before.has(f))!;
    expect(name).toMatch(/_SR-measurements_[\d.]+\.dcm$/);
    const valid = dciodvfy(join(saveDir, name));
    expect(valid.errors).toEqual([]);
    expect(valid.unexpectedWarnings).toEqual([]);
    const { dataset: sr } = parsePart10(new Uint8Array(await readFile(join(saveDir, name))));
    const t1 = seriesToVolume((await readDicomFolder(T1_SAG))[0]);
    const src = t1.source as Extract<Volume['source'], { kind: 'dicom' }>;
    expect(str(sr, 'StudyInstanceUID')).toBe(src.studyInstanceUID);
    const all = flatten(items(sr, 'ContentSequence'));
    expect(value(named(all, 'Length')[0]).toFixed(1)).toBe(shownMm.toFixed(1));
    const image = all.find((it) => str(it, 'ValueType') === 'IMAGE' && str(it, 'RelationshipType') === 'SELECTED FROM')!;
    expect(str(items(image, 'ReferencedSOPSequence')[0], 'ReferencedSOPInstanceUID')).toBe(src.instances[k]!.sopInstanceUID);
    expect(errors).toEqual([]);
  });
});
