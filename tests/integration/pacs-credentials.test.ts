/**
 * PACS credentials stay with the server they were given for, and the settings file that holds them stays private.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dispatch } from '../../main/app/handlers';
import type { PacsSettingsView } from '../../main/app/contract';
import { AppServices, type Host } from '../../main/app/services';
import type { SecretSealer } from '../../main/pacs/credentials';
import { halo } from '../support/cli';
import { dicomJson, FakeDicomWeb } from '../support/fake-dicomweb';
import { TestOrthanc } from '../support/orthanc';
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

/**
 * Stands in for Electron's safeStorage (which needs the Electron binary): real AES-256-GCM with a key of its own,
 * so a test can tell sealed from plain and another user's key from this one's.
 */
function aesSealer(key = randomBytes(32)): SecretSealer {
  return {
    description: 'a test key',
    seal(plain) {
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
      return Buffer.concat([iv, c.getAuthTag(), body]).toString('base64');
    },
    open(sealed) {
      const b = Buffer.from(sealed, 'base64');
      const d = createDecipheriv('aes-256-gcm', key, b.subarray(0, 12));
      d.setAuthTag(b.subarray(12, 28));
      return Buffer.concat([d.update(b.subarray(28)), d.final()]).toString('utf8');
    },
  };
}

describe('credentials entered in the settings panel, against an Orthanc that wants a password', () => {
  const orthanc = new TestOrthanc({ users: { radiology: 'c0rrect horse' } });
  let tmp: string;
  let file: string;
  let savedEnv: string | undefined;
  const settingsOf = async (svc: AppServices) => ((await dispatch(svc, 'pacs.getSettings', {})) as { ok: true; value: PacsSettingsView }).value;
  const errorOf = (r: unknown) => (r as { ok: false; error: { message: string } }).error?.message ?? '';

  beforeAll(async () => {
    await orthanc.start();
    tmp = await mkdtemp(path.join(tmpdir(), 'halo-cred-ui-'));
    file = path.join(tmp, 'pacs.json');
    savedEnv = process.env.HALO_PACS_CONFIG;
    process.env.HALO_PACS_CONFIG = file;
    const nodes = [
      { name: 'secured', kind: 'dicomweb', url: orthanc.dicomWebUrl },
      { name: 'archive', kind: 'dimse', aet: 'ARCHIVE', host: '127.0.0.1', port: 11112 },
    ];
    await writeFile(file, JSON.stringify({ callingAet: 'HALO', nodes }), { mode: 0o600 });
  }, 60_000);
  afterAll(async () => {
    if (savedEnv === undefined) delete process.env.HALO_PACS_CONFIG;
    else process.env.HALO_PACS_CONFIG = savedEnv;
    await orthanc.dispose();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('without a keychain: kept in the 0600 file, never read back, sent to the node, forgotten on request', async () => {
    const svc = new AppServices(host, { cacheDir: null });
    expect(errorOf(await dispatch(svc, 'pacs.echo', { node: 'secured' }))).toMatch(/401/);
    expect((await settingsOf(svc)).credentialStore).toMatch(/readable by this user only/);

    // A wrong password is stored as given and refused by the PACS; the right one works.
    let r = await dispatch(svc, 'pacs.setCredentials', { node: 'secured', scheme: 'basic', username: 'radiology', password: 'wrong' });
    expect(r).toMatchObject({ ok: true });
    expect(errorOf(await dispatch(svc, 'pacs.echo', { node: 'secured' }))).toMatch(/401/);
    r = await dispatch(svc, 'pacs.setCredentials', { node: 'secured', scheme: 'basic', username: 'radiology', password: 'c0rrect horse' });
    expect(JSON.stringify(r)).not.toMatch(/c0rrect|radiology|Basic /);
    expect((await settingsOf(svc)).nodes.find((n) => n.name === 'secured')?.credentials).toBe('file');
    expect(await dispatch(svc, 'pacs.echo', { node: 'secured' })).toMatchObject({ ok: true });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const saved = JSON.parse(await readFile(file, 'utf8')).nodes[0];
    expect(saved.authHeader).toBe(`Basic ${Buffer.from('radiology:c0rrect horse').toString('base64')}`);

    // Editing the node's other fields in the panel keeps them; forgetting removes them.
    expect(await dispatch(svc, 'pacs.setSettings', { callingAet: 'HALO', nodes: [{ name: 'secured', kind: 'dicomweb', url: orthanc.dicomWebUrl }, { name: 'archive', kind: 'dimse', aet: 'ARCHIVE', host: '127.0.0.1', port: 11112 }] })).toMatchObject({ ok: true });
    expect(await dispatch(svc, 'pacs.echo', { node: 'secured' })).toMatchObject({ ok: true });
    expect(await dispatch(svc, 'pacs.setCredentials', { node: 'secured', scheme: 'none' })).toMatchObject({ ok: true });
    expect(JSON.parse(await readFile(file, 'utf8')).nodes[0].authHeader).toBeUndefined();
    expect(errorOf(await dispatch(svc, 'pacs.echo', { node: 'secured' }))).toMatch(/401/);
  });

  it('user:password typed into a URL, or hand-edited into pacs.json, become credentials and never come back', async () => {
    const withUser = new URL(orthanc.dicomWebUrl);
    withUser.username = 'radiology';
    withUser.password = 'c0rrect horse';
    const archive = { name: 'archive', kind: 'dimse', aet: 'ARCHIVE', host: '127.0.0.1', port: 11112 };
    const secret = /c0rrect|radiology|cmFkaW9sb2d5/; // the password, the user, or their Basic base64

    // Typed into the settings panel, with a keychain: the URL is saved bare and the credentials sealed.
    const svc = new AppServices({ ...host, sealer: aesSealer() }, { cacheDir: null });
    const r = await dispatch(svc, 'pacs.setSettings', { callingAet: 'HALO', nodes: [{ name: 'secured', kind: 'dicomweb', url: withUser.href }, archive] });
    expect(r).toMatchObject({ ok: true });
    expect(JSON.stringify(r)).not.toMatch(secret);
    const text = await readFile(file, 'utf8');
    expect(text).not.toMatch(secret);
    expect(JSON.parse(text).nodes[0]).toMatchObject({ url: `${orthanc.dicomWebUrl}`, authSealed: expect.stringMatching(/^[A-Za-z0-9+/]+=*$/) });
    expect((await settingsOf(svc)).nodes[0]).toMatchObject({ url: orthanc.dicomWebUrl, credentials: 'sealed' });
    expect(await dispatch(svc, 'pacs.echo', { node: 'secured' })).toMatchObject({ ok: true });

    // Hand-edited into the file: shown without them, counted as credentials in the file, used, never echoed.
    const wrong = new URL(withUser.href);
    wrong.password = 'c0rrect horse battery';
    await writeFile(file, JSON.stringify({ callingAet: 'HALO', nodes: [{ name: 'secured', kind: 'dicomweb', url: wrong.href }, archive] }), { mode: 0o600 });
    const plain = new AppServices(host, { cacheDir: null });
    const view = await settingsOf(plain);
    expect(JSON.stringify(view)).not.toMatch(secret);
    expect(view.nodes[0]).toMatchObject({ url: orthanc.dicomWebUrl, credentials: 'file' });
    const refused = await dispatch(plain, 'pacs.echo', { node: 'secured' });
    expect(errorOf(refused)).toMatch(/401/);
    expect(JSON.stringify(refused)).not.toMatch(secret);
    await writeFile(file, JSON.stringify({ callingAet: 'HALO', nodes: [{ name: 'secured', kind: 'dicomweb', url: withUser.href }, archive] }), { mode: 0o600 });
    expect(await dispatch(plain, 'pacs.echo', { node: 'secured' })).toMatchObject({ ok: true });
    await dispatch(plain, 'pacs.setCredentials', { node: 'secured', scheme: 'none' });
  });

  it('with a keychain: only the sealed value is on disk; another key cannot open it; the command line says where to give them', async () => {
    const sealer = aesSealer();
    const svc = new AppServices({ ...host, sealer }, { cacheDir: null });
    expect((await settingsOf(svc)).credentialStore).toBe('encrypted with a test key');
    expect(await dispatch(svc, 'pacs.setCredentials', { node: 'secured', scheme: 'basic', username: 'radiology', password: 'c0rrect horse' })).toMatchObject({ ok: true });
    const text = await readFile(file, 'utf8');
    expect(text).not.toMatch(/c0rrect|radiology|authHeader/);
    expect(text).not.toContain(Buffer.from('radiology:c0rrect horse').toString('base64'));
    expect(JSON.parse(text).nodes[0].authSealed).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect((await settingsOf(svc)).nodes.find((n) => n.name === 'secured')?.credentials).toBe('sealed');
    expect(await dispatch(svc, 'pacs.echo', { node: 'secured' })).toMatchObject({ ok: true });

    const otherUser = new AppServices({ ...host, sealer: aesSealer() }, { cacheDir: null });
    expect(errorOf(await dispatch(otherUser, 'pacs.echo', { node: 'secured' }))).toMatch(/cannot be decrypted .* Enter them again in Settings/);
    // Only the node being used is opened: another node still answers (here: refused for its own reason, no server).
    expect(errorOf(await dispatch(otherUser, 'pacs.echo', { node: 'archive' }))).not.toMatch(/cannot be decrypted/);

    const cli = await halo(['pacs', 'echo', '--to', 'secured'], { HALO_PACS_CONFIG: file, HALO_PACS_AUTHORIZATION: '' });
    expect(cli.code).toBe(2);
    expect(cli.stderr).toMatch(/saved by the Halo app, encrypted .* --auth or \$HALO_PACS_AUTHORIZATION/);
    const withAuth = await halo(['pacs', 'echo', '--to', 'secured', '--auth', `Basic ${Buffer.from('radiology:c0rrect horse').toString('base64')}`], { HALO_PACS_CONFIG: file });
    expect(withAuth.code, withAuth.stderr).toBe(0);
  });

  it('refuses credentials for a DIMSE node, an unknown node, or values that would break the header', async () => {
    const svc = new AppServices(host, { cacheDir: null });
    expect(errorOf(await dispatch(svc, 'pacs.setCredentials', { node: 'archive', scheme: 'bearer', token: 'abc' }))).toMatch(/DIMSE node/);
    expect(errorOf(await dispatch(svc, 'pacs.setCredentials', { node: 'nowhere', scheme: 'bearer', token: 'abc' }))).toMatch(/no PACS node "nowhere".*save the node first/);
    for (const bad of [
      { node: 'secured', scheme: 'basic', username: 'a:b', password: 'x' },
      { node: 'secured', scheme: 'basic', username: 'a', password: 'x\r\nX-Evil: 1' },
      { node: 'secured', scheme: 'bearer', token: 'two words' },
      { node: 'secured', scheme: 'bearer', token: 'abc', authHeader: 'Bearer x' },
    ]) {
      expect(await dispatch(svc, 'pacs.setCredentials', bad)).toMatchObject({ ok: false, error: { kind: 'validation' } });
    }
    expect(JSON.parse(await readFile(file, 'utf8')).nodes.map((n: { name: string }) => n.name)).toEqual(['secured', 'archive']);
  });
});
