/**
 * End to end, a study as it comes from the scanner (issue 23): a real TCGA LGG patient with the skull
 * (skull-on/lgg TCGA_FG_6691 as a BraTS-style NIfTI folder: one of wt-flair-t1's LGG validation patients, never
 * trained on, whose ensemble Dice at n = 5, 0.745, was the closest of the eight to their mean), opened and segmented in
 * headless Chromium against the real handlers behind the loopback HTTP bridge. The brain Halo extracts is
 * outlined on every sequence (button, key k), the run says it extracted the brain and takes the card's larger
 * ensemble for such a study, and no mask is drawn outside that brain. Takes the README's docs/screenshot-skull-on.png.
 *
 * Needs `npx electron-vite build` first (npm run test:e2e does it). Artefacts: test-results/e2e/skull-*.png.
 */
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../main/app/contract';
import type { Bridge } from '../../main/app/http-bridge';
import { lggCase } from '../support/lgg-case';
import { ROOT } from '../support/paths';
import { canvasPixels } from './png';
import { closeViewer, makeWork, openViewer, OUT } from './session';

const PATIENT = 'TCGA_FG_6691_20020405';
/** The slice (1-based) where the expert mask of this patient's tumour is largest. */
const TUMOUR_SLICE = 26;
const SLICES = 48;

let bridge: Bridge;
let ctx: BrowserContext;
let page: Page;
let work: string;
let errors: string[] = [];

type Win = {
  haloViewer: { slice: number; brainShown: boolean; brainOf(k: number): Uint8Array | null; maskOf(k: number): Uint8Array | null };
  haloDebug: { resultSlices(): number[] };
};
const label = () => page.locator('[data-test=slice-label]').innerText();
const brainShown = () => page.evaluate(() => (window as unknown as Win).haloViewer.brainShown);

/** Pixels of the outline's light blue in a viewport's canvas (the images are grey; the mask green). */
async function bluePixels(role: Role): Promise<number> {
  const { data } = await canvasPixels(page, `[data-test=viewport-${role}] canvas`);
  let n = 0;
  for (let i = 0; i < data.length; i += 4) if (data[i + 2] > 150 && data[i + 2] - data[i] > 80 && data[i + 2] > data[i + 1]) n++;
  return n;
}

describe('a study with the skull (bridge + Chromium)', () => {
  beforeAll(async () => {
    work = await makeWork('skull-');
    lggCase(PATIENT, work);
    ({ bridge, ctx, page, errors } = await openViewer({ allow: [work], waitFor: '[data-test=slice-label]' }));
  });

  afterAll(() => closeViewer({ ctx, bridge, work }));

  it('outlines the extracted brain on every sequence when asked (button, key k)', async () => {
    await page.click('[data-test=open-study]');
    await page.fill('[data-test=folder-path]', join(work, PATIENT));
    await page.click('[data-test=folder-path-open]');
    // The demo study (open on start) has 48 slices too: wait for this patient's name, then for its images.
    await expect.poll(() => page.locator('[data-test=patient]').innerText(), { timeout: 120_000 }).toContain(PATIENT);
    await expect.poll(() => page.locator('[data-test=toggle-brain]').isEnabled(), { timeout: 120_000 }).toBe(true);
    await expect.poll(label).toMatch(new RegExp(`^Slice \\d+ / ${SLICES}$`));
    await page.locator('[data-test=viewport-grid]').focus();
    for (let i = 0; i < SLICES; i++) {
      const k = Number(/Slice (\d+)/.exec(await label())![1]);
      if (k === TUMOUR_SLICE) break;
      await page.keyboard.press(k < TUMOUR_SLICE ? 'ArrowUp' : 'ArrowDown');
      await expect.poll(label).not.toBe(`Slice ${k} / ${SLICES}`);
    }
    await expect.poll(label).toBe(`Slice ${TUMOUR_SLICE} / ${SLICES}`);
    expect(await page.locator('[data-test=brain-note]').count()).toBe(0);
    const roles: Role[] = ['FLAIR', 'T1', 'T1ce'];
    const before = await Promise.all(roles.map(bluePixels));

    await page.keyboard.press('k');
    await expect.poll(brainShown, { timeout: 60_000 }).toBe(true);
    await expect.poll(() => page.locator('[data-test=brain-note]').innerText()).toMatch(/^Brain extracted automatically \(the study is not skull-stripped\)/);
    const brain = await page.evaluate((s) => Array.from((window as unknown as Win).haloViewer.brainOf(s - 1) ?? []), TUMOUR_SLICE);
    const share = brain.reduce((a, b) => a + b, 0) / brain.length;
    expect(share, 'a brain on this slice, not the whole head').toBeGreaterThan(0.1);
    expect(share).toBeLessThan(0.6);
    // Drawn on every sequence: the outline's blue appears in each viewport (none before).
    const on = await Promise.all(roles.map(bluePixels));
    roles.forEach((r, n) => expect(on[n] - before[n], `${r}: outline drawn`).toBeGreaterThan(100));
    await page.screenshot({ path: join(OUT, 'skull-01-brain-outline.png') });

    await page.click('[data-test=toggle-brain]');
    expect(await brainShown()).toBe(false);
    // The viewports redraw after the toggle: wait for each, as for the outline's drawing above.
    for (const [n, r] of roles.entries()) {
      await expect.poll(() => bluePixels(r), { message: `${r}: outline hidden`, timeout: 10_000 }).toBeLessThanOrEqual(before[n]);
    }
    expect(errors).toEqual([]);
  });

  it('segments it, says the brain was extracted, shows the brain, and marks nothing outside it', async () => {
    await page.selectOption('[data-test=model]', 'wt-flair-t1');
    expect(await page.locator('[data-test=model-defaults]').innerText()).toMatch(/^Model defaults: 5 samples \(10 on a study with the skull\), 20 DDPM steps\.$/);
    // The model's card gives its skull-on validation beside the BraTS one (the kind of study open here).
    expect(await page.locator('[data-test=model-dice-skull-on]').innerText()).toMatch(/with the skull 0\.\d\d$/);
    await page.click('[data-test=model-card] summary');
    expect(await page.locator('[data-test=model-card-skull-on]').innerText()).toMatch(/Studies with the skull[\s\S]*False positives per tumour-free slice\s+\d+\.\d cm²/);
    await page.locator('[data-test=model-card-skull-on]').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(OUT, 'skull-02-model-card.png') });
    await page.click('[data-test=model-card] summary');
    await page.selectOption('[data-test=scope]', 'around');
    await page.fill('[data-test=radius]', '1');
    await page.click('[data-test=segment]');
    await page.waitForFunction(() => /^Done/.test(document.querySelector('[data-test=run-status]')?.textContent ?? ''), null, { timeout: 600_000, polling: 1000 });
    // The run used the extracted brain: the message says so and the outline comes back on by itself.
    expect(await page.locator('[data-test=brain-note]').innerText()).toMatch(/^Brain extracted automatically/);
    // The ensemble size was left alone: the card's default for a study with the skull (10, not 5), and why.
    expect(await page.locator('[data-test=provider]').innerText()).toMatch(/· 10 samples × 20 steps/);
    expect(await page.locator('[data-test=ensemble-note]').innerText()).toMatch(/^10 samples, the model's default on a study with the skull/);
    expect(await brainShown()).toBe(false); // the user turned it off: it stays off
    await page.keyboard.press('k');
    await expect.poll(brainShown).toBe(true);

    const check = await page.evaluate(() => {
      const w = window as unknown as Win;
      return w.haloDebug.resultSlices().map((k) => {
        const brain = w.haloViewer.brainOf(k)!;
        const mask = w.haloViewer.maskOf(k)!;
        let inside = 0;
        let outside = 0;
        for (let p = 0; p < mask.length; p++) {
          if (mask[p] && brain[p]) inside++;
          else if (mask[p]) outside++;
        }
        return { k, inside, outside };
      });
    });
    expect(check.map((c) => c.k)).toEqual([TUMOUR_SLICE - 2, TUMOUR_SLICE - 1, TUMOUR_SLICE]);
    for (const c of check) expect(c.outside, `slice ${c.k + 1}: mask outside the brain`).toBe(0);
    expect(check.reduce((a, c) => a + c.inside, 0), 'the model marked something').toBeGreaterThan(0);
    await page.locator('[data-test=viewport-grid]').focus();
    await expect.poll(label).toBe(`Slice ${TUMOUR_SLICE} / ${SLICES}`);
    await page.locator('[data-test=brain-note]').scrollIntoViewIfNeeded(); // the message in the picture too
    await page.screenshot({ path: join(OUT, 'skull-03-segmented.png') });
    await copyFile(join(OUT, 'skull-03-segmented.png'), join(ROOT, 'docs', 'screenshot-skull-on.png'));
    expect(errors).toEqual([]);
  });
});
