/**
 * End to end, reformats (issue 22, item 1), in headless Chromium against the real handlers behind the loopback
 * HTTP bridge:
 *  1. the "3 planes" layout shows one sequence in its acquisition plane and in the two reformats, with reference
 *     lines where the other planes cut each view; a click in a reformat moves the slice in view there;
 *  2. a real run's mask (demo study, axial) is drawn in the sagittal and coronal reformats exactly on the voxels
 *     the result marks, and nowhere else; the layout switch back keeps it;
 *  3. on a sagittal acquisition (t1-sag-hfs), a known result on some slices lands in the axial and coronal
 *     reformats on exactly those voxels, as it arrives, and the slice in view is the DICOM file's plane.
 *
 * Needs `npx electron-vite build` first (npm run test:e2e does it). Artefacts: test-results/e2e/rf-*.png; the
 * README's docs/screenshot-reformat.png is a copy of rf-readme.png.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import dcmjs from 'dcmjs';
import type { BrowserContext, ConsoleMessage, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../main/app/http-bridge';
import { T1_SAG } from '../support/paths';
import { decodePng } from './png';
import { closeViewer, makeWork, openViewer, OUT } from './session';

let bridge: Bridge;
let ctx: BrowserContext;
let page: Page;
let work: string;
let errors: string[] = [];
/** Console errors of the page (Cornerstone logs its synchronizer failures there, not as page errors). */
const consoleErrors: string[] = [];

type V3 = [number, number, number];
type Points = { inside: [number, number][]; outside: [number, number][] };
type Win = {
  haloViewer: {
    slice: number;
    crosshair: [number, number];
    views: { id: string; role: string; axis: number }[];
    setSlice(k: number): void;
    setCrosshair(i: number, j: number): void;
    setOverlay(o: object): void;
    drawSlice(k: number, m: Uint8Array, v: Float32Array): void;
    maskOf(k: number): Uint8Array | null;
    voxelToCanvas(view: string, i: number, j: number, k?: number): [number, number] | null;
    worldToCanvas(view: string, w: V3): [number, number] | null;
    debugMaskPoints(view: string, n?: number, margin?: number): Points;
    debugOverlayCounts(): Record<number, { mask: number; variance: number }>;
    renderCount: number;
  };
  haloDebug: { resultSlices(): number[]; dims(): number[] };
};

const shot = (name: string) => page.screenshot({ path: join(OUT, `rf-${name}.png`) });
const text = (sel: string) => page.locator(sel).innerText().catch(() => '');
const viewIds = () => page.locator('[data-test^=viewport-]:not([data-test=viewport-grid])').evaluateAll((els) => els.map((e) => e.getAttribute('data-test')));

/** A reference line drawn in a view, as the SVG says. */
async function refLine(view: string, plane: string): Promise<{ x1: number; y1: number; x2: number; y2: number }> {
  const l = page.locator(`[data-test=refline-${view}-${plane}]`);
  const [x1, y1, x2, y2] = await Promise.all(['x1', 'y1', 'x2', 'y2'].map(async (a) => Number(await l.getAttribute(a))));
  return { x1, y1, x2, y2 };
}

/** Distance (px) of point p from the infinite line through a reference line's end points. */
function distance(l: { x1: number; y1: number; x2: number; y2: number }, p: [number, number]): number {
  const dx = l.x2 - l.x1;
  const dy = l.y2 - l.y1;
  return Math.abs(dy * (p[0] - l.x1) - dx * (p[1] - l.y1)) / Math.hypot(dx, dy);
}

/**
 * The mask of the plane in view is drawn where the result says (fill style, variance hidden): green on the
 * voxels it marks, grey on brain away from it. Returns the two fractions.
 */
async function maskPlacement(view: string, margin: number): Promise<{ inside: number; outside: number; n: number }> {
  const pts = await page.evaluate(([v, m]) => (window as unknown as Win).haloViewer.debugMaskPoints(v as string, 80, m as number), [view, margin]);
  const img = decodePng(await page.locator(`[data-test=viewport-${view}] canvas`).first().screenshot());
  const green = (p: [number, number][]) =>
    p.filter(([x, y]) => {
      const i = 4 * (Math.round(y) * img.width + Math.round(x));
      return img.data[i + 1] - img.data[i] > 30;
    }).length / Math.max(1, p.length);
  return { inside: green(pts.inside), outside: green(pts.outside), n: Math.min(pts.inside.length, pts.outside.length) };
}

/** The mask voxel of slice k nearest its centroid (a point well inside the lesion for the crosshair). */
async function lesionCentre(k: number): Promise<[number, number]> {
  return page.evaluate((kk) => {
    const w = window as unknown as Win;
    const nx = w.haloDebug.dims()[0];
    const m = w.haloViewer.maskOf(kk)!;
    let si = 0, sj = 0, n = 0;
    m.forEach((v, p) => {
      if (v) {
        si += p % nx;
        sj += Math.floor(p / nx);
        n++;
      }
    });
    let best: [number, number] = [0, 0];
    let bestD = Infinity;
    m.forEach((v, p) => {
      const d = Math.hypot((p % nx) - si / n, Math.floor(p / nx) - sj / n);
      if (v && d < bestD) [best, bestD] = [[p % nx, Math.floor(p / nx)], d];
    });
    return best;
  }, k);
}

describe('reformats: one sequence in three planes (bridge + Chromium)', () => {
  beforeAll(async () => {
    work = await makeWork('rf-');
    const onConsole = (m: ConsoleMessage) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    };
    ({ bridge, ctx, page, errors } = await openViewer({ allow: [T1_SAG], onConsole, waitFor: '[data-test=uncertainty-strip]' }));
  });

  afterAll(() => closeViewer({ ctx, bridge, work }));

  it('switches to one sequence in three planes, with reference lines between them, and back', async () => {
    expect(await viewIds()).toEqual(['viewport-FLAIR', 'viewport-T1', 'viewport-T1ce', 'viewport-T2']);
    await page.click('[data-test=layout-planes]');
    await expect.poll(viewIds).toEqual(['viewport-FLAIR', 'viewport-FLAIR-sagittal', 'viewport-FLAIR-coronal']);
    await expect.poll(() => text('[data-test=plane-FLAIR-sagittal]')).toBe('FLAIR · Sagittal reformat');
    expect(await text('[data-test=plane-FLAIR-coronal]')).toBe('FLAIR · Coronal reformat');
    // Radiological orientation: sagittal with the face on the left, coronal with the patient's right on the left.
    const letters = (v: string) => page.locator(`[data-test=viewport-${v}] ~ .ol`).allInnerTexts();
    expect(await letters('FLAIR-sagittal')).toEqual(['S', 'I', 'A', 'P']);
    expect(await letters('FLAIR-coronal')).toEqual(['S', 'I', 'R', 'L']);
    // Every canvas drawn at the size it is shown.
    await expect
      .poll(() =>
        page.evaluate(() =>
          Array.from(document.querySelectorAll<HTMLCanvasElement>('[data-test^=viewport-] canvas')).every(
            (c) => Math.abs(c.width - c.clientWidth * devicePixelRatio) <= 1 && Math.abs(c.height - c.clientHeight * devicePixelRatio) <= 1,
          ),
        ),
      )
      .toBe(true);

    // The reference lines: in each view, where the two other planes cut it, through the voxels they show.
    const at = (view: string, i: number, j: number, k: number) => page.evaluate(([v, a, b, c]) => (window as unknown as Win).haloViewer.voxelToCanvas(v as string, a as number, b as number, c as number)!, [view, i, j, k] as const);
    const check = async () => {
      const k = await page.evaluate(() => (window as unknown as Win).haloViewer.slice);
      const [i, j] = await page.evaluate(() => (window as unknown as Win).haloViewer.crosshair);
      for (const [view, plane] of [
        ['FLAIR', 'sagittal'],
        ['FLAIR', 'coronal'],
        ['FLAIR-sagittal', 'axial'],
        ['FLAIR-sagittal', 'coronal'],
        ['FLAIR-coronal', 'axial'],
        ['FLAIR-coronal', 'sagittal'],
      ]) {
        const l = await refLine(view, plane);
        // Two voxels on the line: the centre and one 20 voxels along it.
        const along = plane === 'axial' ? (view === 'FLAIR-sagittal' ? [i, j + 20, k] : [i + 20, j, k]) : plane === 'sagittal' ? (view === 'FLAIR' ? [i, j + 20, k] : [i, j, k + 5]) : view === 'FLAIR' ? [i + 20, j, k] : [i, j, k + 5];
        expect(distance(l, await at(view, i, j, k))).toBeLessThan(0.5);
        expect(distance(l, await at(view, along[0], along[1], along[2]))).toBeLessThan(0.5);
      }
      return k;
    };
    const k0 = await check();
    // Scrolling moves the axial line in both reformats.
    await page.locator('[data-test=viewport-grid]').focus();
    for (let n = 0; n < 5; n++) await page.keyboard.press('ArrowUp');
    await expect.poll(() => page.evaluate(() => (window as unknown as Win).haloViewer.slice)).toBe(k0 + 5);
    await page.waitForTimeout(200);
    expect(await check()).toBe(k0 + 5);

    // Scrolling redraws the acquisition plane only: a reformat already shows every slice, its line is SVG. Ten
    // arrows queued in one task (as with a held key): the time until the last slice is drawn, and the frames.
    const frames = await page.evaluate(async (k) => {
      const w = window as unknown as Win;
      const views = ['FLAIR', 'FLAIR-sagittal', 'FLAIR-coronal'];
      const drawn: Record<string, number[]> = Object.fromEntries(views.map((v) => [v, []]));
      const listeners = views.map((v) => {
        const el = document.querySelector(`[data-test=viewport-${v}]`)!;
        const f = () => drawn[v].push(w.haloViewer.slice);
        el.addEventListener('CORNERSTONE_IMAGE_RENDERED', f);
        return () => el.removeEventListener('CORNERSTONE_IMAGE_RENDERED', f);
      });
      const grid = document.querySelector('[data-test=viewport-grid]')!;
      const t0 = performance.now();
      for (let n = 0; n < 10; n++) grid.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowUp', bubbles: true, cancelable: true }));
      while (!drawn.FLAIR.includes(k + 10) && performance.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 20));
      const ms = performance.now() - t0;
      await new Promise((r) => setTimeout(r, 500)); // nothing else may be drawn after it
      listeners.forEach((off) => off());
      return { ms, drawn };
    }, k0 + 5);
    console.log(`three planes, 10 queued arrows: ${frames.ms.toFixed(0)} ms until drawn; frames: ${JSON.stringify(frames.drawn)}`);
    expect(frames.drawn.FLAIR.at(-1)).toBe(k0 + 15);
    expect(frames.drawn['FLAIR-sagittal']).toEqual([]);
    expect(frames.drawn['FLAIR-coronal']).toEqual([]);
    await page.keyboard.press('PageDown');
    await page.keyboard.press('PageDown');
    await expect.poll(() => page.evaluate(() => (window as unknown as Win).haloViewer.slice)).toBe(k0 + 5);
    await page.waitForTimeout(200);

    // A click in the sagittal reformat moves the slice in view (and the coronal plane) to the voxel clicked.
    const [ci, cj] = await page.evaluate(() => (window as unknown as Win).haloViewer.crosshair);
    const target = await at('FLAIR-sagittal', ci, cj - 15, k0 - 8);
    await page.locator('[data-test=viewport-FLAIR-sagittal]').click({ position: { x: target[0], y: target[1] } });
    await expect.poll(() => text('[data-test=slice-label]')).toBe(`Slice ${k0 - 8 + 1} / 48`);
    expect(await page.evaluate(() => (window as unknown as Win).haloViewer.crosshair)).toEqual([ci, cj - 15]);
    expect(await text('[data-test=corner-FLAIR-coronal]')).toContain(`Coronal ${cj - 15 + 1}/187`);
    await page.waitForTimeout(200);
    await check();
    await shot('01-three-planes');

    // And back: the sequences side by side again.
    await page.click('[data-test=layout-grid]');
    await expect.poll(viewIds).toEqual(['viewport-FLAIR', 'viewport-T1', 'viewport-T1ce', 'viewport-T2']);
    expect(await page.locator('[data-test^=refline-]').count()).toBe(0);
    expect(errors).toEqual([]);
  });

  it('draws a run\'s mask in the reformats exactly on the voxels it marks, and keeps it across layouts', async () => {
    await page.evaluate(() => (window as unknown as Win).haloViewer.setSlice(24));
    await page.click('[data-test=layout-planes]');
    await expect.poll(viewIds).toEqual(['viewport-FLAIR', 'viewport-FLAIR-sagittal', 'viewport-FLAIR-coronal']);
    // A run in this layout: its slices arrive one by one and are pushed to the reformats as they come.
    await page.selectOption('[data-test=scope]', 'around');
    await page.fill('[data-test=radius]', '5');
    await page.fill('[data-test=steps]', '4');
    await page.fill('[data-test=ensemble]', '2');
    await page.click('[data-test=segment]');
    await expect.poll(() => text('[data-test=run-status]'), { timeout: 240_000, interval: 500 }).toMatch(/^Done/);
    const slices = Array.from({ length: 11 }, (_, n) => 19 + n);
    await expect.poll(() => page.evaluate(() => (window as unknown as Win).haloDebug.resultSlices()), { timeout: 30_000 }).toEqual(slices);
    // Through the lesion on the slice in view.
    const [i, j] = await lesionCentre(24);
    await page.evaluate(([a, b]) => (window as unknown as Win).haloViewer.setCrosshair(a, b), [i, j]);
    await page.locator('[data-test=viewport-grid]').focus();
    await page.keyboard.press('v'); // variance hidden, mask filled: its pixels can be told apart
    await page.selectOption('[data-test=mask-style]', 'fill');
    await page.waitForTimeout(800);
    for (const view of ['FLAIR', 'FLAIR-sagittal', 'FLAIR-coronal']) {
      const p = await maskPlacement(view, 2);
      expect(p.n, view).toBeGreaterThan(5);
      expect(p.inside, `${view}: mask voxels drawn green`).toBeGreaterThan(0.8);
      expect(p.outside, `${view}: no mask drawn away from it (incl. the slices without a result)`).toBeLessThan(0.05);
    }
    await shot('02-mask-in-reformats');

    // An edit in the acquisition plane shows in the reformats: a brush stroke along the sagittal plane's column i,
    // on brain without mask, turns that stretch green in the sagittal reformat (on row k = 24 only).
    const free = await page.evaluate(
      ([ci]) => {
        const w = window as unknown as Win & { haloViewer: { nonZeroOf(r: string, k: number): Uint8Array } };
        const nx = w.haloDebug.dims()[0];
        const m = w.haloViewer.maskOf(24)!;
        const brain = w.haloViewer.nonZeroOf('FLAIR', 24);
        const ny = m.length / nx;
        for (let j = 10; j < ny - 30; j++) {
          let ok = true;
          for (let d = -6; d < 26 && ok; d++) for (let di = -6; di <= 6 && ok; di++) ok = !m[(j + d) * nx + ci + di] && !!brain[(j + d) * nx + ci + di];
          if (ok) return j;
        }
        return -1;
      },
      [i],
    );
    expect(free).toBeGreaterThan(0);
    // Voxels (i, j, k) of the sagittal plane: green or not, as drawn now (placed again: the strip's text may wrap
    // after an edit and resize the views).
    const greenAt = async (voxels: [number, number][]) => {
      const pts = await Promise.all(voxels.map(([jj, kk]) => page.evaluate(([a, b, c]) => (window as unknown as Win).haloViewer.voxelToCanvas('FLAIR-sagittal', a, b, c)!, [i, jj, kk])));
      const img = decodePng(await page.locator('[data-test=viewport-FLAIR-sagittal] canvas').first().screenshot());
      return pts.map(([x, y]) => {
        const p = 4 * (Math.round(y) * img.width + Math.round(x));
        return img.data[p + 1] - img.data[p] > 30;
      });
    };
    const probe: [number, number][] = [[free + 10, 24], [free + 10, 20]];
    expect(await greenAt(probe)).toEqual([false, false]);
    await page.keyboard.press('b');
    const axial = page.locator('[data-test=viewport-FLAIR]');
    const box = (await axial.boundingBox())!;
    const from = await page.evaluate(([a, b]) => (window as unknown as Win).haloViewer.voxelToCanvas('FLAIR', a, b)!, [i, free]);
    const to = await page.evaluate(([a, b]) => (window as unknown as Win).haloViewer.voxelToCanvas('FLAIR', a, b)!, [i, free + 20]);
    await page.mouse.move(box.x + from[0], box.y + from[1]);
    await page.mouse.down();
    for (let n = 1; n <= 10; n++) await page.mouse.move(box.x + from[0] + ((to[0] - from[0]) * n) / 10, box.y + from[1] + ((to[1] - from[1]) * n) / 10);
    await page.mouse.up();
    await page.keyboard.press('Escape');
    await page.waitForTimeout(800);
    expect(await greenAt(probe)).toEqual([true, false]);
    await page.keyboard.press('Control+z');
    await page.waitForTimeout(800);
    expect(await greenAt(probe)).toEqual([false, false]);
    // For the README: mask outline and variance in the three planes.
    await page.selectOption('[data-test=mask-style]', 'outline');
    await page.keyboard.press('v');
    await page.waitForTimeout(800);
    await shot('readme'); // the README's docs/screenshot-reformat.png is a copy of this artefact

    // Back to 2 x 2 and to three planes again: the result is still drawn, in every plane.
    await page.click('[data-test=layout-grid]');
    await expect.poll(viewIds).toHaveLength(4);
    await page.click('[data-test=layout-planes]');
    await expect.poll(viewIds).toHaveLength(3);
    await page.keyboard.press('v');
    await page.selectOption('[data-test=mask-style]', 'fill');
    await page.waitForTimeout(800);
    const p = await maskPlacement('FLAIR-sagittal', 2);
    expect(p.inside).toBeGreaterThan(0.8);
    expect(p.outside).toBeLessThan(0.05);
    expect(errors).toEqual([]);
  });

  it('places a sagittal acquisition\'s slices and results exactly in its axial and coronal reformats', async () => {
    await page.click('[data-test=open-study]');
    await page.fill('[data-test=folder-path]', T1_SAG);
    await page.click('[data-test=folder-path-open]');
    await expect.poll(() => text('[data-test=slice-label]'), { timeout: 60_000 }).toMatch(/^Slice \d+ \/ 35$/);
    // Still three planes, of the one sequence this study has: sagittal as acquired, axial and coronal reformats.
    await expect.poll(viewIds).toEqual(['viewport-T1', 'viewport-T1-axial', 'viewport-T1-coronal']);
    const letters = (v: string) => page.locator(`[data-test=viewport-${v}] ~ .ol`).allInnerTexts();
    expect(await letters('T1-axial')).toEqual(['A', 'P', 'R', 'L']);
    expect(await letters('T1-coronal')).toEqual(['S', 'I', 'R', 'L']);

    // Each slice k is the plane of its DICOM file: the reference line of slice k in the axial reformat passes
    // through that file's ImagePositionPatient and along its row direction.
    const grid = await page.evaluate(() => (window as unknown as Win).haloDebug.dims());
    expect(grid[2]).toBe(35);
    const files = [];
    for (const f of (await readdir(T1_SAG)).filter((x) => x.endsWith('.dcm'))) {
      const ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dcmjs.data.DicomMessage.readFile(new Uint8Array(await readFile(join(T1_SAG, f))).buffer).dict);
      files.push({ ipp: ds.ImagePositionPatient.map(Number) as V3, iop: ds.ImageOrientationPatient.map(Number) as number[] });
    }
    const normal: V3 = [
      files[0].iop[1] * files[0].iop[5] - files[0].iop[2] * files[0].iop[4],
      files[0].iop[2] * files[0].iop[3] - files[0].iop[0] * files[0].iop[5],
      files[0].iop[0] * files[0].iop[4] - files[0].iop[1] * files[0].iop[3],
    ];
    const along = (p: V3) => p[0] * normal[0] + p[1] * normal[1] + p[2] * normal[2];
    files.sort((a, b) => along(a.ipp) - along(b.ipp));
    for (const k of [3, 17, 30]) {
      await page.evaluate((kk) => (window as unknown as Win).haloViewer.setSlice(kk), k);
      await expect.poll(() => text('[data-test=slice-label]')).toBe(`Slice ${k + 1} / 35`);
      const l = await refLine('T1-axial', 'sagittal');
      const { ipp, iop } = files[k];
      const further: V3 = [ipp[0] + 150 * iop[0], ipp[1] + 150 * iop[1], ipp[2] + 150 * iop[2]];
      for (const w of [ipp, further]) {
        const p = await page.evaluate(([v, ww]) => (window as unknown as Win).haloViewer.worldToCanvas(v as string, ww as V3)!, ['T1-axial', w] as const);
        expect(distance(l, p), `slice ${k}`).toBeLessThan(0.5);
      }
    }

    // A known result on slices 12-19 (not symmetric about the middle: a flipped slice order would show), a block
    // of 40 x 30 voxels, drawn slice by slice as a run delivers them, while slice 5 is in view.
    await page.evaluate(() => (window as unknown as Win).haloViewer.setSlice(5));
    const [nx, ny] = grid;
    const block = { i0: 100, i1: 140, j0: 90, j1: 120, k0: 12, k1: 20 };
    await page.evaluate(
      ([b, x, y]) => {
        const w = window as unknown as Win;
        w.haloViewer.setOverlay({ variance: false, maskStyle: 'fill' });
        w.haloViewer.setCrosshair((b.i0 + b.i1) / 2, (b.j0 + b.j1) / 2);
        for (let k = b.k0; k < b.k1; k++) {
          const m = new Uint8Array(x * y);
          for (let j = b.j0; j < b.j1; j++) for (let i = b.i0; i < b.i1; i++) m[j * x + i] = 1;
          w.haloViewer.drawSlice(k, m, new Float32Array(x * y));
        }
      },
      [block, nx, ny] as const,
    );
    await page.waitForTimeout(800);
    for (const view of ['T1-axial', 'T1-coronal']) {
      const p = await maskPlacement(view, 2);
      expect(p.n, view).toBeGreaterThan(5);
      expect(p.inside, `${view}: the block drawn green`).toBeGreaterThan(0.9);
      expect(p.outside, `${view}: nothing drawn outside it`).toBeLessThan(0.02);
    }
    // The slice in view (5) has no result: nothing drawn there.
    const acquired = await maskPlacement('T1', 2);
    expect(acquired.outside).toBeLessThan(0.02);
    await shot('03-sagittal-acquisition');
    expect(errors).toEqual([]);
    // Switching from the four-sequence demo to this one-series study left no synchronizer behind.
    expect(consoleErrors.filter((e) => /Synchronizer|render/.test(e))).toEqual([]);
  });
});
