/** The bridge answers bad requests as bad requests; packaged builds are configured to be hard to subvert. */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startBridge, type Bridge } from '../../main/app/http-bridge';
import { ROOT } from '../support/paths';

describe('HTTP bridge, malformed requests', () => {
  let bridge: Bridge;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'halo-static-'));
    await writeFile(join(dir, 'index.html'), '<!doctype html><title>halo</title>');
    bridge = await startBridge({ staticDir: dir, allow: [], cacheDir: null });
  });
  afterAll(async () => {
    await bridge.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('a malformed percent-encoding is a 400, with no stack in the log', async () => {
    const logged = vi.spyOn(console, 'error');
    try {
      const res = await fetch(`${bridge.url}/%E0%A4%A`);
      expect(res.status).toBe(400);
      expect(await res.text()).toBe('bad request: malformed URL encoding');
      expect(logged).not.toHaveBeenCalled();
      expect((await fetch(`${bridge.url}/`)).status).toBe(200); // still serving
    } finally {
      logged.mockRestore();
    }
  });
});

describe('packaged app configuration', () => {
  it('electron-builder flips the fuses that turn the app into a general Node runtime', async () => {
    // The YAML parser electron-builder itself reads this file with.
    const yaml = createRequire(createRequire(join(ROOT, 'package.json')).resolve('app-builder-lib'))('js-yaml') as {
      load(s: string): { electronFuses?: Record<string, boolean> };
    };
    const config = yaml.load(await readFile(join(ROOT, 'electron-builder.yml'), 'utf8'));
    expect(config.electronFuses).toMatchObject({
      runAsNode: false,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
    });
  });

  it('the window disables DevTools when packaged', async () => {
    // Electron cannot run here; the window options are checked in the source they are set in.
    const src = await readFile(join(ROOT, 'main', 'index.ts'), 'utf8');
    expect(src).toMatch(/webPreferences: \{[^}]*devTools: !app\.isPackaged,/s);
  });
});
