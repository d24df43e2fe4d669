/**
 * End to end, the viewer basics of issue 10 on a full BraTS-size study (BraTS-GLI-00027-000, 240×240×155, four
 * series, imported to DICOM), in headless Chromium against the real handlers behind the loopback HTTP bridge:
 * the model is prepared while the study opens, and the click → first overlay time is measured and reported
 * (test-results/e2e/speed.json; a benchmark, not an assertion: 2 shared cores make wall times unreliable).
 *
 * Needs `npx electron-vite build` first (npm run test:e2e does it). Artefacts: test-results/e2e/vb-*.png.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importNiftiCase } from '../../main/dicom/import-nifti';
import { startBridge, type Bridge } from '../../main/app/http-bridge';
import { CASE_27, ROOT } from '../support/paths';
import { launchChromium, requirePrerequisites } from './browser';

const OUT = join(ROOT, 'test-results', 'e2e');

let bridge: Bridge;
let ctx: BrowserContext;
let page: Page;
let work: string;
let study: string;
let errors: string[] = [];

type Debug = { haloDebug: { resultSlices(): number[] } };
const shot = (name: string) => page.screenshot({ path: join(OUT, `vb-${name}.png`) });
const label = () => page.locator('[data-test=slice-label]').innerText();

describe('viewer basics on a full BraTS-size study (bridge + Chromium)', () => {
  beforeAll(async () => {
    requirePrerequisites();
    await mkdir(OUT, { recursive: true });
    work = await mkdtemp(join(tmpdir(), 'halo-e2e-vb-'));
    study = join(work, 'brats-27');
    await importNiftiCase(CASE_27, study);
    process.env.HALO_DATA_DIR = join(work, 'data');
    process.env.HALO_PACS_CONFIG = join(work, 'pacs.json');
    bridge = await startBridge({ allow: [study], cacheDir: null });
    ({ ctx, page, errors } = await launchChromium());
    await page.goto(bridge.pageUrl);
    await page.waitForSelector('[data-test=slice-label]', { timeout: 120_000 }); // the bundled demo, opened on start
  });

  afterAll(async () => {
    await ctx?.close();
    await bridge?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

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
    const firstOverlayMs = await page.evaluate(
      () =>
        new Promise<number>((resolve) => {
          const t = performance.now();
          document.querySelector<HTMLButtonElement>('[data-test=segment]')!.click();
          const tick = () => ((window as unknown as Debug).haloDebug.resultSlices().length ? resolve(performance.now() - t) : setTimeout(tick, 20));
          tick();
        }),
    );
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
});
