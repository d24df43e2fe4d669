/**
 * End to end, the small things a radiologist trips over (issue 22, item 9), in headless Chromium at 1600×1000
 * against the real handlers behind the loopback HTTP bridge:
 *  - the Save panel is on screen after a run, without scrolling the side bar;
 *  - the allowed folders are shown with their whole path (two may share a name);
 *  - a folder that does not exist inside an allowed folder is reported as missing, not as forbidden; a folder
 *    outside them is still refused.
 *
 * Needs `npx electron-vite build` first (npm run test:e2e does it). Artefacts: test-results/e2e/pn-*.png.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../main/app/http-bridge';
import { closeViewer, makeWork, openViewer, OUT } from './session';

let bridge: Bridge;
let ctx: BrowserContext;
let page: Page;
let work: string;
let studies: string;
let results: string;
let errors: string[] = [];

const shot = (name: string) => page.screenshot({ path: join(OUT, `pn-${name}.png`) });
const text = (sel: string) => page.locator(sel).innerText().catch(() => '');

describe('side panels and folders (bridge + Chromium, 1600×1000)', () => {
  beforeAll(async () => {
    work = await makeWork('pn-');
    // Two allowed folders with the same name.
    studies = join(work, 'site-a', 'studies');
    results = join(work, 'site-b', 'studies');
    await mkdir(studies, { recursive: true });
    await mkdir(results, { recursive: true });
    ({ bridge, ctx, page, errors } = await openViewer({ allow: [studies, results], viewport: { width: 1600, height: 1000 }, waitFor: '[data-test=uncertainty-strip]' }));
  });

  afterAll(() => closeViewer({ ctx, bridge, work }));

  it('shows the Save panel without scrolling after a run', async () => {
    await page.selectOption('[data-test=scope]', 'around');
    await page.fill('[data-test=radius]', '0');
    await page.fill('[data-test=steps]', '2');
    await page.fill('[data-test=ensemble]', '2');
    await page.click('[data-test=segment]');
    await expect.poll(() => text('[data-test=run-status]'), { timeout: 180_000, interval: 500 }).toMatch(/^Done/);
    await expect.poll(() => page.locator('[data-test=save]').isEnabled(), { timeout: 30_000 }).toBe(true);
    await shot('01-after-run');
    const save = (await page.locator('[data-test=save-panel]').boundingBox())!;
    console.log(`Save panel: top ${save.y.toFixed(0)} px, bottom ${(save.y + save.height).toFixed(0)} px of 1000`);
    expect(await page.evaluate(() => document.querySelector('.side')!.scrollTop)).toBe(0);
    expect(save.y + save.height).toBeLessThanOrEqual(1000);
    expect(errors).toEqual([]);
  });

  it('shows the allowed folders with their whole path', async () => {
    expect(await page.locator('[data-test=save-folder] option').allInnerTexts()).toEqual([studies, results]);
    await page.click('[data-test=open-study]');
    const buttons = page.locator('[data-test=open-folder-studies]');
    await expect.poll(() => buttons.count()).toBe(2);
    expect(await buttons.nth(0).innerText()).toContain(studies);
    expect(await buttons.nth(1).innerText()).toContain(results);
    await shot('02-folders');
  });

  it('says a missing folder is missing, and still refuses one outside the allowed folders', async () => {
    const missing = join(studies, 'no-such-study');
    await page.fill('[data-test=folder-path]', missing);
    await page.click('[data-test=folder-path-open]');
    await expect.poll(() => text('[data-test=error] span')).toBe(`The folder ${missing} does not exist (inside the allowed folder ${studies}). Check the path.`);
    await page.click('[data-test=error] button');
    const outside = join(work, 'elsewhere');
    await page.fill('[data-test=folder-path]', outside);
    await page.click('[data-test=folder-path-open]');
    await expect.poll(() => text('[data-test=error] span')).toContain(`The folder ${outside} is not one this session may open.`);
    expect(errors).toEqual([]);
  });
});
