/**
 * End to end, fluid reading (issue 22), in headless Chromium against the real handlers behind the loopback HTTP
 * bridge, on the bundled demo study:
 *  1. the ensemble size does not carry over to the next study: it is back at the model's default, and the UI
 *     says so;
 *  2. opening another study during a run says which run was cancelled and how far it got;
 *
 * Needs `npx electron-vite build` first (npm run test:e2e does it). Artefacts: test-results/e2e/fl-*.png.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBridge, type Bridge } from '../../main/app/http-bridge';
import { launchChromium, requirePrerequisites } from './browser';

const ROOT = resolve(__dirname, '../..');
const OUT = join(ROOT, 'test-results', 'e2e');
const PATIENT = 'BraTS-GLI-00027-000';

let bridge: Bridge;
let ctx: BrowserContext;
let page: Page;
let work: string;
let errors: string[] = [];

const shot = (name: string) => page.screenshot({ path: join(OUT, `fl-${name}.png`) });
const text = (sel: string) => page.locator(sel).innerText().catch(() => '');

/** Open the bundled demo study again from the study browser (a new open: a new study id). */
async function reopenDemo(): Promise<void> {
  await page.click('[data-test=open-study]');
  await page.click('[data-test=open-demo]');
  await page.waitForSelector('[data-test=uncertainty-strip]', { timeout: 120_000 });
}

describe('fluid reading (bridge + Chromium)', () => {
  beforeAll(async () => {
    requirePrerequisites();
    await mkdir(OUT, { recursive: true });
    work = await mkdtemp(join(tmpdir(), 'halo-e2e-fl-'));
    process.env.HALO_PACS_CONFIG = join(work, 'pacs.json');
    process.env.HALO_DATA_DIR = join(work, 'data');
    // No result cache: a run must take long enough to be cancelled.
    bridge = await startBridge({ allow: [], cacheDir: null });
    ({ ctx, page, errors } = await launchChromium());
    await page.goto(bridge.pageUrl);
    await page.waitForSelector('[data-test=uncertainty-strip]', { timeout: 120_000 });
  });

  afterAll(async () => {
    await ctx?.close();
    await bridge?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('starts every study at the model default ensemble size, and says when it reset a different one', async () => {
    expect(await page.locator('[data-test=ensemble]').inputValue()).toBe('5');
    await page.fill('[data-test=ensemble]', '10');
    await reopenDemo();
    expect(await page.locator('[data-test=ensemble]').inputValue()).toBe('5');
    expect(await text('[data-test=notice]')).toContain("Ensemble size reset to the model's default of 5 for this study (it was 10)");
    await shot('01-ensemble-reset');
    await page.click('[data-test=notice-dismiss]');
    expect(await page.locator('[data-test=notice]').count()).toBe(0);
    expect(errors).toEqual([]);
  });

  it('says which run was cancelled when another study is opened during it', async () => {
    await page.click('[data-test=segment]');
    await page.waitForSelector('[data-test=cancel]', { timeout: 60_000 });
    await reopenDemo();
    const notice = await text('[data-test=notice]');
    expect(notice).toMatch(new RegExp(`The segmentation of ${PATIENT} \\(n = 5\\) was cancelled because another study was opened: (\\d+ of \\d+ slices were done|no slice was done yet)`));
    // The new study shows no trace of that run: no progress, nothing drawn, Segment available.
    expect(await page.locator('[data-test=progress]').count()).toBe(0);
    expect(await page.locator('[data-test=segment]').isEnabled()).toBe(true);
    const drawn = await page.evaluate(() => (window as unknown as { haloViewer: { debugOverlayCounts(): object } }).haloViewer.debugOverlayCounts());
    expect(drawn).toEqual({});
    await shot('02-run-cancelled');
    await page.click('[data-test=notice-dismiss]');
    expect(errors).toEqual([]);
  });
});
