/** The bridge answers bad requests as bad requests; packaged builds are configured to be hard to subvert. */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startBridge, type Bridge } from '../../main/app/http-bridge';
import { rendererFile, serveRendererFile } from '../../main/app/renderer-scheme';
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

describe('the app:// scheme serves the built renderer and nothing else', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'halo-renderer-'));
    await mkdir(join(root, 'assets'));
    await writeFile(join(root, 'index.html'), '<!doctype html><title>halo</title>');
    await writeFile(join(root, 'assets', 'main.js'), 'export {};');
    await writeFile(join(root, '..', `${basename(root)}-secret.json`), '{"authHeader": "Basic c2VjcmV0"}');
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
    await rm(join(root, '..', `${basename(root)}-secret.json`), { force: true });
  });

  it('serves the renderer files with their types', async () => {
    expect(await serveRendererFile('app://halo/', root)).toMatchObject({ status: 200, type: 'text/html; charset=utf-8' });
    const js = await serveRendererFile('app://halo/assets/main.js?v=1', root);
    expect(js).toMatchObject({ status: 200, type: 'text/javascript; charset=utf-8' });
    expect(Buffer.from(js.body as ArrayBuffer).toString()).toBe('export {};');
  });

  it('refuses paths outside the renderer, other hosts and malformed URLs', async () => {
    const secret = `${basename(root)}-secret.json`;
    for (const url of [`app://halo/../${secret}`, `app://halo/%2e%2e/${secret}`, `app://halo/assets/..%2f..%2f${secret}`, 'app://other/index.html', 'app://halo/%E0%A4%A', 'app://halo/index.html%00.js', 'file:///etc/passwd']) {
      // URL parsing already drops a leading "..": what is left must name nothing, or a (missing) file inside root.
      const file = rendererFile(url, root);
      if (file !== undefined) expect(file.startsWith(`${root}/`), url).toBe(true);
      expect((await serveRendererFile(url, root)).status, url).toBe(404);
    }
    expect((await serveRendererFile('app://halo/missing.js', root)).status).toBe(404);
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
      // The renderer is served from app://halo, so file:// pages need no extra privileges (they could read any file).
      grantFileProtocolExtraPrivileges: false,
    });
  });

  it('the window loads the renderer from app://halo, never from file://', async () => {
    const src = await readFile(join(ROOT, 'main', 'index.ts'), 'utf8');
    expect(src).toMatch(/win\.loadURL\(`\$\{RENDERER_ORIGIN\}\/index\.html`\)/);
    expect(src).not.toMatch(/loadFile|startsWith\('file:'\)/);
  });

  it('the window disables DevTools when packaged', async () => {
    // Electron cannot run here; the window options are checked in the source they are set in.
    const src = await readFile(join(ROOT, 'main', 'index.ts'), 'utf8');
    expect(src).toMatch(/webPreferences: \{[^}]*devTools: !app\.isPackaged,/s);
  });
});
