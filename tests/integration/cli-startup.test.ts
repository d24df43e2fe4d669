/**
 * `halo` starts from the compiled bundle (out/cli, built with the app's bundler) and loads a command's heavy
 * modules (onnxruntime, dcmjs, NIfTI, tsx) only when that command runs: `halo --help` loads commander alone.
 */
import { execFile } from 'node:child_process';
import { statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { halo } from '../support/cli';
import { ROOT } from '../support/paths';

const run = promisify(execFile);
const BUNDLE = join(ROOT, 'out', 'cli', 'halo.mjs');

/** The npm packages whose CommonJS modules `halo ARGS` loaded. */
async function packagesLoaded(args: string[], env: Record<string, string> = {}): Promise<string[]> {
  const { stdout } = await run(process.execPath, [join(ROOT, 'tests', 'support', 'loaded-modules.mjs'), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
  });
  const paths = stdout.split('--- loaded\n')[1].trim().split('\n');
  return [...new Set(paths.map((p) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(p)?.[1]).filter((p): p is string => !!p))].sort();
}

// `npm run test:unit` builds the bundle first (building it here would race the other test files' CLI runs).
const STALE = 'out/cli is missing or older than main/: run `npm run build:cli` (npm run test:unit does) and rerun';

describe('halo start-up', () => {
  it('--help lists every command and loads nothing but commander, from the compiled bundle', async () => {
    const r = await halo(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['segment', 'import-nifti', 'pacs', 'send', 'bench', 'serve']) expect(r.stdout).toMatch(new RegExp(`^  ${c}\\b`, 'm'));
    // tsx (esbuild) would mean the TypeScript sources were transpiled at start-up.
    expect(await packagesLoaded(['--help']), STALE).toEqual(['commander']);
    expect(await packagesLoaded(['segment', '--help'])).toEqual(['commander']);
  });

  it('falls back to the sources (through tsx) when the bundle is older than them', async () => {
    const built = statSync(BUNDLE).mtime;
    const old = new Date(86_400_000); // older than any checkout (sources may be untouched for hours)
    utimesSync(BUNDLE, old, old);
    try {
      expect(await packagesLoaded(['--help'])).toContain('esbuild');
    } finally {
      utimesSync(BUNDLE, built, built);
    }
    expect(await packagesLoaded(['--help'], { HALO_FROM_SOURCE: '1' })).toContain('esbuild');
  });
});
