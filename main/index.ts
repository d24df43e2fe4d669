/**
 * Electron entry: one window, the handler table served over IPC, events pushed with webContents.send.
 * Kept thin on purpose: every behaviour lives in main/app (shared with the HTTP bridge used by the tests).
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, BrowserWindow, dialog, ipcMain, protocol, safeStorage, session, shell } from 'electron';
import type { EventName, HaloEvents } from './app/contract';
import { dispatch } from './app/handlers';
import { RENDERER_ORIGIN, RENDERER_SCHEME, serveRendererFile } from './app/renderer-scheme';
import { AppServices, type Host } from './app/services';
import type { SecretSealer } from './pacs/credentials';

if (app.isPackaged) {
  // Models and the demo study ship as extra resources beside the asar (electron-builder.yml).
  process.env.HALO_MODELS_DIR ??= join(process.resourcesPath, 'models');
  process.env.HALO_DEMO_DIR ??= join(process.resourcesPath, 'demo');
}

const here = fileURLToPath(new URL('.', import.meta.url));
const rendererRoot = join(here, '../renderer');

// The renderer's own origin (see main/app/renderer-scheme.ts); must be declared before the app is ready.
protocol.registerSchemesAsPrivileged([
  { scheme: RENDERER_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, codeCache: true } },
]);
const CSP =
  "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; " +
  "worker-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

let win: BrowserWindow | null = null;

const host: Host = {
  mode: 'electron',
  emit<E extends EventName>(event: E, payload: HaloEvents[E]) {
    if (win && !win.isDestroyed()) win.webContents.send('halo:event', event, payload);
  },
  allowedFolders: () => [],
  async chooseFolder(purpose, given) {
    if (given !== undefined) throw new Error('folder paths come from the dialog in the desktop app');
    const r = await dialog.showOpenDialog(win!, {
      title: purpose === 'open' ? 'Open a DICOM study folder' : 'Choose a folder for the results',
      properties: purpose === 'open' ? ['openDirectory'] : ['openDirectory', 'createDirectory'],
    });
    return r.canceled || !r.filePaths[0] ? null : r.filePaths[0];
  },
};
// Created once the app is ready: only then can safeStorage tell whether the OS has a keychain.
let services: AppServices | undefined;

/**
 * PACS credentials sealed with the OS keychain. On a Linux desktop without a secret store Electron falls back to a
 * hard-coded key ('basic_text'), which protects nothing: then the settings file (0600) is used and the UI says so.
 */
function keychainSealer(): SecretSealer | undefined {
  if (!safeStorage.isEncryptionAvailable()) return undefined;
  const backend = process.platform === 'linux' ? safeStorage.getSelectedStorageBackend() : undefined;
  if (backend === 'basic_text' || backend === 'unknown') return undefined;
  return {
    description: `the OS keychain${backend ? ` (${backend})` : ''}`,
    seal: (plain) => safeStorage.encryptString(plain).toString('base64'),
    open: (sealed) => safeStorage.decryptString(Buffer.from(sealed, 'base64')),
  };
}

function isOurPage(url: string): boolean {
  const dev = process.env.ELECTRON_RENDERER_URL;
  if (!app.isPackaged && dev && url.startsWith(dev)) return true;
  return url.startsWith(`${RENDERER_ORIGIN}/`);
}

function createWindow(): void {
  win = new BrowserWindow({
    width: 1600,
    height: 1000,
    backgroundColor: '#111418',
    title: 'Halo',
    webPreferences: {
      preload: join(here, '../preload/index.cjs'),
      contextIsolation: true,
      nodeIntegration: false,
      sandbox: true,
      webSecurity: true,
      allowRunningInsecureContent: false,
      spellcheck: false,
      // No DevTools in the shipped app: they would give anyone at the workstation the renderer's privileges.
      devTools: !app.isPackaged,
    },
  });
  const wc = win.webContents;
  wc.setWindowOpenHandler(() => ({ action: 'deny' }));
  wc.on('will-navigate', (e) => e.preventDefault());
  wc.on('will-redirect', (e) => e.preventDefault());
  wc.on('will-attach-webview', (e) => e.preventDefault());
  if (!app.isPackaged && process.env.ELECTRON_RENDERER_URL) void win.loadURL(process.env.ELECTRON_RENDERER_URL);
  else void win.loadURL(`${RENDERER_ORIGIN}/index.html`);
  win.on('closed', () => (win = null));
}

app.enableSandbox();
app.whenReady().then(() => {
  const svc = (services = new AppServices({ ...host, sealer: keychainSealer() }));
  const ses = session.defaultSession;
  ses.protocol.handle(RENDERER_SCHEME, async (request) => {
    const r = await serveRendererFile(request.url, rendererRoot);
    return new Response(r.body, { status: r.status, headers: { 'content-type': r.type } });
  });
  ses.setPermissionRequestHandler((_wc, _perm, cb) => cb(false));
  ses.setPermissionCheckHandler(() => false);
  ses.webRequest.onHeadersReceived((details, cb) => {
    cb({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CSP] } });
  });
  // No remote content: only our own files (and the dev server in development) may load.
  ses.webRequest.onBeforeRequest((details, cb) => {
    const u = details.url;
    const ok = u.startsWith(`${RENDERER_ORIGIN}/`) || u.startsWith('devtools:') || u.startsWith('data:') || u.startsWith('blob:') || (!app.isPackaged && !!process.env.ELECTRON_RENDERER_URL && u.startsWith(process.env.ELECTRON_RENDERER_URL.replace(/\/$/, '')));
    cb({ cancel: !ok });
  });
  ipcMain.handle('halo:call', (e, name: unknown, arg: unknown) => {
    if (!e.senderFrame || !isOurPage(e.senderFrame.url)) {
      return { ok: false, error: { kind: 'validation', message: 'Request from an unknown page refused.' } };
    }
    return dispatch(svc, name, arg);
  });
  createWindow();
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow();
  });
});

app.on('web-contents-created', (_e, contents) => {
  contents.on('will-navigate', (e) => e.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    if (/^https:\/\//.test(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
});

app.on('window-all-closed', () => {
  void (services?.dispose() ?? Promise.resolve()).finally(() => app.quit());
});
