/**
 * End to end, what a radiologist needs to trust and read a result (issue 10), in headless Chromium against the
 * real handlers behind the loopback HTTP bridge: every canvas drawn at its shown size, PACS settings that list
 * and keep the nodes, shortcuts that work after using a control, a study without a FLAIR that can be viewed,
 * the research notice and the model's validation, a variance legend that matches what is drawn with a value
 * readout, the tumour volume, rendering only what changed, growing the ensemble with Save usable, and saving
 * exactly the slices (and ensemble size) shown, to a folder chosen by default, under readable file names.
 *
 * Needs `npx electron-vite build` first (npm run test:e2e does it). Artefacts: test-results/e2e/rd-*.png.
 */
import { cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import dcmjs from 'dcmjs';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../main/app/http-bridge';
import { dciodvfy } from '../support/dicom-tools';
import { freePort } from '../support/orthanc';
import { ROOT, T1_SAG } from '../support/paths';
import { canvasPixels } from './png';
import { closeViewer, makeWork, openViewer, OUT } from './session';

let bridge: Bridge;
let ctx: BrowserContext;
let page: Page;
let work: string;
let saveDir: string;
let pacsFile: string;
let errors: string[] = [];
/** What the save test wrote: its slices and ensemble size. */
let saved: { slices: number[]; n: number } = { slices: [], n: 0 };

type Stat = { k: number; areaMm2: number; ensemble: number; meanVariance: number; uncertainMm2: number };
type Win = {
  haloDebug: { stats(): Record<number, Stat>; settings(): { ensemble: number } };
  haloViewer: { renderCount: number; slice: number; drawSlice(k: number, m: Uint8Array, v: Float32Array): void; sliceCount: number };
};

const shot = (name: string) => page.screenshot({ path: join(OUT, `rd-${name}.png`) });
const label = () => page.locator('[data-test=slice-label]').innerText();
const stats = () => page.evaluate(() => (window as unknown as Win).haloDebug.stats());

/** Drawing-buffer size vs. shown size of every viewport canvas, in device pixels. */
async function canvasSizes(): Promise<{ drawn: [number, number]; shown: [number, number] }[]> {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll<HTMLCanvasElement>('[data-test^=viewport-] canvas')).map((c) => {
      const r = c.getBoundingClientRect();
      const dpr = window.devicePixelRatio;
      return { drawn: [c.width, c.height] as [number, number], shown: [Math.round(r.width * dpr), Math.round(r.height * dpr)] as [number, number] };
    }),
  );
}

describe('reading a result (bridge + Chromium)', () => {
  beforeAll(async () => {
    work = await makeWork('rd-');
    saveDir = join(work, 'results');
    await mkdir(saveDir);
    pacsFile = join(work, 'pacs.json'); // HALO_PACS_CONFIG
    const nodes = [
      { name: 'main', kind: 'dicomweb', url: `http://127.0.0.1:${await freePort()}/dicom-web`, authHeader: 'Bearer kept-secret' },
      { name: 'archive', kind: 'dimse', aet: 'ARCHIVE', host: '127.0.0.1', port: await freePort() },
    ];
    await writeFile(pacsFile, JSON.stringify({ callingAet: 'HALO', nodes }, null, 2));
    ({ bridge, ctx, page, errors } = await openViewer({ allow: [saveDir, T1_SAG] }));
  });

  afterAll(() => closeViewer({ ctx, bridge, work }));

  it('draws a freshly opened study at the size it is shown (no stretched aspect ratio)', async () => {
    await page.goto(bridge.pageUrl);
    await page.waitForSelector('[data-test=uncertainty-strip]', { timeout: 90_000 });
    await expect.poll(async () => (await label()) !== '', { timeout: 10_000 }).toBe(true);
    // Give the observer a few frames; no window resize happens in this test.
    await expect
      .poll(async () => (await canvasSizes()).every((c) => Math.abs(c.drawn[0] - c.shown[0]) <= 1 && Math.abs(c.drawn[1] - c.shown[1]) <= 1), { timeout: 5_000 })
      .toBe(true);
    expect((await canvasSizes()).length).toBe(4);
    await shot('01-fresh-study');
  });

  it('lists the PACS nodes in the settings and never wipes them', async () => {
    await page.click('[data-test=open-settings]');
    await expect.poll(() => page.locator('[data-test=pacs-node]').count()).toBe(2);
    await page.click('[data-test=save-settings]');
    await expect.poll(() => page.locator('[data-test=settings-file]').innerText()).toContain('Saved to');
    const kept = JSON.parse(await readFile(pacsFile, 'utf8'));
    expect(kept.nodes.map((n: { name: string }) => n.name)).toEqual(['main', 'archive']);
    expect(kept.nodes[0].authHeader).toBe('Bearer kept-secret'); // credentials the UI never sees are kept
    // An empty list (e.g. from a panel that failed to load) is refused and the file stays.
    const refused = await page.evaluate(() =>
      (window as unknown as { halo: { 'pacs.setSettings'(a: unknown): Promise<unknown> } }).halo['pacs.setSettings']({ callingAet: 'HALO', nodes: [] }).then(
        () => 'saved',
        (e: Error) => e.message,
      ),
    );
    expect(refused).toMatch(/would delete all 2 PACS nodes/);
    expect(JSON.parse(await readFile(pacsFile, 'utf8')).nodes).toHaveLength(2);
    await page.click('[data-test=open-settings]');
    expect(errors).toEqual([]);
  });

  it('takes credentials in the settings, write-only, and can forget them', async () => {
    await page.click('[data-test=open-settings]');
    const cell = page.locator('[data-test=credentials-main]');
    await expect.poll(() => cell.innerText()).toContain('saved (settings file)');
    await cell.locator('[data-test=edit-credentials]').click();
    await page.fill('[data-test=cred-username]', 'radiology');
    await page.fill('[data-test=cred-password]', 'Pa55 word');
    expect(await page.locator('[data-test=cred-password]').getAttribute('type')).toBe('password');
    await shot('02-credentials');
    await page.click('[data-test=cred-save]');
    await expect.poll(() => page.locator('[data-test=cred-message]').innerText()).toMatch(/Credentials of "main" saved in .*pacs\.json, readable by this user only/);
    expect(await page.locator('[data-test=credentials-form]').count()).toBe(0); // the typed values are gone from the page
    expect(await page.content()).not.toMatch(/Pa55 word/);
    expect(JSON.parse(await readFile(pacsFile, 'utf8')).nodes[0].authHeader).toBe(`Basic ${Buffer.from('radiology:Pa55 word').toString('base64')}`);

    await cell.locator('[data-test=edit-credentials]').click();
    await page.click('[data-test=cred-forget]');
    await expect.poll(() => cell.innerText()).toContain('none');
    expect(JSON.parse(await readFile(pacsFile, 'utf8')).nodes[0].authHeader).toBeUndefined();
    await page.click('[data-test=open-settings]');
    expect(errors).toEqual([]);
  });

  it('keeps the keyboard shortcuts working after a control is used', async () => {
    await page.waitForSelector('[data-test=slice-label]');
    const start = await label();
    const style = page.locator('[data-test=mask-style]');
    await style.focus();
    await style.selectOption('fill');
    await page.keyboard.press('ArrowDown');
    expect(await style.inputValue()).toBe('fill'); // the dropdown kept its choice ...
    await expect.poll(label).not.toBe(start); // ... and the arrow moved the slice
    await page.keyboard.press('ArrowUp');
    await expect.poll(label).toBe(start);
    await style.focus();
    await style.selectOption('outline');

    const opacity = page.locator('[data-test=variance-opacity]');
    await opacity.focus();
    await opacity.fill('0.6');
    const toggle = page.locator('[data-test=toggle-variance]');
    expect(await toggle.getAttribute('class')).toContain('on');
    await page.keyboard.press('v');
    await expect.poll(() => toggle.getAttribute('class')).not.toContain('on');
    await page.keyboard.press('v');
    await expect.poll(() => toggle.getAttribute('class')).toContain('on');
  });

  it('says it is for research use and shows how good the model is', async () => {
    expect(await page.locator('[data-test=research-notice]').innerText()).toMatch(/research use only.*not for diagnosis/i);
    expect(await page.locator('[data-test=model-dice]').innerText()).toMatch(/Dice 0\.\d\d on \d+ slices of \d+ patient/);
    expect(await page.locator('[data-test=model-verdict]').textContent()).toMatch(/not clinically validated/);
  });

  it('segments, with a legend that matches the overlay, a value readout, the volume, and rendering only what changed', async () => {
    await page.selectOption('[data-test=scope]', 'around');
    await page.fill('[data-test=radius]', '3');
    await page.fill('[data-test=steps]', '10');
    await page.fill('[data-test=ensemble]', '2');
    await page.click('[data-test=segment]');
    await expect.poll(() => page.locator('[data-test=run-status]').innerText().catch(() => ''), { timeout: 240_000, interval: 500 }).toMatch(/^Done/);
    await expect.poll(async () => Object.keys(await stats()).length).toBe(7);
    const s = await stats();

    // Legend: the scale starts at the threshold below which nothing is drawn; no "agree" colour that is never drawn.
    const thr = await page.locator('[data-test=variance-threshold]').inputValue();
    expect(await page.locator('[data-test=legend-threshold]').innerText()).toBe(Number(thr).toFixed(3));
    expect(await page.locator('[data-test=legend-text]').innerText()).toContain(`Not drawn below ${Number(thr).toFixed(3)}`);
    expect(await page.locator('[data-test=legend]').innerText()).not.toContain('0 (agree)');
    // Raising the threshold tints fewer pixels.
    const tinted = () => page.evaluate((k) => (window as unknown as { haloViewer: { debugOverlayCounts(): Record<number, { variance: number }> } }).haloViewer.debugOverlayCounts()[k]?.variance ?? 0, Number(Object.keys(s)[0]));
    const before = await tinted();
    await page.locator('[data-test=variance-threshold]').fill('0.1');
    await expect.poll(tinted).toBeLessThan(before);
    await page.locator('[data-test=variance-threshold]').fill(thr);

    // Readout under the cursor: intensity, probability and variance of the voxel.
    const box = (await page.locator('[data-test=viewport-FLAIR]').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await expect.poll(() => page.locator('[data-test=readout]').innerText()).toMatch(/intensity \d+ · probability \d\.\d{3} · variance \d\.\d{4}/);

    // Linked cursor: the same voxel is marked in the other viewports, also when they are shown at another size (1 + 3).
    await page.click('[data-test=layout-one-three]');
    const big = (await page.locator('[data-test=viewport-FLAIR]').boundingBox())!;
    const at: [number, number] = [big.width * 0.4, big.height * 0.55];
    await page.mouse.move(big.x + at[0], big.y + at[1]);
    const marker = page.locator('[data-test=linked-cursor-T1]');
    await expect.poll(() => marker.count()).toBe(1);
    const voxels = await page.evaluate(
      ({ at, m }) => {
        const v = (window as unknown as { haloViewer: { voxelAt(r: string, x: number, y: number): { i: number; j: number } | null } }).haloViewer;
        const ij = (p: { i: number; j: number } | null) => (p ? [p.i, p.j] : null);
        return { flair: ij(v.voxelAt('FLAIR', at[0], at[1])), t1: ij(v.voxelAt('T1', m[0], m[1])) };
      },
      { at, m: await marker.evaluate((e) => [parseFloat((e as HTMLElement).style.left), parseFloat((e as HTMLElement).style.top)]) },
    );
    expect(voxels.t1).not.toBeNull();
    expect(voxels.t1).toEqual(voxels.flair);
    expect(await page.locator('[data-test=linked-cursor-FLAIR]').count()).toBe(0); // not on the viewport under the mouse
    await shot('05-linked-cursor');
    await page.click('[data-test=layout-grid]');

    // Strip: bars are the uncertain area near the mask, on the labelled cm² axis the tumour area uses too.
    const top = Number(/([\d.]+) cm²/.exec(await page.locator('[data-test=strip-axis]').innerText())![1]);
    const k0 = Number(Object.keys(s)[0]);
    const h = Number(await page.locator(`[data-test=strip-bar][data-k="${k0}"]`).getAttribute('height'));
    expect(h).toBeCloseTo(Math.min(1, s[k0].uncertainMm2 / 100 / top) * 40, 3);

    // Volume: sum of areas × slice spacing.
    const spacing = await page.evaluate(() => (window as unknown as { haloDebug: { spacingZ(): number } }).haloDebug.spacingZ());
    const cm3 = (Object.values(s).reduce((a, x) => a + x.areaMm2, 0) * spacing) / 1000;
    expect(await page.locator('[data-test=tumour-volume]').innerText()).toContain(`volume ${cm3.toFixed(1)} cm³ (7 slices)`);

    // A result for a slice out of view re-renders nothing; one for the slice in view does.
    const counts = await page.evaluate(() => {
      const v = (window as unknown as Win).haloViewer;
      const [nx, ny] = (window as unknown as { haloDebug: { dims(): number[] } }).haloDebug.dims();
      const plane = nx * ny;
      const c0 = v.renderCount;
      v.drawSlice((v.slice + 10) % v.sliceCount, new Uint8Array(plane), new Float32Array(plane));
      const c1 = v.renderCount;
      return [c0, c1];
    });
    expect(typeof counts[0]).toBe('number');
    expect(counts[1]).toBe(counts[0]);
    await shot('02-segmented');
  });

  it('corrects the mask with the eraser, undoes, and marks the slice as edited', async () => {
    const k = await page.evaluate(() => (window as unknown as Win).haloViewer.slice);
    type Dbg = { haloViewer: { debugOverlayCounts(): Record<number, { mask: number }>; debugMaskPoints(r: string): { inside: [number, number][] } } };
    const maskCount = () => page.evaluate((kk) => (window as unknown as Dbg).haloViewer.debugOverlayCounts()[kk]?.mask ?? 0, k);
    const original = await maskCount();
    expect(original).toBeGreaterThan(20);
    const box = (await page.locator('[data-test=viewport-FLAIR]').boundingBox())!;
    const erase = async () => {
      const pts = await page.evaluate(() => (window as unknown as Dbg).haloViewer.debugMaskPoints('FLAIR').inside);
      expect(pts.length).toBeGreaterThan(3);
      await page.mouse.move(box.x + pts[0][0], box.y + pts[0][1]);
      await page.mouse.down();
      for (const p of pts.slice(1, 12)) await page.mouse.move(box.x + p[0], box.y + p[1]);
      await page.mouse.up();
    };
    await page.keyboard.press('e');
    await expect.poll(() => page.locator('[data-test=edit-eraser]').getAttribute('class')).toContain('on');
    await erase();
    await expect.poll(maskCount).toBeLessThan(original);
    await expect.poll(() => page.locator('[data-test=slice-edited]').count()).toBe(1);
    expect(await page.locator('[data-test=tumour-volume-edited]').innerText()).toMatch(/edited \d+\.\d cm³/);
    await page.keyboard.press('Control+z');
    await expect.poll(maskCount).toBe(original);
    await expect.poll(() => page.locator('[data-test=slice-edited]').count()).toBe(0);
    await erase();
    await expect.poll(maskCount).toBeLessThan(original);
    await page.keyboard.press('Escape');
    await expect.poll(() => page.locator('[data-test=edit-eraser]').getAttribute('class')).not.toContain('on');
    await shot('02b-edited');
  });

  it('warns of a separate component of the mask and removes it in one edit', async () => {
    type Dbg = { haloViewer: { slice: number; debugOverlayCounts(): Record<number, { mask: number }>; debugMaskPoints(r: string): { inside: [number, number][]; outside: [number, number][] } } };
    const k = await page.evaluate(() => (window as unknown as Dbg).haloViewer.slice);
    const maskCount = () => page.evaluate((kk) => (window as unknown as Dbg).haloViewer.debugOverlayCounts()[kk]?.mask ?? 0, k);
    const before = await maskCount();
    const warnings = page.locator('[data-test=component-warning]');
    const texts = async () => {
      // The list opens over the strip on demand (the viewports never change size).
      if (await page.locator('[data-test=components-here]').count()) await page.locator('[data-test=components-here]').evaluate((d) => ((d as HTMLDetailsElement).open = true));
      return warnings.allInnerTexts();
    };
    const earlier = await texts(); // the model's own small islands on this slice, if any
    // A dab of the brush in the brain, as far from the lesion as this slice allows: a separate, small component.
    const { inside, outside } = await page.evaluate(() => (window as unknown as Dbg).haloViewer.debugMaskPoints('FLAIR'));
    const far = outside.reduce((best, p) => {
      const d = Math.min(...inside.map((q) => Math.hypot(p[0] - q[0], p[1] - q[1])));
      return d > best.d ? { p, d } : best;
    }, { p: outside[0], d: -1 });
    const box = (await page.locator('[data-test=viewport-FLAIR]').boundingBox())!;
    await page.keyboard.press('b');
    await page.mouse.move(box.x + far.p[0], box.y + far.p[1]);
    await page.mouse.down();
    await page.mouse.move(box.x + far.p[0] + 2, box.y + far.p[1] + 2);
    await page.mouse.up();
    await page.keyboard.press('Escape');
    await expect.poll(maskCount).toBeGreaterThan(before);
    await expect.poll(async () => (await texts()).length).toBe(earlier.length + 1);
    const ours = (await texts()).find((t) => !earlier.includes(t))!;
    expect(ours).toMatch(new RegExp(`separate component on slices ${k + 1}–${k + 1}: small \\(\\d\\.\\d\\d cm³\\)`));
    await shot('02c-component');
    await warnings.filter({ hasText: ours }).locator('[data-test=remove-component]').click();
    await expect.poll(maskCount).toBe(before);
    expect(await texts()).toEqual(earlier);
    expect(errors).toEqual([]);
  });

  it('grows the slice in view first with Save usable, and saves exactly what is shown under readable names', async () => {
    const k = await page.evaluate(() => (window as unknown as Win).haloViewer.slice);
    await page.click('[data-test=add-samples]');
    // The slice in view is regrown first ...
    await expect.poll(async () => (await stats())[k]?.ensemble, { timeout: 180_000, interval: 200 }).toBe(7);
    const running = await page.locator('[data-test=cancel]').count();
    if (running) {
      // ... and Save stays usable while the rest grows.
      expect(await page.locator('[data-test=save], [data-test^=save-n]').first().isDisabled()).toBe(false);
      await page.click('[data-test=cancel]');
    }
    await expect.poll(() => page.locator('[data-test=run-status]').innerText().catch(() => ''), { timeout: 60_000 }).toMatch(/^(Done|Cancelled)/);
    expect(await page.locator('[data-test=ensemble]').inputValue()).toBe('7');

    const s = await stats();
    const sizes = new Set(Object.values(s).map((x) => x.ensemble));
    await page.selectOption('[data-test=save-dest]', 'folder');
    // Browser mode: the allowed folder is chosen by default.
    expect(await page.locator('[data-test=save-folder]').inputValue()).toBe(saveDir);
    // The reply to save.start is held back until the files are written: their status events then come first, as
    // they can on a busy machine, and the list must still end at "written".
    await page.route('**/api/call/save.start', async (route) => {
      const reply = await route.fetch();
      await new Promise((r) => setTimeout(r, 2000));
      await route.fulfill({ response: reply });
    });
    let n: number;
    let slices: number[];
    if (sizes.size > 1) {
      // Mixed ensemble sizes on screen: the user is asked; save the regrown slices at n=7.
      expect(await page.locator('[data-test^=save-n]').count()).toBe(2);
      await page.click('[data-test=save-n7]');
      n = 7;
      slices = Object.values(s).filter((x) => x.ensemble === 7).map((x) => x.k);
    } else {
      await page.click('[data-test=save]');
      n = [...sizes][0];
      slices = Object.values(s).map((x) => x.k);
    }
    await expect.poll(() => page.locator('[data-test=save-status] li[data-state=written]').count(), { timeout: 90_000 }).toBe(3);
    await page.unroute('**/api/call/save.start');
    const names = (await readdir(saveDir)).sort();
    expect(names).toHaveLength(3);
    expect(names.some((f) => /_SEG-mask_n\d+_[\d.]+\.dcm$/.test(f))).toBe(true);
    expect(names.some((f) => /_SEG-probability_n\d+_[\d.]+\.dcm$/.test(f))).toBe(true);
    expect(names.some((f) => /_PM-variance_n\d+_[\d.]+\.dcm$/.test(f))).toBe(true);
    const read = async (f: string) => dcmjs.data.DicomMetaDictionary.naturalizeDataset(dcmjs.data.DicomMessage.readFile(new Uint8Array(await readFile(join(saveDir, f))).buffer).dict);
    for (const f of names) expect(String((await read(f)).SeriesDescription)).toContain(`n=${n}`);
    // The corrected slice is recorded as edited in the binary SEG; the probability keeps the model's result.
    const segItem = (d: Record<string, unknown>) => [d.SegmentSequence].flat()[0] as { SegmentAlgorithmType: string; SegmentDescription: string };
    const mask = await read(names.find((f) => f.includes('SEG-mask'))!);
    expect(segItem(mask).SegmentAlgorithmType).toBe('SEMIAUTOMATIC');
    // Which slices were edited, in full: the count fits SegmentDescription (64 characters), the list ImageComments.
    expect(segItem(mask).SegmentDescription).toMatch(/^Edited by the user on 1 slice; Whole tumour/);
    expect(String(mask.ImageComments)).toMatch(/ Edited by the user on slice \d+; the probability SEG and the variance map of this result keep the model's values\.$/);
    expect(segItem(await read(names.find((f) => f.includes('SEG-probability'))!)).SegmentAlgorithmType).toBe('AUTOMATIC');
    for (const f of names) expect(dciodvfy(join(saveDir, f)).errors).toEqual([]);
    // The binary SEG has a mask only on the slices saved (its frames of other slices, if any, are empty).
    const seg = names.find((f) => f.includes('SEG-mask'))!;
    const ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dcmjs.data.DicomMessage.readFile(new Uint8Array(await readFile(join(saveDir, seg))).buffer).dict);
    const frames = Number(ds.NumberOfFrames);
    const bits = new Uint8Array(ds.PixelData[0] ?? ds.PixelData);
    const perFrame = Math.ceil((Number(ds.Rows) * Number(ds.Columns)) / 8);
    let nonEmpty = 0;
    for (let f = 0; f < frames; f++) if (bits.subarray(f * perFrame, (f + 1) * perFrame).some((b) => b !== 0)) nonEmpty++;
    expect(nonEmpty).toBeLessThanOrEqual(slices.length);
    saved = { slices, n };
    await shot('03-saved');
    expect(errors).toEqual([]);
  });

  it('lists the results already in a study and shows them on their slices only', async () => {
    const results = (await readdir(saveDir)).filter((f) => f.endsWith('.dcm'));
    const withResults = join(saveDir, 'with-results');
    await cp(join(ROOT, 'resources', 'demo'), withResults, { recursive: true });
    for (const f of results) await cp(join(saveDir, f), join(withResults, f));
    await page.click('[data-test=open-study]');
    await page.fill('[data-test=folder-path]', withResults);
    await page.click('[data-test=folder-path-open]');
    await expect.poll(() => page.locator('[data-test=prior-results]').innerText().catch(() => ''), { timeout: 90_000 }).toContain('SEG mask');
    const listed = await page.locator('[data-test=prior-results]').innerText();
    expect(listed).toMatch(/SEG mask\s+by wt-4seq .*, n=\d+, \d{4}-\d\d-\d\d, \d+ slices/);
    expect(listed).toContain('SEG probability');
    expect(listed).toContain('Variance map');
    expect(listed).toContain('edited by a user');
    await page.click('[data-test=prior-show-mask]');
    await page.click('[data-test=prior-show-variance]');
    await expect.poll(() => page.locator('[data-test=prior-show-variance]').innerText()).toBe('Shown');
    const drawn = await page.evaluate(() => (window as unknown as { haloViewer: { debugOverlayCounts(): Record<number, { mask: number; variance: number }> } }).haloViewer.debugOverlayCounts());
    const ks = Object.keys(drawn).map(Number);
    expect(ks.length).toBeGreaterThan(0);
    for (const k of ks) expect(saved.slices).toContain(k); // never on a slice the stored result does not cover
    expect(Object.values(drawn).some((c) => c.variance > 0)).toBe(true);
    // Stored results are not saved again or grown.
    expect(await page.locator('[data-test=add-samples]').isDisabled()).toBe(true);
    await shot('03b-prior-results');

    // A study with only results: a clear message, no internal path.
    const onlyResults = join(saveDir, 'only-results');
    await mkdir(onlyResults);
    for (const f of results) await cp(join(saveDir, f), join(onlyResults, f));
    await page.click('[data-test=open-study]');
    await page.fill('[data-test=folder-path]', onlyResults);
    await page.click('[data-test=folder-path-open]');
    await expect.poll(() => page.locator('[data-test=error]').innerText().catch(() => ''), { timeout: 30_000 }).toMatch(/holds only results .* and no images/);
    expect(await page.locator('[data-test=error]').innerText()).not.toContain(onlyResults);
    await page.click('[data-test=error] button');
    await page.click('[data-test=open-study]'); // back to the viewer
    expect(errors).toEqual([]);
  });

  it('views a study without a FLAIR (sagittal T1); only segmenting needs the roles', async () => {
    await page.click('[data-test=open-study]');
    await page.fill('[data-test=folder-path]', T1_SAG);
    await page.click('[data-test=folder-path-open]');
    await expect.poll(label, { timeout: 60_000 }).toMatch(/^Slice \d+ \/ 35$/);
    expect(await page.locator('[data-test=viewport-T1] canvas').count()).toBeGreaterThan(0);
    expect(await page.getByText('Open a study to begin').count()).toBe(0);
    expect(await page.locator('[data-test=segment]').isDisabled()).toBe(true);
    expect(await page.locator('[data-test=problems]').innerText()).toMatch(/no FLAIR/);
    // The image is really drawn: the canvas is not black.
    const { data } = await canvasPixels(page, '[data-test=viewport-T1] canvas');
    let litPixels = 0;
    for (let i = 0; i < data.length; i += 4) if (data[i] > 20) litPixels++;
    const lit = litPixels / (data.length / 4);
    expect(lit).toBeGreaterThan(0.05);
    await shot('04-t1-sagittal');
    expect(errors).toEqual([]);
  });

  it('refuses a cross-study role assignment and keeps showing the study', async () => {
    const mixed = join(saveDir, 'mixed');
    await cp(join(ROOT, 'resources', 'demo'), join(mixed, 'demo'), { recursive: true });
    await cp(T1_SAG, join(mixed, 'sag'), { recursive: true, dereference: true });
    await page.click('[data-test=open-study]');
    await page.fill('[data-test=folder-path]', mixed);
    await page.click('[data-test=folder-path-open]');
    await expect.poll(() => page.locator('[data-test=problems]').innerText().catch(() => ''), { timeout: 90_000 }).toContain('2 different studies');
    await expect.poll(label).toMatch(/^Slice \d+ \/ 48$/);
    const sagUid = await page.evaluate(() => {
      const opts = Array.from(document.querySelectorAll<HTMLOptionElement>('[data-test=role-select-T2] option'));
      return opts.find((o) => o.textContent?.includes('t1_fl2d_sag'))?.value ?? '';
    });
    expect(sagUid).not.toBe('');
    await page.selectOption('[data-test=role-select-T2]', sagUid);
    await expect.poll(() => page.locator('[data-test=error]').innerText().catch(() => ''), { timeout: 60_000 }).toMatch(/Not changed: .*different studies/);
    // No ghost: the study is still shown with its images.
    expect(await label()).toMatch(/^Slice \d+ \/ 48$/);
    expect(await page.locator('[data-test=viewport-FLAIR] canvas').count()).toBeGreaterThan(0);
    expect(await page.getByText('Open a study to begin').count()).toBe(0);
    await page.click('[data-test=error] button');
    expect(errors).toEqual([]);
  });
});
