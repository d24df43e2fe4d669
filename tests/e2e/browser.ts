import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { orthancAvailable } from '../support/orthanc';
import { ROOT } from '../support/paths';

export const CHROMIUM = '/usr/bin/chromium';

/** What every e2e suite needs; a missing piece fails loudly rather than skipping. */
export function requirePrerequisites(): void {
  if (!existsSync(CHROMIUM)) throw new Error('/usr/bin/chromium is missing: apt-get install chromium (scripts/setup.sh does)');
  if (!existsSync(join(ROOT, 'out', 'renderer', 'index.html'))) throw new Error('the renderer is not built: run npm run build first (npm run test:e2e does)');
  if (!orthancAvailable()) throw new Error('Orthanc with the DICOMweb plugin is missing: apt-get install orthanc orthanc-dicomweb (scripts/setup.sh does)');
}

/** Debian's Chromium, headless, with a fresh profile and no background traffic; page errors are collected. */
export async function launchChromium(): Promise<{ ctx: BrowserContext; page: Page; errors: string[] }> {
  const ctx = await chromium.launchPersistentContext(await mkdtemp(join(tmpdir(), 'halo-chromium-')), {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    viewport: { width: 1500, height: 950 },
  });
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  return { ctx, page, errors };
}
