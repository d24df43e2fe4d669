/** The preload contract and the IPC validation: one table, every argument checked, unknown calls refused. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pack, unpack } from '../../main/app/binary';
import { EVENT_NAMES, HANDLER_NAMES, HandlerArgs, type Envelope } from '../../main/app/contract';
import { dispatch, handlers } from '../../main/app/handlers';
import { startBridge, type Bridge } from '../../main/app/http-bridge';
import { AppServices, isInside, type Host } from '../../main/app/services';
import { buildApi, HaloError } from '../../preload/api';

const host: Host = {
  mode: 'bridge',
  emit: () => undefined,
  allowedFolders: () => [],
  chooseFolder: async () => null,
};

describe('handler table', () => {
  it('has exactly one implementation per contract entry', () => {
    expect(Object.keys(handlers).sort()).toEqual([...HANDLER_NAMES].sort());
  });

  it('refuses unknown handlers and bad arguments with a message, never a throw', async () => {
    const svc = new AppServices(host, { cacheDir: null });
    expect(await dispatch(svc, 'fs.readFile', { path: '/etc/passwd' })).toEqual({
      ok: false,
      error: { kind: 'validation', message: 'Unknown request "fs.readFile".' },
    });
    expect(await dispatch(svc, '__proto__', {})).toMatchObject({ ok: false, error: { kind: 'validation' } });
    const bad = await dispatch(svc, 'segment.start', { studyId: 'x', modelId: 'wt-4seq', steps: 0, ensemble: 3, focus: 1 });
    expect(bad).toMatchObject({ ok: false, error: { kind: 'validation' } });
    expect((bad as { error: { message: string } }).error.message).toMatch(/steps/);
    // The ensemble size is a number or null (the model's default for the study), never left out or a string.
    const start = { studyId: 'x', modelId: 'wt-4seq', steps: 2, focus: 1 };
    for (const ensemble of [undefined, '10', 0, 101]) {
      expect(await dispatch(svc, 'segment.start', { ...start, ensemble }), String(ensemble)).toMatchObject({ ok: false, error: { kind: 'validation' } });
    }
    expect(await dispatch(svc, 'segment.start', { ...start, ensemble: null })).toMatchObject({ ok: false, error: { kind: 'input' } }); // valid: no such study
    // Extra keys are refused (strict objects): nothing slips through to a handler.
    expect(await dispatch(svc, 'app.info', { evil: 1 })).toMatchObject({ ok: false, error: { kind: 'validation' } });
    expect(await dispatch(svc, 'study.volume', { studyId: '../../etc', role: 'FLAIR' })).toMatchObject({ ok: false, error: { kind: 'validation' } });
    expect(await dispatch(svc, 'study.volume', { studyId: 'abc', role: 'PD' })).toMatchObject({ ok: false, error: { kind: 'validation' } });
  });

  it('turns our own errors into user messages and hides internal ones', async () => {
    const svc = new AppServices(host, { cacheDir: null });
    const r = await dispatch(svc, 'study.volume', { studyId: 'nope', role: 'FLAIR' });
    expect(r).toEqual({ ok: false, error: { kind: 'input', message: 'That study is no longer open. Open it again.' } });
  });

  it('accepts measurements only with their points per kind, finite coordinates, and an ROI with its statistics', () => {
    const save = HandlerArgs['save.start'];
    const base = { runId: 'r1', target: { kind: 'folder' }, slices: [3], ensemble: 5 };
    const p = [1, 2, 3];
    const ok = [
      { kind: 'length', role: 'FLAIR', k: 3, points: [p, p] },
      { kind: 'bidirectional', role: 'T1ce', k: 3, points: [p, p, p, p] },
      { kind: 'ellipse', role: 'T2', k: 3, points: [p, p, p, p], stats: { mean: 1, stdDev: 0, min: 0, max: 2 } },
    ];
    expect(save.safeParse({ ...base, measurements: ok }).success).toBe(true);
    const bad = [
      { kind: 'length', role: 'FLAIR', k: 3, points: [p, p, p] }, // a length has two ends
      { kind: 'bidirectional', role: 'FLAIR', k: 3, points: [p, p] }, // two diameters, four ends
      { kind: 'length', role: 'FLAIR', k: 3, points: [p, [1, Infinity, 3]] },
      { kind: 'length', role: 'FLAIR', k: 3, points: [p, [1, NaN, 3]] },
      { kind: 'length', role: 'PD', k: 3, points: [p, p] },
      { kind: 'length', role: 'FLAIR', k: -1, points: [p, p] },
      { kind: 'ellipse', role: 'FLAIR', k: 3, points: [p, p, p, p] }, // no statistics
      { kind: 'ellipse', role: 'FLAIR', k: 3, points: [p, p, p, p], stats: { mean: 1, stdDev: -1, min: 0, max: 2 } },
      { kind: 'angle', role: 'FLAIR', k: 3, points: [p, p, p] },
      { kind: 'length', role: 'FLAIR', k: 3, points: [p, p], label: 'extra key' },
    ];
    for (const m of bad) expect(save.safeParse({ ...base, measurements: [m] }).success, JSON.stringify(m)).toBe(false);
  });

  it('validates PACS settings with the same rules as the settings file', () => {
    const s = HandlerArgs['pacs.setSettings'];
    expect(s.safeParse({ callingAet: 'HALO', nodes: [{ name: 'p', kind: 'dicomweb', url: 'http://x:8042/dicom-web' }] }).success).toBe(true);
    expect(s.safeParse({ callingAet: 'HALO', nodes: [{ name: 'p', kind: 'dimse', aet: 'A', host: 'h', port: 70000 }] }).success).toBe(false);
    expect(s.safeParse({ callingAet: 'HALO', nodes: [{ name: 'p', kind: 'dicomweb', url: 'http://x', authHeader: 'secret' }] }).success).toBe(false);
  });
});

describe('preload API', () => {
  it('exposes one function per handler plus on(), and unwraps envelopes', async () => {
    const calls: [string, unknown][] = [];
    const api = buildApi(
      async (name, arg) => {
        calls.push([name, arg]);
        return name === 'app.info' ? { ok: true, value: { version: '1' } } : { ok: false, error: { kind: 'input', message: 'No FLAIR.' } };
      },
      () => () => undefined,
    );
    expect(Object.keys(api).sort()).toEqual([...HANDLER_NAMES, 'on'].sort());
    expect(await api['app.info']({})).toEqual({ version: '1' });
    await expect(api['study.openDemo']({})).rejects.toThrow(new HaloError('input', 'No FLAIR.'));
    expect(calls).toEqual([['app.info', {}], ['study.openDemo', {}]]);
    expect(() => api.on('nope' as never, () => undefined)).toThrow();
  });

  it('delivers events to their listeners only', () => {
    let push: (name: string, payload: unknown) => void = () => undefined;
    const api = buildApi(async () => ({ ok: true, value: null }), (l) => ((push = l), () => undefined));
    const got: unknown[] = [];
    const off = api.on('segment.done', (p) => got.push(p));
    push('segment.progress', { runId: 'a' });
    push('segment.done', { runId: 'a' });
    off();
    push('segment.done', { runId: 'b' });
    expect(got).toEqual([{ runId: 'a' }]);
    expect(EVENT_NAMES).toContain('segment.slice');
  });
});

describe('binary container', () => {
  it('round-trips typed arrays with metadata', () => {
    const f = new Float32Array([1.5, -2, 3]);
    const u = new Uint8Array([1, 0, 1, 1, 0]);
    const { meta, arrays } = unpack<{ k: number }>(pack({ k: 7 }, { f, u }));
    expect(meta).toEqual({ k: 7 });
    expect([...arrays.f]).toEqual([1.5, -2, 3]);
    expect([...arrays.u]).toEqual([1, 0, 1, 1, 0]);
  });
});

describe('HTTP bridge', () => {
  let bridge: Bridge;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'halo-bridge-'));
    bridge = await startBridge({ staticDir: null, allow: [dir], cacheDir: null });
  });
  afterAll(async () => {
    await bridge.close();
    await rm(dir, { recursive: true, force: true });
  });
  const call = (name: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${bridge.url}/api/call/${name}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-halo-token': bridge.token, ...headers },
      body: JSON.stringify(body),
    });

  it('listens on loopback only and needs the token', async () => {
    expect(bridge.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await call('app.info', {}, { 'x-halo-token': 'wrong' })).status).toBe(401);
    expect((await fetch(`${bridge.url}/api/events`)).status).toBe(401);
    expect((await call('app.info', {}, { origin: 'http://evil.example' })).status).toBe(403);
    const ok = (await (await call('app.info', {})).json()) as Envelope<{ mode: string }>;
    expect(ok).toMatchObject({ ok: true, value: { mode: 'bridge' } });
  });

  it('serves the same table: unknown handlers and folders outside the allow-list are refused', async () => {
    expect(((await (await call('nope', {})).json()) as Envelope).ok).toBe(false);
    const r = (await (await call('study.openFolder', { folder: '/etc' })).json()) as Envelope;
    expect(r).toMatchObject({ ok: false, error: { kind: 'input' } });
    expect((r as { error: { message: string } }).error.message).toMatch(/not one this session may open/);
  });

  it('allow-list checks resolve .. and symlinks', async () => {
    expect(await isInside(join(dir, '..'), dir)).toBe(false);
    expect(await isInside(dir, dir)).toBe(true);
  });
});
