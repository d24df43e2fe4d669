/**
 * What every e2e file sets up and tears down: a fresh work folder that holds the app's data folder and PACS
 * settings, the loopback HTTP bridge over the built renderer (no result cache), and headless Chromium on it.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, ConsoleMessage, Page } from 'playwright-core';
import { startBridge, type Bridge } from '../../main/app/http-bridge';
import { ROOT } from '../support/paths';
import { launchChromium, requirePrerequisites } from './browser';

/** Where the e2e files write their screenshots and reports. */
export const OUT = join(ROOT, 'test-results', 'e2e');

/**
 * Checks the prerequisites, makes OUT, and returns a fresh work folder (halo-e2e-<name>…) in which the app keeps
 * its data (HALO_DATA_DIR=work/data) and looks for its PACS settings (HALO_PACS_CONFIG=work/pacs.json, absent until
 * a test writes it).
 */
export async function makeWork(name: string): Promise<string> {
  requirePrerequisites();
  await mkdir(OUT, { recursive: true });
  const work = await mkdtemp(join(tmpdir(), `halo-e2e-${name}`));
  process.env.HALO_DATA_DIR = join(work, 'data');
  process.env.HALO_PACS_CONFIG = join(work, 'pacs.json');
  return work;
}

export type Viewer = { bridge: Bridge; ctx: BrowserContext; page: Page; errors: string[] };

/**
 * The bridge (these folders allowed, no result cache) and Chromium. With `waitFor`, the page is opened on the app
 * and waited on (2 min) until that selector shows: the bundled demo opens on start. `viewport` and `onConsole` are
 * set before the page opens. On a failure, whatever was started is closed again.
 */
export async function openViewer(opts: { allow?: string[]; waitFor?: string; viewport?: { width: number; height: number }; onConsole?: (m: ConsoleMessage) => void } = {}): Promise<Viewer> {
  const bridge = await startBridge({ allow: opts.allow ?? [], cacheDir: null });
  let ctx: BrowserContext | undefined;
  try {
    const browser = await launchChromium();
    ctx = browser.ctx;
    const { page } = browser;
    if (opts.viewport) await page.setViewportSize(opts.viewport);
    if (opts.onConsole) page.on('console', opts.onConsole);
    if (opts.waitFor) {
      await page.goto(bridge.pageUrl);
      await page.waitForSelector(opts.waitFor, { timeout: 120_000 });
    }
    return { bridge, ...browser };
  } catch (e) {
    await closeViewer({ ctx, bridge });
    throw e;
  }
}

/** Closes Chromium and the bridge, and removes the work folder (each where there is one). */
export async function closeViewer({ ctx, bridge, work }: { ctx?: BrowserContext; bridge?: Bridge; work?: string }): Promise<void> {
  await ctx?.close();
  await bridge?.close();
  if (work) await rm(work, { recursive: true, force: true });
}
