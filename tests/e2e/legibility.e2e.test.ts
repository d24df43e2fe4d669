/**
 * End to end, what is written over the images stays readable and out of the way (issue 22, item 9), in headless
 * Chromium against the real handlers behind the loopback HTTP bridge, on the bundled demo study:
 *  1. the "Lesion" window preset keeps every sequence readable (the T1ce turned almost black);
 *  2. the value readout under the cursor never covers an orientation letter, in every layout, at 1500x950 and
 *     900x600;
 *  3. at 900x600 the corner text of a viewport does not cover the brain;
 *  4. switching from the four-sequence demo to a one-series study (t1-sag-hfs) and scrolling, zooming and panning
 *     there logs no error (there were 60+ "Synchronizer ... reading 'render'").
 *
 * Needs `npx electron-vite build` first (npm run test:e2e does it). Artefacts: test-results/e2e/lg-*.png.
 */
import { join } from 'node:path';
import type { BrowserContext, ConsoleMessage, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../main/app/http-bridge';
import { T1_SAG } from '../support/paths';
import { decodePng } from './png';
import { closeViewer, makeWork, openViewer, OUT } from './session';

const ROLES = ['FLAIR', 'T1', 'T1ce', 'T2'];

let bridge: Bridge;
let ctx: BrowserContext;
let page: Page;
let work: string;
let errors: string[] = [];
const consoleErrors: string[] = [];

type Box = { x: number; y: number; width: number; height: number };
type Win = { haloViewer: { debugMaskPoints(view: string, n?: number, margin?: number): { inside: [number, number][]; outside: [number, number][] } } };

const shot = (name: string) => page.screenshot({ path: join(OUT, `lg-${name}.png`) });
const overlap = (a: Box, b: Box) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
/** Brain voxels of the slice in view (no result yet: every brain voxel is "outside" the mask), canvas px. */
const brainPoints = (view: string) => page.evaluate((v) => (window as unknown as Win).haloViewer.debugMaskPoints(v, 150, 1).outside, view);

/** The cells on screen, by the id of their viewport element (viewport-FLAIR, viewport-FLAIR-sagittal, …). */
async function cells(): Promise<string[]> {
  return page.locator('.cell > .vp').evaluateAll((els) => els.map((e) => e.getAttribute('data-test')!.replace('viewport-', '')));
}

/** Hover a brain voxel of each view; the readout must not touch any orientation letter of that view. */
async function readoutClearOfLetters(where: string): Promise<void> {
  for (const view of await cells()) {
    const el = page.locator(`[data-test=viewport-${view}]`);
    const box = (await el.boundingBox())!;
    const pts = await brainPoints(view);
    expect(pts.length, `${where} ${view}`).toBeGreaterThan(10);
    const p = pts[Math.floor(pts.length / 2)];
    await page.mouse.move(box.x + p[0], box.y + p[1]);
    const readout = el.locator('xpath=..').locator('[data-test=readout]');
    await expect.poll(() => readout.count()).toBe(1);
    const r = (await readout.boundingBox())!;
    for (const letter of await el.locator('xpath=..').locator('.ol').all()) {
      const l = (await letter.boundingBox())!;
      expect(overlap(r, l), `${where} ${view}: readout ${JSON.stringify(r)} covers "${await letter.innerText()}" ${JSON.stringify(l)}`).toBe(false);
    }
  }
}

describe('text over the images (bridge + Chromium)', () => {
  beforeAll(async () => {
    work = await makeWork('lg-');
    const onConsole = (m: ConsoleMessage) => {
      if (m.type() === 'error' || m.type() === 'warning') consoleErrors.push(m.text());
    };
    ({ bridge, ctx, page, errors } = await openViewer({ allow: [T1_SAG], onConsole, waitFor: '[data-test=uncertainty-strip]' }));
  });

  afterAll(() => closeViewer({ ctx, bridge, work }));

  it('keeps every sequence readable in the Lesion window', async () => {
    await page.click('[data-test=preset-bright]');
    await page.waitForTimeout(800);
    const means: Record<string, number> = {};
    for (const role of ROLES) {
      const pts = await brainPoints(role);
      const img = decodePng(await page.locator(`[data-test=viewport-${role}] canvas`).first().screenshot());
      let sum = 0;
      for (const [x, y] of pts) {
        const i = 4 * (Math.round(y) * img.width + Math.round(x));
        sum += (0.299 * img.data[i] + 0.587 * img.data[i + 1] + 0.114 * img.data[i + 2]) / 255;
      }
      means[role] = sum / pts.length;
    }
    console.log(`Lesion window, mean grey of the brain (0 black, 1 white): ${JSON.stringify(means, (_, v) => (typeof v === 'number' ? Number(v.toFixed(2)) : v))}`);
    await shot('01-lesion-window');
    for (const role of ROLES) {
      expect(means[role], `${role} not almost black`).toBeGreaterThan(0.2);
      expect(means[role], `${role} not washed out`).toBeLessThan(0.7);
    }
    await page.click('[data-test=preset-auto]');
  });

  it('never covers an orientation letter with the readout, in any layout and size', async () => {
    for (const size of [{ width: 1500, height: 950 }, { width: 900, height: 600 }]) {
      await page.setViewportSize(size);
      for (const layout of ['grid', 'one-three', 'planes']) {
        await page.click(`[data-test=layout-${layout}]`);
        await page.waitForTimeout(800);
        await readoutClearOfLetters(`${size.width}x${size.height} ${layout}`);
      }
      await shot(`02-readout-${size.width}`);
      await page.click('[data-test=layout-grid]');
    }
  });

  it('keeps the corner text off the brain at 900x600', async () => {
    await page.setViewportSize({ width: 900, height: 600 });
    for (const layout of ['grid', 'one-three', 'planes']) {
      await page.click(`[data-test=layout-${layout}]`);
      await page.waitForTimeout(800);
      for (const view of await cells()) {
        const vp = (await page.locator(`[data-test=viewport-${view}]`).boundingBox())!;
        const corner = page.locator(`[data-test=corner-${view}]`);
        if (!(await corner.isVisible())) continue; // a viewport too small for it shows none
        const c = (await corner.boundingBox())!;
        const covered = (await brainPoints(view)).filter(([x, y]) => x + vp.x >= c.x && x + vp.x <= c.x + c.width && y + vp.y >= c.y && y + vp.y <= c.y + c.height);
        expect(covered.length, `${layout} ${view}: brain under the corner text`).toBe(0);
      }
      await shot(`03-corner-900-${layout}`);
    }
    await page.click('[data-test=layout-grid]');
    await page.setViewportSize({ width: 1500, height: 950 });
  });

  it('logs no error after switching from the four-sequence demo to a one-series study', async () => {
    consoleErrors.length = 0;
    await page.click('[data-test=open-study]');
    await page.fill('[data-test=folder-path]', T1_SAG);
    await page.click('[data-test=folder-path-open]');
    await expect.poll(() => page.locator('[data-test=slice-label]').innerText(), { timeout: 60_000 }).toMatch(/^Slice \d+ \/ 35$/);
    const el = page.locator('[data-test=viewport-T1]');
    const box = (await el.boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    for (let n = 0; n < 5; n++) await page.mouse.wheel(0, 120);
    await page.click('[data-test=zoom-reset]');
    // Pan (middle drag) and zoom (right drag): the camera changes a zoom/pan link would pass on.
    for (const button of ['middle', 'right'] as const) {
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      await page.mouse.down({ button });
      await page.mouse.move(box.x + box.width / 2 + 40, box.y + box.height / 2 + 30, { steps: 5 });
      await page.mouse.up({ button });
    }
    await page.waitForTimeout(800);
    await shot('04-one-series');
    expect(consoleErrors.filter((e) => /Synchronizer|reading 'render'/.test(e))).toEqual([]);
    expect(errors).toEqual([]);
  });
});
