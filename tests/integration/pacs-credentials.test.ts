/**
 * PACS credentials stay with the server they were given for, and the settings file that holds them stays private.
 */
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dispatch } from '../../main/app/handlers';
import { AppServices, type Host } from '../../main/app/services';
import { halo } from '../support/cli';
import { dicomJson, FakeDicomWeb } from '../support/fake-dicomweb';
import { DATA } from '../support/paths';

const host: Host = { mode: 'bridge', emit: () => undefined, allowedFolders: () => [], chooseFolder: async () => null };
const SECRET = 'Basic aGFsbzpzM2NyZXQ=';

describe('PACS credentials in the app settings', () => {
  let tmp: string;
  let file: string;
  const trusted = new FakeDicomWeb(() => dicomJson([]));
  const other = new FakeDicomWeb(() => dicomJson([]));
  let savedEnv: string | undefined;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(tmpdir(), 'halo-cred-'));
    file = path.join(tmp, 'pacs.json');
    await trusted.start();
    await other.start();
    savedEnv = process.env.HALO_PACS_CONFIG;
    process.env.HALO_PACS_CONFIG = file;
  });
  afterAll(async () => {
    if (savedEnv === undefined) delete process.env.HALO_PACS_CONFIG;
    else process.env.HALO_PACS_CONFIG = savedEnv;
    await trusted.stop();
    await other.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('keeps the credentials for an unchanged server, drops them when the URL points elsewhere, and keeps mode 0600', async () => {
    const node = { name: 'research', kind: 'dicomweb', url: trusted.url, authHeader: SECRET };
    await writeFile(file, JSON.stringify({ callingAet: 'HALO', nodes: [node] }), { mode: 0o600 });
    const svc = new AppServices(host, { cacheDir: null });

    // The UI edits the calling AE only: the credentials stay, and go to their server.
    let r = await dispatch(svc, 'pacs.setSettings', { callingAet: 'HALO2', nodes: [{ name: 'research', kind: 'dicomweb', url: trusted.url }] });
    expect(r).toMatchObject({ ok: true });
    expect(JSON.stringify(r)).not.toContain(SECRET); // never to the renderer
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file, 'utf8')).nodes[0].authHeader).toBe(SECRET);
    expect(await dispatch(svc, 'pacs.echo', { node: 'research' })).toMatchObject({ ok: true });
    expect(trusted.requests.at(-1)?.headers.authorization).toBe(SECRET);

    // The URL now names another server (another port): the credentials are not carried over.
    r = await dispatch(svc, 'pacs.setSettings', { callingAet: 'HALO2', nodes: [{ name: 'research', kind: 'dicomweb', url: other.url }] });
    expect(r).toMatchObject({ ok: true });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file, 'utf8')).nodes[0].authHeader).toBeUndefined();
    expect(await dispatch(svc, 'pacs.echo', { node: 'research' })).toMatchObject({ ok: true });
    expect(other.requests.length).toBeGreaterThan(0);
    expect(other.requests.every((q) => q.headers.authorization === undefined)).toBe(true);
  });

  it('writes a new settings file as 0600 whatever the umask', async () => {
    const fresh = path.join(tmp, 'fresh.json');
    process.env.HALO_PACS_CONFIG = fresh;
    await writeFile(fresh, '{}', { mode: 0o644 });
    const old = process.umask(0o000);
    try {
      const svc = new AppServices(host, { cacheDir: null });
      expect(await dispatch(svc, 'pacs.setSettings', { callingAet: 'HALO', nodes: [] })).toMatchObject({ ok: true });
    } finally {
      process.umask(old);
      process.env.HALO_PACS_CONFIG = file;
    }
    expect((await stat(fresh)).mode & 0o777).toBe(0o600);
  });
});

describe('PACS credentials on the command line', () => {
  let tmp: string;
  // A server that wants credentials for everything and refuses every store, so files stay in the outbox.
  const server = new FakeDicomWeb((req) =>
    req.headers.authorization ? (req.method === 'POST' ? { status: 500, body: 'disk full' } : dicomJson([])) : { status: 401 },
  );
  const FILE = path.join(DATA, 'dicom', 't1-sag-hfs', '0001_1.3.12.2.1107.5.2.43.67060.2022040715053454597060816.dcm');

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(tmpdir(), 'halo-cred-cli-'));
    await server.start();
  });
  afterAll(async () => {
    await server.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('user:password in a URL becomes Basic auth and appears in no message, hint or folder name', async () => {
    const url = server.url.replace('http://', 'http://radiology:Pa55word@');
    const outbox = path.join(tmp, 'outbox');
    const r = await halo(['send', FILE, '--to', url, '--outbox', outbox]);
    expect(r.code).toBe(2);
    expect(server.requests.at(-1)?.headers.authorization).toBe(`Basic ${Buffer.from('radiology:Pa55word').toString('base64')}`);
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/Pa55word|radiology/);
    expect(r.stderr).toMatch(/Retry with: halo send --retry --to http:\/\/127\.0\.0\.1:\d+\/dicom-web/);
    const folders = await readdir(outbox);
    expect(folders).toHaveLength(1);
    expect(folders[0]).not.toMatch(/Pa55word|radiology/);
  });

  it('$HALO_PACS_AUTHORIZATION and --auth give the header; without them the 401 says where credentials go', async () => {
    server.requests.length = 0;
    let r = await halo(['pacs', 'echo', '--to', server.url], { HALO_PACS_AUTHORIZATION: 'Bearer from-env' });
    expect(r.code, r.stderr).toBe(0);
    expect(server.requests.at(-1)?.headers.authorization).toBe('Bearer from-env');
    r = await halo(['pacs', 'echo', '--to', server.url, '--auth', 'Bearer from-flag'], { HALO_PACS_AUTHORIZATION: 'Bearer from-env' });
    expect(r.code, r.stderr).toBe(0);
    expect(server.requests.at(-1)?.headers.authorization).toBe('Bearer from-flag');
    r = await halo(['pacs', 'echo', '--to', server.url], { HALO_PACS_AUTHORIZATION: '' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/HTTP 401.*\$HALO_PACS_AUTHORIZATION/);
  });
});
