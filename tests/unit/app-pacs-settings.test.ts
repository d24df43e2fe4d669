/** The PACS settings as the UI edits them: nodes kept with what the UI never sees, never wiped by accident. */
import { mkdir, mkdtemp, readFile, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PacsService, removeStalePartials } from '../../main/app/pacs-service';
import { saveStateOf } from '../../main/app/save-service';
import type { OutboxEvent } from '../../main/pacs/outbox';

let dir: string;
let file: string;
const saved = process.env.HALO_PACS_CONFIG;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'halo-pacs-settings-'));
  file = join(dir, 'pacs.json');
  process.env.HALO_PACS_CONFIG = file;
});
afterAll(async () => {
  if (saved === undefined) delete process.env.HALO_PACS_CONFIG;
  else process.env.HALO_PACS_CONFIG = saved;
  await rm(dir, { recursive: true, force: true });
});

describe('PACS settings from the UI', () => {
  const svc = new PacsService(() => undefined);
  const nodes = [
    { name: 'main', kind: 'dicomweb', url: 'http://127.0.0.1:8042/dicom-web', authHeader: 'Bearer secret' },
    { name: 'archive', kind: 'dimse', aet: 'ARCH', host: '127.0.0.1', port: 104 },
  ];

  it('lists the nodes without credentials and keeps the credentials on save', async () => {
    await writeFile(file, JSON.stringify({ callingAet: 'HALO', outboxDir: '/tmp/ob', nodes }));
    const view = await svc.getSettings();
    expect(view.nodes.map((n) => n.name)).toEqual(['main', 'archive']);
    expect(JSON.stringify(view)).not.toContain('secret');
    await svc.setSettings({ callingAet: 'HALO2', nodes: view.nodes.map((n) => (n.kind === 'dicomweb' ? { name: n.name, kind: n.kind, url: n.url! } : { name: n.name, kind: n.kind, aet: n.aet!, host: n.host!, port: n.port! })) });
    const back = JSON.parse(await readFile(file, 'utf8'));
    expect(back.callingAet).toBe('HALO2');
    expect(back.outboxDir).toBe('/tmp/ob');
    expect(back.nodes[0].authHeader).toBe('Bearer secret');
    expect(back.nodes).toHaveLength(2);
  });

  it('creates the settings file HALO_PACS_CONFIG names when it does not exist yet (issue 22, item 9)', async () => {
    const fresh = join(dir, 'new', 'pacs.json');
    process.env.HALO_PACS_CONFIG = fresh;
    try {
      const view = await svc.getSettings();
      expect(view.nodes).toEqual([]);
      expect(view.file).toBe(fresh);
      await svc.setSettings({ callingAet: 'HALO', nodes: [{ name: 'archive', kind: 'dimse', aet: 'ARCH', host: '127.0.0.1', port: 104 }] });
      expect(JSON.parse(await readFile(fresh, 'utf8')).nodes.map((n: { name: string }) => n.name)).toEqual(['archive']);
    } finally {
      process.env.HALO_PACS_CONFIG = file;
    }
  });

  it('refuses to replace the nodes with an empty list unless every node was removed on purpose', async () => {
    await writeFile(file, JSON.stringify({ callingAet: 'HALO', nodes }));
    await expect(svc.setSettings({ callingAet: 'HALO', nodes: [] })).rejects.toThrow(/would delete all 2 PACS nodes/);
    expect(JSON.parse(await readFile(file, 'utf8')).nodes).toHaveLength(2);
    await svc.setSettings({ callingAet: 'HALO', nodes: [], removeAll: true });
    expect(JSON.parse(await readFile(file, 'utf8')).nodes).toEqual([]);
  });
});

describe('what the Save panel shows for each outbox outcome', () => {
  const entry = { sopInstanceUID: '1.2.3' } as OutboxEvent['entry'];
  it('keeps "stored, not verified" apart from sent and verified, with the reason', () => {
    expect(saveStateOf({ state: 'sending', entry })).toBeUndefined();
    expect(saveStateOf({ state: 'stored', entry, reason: 'the PACS refused the read-back query' })).toEqual({ state: 'stored', reason: 'the PACS refused the read-back query' });
    expect(saveStateOf({ state: 'verified', entry })).toEqual({ state: 'verified' });
    expect(saveStateOf({ state: 'sent', entry, reason: 'warning B000' })).toEqual({ state: 'sent', reason: 'warning B000' });
    expect(saveStateOf({ state: 'failed', entry, reason: 'HTTP 500' })?.reason).toMatch(/^HTTP 500 \(kept in the outbox; Retry sends it again\)$/);
  });
});

describe('retrievals that died with their process', () => {
  it('leave partial folders that the next retrieval deletes once stale, never a live one or a study', async () => {
    const retrieved = join(dir, 'retrieved');
    const hour = 3600_000;
    for (const name of ['.partial-1.2.3-dead', '.partial-1.2.4-live', '1.2.5']) await mkdir(join(retrieved, name, 'x'), { recursive: true });
    const old = new Date(Date.now() - 2 * hour);
    await utimes(join(retrieved, '.partial-1.2.3-dead'), old, old);
    await utimes(join(retrieved, '.partial-1.2.3-dead', 'x'), old, old);
    await utimes(join(retrieved, '.partial-1.2.4-live'), old, old); // but a series folder in it is still filling
    await utimes(join(retrieved, '1.2.5'), old, old); // a complete study, however old, is never touched
    expect(await removeStalePartials(retrieved, hour)).toEqual(['.partial-1.2.3-dead']);
    expect((await readdir(retrieved)).sort()).toEqual(['.partial-1.2.4-live', '1.2.5']);
    expect(await removeStalePartials(join(dir, 'absent'), hour)).toEqual([]);
  });
});
