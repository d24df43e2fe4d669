/**
 * The loopback HTTP bridge: the same handler table as Electron's IPC, for tests and development in a plain
 * browser. Bound to 127.0.0.1 on a random port; every API call needs the per-run token; push events are
 * Server-Sent Events. It also serves the built renderer (out/renderer), which finds the token in the page's
 * URL fragment (#token=...), never sent to the server by the browser.
 *
 *   POST /api/call/<handler>   body: JSON argument, header x-halo-token  -> Envelope JSON, or bytes when the
 *                              result is binary (application/octet-stream)
 *   GET  /api/events?token=…   text/event-stream: `event: <name>` + `data: <json>`
 *
 * Folder arguments are only accepted inside the allow-list (the demo study, retrieved studies, and folders given
 * on the command line / HALO_ALLOW_FOLDERS).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, extname, isAbsolute, join, normalize, relative, resolve, sep } from 'node:path';
import { InputError } from '../errors';
import type { Envelope, EventName, HaloEvents } from './contract';
import { dispatch } from './handlers';
import { demoDir, projectRoot, retrievedDir } from './paths';
import { AppServices, isInside, type Host } from './services';

export interface BridgeOptions {
  /** 0 (default) = a random free port. */
  port?: number;
  /** Folders a request may name (opened studies, save targets), besides the demo and retrieved studies. */
  allow?: string[];
  /** Built renderer to serve; default out/renderer of the project. null = API only. */
  staticDir?: string | null;
  /** Ensemble cache folder (null = memory only); default the engine's. */
  cacheDir?: string | null;
}

export interface Bridge {
  url: string;
  /** The page to open: url + #token=… */
  pageUrl: string;
  token: string;
  port: number;
  services: AppServices;
  close(): Promise<void>;
}

const CSP =
  "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; " +
  "worker-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
};

export function allowListFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.HALO_ALLOW_FOLDERS ?? '').split(':').filter(Boolean).map((p) => resolve(p));
}

export async function startBridge(opts: BridgeOptions = {}): Promise<Bridge> {
  const token = randomBytes(24).toString('base64url');
  const allow = [...(opts.allow ?? []), ...allowListFromEnv()].map((p) => resolve(p));
  const staticDir = opts.staticDir === null ? null : resolve(opts.staticDir ?? join(projectRoot(), 'out', 'renderer'));
  const clients = new Set<ServerResponse>();

  const emit = <E extends EventName>(event: E, payload: HaloEvents[E]) => {
    const frame = `event: ${event}\ndata: ${JSON.stringify(payload)}\n\n`;
    for (const res of clients) res.write(frame);
  };
  const readRoots = () => [demoDir(), retrievedDir(), ...allow];
  const host: Host = {
    mode: 'bridge',
    emit,
    allowedFolders: () => [
      { label: 'Demo study', path: demoDir() },
      ...allow.map((p) => ({ label: basename(p), path: p })),
    ],
    async chooseFolder(purpose, given) {
      if (!given) throw new InputError('Choose one of the allowed folders (this browser mode cannot show a folder dialog).');
      const roots = purpose === 'open' ? readRoots() : allow;
      for (const root of roots) {
        if (await isInside(given, root)) return realpath(given);
      }
      // A path inside an allowed folder that is not there is a typo, not a refusal. (Outside them, whether a path
      // exists is none of the page's business: it gets the refusal either way.)
      const under = roots.find((root) => {
        const rel = relative(resolve(root), resolve(given));
        return rel !== '..' && !rel.startsWith('..' + sep) && !isAbsolute(rel);
      });
      if (under && !existsSync(given)) throw new InputError(`The folder ${given} does not exist (inside the allowed folder ${under}). Check the path.`);
      const allowed = purpose === 'open' ? ['the demo study', 'studies retrieved from a PACS', ...allow] : allow;
      throw new InputError(
        `The folder ${given} is not one this session may ${purpose === 'open' ? 'open' : 'write to'}. ` +
          (allowed.length
            ? `In this browser mode only these can be ${purpose === 'open' ? 'opened' : 'written to'}: ${allowed.join(', ')}.`
            : 'No folder was allowed for writing when this session was started (--allow).'),
      );
    },
  };
  const services = new AppServices(host, { cacheDir: opts.cacheDir });

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      console.error('halo bridge: internal error:', err instanceof Error ? err.message : String(err));
      if (!res.headersSent) send(res, 500, 'text/plain', 'internal error');
      else res.end();
    });
  });

  let origin = '';
  const hostOk = (req: IncomingMessage) => {
    const h = req.headers.host ?? '';
    const o = req.headers.origin;
    const port = (server.address() as AddressInfo).port;
    const hostAllowed = h === `127.0.0.1:${port}` || h === `localhost:${port}`;
    const originAllowed = o === undefined || o === `http://127.0.0.1:${port}` || o === `http://localhost:${port}`;
    return hostAllowed && originAllowed;
  };
  const tokenOk = (given: string | null | undefined) => {
    if (!given) return false;
    const a = Buffer.from(given);
    const b = Buffer.from(token);
    return a.length === b.length && timingSafeEqual(a, b);
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!hostOk(req)) return send(res, 403, 'text/plain', 'forbidden');
    const url = new URL(req.url ?? '/', origin);
    if (url.pathname.startsWith('/api/')) {
      if (url.pathname === '/api/events' && req.method === 'GET') {
        if (!tokenOk(url.searchParams.get('token'))) return send(res, 401, 'text/plain', 'unauthorized');
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
        res.write(': halo\n\n');
        clients.add(res);
        req.on('close', () => clients.delete(res));
        return;
      }
      const m = /^\/api\/call\/([A-Za-z.]{1,64})$/.exec(url.pathname);
      if (!m || req.method !== 'POST') return send(res, 404, 'text/plain', 'not found');
      if (!tokenOk(req.headers['x-halo-token'] as string | undefined)) return send(res, 401, 'text/plain', 'unauthorized');
      if (!(req.headers['content-type'] ?? '').startsWith('application/json')) return send(res, 415, 'text/plain', 'JSON only');
      let arg: unknown;
      try {
        arg = JSON.parse((await readBody(req, 1 << 20)) || '{}');
      } catch {
        return json(res, { ok: false, error: { kind: 'validation', message: 'Invalid request: the body is not JSON.' } });
      }
      const env = await dispatch(services, m[1], arg);
      if (env.ok && env.value instanceof Uint8Array) {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': env.value.byteLength, 'cache-control': 'no-store' });
        res.end(Buffer.from(env.value.buffer, env.value.byteOffset, env.value.byteLength));
        return;
      }
      return json(res, env);
    }
    if (req.method !== 'GET' || !staticDir) return send(res, 404, 'text/plain', 'not found');
    let decoded: string;
    try {
      decoded = decodeURIComponent(url.pathname);
    } catch {
      return send(res, 400, 'text/plain', 'bad request: malformed URL encoding'); // the client's error, not ours
    }
    const rel = normalize(decoded).replace(/^([/\\])+/, '');
    let file = join(staticDir, rel || 'index.html');
    if (!file.startsWith(staticDir + sep) && file !== staticDir) return send(res, 404, 'text/plain', 'not found');
    if (!existsSync(file) || !statSync(file).isFile()) file = join(staticDir, 'index.html');
    if (!existsSync(file)) return send(res, 404, 'text/plain', 'renderer not built: run npx electron-vite build');
    res.writeHead(200, {
      'content-type': MIME[extname(file)] ?? 'application/octet-stream',
      'content-security-policy': CSP,
      'x-content-type-options': 'nosniff',
      'cache-control': 'no-store',
    });
    createReadStream(file).pipe(res);
  }

  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port ?? 0, '127.0.0.1', () => ok());
  });
  const port = (server.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;
  const keepAlive = setInterval(() => {
    for (const c of clients) c.write(': ping\n\n');
  }, 15_000);
  keepAlive.unref();
  return {
    url: origin,
    pageUrl: `${origin}/#token=${token}`,
    token,
    port,
    services,
    async close() {
      clearInterval(keepAlive);
      for (const c of clients) c.end();
      clients.clear();
      await services.dispose();
      await new Promise<void>((ok) => server.close(() => ok()));
      server.closeAllConnections();
    },
  };
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

function json(res: ServerResponse, env: Envelope): void {
  send(res, 200, 'application/json', JSON.stringify(env));
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((ok, fail) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        fail(new Error('body too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => ok(Buffer.concat(chunks).toString('utf8')));
    req.on('error', fail);
  });
}
