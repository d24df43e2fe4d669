/**
 * End to end, the workflow steps around the viewer, in headless Chromium against the real handlers behind the
 * loopback HTTP bridge and a real, private Orthanc:
 *  1. open a study from the PACS: the demo study (given a study date, to tell it from the bundled copy) is put into
 *     Orthanc; in the UI the study browser searches by patient name and by ID, lists it, retrieves it and opens it;
 *     the viewer shows that study and a segmentation runs on it;
 *  2. cancel: a long segmentation is cancelled; the progress stops, the UI says so and stays responsive, and the
 *     slices finished before the cancel stay drawn on their own slices, and only there;
 *  3. a folder outside the allow-list gives a clear message, never a stack trace or a blank screen.
 *
 * Needs `npx electron-vite build` first (npm run test:e2e does it), Orthanc with the DICOMweb plugin, Chromium.
 * Artefacts: test-results/e2e/wf-*.png.
 */
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unpack } from '../../main/app/binary';
import type { Bridge } from '../../main/app/http-bridge';
import { NearMaskStack } from '../../main/engine/variance-near-mask';
import { DelayProxy } from '../support/delay-proxy';
import { TestOrthanc } from '../support/orthanc';
import { ROOT } from '../support/paths';
import { closeViewer, makeWork, openViewer, OUT } from './session';

const DEMO = join(ROOT, 'resources', 'demo');
const STUDY_DATE = '20230815';
const PATIENT = 'BraTS-GLI-00027-000';
/** The renderer's variance overlay leaves values below this transparent (viewer.ts VARIANCE_THRESHOLD, the default). */
const VARIANCE_FLOOR = 0.05;

let bridge: Bridge;
let ctx: BrowserContext;
let page: Page;
let orthanc: TestOrthanc;
/** The same Orthanc behind a proxy that holds every answer back 400 ms: a retrieval long enough to cancel. */
let slowPacs: DelayProxy;
let work: string;
let dataDir: string;
let studyUID = '';
let errors: string[] = [];

type Debug = { haloDebug: { runId(): string | null; resultSlices(): number[]; dims(): number[]; spacing(): number[] }; haloViewer: { debugOverlayCounts(): Record<number, { mask: number; variance: number }> } };

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(OUT, `wf-${name}.png`) });
}

async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await files(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/** Put the demo study into Orthanc over its REST API, then give every instance a study date (UIDs kept). */
async function uploadDemo(o: TestOrthanc): Promise<string> {
  const all = (await files(DEMO)).filter((f) => f.endsWith('.dcm'));
  if (all.length < 4 * 48) throw new Error(`the demo study in ${DEMO} is incomplete (${all.length} files)`);
  const post = async (bytes: Uint8Array): Promise<{ ID: string; ParentStudy: string }> => {
    const res = await fetch(`${o.httpUrl}/instances`, { method: 'POST', body: new Blob([new Uint8Array(bytes)]), headers: { 'content-type': 'application/dicom' } });
    if (!res.ok) throw new Error(`Orthanc POST /instances: HTTP ${res.status}\n${o.logs()}`);
    return (await res.json()) as { ID: string; ParentStudy: string };
  };
  for (const f of all) {
    const { ID } = await post(await readFile(f));
    const res = await fetch(`${o.httpUrl}/instances/${ID}/modify`, {
      method: 'POST',
      body: JSON.stringify({ Replace: { StudyDate: STUDY_DATE }, Keep: ['StudyInstanceUID', 'SeriesInstanceUID', 'SOPInstanceUID'], Force: true }),
    });
    if (!res.ok) throw new Error(`Orthanc modify: HTTP ${res.status}\n${o.logs()}`);
    await post(new Uint8Array(await res.arrayBuffer())); // OverwriteInstances: true
  }
  const studies = await o.rest<string[]>('/studies');
  if (studies.length !== 1) throw new Error(`expected 1 study in Orthanc, found ${studies.length}`);
  const s = await o.rest<{ MainDicomTags: { StudyDate: string; StudyInstanceUID: string }; Series: string[] }>(`/studies/${studies[0]}`);
  if (s.MainDicomTags.StudyDate !== STUDY_DATE || s.Series.length !== 4) throw new Error(`the study in Orthanc is not as uploaded: ${JSON.stringify(s)}`);
  const count = (await o.rest<string[]>('/instances')).length;
  if (count !== all.length) throw new Error(`Orthanc holds ${count} instances, ${all.length} were sent`);
  return s.MainDicomTags.StudyInstanceUID;
}

const text = (sel: string) => page.locator(sel).innerText().catch(() => '');
const progressDone = async () => Number(/^(\d+) \/ (\d+) slices/.exec(await text('[data-test=progress]'))?.[1] ?? -1);

/** No stack trace anywhere on the page, and the app's frame is there (not a blank screen). */
async function expectNoStackAndNotBlank(): Promise<void> {
  const body = await page.locator('body').innerText();
  expect(body).not.toMatch(/\n\s+at \S+ \(|Error: .*\n\s+at |TypeError|ReferenceError|Cannot read properties/);
  expect(await page.locator('.app header.top').isVisible()).toBe(true);
  expect(await page.locator('[data-test=segment]').isVisible()).toBe(true);
}

describe('workflows end to end (PACS, cancel, errors)', () => {
  beforeAll(async () => {
    work = await makeWork('wf-');
    for (const f of await readdir(OUT)) if (f.startsWith('wf-')) await rm(join(OUT, f), { force: true });
    orthanc = new TestOrthanc();
    await orthanc.start();
    studyUID = await uploadDemo(orthanc);
    dataDir = join(work, 'data'); // HALO_DATA_DIR
    slowPacs = new DelayProxy({ host: '127.0.0.1', port: orthanc.httpPort }, 400, 0);
    await slowPacs.start();
    const slowUrl = orthanc.dicomWebUrl.replace(`:${orthanc.httpPort}/`, `:${slowPacs.port}/`);
    const nodes = [{ name: 'orthanc', kind: 'dicomweb', url: orthanc.dicomWebUrl }, { name: 'orthanc-slow', kind: 'dicomweb', url: slowUrl }];
    await writeFile(join(work, 'pacs.json'), JSON.stringify({ callingAet: 'HALO', nodes }, null, 2));
    await mkdir(join(work, 'allowed'));
    ({ bridge, ctx, page, errors } = await openViewer({ allow: [join(work, 'allowed')], waitFor: '[data-test=slice-label]' })); // the bundled demo, opened on start
  });

  afterAll(async () => {
    await closeViewer({ ctx, bridge, work });
    await slowPacs?.stop();
    await orthanc?.dispose();
  });

  it('finds the study in the PACS by patient name and by ID, with name, ID, date and description', async () => {
    expect(await text('[data-test=patient]')).not.toContain('2023-08-15'); // the bundled copy has no date
    await page.click('[data-test=open-study]');
    await page.waitForSelector('[data-test=pacs-search]');
    expect(await page.locator('[data-test=pacs-node] option:checked').innerText()).toBe('orthanc');

    // Nothing for another patient: an explicit "none", not an empty screen.
    await page.fill('[data-test=pacs-search]', 'Nobody');
    await page.click('[data-test=pacs-search-go]');
    await page.waitForSelector('[data-test=pacs-none]', { timeout: 30_000 });

    for (const q of ['brats', 'GLI-00027']) {
      // A name (no digits, any case) and an ID fragment.
      await page.fill('[data-test=pacs-search]', q);
      await page.click('[data-test=pacs-search-go]');
      await expect.poll(() => page.locator('[data-test=pacs-study]').count(), { timeout: 30_000 }).toBe(1);
      const row = page.locator('[data-test=pacs-study]');
      expect(await row.getAttribute('data-uid')).toBe(studyUID);
      expect(await row.locator('[data-test=pacs-study-name]').innerText()).toBe(PATIENT);
      expect(await row.locator('[data-test=pacs-study-id]').innerText()).toBe(PATIENT);
      expect(await row.locator('[data-test=pacs-study-date]').innerText()).toBe('2023-08-15');
      expect(await row.locator('[data-test=pacs-study-description]').innerText()).toContain(`BraTS ${PATIENT}`);
    }
    expect(await page.locator('[data-test=error]').count()).toBe(0);
    await shot('01-pacs-search');
  });

  it('cancels a retrieval from a slow PACS: it shows how far it got, nothing opens, and the UI says so', async () => {
    await page.selectOption('[data-test=pacs-node]', 'orthanc-slow');
    await page.fill('[data-test=pacs-search]', 'GLI-00027');
    await page.click('[data-test=pacs-search-go]');
    await page.waitForSelector('[data-test=pacs-study]', { timeout: 60_000 });
    await page.click('[data-test=pacs-retrieve]');
    await expect.poll(() => text('[data-test=pacs-retrieving]'), { timeout: 60_000 }).toMatch(/^Retrieving from the PACS: \d+ of \d+ images/);
    await page.click('[data-test=pacs-cancel-retrieve]');
    await expect.poll(() => text('[data-test=error]'), { timeout: 30_000 }).toContain('Retrieval cancelled. Nothing was opened');
    expect(await page.locator('[data-test=busy]').count()).toBe(0);
    expect(await page.locator('[data-test=pacs-retrieving]').count()).toBe(0);
    expect(await text('[data-test=patient]')).not.toContain('2023-08-15'); // still the bundled demo
    // No half study is left behind that could be opened later (it arrives in a partial folder, removed).
    expect(await readdir(join(dataDir, 'retrieved')).catch(() => [])).toEqual([]);
    expect(await page.locator('body').innerText()).not.toMatch(/\n\s+at \S+ \(|CancelledError|AbortError/);
    await page.click('[data-test=error] button');
    // Back to the PACS at full speed, with its study listed, for the next test.
    await page.selectOption('[data-test=pacs-node]', 'orthanc');
    await page.click('[data-test=pacs-search-go]');
    await page.waitForSelector('[data-test=pacs-study]', { timeout: 30_000 });
    expect(errors).toEqual([]);
  });

  it('retrieves the study and opens it in the viewer, and a segmentation runs on it', async () => {
    // Every busy note shown while it retrieves, so the count of images can be checked afterwards.
    await page.evaluate(() => {
      const seen: string[] = ((window as unknown as { busySeen: string[] }).busySeen = []);
      new MutationObserver(() => {
        const t = document.querySelector('[data-test=busy]')?.textContent;
        if (t && seen[seen.length - 1] !== t) seen.push(t);
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    await page.click('[data-test=pacs-retrieve]');
    // The viewer with the retrieved study: its date (the bundled copy has none), ID, 4 viewports.
    await expect.poll(() => text('[data-test=patient]'), { timeout: 120_000 }).toContain('2023-08-15');
    await page.waitForSelector('[data-test=slice-label]', { timeout: 120_000 });
    const header = await text('[data-test=patient]');
    expect(header).toContain(`ID ${PATIENT}`);
    expect(header).toContain(PATIENT);
    expect(await page.locator('[data-test=study-browser]').count()).toBe(0);
    for (const role of ['FLAIR', 'T1', 'T1ce', 'T2']) {
      expect(await page.locator(`[data-test=role-select-${role}] option:checked`).innerText()).toContain(role);
      expect(await page.locator(`[data-test=viewport-${role}] canvas`).count()).toBeGreaterThan(0);
    }
    expect(await text('[data-test=slice-label]')).toBe('Slice 25 / 48');
    expect(await page.locator('[data-test=error]').count()).toBe(0);
    // The retrieval said how far it was.
    const busy = await page.evaluate(() => (window as unknown as { busySeen: string[] }).busySeen);
    expect(busy.some((t) => /^Retrieving from the PACS: \d+ of \d+ images/.test(t))).toBe(true);
    // What was retrieved is on disk, under the app's data folder.
    const got = (await files(join(dataDir, 'retrieved', studyUID))).filter((f) => f.endsWith('.dcm'));
    expect(got.length).toBe(4 * 48);
    await shot('02-retrieved');

    await page.selectOption('[data-test=scope]', 'around');
    await page.fill('[data-test=radius]', '0');
    await page.fill('[data-test=steps]', '8');
    await page.fill('[data-test=ensemble]', '2');
    await page.click('[data-test=segment]');
    await expect.poll(() => text('[data-test=run-status]'), { timeout: 180_000, interval: 500 }).toMatch(/^Done/);
    expect(await text('[data-test=provider]')).toMatch(/Running on (CPU|CUDA)\b.* · 2 samples × 8 steps/);
    await expect.poll(() => text('[data-test=slice-stat]')).toMatch(/^slice 25: tumour [\d.]+ cm²/);
    await shot('03-retrieved-segmented');
    expect(errors).toEqual([]);
  });

  it('cancels a long segmentation: progress stops, the UI says so and stays responsive, partial results stay on their slices', async () => {
    // Every slice with brain (same steps and ensemble as before: slice 25 comes back at once, from the session).
    await page.selectOption('[data-test=scope]', 'all');
    await page.fill('[data-test=steps]', '8');
    await page.fill('[data-test=ensemble]', '2');
    await page.click('[data-test=segment]');
    await page.waitForSelector('[data-test=cancel]');
    // The slice in view is done first; wait for two more, scrolling meanwhile.
    await expect.poll(progressDone, { timeout: 180_000, interval: 300 }).toBeGreaterThanOrEqual(3);
    await page.keyboard.press('ArrowUp');
    await expect.poll(() => text('[data-test=slice-label]')).toBe('Slice 26 / 48');
    await page.keyboard.press('ArrowDown');
    await expect.poll(() => text('[data-test=slice-label]')).toBe('Slice 25 / 48');
    await page.click('[data-test=cancel]');
    await expect.poll(() => text('[data-test=run-status]'), { timeout: 60_000, interval: 200 }).toMatch(/^Cancelled/);
    expect(await page.locator('[data-test=cancel]').count()).toBe(0);
    expect(await page.locator('[data-test=segment]').isEnabled()).toBe(true);
    expect(await page.locator('[data-test=error]').count()).toBe(0);

    // The progress stops where it was, short of the whole study.
    const progress = await text('[data-test=progress]');
    const m = /^(\d+) \/ (\d+) slices/.exec(progress);
    expect(m).not.toBeNull();
    const [done, total] = [Number(m![1]), Number(m![2])];
    expect(done).toBeGreaterThanOrEqual(3);
    expect(done).toBeLessThan(total);
    const width = await page.locator('[data-test=progress] .fill').getAttribute('style');
    await page.waitForTimeout(3000);
    expect(await text('[data-test=progress]')).toBe(progress);
    expect(await page.locator('[data-test=progress] .fill').getAttribute('style')).toBe(width);

    // The engine stopped too: the slices with a result on the server do not grow any more.
    const runId = await page.evaluate(() => (window as unknown as Debug).haloDebug.runId());
    expect(runId).toBeTruthy();
    // What the viewer must draw of each: its mask, and its variance near the ensemble's mask (in 3D, so the
    // masks of the slices around it count: variance-near-mask.ts), as the server's results give them.
    const [nx, ny] = await page.evaluate(() => (window as unknown as Debug).haloDebug.dims());
    const [sx, sy, sz] = await page.evaluate(() => (window as unknown as Debug).haloDebug.spacing());
    const serverSlices = () => {
      const results = new Map<number, { mask: Uint8Array; variance: Float32Array }>();
      for (let k = 0; k < 48; k++) {
        let bytes: Uint8Array;
        try {
          bytes = bridge.services.sliceResult(runId!, k);
        } catch {
          continue; // no result for this slice
        }
        const { arrays } = unpack(bytes);
        results.set(k, { mask: arrays.mask as Uint8Array, variance: arrays.variance as Float32Array });
      }
      const stack = new NearMaskStack({ nx, ny, spacing: [sx, sy, sz] });
      for (const [k, r] of results) stack.setMask(k, r.mask);
      const out = new Map<number, { mask: number; variance: number }>();
      for (const [k, r] of results) {
        const variance = stack.varianceAt(k, r.variance);
        let a = 0;
        let b = 0;
        for (let p = 0; p < r.mask.length; p++) {
          if (r.mask[p]) a++;
          if (variance[p] >= VARIANCE_FLOOR) b++;
        }
        out.set(k, { mask: a, variance: b });
      }
      return out;
    };
    const server = serverSlices();
    expect(server.size).toBe(done);
    await page.waitForTimeout(1000);
    expect(serverSlices().size).toBe(done);
    // The slice in view first, then outwards.
    expect(server.has(24)).toBe(true);

    // The UI has exactly the slices the server finished…
    await expect.poll(() => page.evaluate(() => (window as unknown as Debug).haloDebug.resultSlices())).toEqual([...server.keys()].sort((a, b) => a - b));
    // …and draws each on its own slice, with its own voxels, and nothing on any other slice.
    const drawn = await page.evaluate(() => (window as unknown as Debug).haloViewer.debugOverlayCounts());
    for (let k = 0; k < 48; k++) {
      const want = server.get(k) ?? { mask: 0, variance: 0 };
      const have = drawn[k] ?? { mask: 0, variance: 0 };
      expect({ k, ...have }).toEqual({ k, ...want });
    }
    expect(Object.keys(drawn).length).toBeGreaterThan(0);

    // Still responsive: scrolling, and the per-slice readout says which slices have a result.
    const without = [...Array(48).keys()].find((k) => !server.has(k))!;
    await page.locator('[data-test=slice-slider]').fill(String(without));
    await expect.poll(() => text('[data-test=slice-label]')).toBe(`Slice ${without + 1} / 48`);
    expect(await text('[data-test=slice-stat]')).toContain('no result');
    await page.locator('[data-test=viewport-FLAIR]').hover();
    await page.mouse.wheel(0, -120);
    await expect.poll(() => text('[data-test=slice-label]')).toBe(`Slice ${without + 2} / 48`);
    await page.locator('[data-test=slice-slider]').fill('24');
    await expect.poll(() => text('[data-test=slice-stat]')).toMatch(/^slice 25: tumour [\d.]+ cm²/);
    await shot('04-cancelled');
    expect(errors).toEqual([]);
  });

  it('refuses a folder outside the allow-list with a clear message, no stack trace, no blank screen', async () => {
    const header = await text('[data-test=patient]');
    await page.click('[data-test=open-study]');
    for (const folder of ['/etc', join(work, 'allowed', '..'), join(work, 'no-such-folder')]) {
      await page.fill('[data-test=folder-path]', folder);
      await page.click('[data-test=folder-path-open]');
      await expect.poll(() => text('[data-test=error]'), { timeout: 30_000 }).toContain('is not one this session may open');
      const msg = await text('[data-test=error]');
      expect(msg).toContain(folder);
      expect(msg).toMatch(/only these can be opened: the demo study, studies retrieved from a PACS, .*allowed/);
      await expectNoStackAndNotBlank();
      expect(await page.locator('[data-test=study-browser]').isVisible()).toBe(true);
      await page.click('[data-test=error] button'); // Dismiss
    }
    // An allowed folder without DICOM images: a clear message as well.
    await page.fill('[data-test=folder-path]', join(work, 'allowed'));
    await page.click('[data-test=folder-path-open]');
    await expect.poll(() => text('[data-test=error]'), { timeout: 30_000 }).toMatch(/There are no DICOM images in .*allowed/);
    await expectNoStackAndNotBlank();
    await shot('05-folder-refused');
    // The open study is untouched.
    await page.click('[data-test=open-study]');
    expect(await text('[data-test=patient]')).toBe(header);
    expect(await text('[data-test=slice-label]')).toMatch(/^Slice \d+ \/ 48$/);
    expect(errors).toEqual([]);
  });
});
