/**
 * End to end, a study with missing slices (issue 22, item 7), in headless Chromium against the real handlers behind
 * the loopback HTTP bridge: the demo study with six FLAIR images removed from the middle and one more cut short
 * (tests/support/gapped-study.ts). The study opens with a warning that names the gap and the broken file; the
 * images that are there are shown, the missing slices are marked in the viewport, the slice label and the strip;
 * Segment around a slice next to the gap is refused, naming it; around a slice beside it, it runs.
 *
 * Needs `npx electron-vite build` first (npm run test:e2e does it). Artefacts: test-results/e2e/gap-*.png.
 */
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../main/app/http-bridge';
import { gappedDemo, TRUNCATED } from '../support/gapped-study';
import { decodePng } from './png';
import { closeViewer, makeWork, openViewer, OUT } from './session';

let bridge: Bridge;
let ctx: BrowserContext;
let page: Page;
let work: string;
let study: string;
let errors: string[] = [];

type Debug = { haloDebug: { runId(): string | null; resultSlices(): number[] } };
const text = (sel: string) => page.locator(sel).innerText().catch(() => '');
const debug = <T>(f: (d: Debug['haloDebug']) => T) => page.evaluate(`(${f.toString()})(window.haloDebug)`) as Promise<T>;

/**
 * Share of the central part of a viewport (the corner texts and orientation letters left out) that is grey brighter
 * than dark grey: an MR slice fills a good part of it, an empty one none (the orange "no image" text is not grey).
 */
async function brightShare(role: string): Promise<number> {
  const img = decodePng(await page.locator(`[data-test=viewport-${role}]`).screenshot());
  let bright = 0;
  let all = 0;
  for (let y = Math.round(img.height * 0.2); y < img.height * 0.8; y++) {
    for (let x = Math.round(img.width * 0.2); x < img.width * 0.8; x++) {
      const [r, g, b] = img.data.subarray((y * img.width + x) * 4, (y * img.width + x) * 4 + 3);
      all++;
      if (r + g + b > 3 * 60 && Math.abs(r - b) < 24 && Math.abs(r - g) < 24) bright++;
    }
  }
  return bright / all;
}

async function goToSlice(k: number): Promise<void> {
  await page.locator('[data-test=slice-slider]').fill(String(k));
  await expect.poll(() => text('[data-test=slice-label]')).toMatch(new RegExp(`^Slice ${k + 1} / 48`));
  await page.waitForTimeout(300); // the render after the slice change
}

describe('a study with missing slices (bridge + Chromium)', () => {
  beforeAll(async () => {
    work = await makeWork('gap-');
    study = join(work, 'gapped');
    gappedDemo(study);
    ({ bridge, ctx, page, errors } = await openViewer({ allow: [study], waitFor: '[data-test=slice-label]' })); // the bundled demo, opened on start
  });

  afterAll(() => closeViewer({ ctx, bridge, work }));

  it('opens with a warning naming the gap and the broken file, shows the images there and marks the missing slices', async () => {
    await page.click('[data-test=open-study]');
    await page.fill('[data-test=folder-path]', study);
    await page.click('[data-test=folder-path-open]');
    await expect.poll(() => text('[data-test=problems]'), { timeout: 120_000, interval: 200 }).toContain(TRUNCATED);
    const problems = await text('[data-test=problems]');
    expect(problems).toContain(`A file cannot be read and was skipped: ${join(study, '1-FLAIR', TRUNCATED)} ends 20000 bytes before the end of its pixel data`);
    expect(problems).toMatch(/The FLAIR series "FLAIR": slices between z=65\.0 and z=72\.0 mm are missing \(about 6 images; slices 20-25 of 48 are empty\)/);
    expect(problems).toMatch(/slice 30 of 48 is empty/);
    // The strip marks all seven missing slices.
    await expect.poll(() => page.locator('[data-test=strip-missing]').count(), { timeout: 60_000, interval: 200 }).toBe(7);

    // A slice that is there: its image, no mark.
    await goToSlice(35);
    expect(await page.locator('[data-test=slice-missing]').count()).toBe(0);
    expect(await page.locator('[data-test=missing-FLAIR]').count()).toBe(0);
    const flairThere = await brightShare('FLAIR');
    await page.screenshot({ path: join(OUT, 'gap-present.png') });

    // A missing slice: the FLAIR viewport says so and is empty; the complete T1 still shows its image.
    await goToSlice(21);
    expect(await text('[data-test=slice-label]')).toBe('Slice 22 / 48 · missing: no FLAIR image');
    expect(await text('[data-test=missing-FLAIR]')).toContain('No image here: this slice is missing from the series');
    expect(await text('[data-test=slice-stat]')).toBe('slice 22: missing from the series, not segmented');
    const flairMissing = await brightShare('FLAIR');
    const t1There = await brightShare('T1');
    await page.screenshot({ path: join(OUT, 'gap-missing.png') });
    console.log(`bright share: FLAIR slice 36 ${flairThere.toFixed(3)}, FLAIR slice 22 (missing) ${flairMissing.toFixed(3)}, T1 slice 22 ${t1There.toFixed(3)}`);
    expect(flairThere).toBeGreaterThan(0.1);
    expect(t1There).toBeGreaterThan(0.1);
    expect(flairMissing).toBeLessThan(0.002);
    expect(errors).toEqual([]);
  });

  it('refuses Segment around a slice next to the gap, naming it, and segments around a slice beside it', async () => {
    await page.selectOption('[data-test=scope]', 'around');
    await page.fill('[data-test=radius]', '2');
    await page.fill('[data-test=steps]', '1');
    await page.fill('[data-test=ensemble]', '1');
    await goToSlice(17); // slice 18 ± 2 = 16-20: slice 20 is missing
    await page.click('[data-test=segment]');
    await expect.poll(() => text('[data-test=error]'), { timeout: 60_000, interval: 200 }).toContain('Slices 16-20 include missing images');
    expect(await text('[data-test=error]')).toMatch(/in the FLAIR series "FLAIR": slices between z=65\.0 and z=72\.0 mm are missing .*Halo does not segment across a gap/);
    expect(await debug((d) => d.runId())).toBeNull();
    await page.screenshot({ path: join(OUT, 'gap-refused.png') });
    await page.click('[data-test=error] button');

    // Slices 26-29 lie between the two gaps: around slice 27 ± 1 runs.
    await page.fill('[data-test=radius]', '1');
    await goToSlice(26);
    await page.click('[data-test=segment]');
    await expect.poll(() => debug((d) => d.resultSlices().sort((a, b) => a - b)), { timeout: 120_000, interval: 250 }).toEqual([25, 26, 27]);
    expect(await page.locator('[data-test=error]').count()).toBe(0);
    expect(errors).toEqual([]);
  });
});
