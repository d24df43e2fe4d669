/**
 * End to end, the viewer basics of issue 10 on a full BraTS-size study (BraTS-GLI-00027-000, 240×240×155, four
 * series, imported to DICOM), in headless Chromium against the real handlers behind the loopback HTTP bridge:
 * the model is prepared while the study opens, and the click → first overlay time is measured and reported
 * (test-results/e2e/speed.json; a benchmark, not an assertion: 2 shared cores make wall times unreliable).
 *
 * Needs `npx electron-vite build` first (npm run test:e2e does it). Artefacts: test-results/e2e/vb-*.png.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importNiftiCase } from '../../main/dicom/import-nifti';
import type { Bridge } from '../../main/app/http-bridge';
import { CASE_27 } from '../support/paths';
import { closeViewer, makeWork, openViewer, OUT } from './session';

let bridge: Bridge;
let ctx: BrowserContext;
let page: Page;
let work: string;
let study: string;
let errors: string[] = [];

type Debug = { haloDebug: { resultSlices(): number[] }; haloViewer: { renderCount: number } };
const shot = (name: string) => page.screenshot({ path: join(OUT, `vb-${name}.png`) });
const label = () => page.locator('[data-test=slice-label]').innerText();

describe('viewer basics on a full BraTS-size study (bridge + Chromium)', () => {
  beforeAll(async () => {
    work = await makeWork('vb-');
    study = join(work, 'brats-27');
    await importNiftiCase(CASE_27, study);
    ({ bridge, ctx, page, errors } = await openViewer({ allow: [study], waitFor: '[data-test=slice-label]' })); // the bundled demo, opened on start
  });

  afterAll(() => closeViewer({ ctx, bridge, work }));

  it('prepares the model when the study opens and reports click → first overlay, cold', async () => {
    const t0 = Date.now();
    await page.click('[data-test=open-study]');
    await page.fill('[data-test=folder-path]', study);
    await page.click('[data-test=folder-path-open]');
    await expect.poll(label, { timeout: 120_000, interval: 200 }).toMatch(/^Slice \d+ \/ 155$/);
    const imagesMs = Date.now() - t0;
    // Before anyone clicks, the model is being prepared, then ready.
    await expect.poll(() => page.locator('[data-test=model-status]').innerText().catch(() => ''), { timeout: 120_000, interval: 200 }).toBe('Model ready');
    const readyMs = Date.now() - t0;
    const settings = await page.evaluate(() => (window as unknown as { haloDebug: { settings(): unknown } }).haloDebug.settings());

    // Click → first overlay on the slice in view, timed inside the page (no test-runner latency).
    const { firstOverlayMs, renders } = await page.evaluate(
      () =>
        new Promise<{ firstOverlayMs: number; renders: number }>((resolve) => {
          const w = window as unknown as Debug;
          const t = performance.now();
          const r0 = w.haloViewer.renderCount;
          document.querySelector<HTMLButtonElement>('[data-test=segment]')!.click();
          const tick = () =>
            w.haloDebug.resultSlices().length ? resolve({ firstOverlayMs: performance.now() - t, renders: w.haloViewer.renderCount - r0 }) : setTimeout(tick, 20);
          tick();
        }),
    );
    // Nothing drawn yet, so nothing to clear, and the layout holds still: the overlay's is the only redraw (each
    // costs ~0.7 s here with software WebGL).
    expect(renders).toBeLessThanOrEqual(1);
    await page.click('[data-test=cancel]');
    await expect.poll(() => page.locator('[data-test=run-status]').innerText().catch(() => ''), { timeout: 60_000 }).toMatch(/^Cancelled|^Done/);
    const report = {
      study: 'BraTS-GLI-00027-000 (240×240×155, 4 series, DICOM)',
      cache: 'none (cold)',
      settings,
      openToImagesMs: imagesMs,
      openToModelReadyMs: readyMs,
      clickToFirstOverlayMs: Math.round(firstOverlayMs),
      measuredAt: new Date().toISOString(),
    };
    await writeFile(join(OUT, 'speed.json'), JSON.stringify(report, null, 2));
    console.log(`halo speed: click → first overlay ${(firstOverlayMs / 1000).toFixed(1)} s cold; images ${(imagesMs / 1000).toFixed(1)} s, model ready ${(readyMs / 1000).toFixed(1)} s after opening`);
    await shot('01-first-overlay');
    expect(errors).toEqual([]);
  });

  it('shows the window/level, marks the active preset, takes typed values, and annotates the corners', async () => {
    const on = (id: string) => page.locator(`[data-test=preset-${id}]`).getAttribute('class').then((c) => (c ?? '').includes('on'));
    expect(await on('auto')).toBe(true);
    await page.click('[data-test=preset-soft]');
    await expect.poll(() => on('soft')).toBe(true);
    expect(await on('auto')).toBe(false);
    const corner = () => page.locator('[data-test=corner-FLAIR]').innerText();
    // Series, slice and its position and thickness (BraTS: 1 mm), W/L and zoom.
    await expect.poll(corner).toMatch(/t2f|FLAIR/i);
    expect(await corner()).toMatch(/Slice \d+\/155 · -?\d+\.\d mm · thick 1\.00 mm/);
    expect(await corner()).toMatch(/W \d+ L \d+ · zoom 1\.00×/);
    const pos = async () => Number((await corner()).match(/· (-?\d+\.\d) mm/)![1]);
    const p0 = await pos();
    await page.locator('[data-test=viewport-grid]').focus();
    await page.keyboard.press('ArrowUp');
    await expect.poll(async () => Math.abs((await pos()) - p0)).toBeCloseTo(1, 1);
    // Typed values reach the image and the corner; no preset is marked any more.
    await page.fill('[data-test=window-width]', '300');
    await page.press('[data-test=window-width]', 'Enter');
    await page.fill('[data-test=window-level]', '150');
    await page.press('[data-test=window-level]', 'Enter');
    await expect.poll(corner).toMatch(/W 300 L 150 /);
    for (const id of ['auto', 'soft', 'bright', 'wide']) expect(await on(id)).toBe(false);
    await page.click('[data-test=preset-auto]');
    await expect.poll(() => on('auto')).toBe(true);
    expect(errors).toEqual([]);
  });

  it('zooms and pans all sequences together; right-drag zoom is gentle', async () => {
    const zoomOf = async (role: string) => Number((await page.locator(`[data-test=corner-${role}]`).innerText()).match(/zoom (\d+\.\d+)×/)![1]);
    const box = (await page.locator('[data-test=viewport-FLAIR]').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down({ button: 'right' });
    for (let i = 1; i <= 8; i++) await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2 + 5 * i);
    await page.mouse.up({ button: 'right' });
    // 40 px of drag: a gentle step (Cornerstone's stock rate nearly doubles the zoom here).
    await expect.poll(() => zoomOf('FLAIR')).toBeGreaterThan(1.03);
    const z = await zoomOf('FLAIR');
    expect(z).toBeLessThan(1.35);
    for (const role of ['T1', 'T1ce', 'T2']) await expect.poll(() => zoomOf(role)).toBeCloseTo(z, 2);

    const centres = () =>
      page.evaluate(() => {
        const v = (window as unknown as { haloViewer: { voxelAt(r: string, x: number, y: number): { i: number; j: number } | null } }).haloViewer;
        return ['FLAIR', 'T1', 'T1ce', 'T2'].map((r) => {
          const el = document.querySelector(`[data-test=viewport-${r}]`)!;
          const p = v.voxelAt(r, el.clientWidth / 2, el.clientHeight / 2);
          return p ? `${p.i},${p.j}` : 'none';
        });
      });
    // Pan one (middle drag): every viewport has the same voxel at its centre.
    const c0 = (await centres())[0];
    const t2 = (await page.locator('[data-test=viewport-T2]').boundingBox())!;
    await page.mouse.move(t2.x + t2.width / 2, t2.y + t2.height / 2);
    await page.mouse.down({ button: 'middle' });
    for (let i = 1; i <= 6; i++) await page.mouse.move(t2.x + t2.width / 2 + 6 * i, t2.y + t2.height / 2 + 4 * i);
    await page.mouse.up({ button: 'middle' });
    await expect.poll(async () => new Set(await centres()).size).toBe(1);
    expect((await centres())[0]).not.toBe(c0); // it really moved
    await shot('02-zoom-pan');
    await page.click('[data-test=zoom-reset]');
    await expect.poll(() => zoomOf('T1')).toBe(1);
    expect(errors).toEqual([]);
  });

  it('lists the series of the open study with thumbnails and the role each is shown as', async () => {
    await expect.poll(() => page.locator('[data-test=series-item]').count()).toBe(4);
    await expect.poll(() => page.locator('[data-test=series-thumb]').count(), { timeout: 60_000 }).toBe(4);
    // Real pictures: each thumbnail has a lit brain and a dark background, and no two series look the same.
    const pics = await page.evaluate(() =>
      Array.from(document.querySelectorAll<HTMLImageElement>('[data-test=series-thumb]')).map((img) => {
        const c = document.createElement('canvas');
        c.width = img.naturalWidth;
        c.height = img.naturalHeight;
        const g = c.getContext('2d')!;
        g.drawImage(img, 0, 0);
        const d = g.getImageData(0, 0, c.width, c.height).data;
        let lit = 0;
        let sum = 0;
        for (let i = 0; i < d.length; i += 4) {
          if (d[i] > 40) lit++;
          sum += d[i];
        }
        return { w: c.width, h: c.height, lit: lit / (d.length / 4), mean: sum / (d.length / 4) };
      }),
    );
    for (const p of pics) {
      expect(p.w).toBe(96); // 240 × 240 mm: square, fitted to 96 px
      expect(p.h).toBe(96);
      expect(p.lit).toBeGreaterThan(0.1);
      expect(p.lit).toBeLessThan(0.9);
    }
    expect(new Set(pics.map((p) => p.mean.toFixed(2))).size).toBe(4);
    // Each series says what it is shown as.
    const roles = await page.locator('[data-test=series-role]').evaluateAll((els) => els.map((e) => (e as HTMLSelectElement).value).sort());
    expect(roles).toEqual(['FLAIR', 'T1', 'T1ce', 'T2']);
    await page.locator('[data-test=series-browser]').screenshot({ path: join(OUT, 'vb-03-series-browser.png') });
    expect(errors).toEqual([]);
  });
});
