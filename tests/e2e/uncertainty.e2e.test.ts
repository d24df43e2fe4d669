/**
 * End to end (issue 22, item 3), in headless Chromium against the real handlers behind the loopback HTTP bridge:
 * after a run over every slice of the demo study, the variance is drawn near the mask only (the overlay holds
 * exactly the uncertain area the strip ranks), "Most uncertain ▸" goes to the slice with the largest uncertain
 * area near the mask, a tumour slice with a full brain, and the variance far from the mask is one click away.
 *
 * Needs `npx electron-vite build` first (npm run test:e2e does it). Artefacts: test-results/e2e/unc-*.png.
 */
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../main/app/http-bridge';
import { MIN_BRAIN_SHARE, NEAR_MASK_MM } from '../../main/engine/variance-near-mask';
import { closeViewer, makeWork, openViewer, OUT } from './session';

type Stat = { k: number; areaMm2: number; brainMm2: number; meanVariance: number; uncertainMm2: number; uncertainVariance: number };
type Win = {
  haloDebug: { stats(): Record<number, Stat>; spacing(): number[] };
  haloViewer: { debugOverlayCounts(): Record<number, { mask: number; variance: number }> };
};

let bridge: Bridge;
let ctx: BrowserContext;
let page: Page;
let work: string;
let errors: string[] = [];

const text = (sel: string) => page.locator(sel).innerText();
const stats = () => page.evaluate(() => (window as unknown as Win).haloDebug.stats());
const tinted = () => page.evaluate(() => (window as unknown as Win).haloViewer.debugOverlayCounts());

describe('uncertainty that guides (bridge + Chromium)', () => {
  beforeAll(async () => {
    work = await makeWork('unc-');
    ({ bridge, ctx, page, errors } = await openViewer());
  });

  afterAll(() => closeViewer({ ctx, bridge, work }));

  it('after a run over the whole demo study, "Most uncertain" goes to the tumour slice with the most uncertain area near the mask', async () => {
    await page.goto(bridge.pageUrl);
    await page.waitForSelector('[data-test=slice-label]', { timeout: 90_000 });
    await page.selectOption('[data-test=scope]', 'all');
    // Fewer steps and members than the defaults (20, 5) keep it to minutes on 2 CPU cores.
    await page.fill('[data-test=steps]', '10');
    await page.fill('[data-test=ensemble]', '3');
    await page.click('[data-test=segment]');
    await expect.poll(() => text('[data-test=run-status]').catch(() => ''), { timeout: 900_000, interval: 1000 }).toMatch(/^Done/);
    const s = Object.values(await stats());
    expect(s.length).toBeGreaterThan(10);

    const [sx, sy] = await page.evaluate(() => (window as unknown as Win).haloDebug.spacing());
    const near = await tinted();
    const largestBrain = Math.max(...s.map((x) => x.brainMm2));
    const eligible = s.filter((x) => x.uncertainMm2 > 0 && x.brainMm2 >= MIN_BRAIN_SHARE * largestBrain);
    expect(eligible.length).toBeGreaterThan(0);
    const best = eligible.reduce((a, b) => (b.uncertainMm2 > a.uncertainMm2 ? b : a));
    const byMeanVariance = s.reduce((a, b) => (b.meanVariance > a.meanVariance ? b : a));
    console.log(
      `most uncertain: slice ${best.k + 1} (${(best.uncertainMm2 / 100).toFixed(1)} cm² uncertain near a ${(best.areaMm2 / 100).toFixed(1)} cm² mask, ` +
        `brain ${(best.brainMm2 / 100).toFixed(0)} cm²); by mean variance over the brain it was slice ${byMeanVariance.k + 1} ` +
        `(mask ${(byMeanVariance.areaMm2 / 100).toFixed(1)} cm², brain ${(byMeanVariance.brainMm2 / 100).toFixed(0)} cm²)`,
    );

    await page.locator('[data-test=slice-slider]').fill('0');
    await page.click('[data-test=most-uncertain]');
    await expect.poll(() => text('[data-test=slice-label]')).toBe(`Slice ${best.k + 1} / 48`);
    expect(best.areaMm2).toBeGreaterThan(0); // a tumour slice
    expect(await text('[data-test=slice-stat]')).toContain(`uncertain ${(best.uncertainMm2 / 100).toFixed(1)} cm² near it`);
    await page.screenshot({ path: join(OUT, 'unc-01-most-uncertain.png') });
    // What is drawn is what is ranked: on every slice, the variance overlay tints exactly the uncertain area.
    for (const x of s) expect((near[x.k]?.variance ?? 0) * sx * sy, `slice ${x.k}`).toBeCloseTo(x.uncertainMm2, 6);
    // Its bar in the strip is that area.
    const axis = await text('[data-test=strip-axis]');
    const top = Number(/([\d.]+) cm²/.exec(axis)![1]);
    const h = Number(await page.locator(`[data-test=strip-bar][data-k="${best.k}"]`).getAttribute('height'));
    expect(h).toBeCloseTo(Math.min(1, best.uncertainMm2 / 100 / top) * 40, 3);

    // The variance far from the mask is hidden, not lost: one click shows it all, as saved.
    expect(await text('[data-test=legend-text]')).toContain(`within ${NEAR_MASK_MM} mm of the mask`);
    await page.check('[data-test=variance-everywhere]');
    await expect.poll(() => text('[data-test=legend-text]')).toContain('Drawn everywhere');
    const all = await tinted();
    const sum = (c: Record<number, { variance: number }>) => Object.values(c).reduce((a, x) => a + x.variance, 0);
    console.log(`tinted pixels over the study: ${sum(near)} near the mask, ${sum(all)} everywhere`);
    expect(sum(all)).toBeGreaterThan(sum(near));
    for (const x of s) expect(all[x.k]?.variance ?? 0).toBeGreaterThanOrEqual(near[x.k]?.variance ?? 0);
    await page.screenshot({ path: join(OUT, 'unc-02-everywhere.png') });
    await page.uncheck('[data-test=variance-everywhere]');
    await expect.poll(async () => sum(await tinted())).toBe(sum(near));
    expect(errors).toEqual([]);
  }, 1_200_000);
});
