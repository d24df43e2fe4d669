/**
 * End to end, as a radiologist would use it, in headless Chromium (Debian's /usr/bin/chromium via playwright-core)
 * against the real handlers behind the loopback HTTP bridge: the demo study opens on first start, 3 slices are
 * segmented (5 steps, ensemble 3), the overlays are checked to be really drawn (pixels change inside the brain and
 * not in the empty corner), scrolling, toggles and ensemble members work, the ensemble grows by 5, and the results
 * are saved to a private Orthanc and found there. A PACS that is down fails per object, with a reason and a retry.
 *
 * Needs `npx electron-vite build` first (npm run test:e2e does it). Artefacts: test-results/e2e/*.png.
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../main/app/http-bridge';
import { TestOrthanc, freePort } from '../support/orthanc';
import { decodePng } from './png';
import { closeViewer, makeWork, openViewer, OUT } from './session';

let bridge: Bridge;
let ctx: BrowserContext;
let page: Page;
let orthanc: TestOrthanc | null = null;
let work: string;
let errors: string[] = [];

async function shot(name: string, selector?: string): Promise<Buffer> {
  const path = join(OUT, `${name}.png`);
  return selector ? page.locator(selector).screenshot({ path }) : page.screenshot({ path });
}

/** Two same-size PNG screenshots: fraction of changed pixels inside/outside a box, and of coloured pixels of b inside it. */
function diff(a: Buffer, b: Buffer, box: { x0: number; y0: number; x1: number; y1: number }) {
  const A = decodePng(a);
  const B = decodePng(b);
  let inside = 0, outside = 0, insideTotal = 0, outsideTotal = 0, coloured = 0;
  for (let y = 0; y < A.height; y++) {
    for (let x = 0; x < A.width; x++) {
      const i = 4 * (y * A.width + x);
      const d = Math.abs(A.data[i] - B.data[i]) + Math.abs(A.data[i + 1] - B.data[i + 1]) + Math.abs(A.data[i + 2] - B.data[i + 2]);
      const isIn = x >= box.x0 && x < box.x1 && y >= box.y0 && y < box.y1;
      if (isIn) insideTotal++;
      else outsideTotal++;
      if (d > 30) {
        if (isIn) inside++;
        else outside++;
      }
      const [r, g, bl] = [B.data[i], B.data[i + 1], B.data[i + 2]];
      if (isIn && Math.max(r, g, bl) - Math.min(r, g, bl) > 60) coloured++;
    }
  }
  return { inside: inside / insideTotal, outside: outside / outsideTotal, coloured: coloured / insideTotal };
}

/** Fraction of points whose colour differs (sum of |dRGB| > 30) between two screenshots of the same element. */
function changedAt(a: Buffer, b: Buffer, points: [number, number][]): number {
  const A = decodePng(a);
  const B = decodePng(b);
  let changed = 0;
  for (const [x, y] of points) {
    const i = 4 * (Math.round(y) * A.width + Math.round(x));
    const d = Math.abs(A.data[i] - B.data[i]) + Math.abs(A.data[i + 1] - B.data[i + 1]) + Math.abs(A.data[i + 2] - B.data[i + 2]);
    if (d > 30) changed++;
  }
  return points.length ? changed / points.length : -1;
}

describe('viewer end to end (bridge + Chromium)', () => {
  beforeAll(async () => {
    work = await makeWork('');
    // Only this file's screenshots: the other e2e files write theirs (wf-*.png) to the same folder.
    for (const f of await readdir(OUT)) if (/^\d\d.*\.png$/.test(f)) await rm(join(OUT, f), { force: true });
    const saveDir = join(work, 'saved-results');
    await mkdir(saveDir);
    const nodes: unknown[] = [{ name: 'offline', kind: 'dicomweb', url: `http://127.0.0.1:${await freePort()}/dicom-web` }];
    orthanc = new TestOrthanc();
    await orthanc.start();
    nodes.unshift({ name: 'orthanc', kind: 'dicomweb', url: orthanc.dicomWebUrl });
    await writeFile(join(work, 'pacs.json'), JSON.stringify({ callingAet: 'HALO', nodes }, null, 2));
    ({ bridge, ctx, page, errors } = await openViewer({ allow: [saveDir] }));
  });

  afterAll(async () => {
    await closeViewer({ ctx, bridge, work });
    await orthanc?.dispose();
  });

  it('opens the bundled demo study on first start, with patient, roles and orientation', async () => {
    await page.goto(bridge.pageUrl);
    await page.waitForSelector('[data-test=slice-label]', { timeout: 90_000 });
    await expect.poll(() => page.locator('[data-test=patient]').innerText()).toContain('BraTS-GLI-00027-000');
    for (const role of ['FLAIR', 'T1', 'T1ce', 'T2']) {
      expect(await page.locator(`[data-test=role-select-${role}] option:checked`).innerText()).toContain(role);
      expect(await page.locator(`[data-test=viewport-${role}] canvas`).count()).toBeGreaterThan(0);
    }
    // Radiological convention for this axial study: patient right on screen left, anterior at the top.
    expect(await page.locator('[data-test=orientation-left]').first().innerText()).toBe('R');
    expect(await page.locator('[data-test=slice-label]').innerText()).toBe('Slice 25 / 48');
    await shot('01-demo-open');
    expect(errors).toEqual([]);
  });

  it('scrolls with keys and the wheel, and switches layout', async () => {
    await page.keyboard.press('ArrowUp');
    await expect.poll(() => page.locator('[data-test=slice-label]').innerText()).toBe('Slice 26 / 48');
    await page.locator('[data-test=viewport-FLAIR]').hover();
    await page.mouse.wheel(0, 120);
    await expect.poll(() => page.locator('[data-test=slice-label]').innerText()).toBe('Slice 25 / 48');
    await page.click('[data-test=layout-one-three]');
    await page.waitForTimeout(500);
    await shot('02-layout-one-three');
    await page.click('[data-test=layout-grid]');
    await page.waitForTimeout(300);
  });

  it('segments 3 slices around the one in view and draws mask and variance on it', async () => {
    await page.selectOption('[data-test=scope]', 'around');
    await page.fill('[data-test=radius]', '1');
    // Few steps keep the test fast on 2 CPU cores; the masks are speckled at this setting (the defaults are 25 / 5).
    await page.fill('[data-test=steps]', '10');
    await page.fill('[data-test=ensemble]', '3');
    const flair = '[data-test=viewport-FLAIR]';
    const before = await shot('03-before-segmentation', flair);
    await page.click('[data-test=segment]');
    await page.waitForSelector('[data-test=progress]');
    await expect.poll(() => page.locator('[data-test=run-status]').innerText().catch(() => ''), { timeout: 180_000, interval: 500 }).toMatch(/^Done/);
    expect(await page.locator('[data-test=provider]').innerText()).toMatch(/Running on (CPU|CUDA)/);
    await page.waitForTimeout(500);
    expect(await page.locator('[data-test=slice-stat]').innerText()).toMatch(/tumour [\d.]+ cm², uncertain [\d.]+ cm² near it/);
    const after = await shot('04-mask-and-variance', flair);
    await shot('04-full-window');

    // The brain fills the middle of the viewport.
    const box = await page.locator(flair).boundingBox();
    const inner = { x0: box!.width * 0.15, y0: box!.height * 0.12, x1: box!.width * 0.85, y1: box!.height * 0.95 };
    const d = diff(before, after, inner);
    expect(d.inside).toBeGreaterThan(0.005); // overlays really drawn on the brain
    expect(d.coloured).toBeGreaterThan(0.005); // in colour (mask green, variance heat)

    // Inside vs outside the mask: with the mask filled and the variance off, pixels well inside the mask change
    // and brain pixels well away from it do not.
    await page.keyboard.press('v');
    await page.selectOption('[data-test=mask-style]', 'fill');
    await page.waitForTimeout(300);
    const filled = await shot('04b-mask-fill', flair);
    const pts = await page.evaluate(() => (window as unknown as { haloViewer: { debugMaskPoints(r: string): { inside: [number, number][]; outside: [number, number][] } } }).haloViewer.debugMaskPoints('FLAIR'));
    expect(pts.inside.length).toBeGreaterThan(10);
    expect(pts.outside.length).toBeGreaterThan(10);
    expect(changedAt(before, filled, pts.inside)).toBeGreaterThan(0.9);
    expect(changedAt(before, filled, pts.outside)).toBeLessThan(0.05);
    await page.selectOption('[data-test=mask-style]', 'outline');
    await page.keyboard.press('v');
    await page.waitForTimeout(300);

    // Variance alone off, then mask alone off: each changes pixels.
    await page.keyboard.press('v');
    const noVariance = await shot('05-mask-only', flair);
    expect(diff(after, noVariance, inner).inside).toBeGreaterThan(0.0005);
    await page.keyboard.press('m');
    const none = await shot('06-no-overlays', flair);
    expect(diff(noVariance, none, inner).inside).toBeGreaterThan(0.001);
    // With both off, the image is the image again.
    expect(diff(before, none, inner).inside).toBeLessThan(0.01);
    await page.keyboard.press('v');
    await page.keyboard.press('m');
    await page.waitForTimeout(300);
    const variance = await shot('07-variance-overlay', flair);
    await shot('07-variance-full');
    expect(diff(variance, after, inner).inside).toBeLessThan(0.01);
    // For the README: the variance at full opacity over the FLAIR in the 1 + 3 layout.
    await page.locator('[data-test=variance-opacity]').fill('1');
    await page.click('[data-test=layout-one-three]');
    await page.waitForTimeout(600);
    await shot('07b-variance-readme'); // the README's docs/screenshot-variance.png is a copy of this artefact
    await page.locator('[data-test=variance-opacity]').fill('0.5');
    await page.click('[data-test=layout-grid]');
    await page.waitForTimeout(300);
  });

  it('never shows a result on a slice that has none, and jumps to the most uncertain slice', async () => {
    await page.keyboard.press('PageUp'); // 5 slices up: not segmented
    expect(await page.locator('[data-test=slice-stat]').innerText()).toContain('no result');
    await page.click('[data-test=most-uncertain]');
    await expect.poll(() => page.locator('[data-test=slice-stat]').innerText()).toMatch(/tumour/);
    await page.locator('[data-test=slice-slider]').fill('24');
    await expect.poll(() => page.locator('[data-test=slice-label]').innerText()).toBe('Slice 25 / 48');
  });

  it('steps through the ensemble members and grows the ensemble by 5', async () => {
    expect(await page.locator('[data-test=member-label]').innerText()).toBe('Ensemble (3 samples)');
    await page.click('[data-test=member-next]');
    expect(await page.locator('[data-test=member-label]').innerText()).toBe('Sample 1 of 3');
    await shot('08-member-1', '[data-test=viewport-FLAIR]');
    await page.keyboard.press(']');
    expect(await page.locator('[data-test=member-label]').innerText()).toBe('Sample 2 of 3');
    await page.keyboard.press('[');
    await page.keyboard.press('[');
    expect(await page.locator('[data-test=member-label]').innerText()).toBe('Ensemble (3 samples)');
    await page.click('[data-test=add-samples]');
    await expect.poll(() => page.locator('[data-test=member-label]').innerText(), { timeout: 180_000, interval: 500 }).toBe('Ensemble (8 samples)');
    await expect.poll(() => page.locator('[data-test=run-status]').innerText().catch(() => ''), { timeout: 180_000 }).toMatch(/^Done/);
  });

  it('reports a PACS that is down per object, with a reason and a retry', async () => {
    await page.selectOption('[data-test=save-dest]', 'pacs:offline');
    await page.click('[data-test=save]');
    await expect.poll(() => page.locator('[data-test=save-status] li[data-state=failed]').count(), { timeout: 60_000 }).toBe(3);
    const text = await page.locator('[data-test=save-status]').innerText();
    expect(text).toMatch(/refused|unreachable|not running|connection/i);
    expect(await page.locator('[data-test=retry]').count()).toBe(3);
    await shot('09-pacs-down');
  });

  it('saves SEG + Parametric Map to Orthanc and finds the SEG there', async () => {
    await page.selectOption('[data-test=save-dest]', 'pacs:orthanc');
    await page.click('[data-test=save]');
    await expect.poll(() => page.locator('[data-test=save-status] li[data-state=verified]').count(), { timeout: 90_000 }).toBe(3);
    await shot('10-saved-to-pacs');
    const res = await fetch(`${orthanc!.dicomWebUrl}/instances?Modality=SEG`);
    const found = (await res.json()) as unknown[];
    expect(found.length).toBe(2); // binary + fractional
    const pm = (await (await fetch(`${orthanc!.dicomWebUrl}/instances?SOPClassUID=1.2.840.10008.5.1.4.1.1.30`)).json()) as unknown[];
    expect(pm.length).toBe(1);
    expect(errors).toEqual([]);
  });
});
