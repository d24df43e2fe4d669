/**
 * Retakes the README's screenshots from the shipped model at its card's defaults (steps, ensemble of 5), on the
 * bundled demo study, every slice with brain: docs/screenshot-variance.png (the variance at full opacity, 1 + 3
 * layout) and docs/screenshot-reading.png (a segmented slice with the value readout), plus one PNG per fifth slice
 * in test-results/readme/ to look through the whole volume. Run after shipping a model:
 *   npm run build && npx tsx scripts/readme-screenshots.ts
 * With a model id (`... readme-screenshots.ts wt-flair-t1`) it segments with that model and only writes the
 * whole-volume PNGs, to test-results/readme-<id>/: the README's screenshots stay the default model's.
 * Takes a few minutes on 2 CPU cores (the whole demo volume is segmented).
 */
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBridge } from '../main/app/http-bridge';
import { launchChromium, requirePrerequisites } from '../tests/e2e/browser';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const model = process.argv[2];
const OUT = join(ROOT, 'test-results', model ? `readme-${model}` : 'readme');

requirePrerequisites();
await mkdir(OUT, { recursive: true });
const bridge = await startBridge({ allow: [], cacheDir: null });
const { ctx, page, errors } = await launchChromium();
try {
  await page.goto(bridge.pageUrl);
  await page.waitForSelector('[data-test=uncertainty-strip]', { timeout: 120_000 });
  await page.selectOption('[data-test=scope]', 'all');
  if (model) await page.selectOption('[data-test=model]', model);
  const t0 = Date.now();
  await page.click('[data-test=segment]');
  await page.waitForFunction(() => /^Done/.test(document.querySelector('[data-test=run-status]')?.textContent ?? ''), null, { timeout: 1_800_000, polling: 1000 });
  process.stdout.write(`segmented the demo in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);

  // The whole volume, a fifth of the slices at a time, to look through before calling a model good.
  // Scrolled as a user does (arrow keys on the images), so every panel follows the slice.
  const slice = async () => Number(/Slice (\d+)/.exec(await page.locator('[data-test=slice-label]').innerText())![1]);
  await page.locator('[data-test=viewport-grid]').focus();
  const nz = await page.evaluate(() => (window as unknown as { haloViewer: { sliceCount: number } }).haloViewer.sliceCount);
  for (let i = 0; i < nz && (await slice()) > 1; i++) await page.keyboard.press('ArrowDown'); // ArrowDown: k - 1
  for (;;) {
    const k = await slice();
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(OUT, `slice-${String(k).padStart(3, '0')}.png`) });
    if (k + 5 > nz) break;
    for (let i = 0; i < 5; i++) await page.keyboard.press('ArrowUp');
  }

  if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
  if (model) {
    process.stdout.write(`the whole volume with ${model} in ${OUT}\n`);
  } else {
    // The most uncertain slice, read: mask outline, variance from its threshold, the readout under the cursor.
    await page.click('[data-test=most-uncertain]');
    await page.waitForTimeout(500);
    const box = (await page.locator('[data-test=viewport-FLAIR]').boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.55, box.y + box.height * 0.55);
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(OUT, 'reading.png') });

    await page.locator('[data-test=variance-opacity]').fill('1');
    await page.click('[data-test=layout-one-three]');
    await page.waitForTimeout(800);
    await page.screenshot({ path: join(OUT, 'variance.png') });

    if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
    await copyFile(join(OUT, 'reading.png'), join(ROOT, 'docs', 'screenshot-reading.png'));
    await copyFile(join(OUT, 'variance.png'), join(ROOT, 'docs', 'screenshot-variance.png'));
    process.stdout.write(`wrote docs/screenshot-reading.png, docs/screenshot-variance.png; the whole volume in ${OUT}\n`);
  }
} finally {
  await ctx.close();
  await bridge.close();
}
