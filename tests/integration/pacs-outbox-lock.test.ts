/**
 * The outbox lock: two flushes in one process (double Save, Save + Retry) take turns instead of both sending;
 * files queued while a flush runs go out with it; a flush from another process is told so, files kept.
 */
import { execFileSync, spawn } from 'node:child_process';
import { copyFile, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openPacs } from '../../main/pacs/client';
import { parsePacsSettings, resolveEndpoint } from '../../main/pacs/config';
import { readInstanceIds } from '../../main/pacs/dicom';
import { Outbox, OutboxBusyError } from '../../main/pacs/outbox';
import { halo } from '../support/cli';
import { dicomJson, FakeDicomWeb } from '../support/fake-dicomweb';
import { DATA } from '../support/paths';

const SRC = path.join(DATA, 'dicom', 't1-sag-hfs');

describe('outbox lock', () => {
  let tmp: string;
  let files: string[];
  const stored = new Set<string>();
  let stows = 0;
  /** Every STOW-RS body received. */
  const bodies: Buffer[] = [];
  /** While set, a store is held until the test opens it (to let another process act during the send). */
  let gate: Promise<void> | undefined;
  // A STOW-RS server that takes 300 ms per store and lists what it stored.
  const server = new FakeDicomWeb(async (req, body) => {
    if (req.method === 'POST') {
      stows++;
      bodies.push(body);
      await gate;
      await new Promise((r) => setTimeout(r, 300));
      const sop = /1\.3\.12\.2\.1107\.5\.2\.43\.67060\.\d+/.exec(body.toString('latin1'))?.[0] ?? '';
      for (const f of files) {
        const ids = await readInstanceIds(f);
        if (body.includes(Buffer.from(ids.sopInstanceUID))) stored.add(ids.sopInstanceUID);
      }
      return dicomJson([{ '00081199': { vr: 'SQ', Value: [{ '00081155': { vr: 'UI', Value: [sop] } }] } }]);
    }
    const sop = new URL(req.url, 'http://x').searchParams.get('SOPInstanceUID') ?? '';
    return dicomJson(stored.has(sop) ? [{ '00080018': { vr: 'UI', Value: [sop] } }] : []);
  });
  const settings = parsePacsSettings('{}');

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(tmpdir(), 'halo-lock-'));
    const names = (await readdir(SRC)).sort().slice(0, 3);
    files = [];
    for (const n of names) {
      await copyFile(path.join(SRC, n), path.join(tmp, n));
      files.push(path.join(tmp, n));
    }
    await server.start();
  });
  afterAll(async () => {
    await server.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });
  beforeEach(() => {
    stows = 0;
    stored.clear();
    bodies.length = 0;
  });

  const client = () => openPacs(resolveEndpoint(server.url, settings));

  it('two flushes in one process send each file once, and neither reports a false failure', async () => {
    const outbox = new Outbox(path.join(tmp, 'ob1'), 'dest');
    await outbox.enqueue(files.slice(0, 2));
    const [a, b] = await Promise.all([outbox.flush(client()), new Outbox(path.join(tmp, 'ob1'), 'dest').flush(client())]);
    expect(stows).toBe(2);
    expect(a.verified).toHaveLength(2);
    expect(b.verified).toHaveLength(0);
    expect([...a.failed, ...b.failed]).toEqual([]);
    expect(await readdir(path.join(tmp, 'ob1', 'dest'))).toEqual([]); // no orphan .json, no lock
  });

  it('a file queued while a flush runs goes out with that flush', async () => {
    const outbox = new Outbox(path.join(tmp, 'ob2'), 'dest');
    await outbox.enqueue([files[0]]);
    const running = outbox.flush(client());
    await new Promise((r) => setTimeout(r, 100)); // the first store is under way
    await new Outbox(path.join(tmp, 'ob2'), 'dest').enqueue([files[1]]);
    const r = await running;
    expect(r.verified.map((e) => e.source)).toEqual([files[0], files[1]]);
    expect(stows).toBe(2);
  });

  it('a new version of a SOP Instance queued by another process during its send is not deleted, and goes out', async () => {
    // v2: the same SOP Instance with new content (what a re-saved result is), made by dcmodify.
    const v2 = path.join(tmp, 'v2.dcm');
    await copyFile(files[0], v2);
    execFileSync('dcmodify', ['-nb', '-m', 'SeriesDescription=HALO-VERSION-2', v2], { stdio: 'ignore' });
    const root = path.join(tmp, 'ob-race');
    const outbox = Outbox.forEndpoint(resolveEndpoint(server.url, settings), root);
    await outbox.enqueue([files[0]]);
    let open = () => undefined as void;
    gate = new Promise<void>((r) => (open = r));
    const running = outbox.flush(client());
    while (stows === 0) await new Promise((r) => setTimeout(r, 20)); // v1 is being stored
    // Process B queues v2 and finds the outbox busy: it leaves v2 to A.
    const b = await halo(['send', v2, '--to', server.url, '--outbox', root]);
    expect(b.stderr).toMatch(/another Halo process .* is sending the outbox/);
    gate = undefined;
    open();
    const r = await running;
    expect(bodies.some((body) => body.includes('HALO-VERSION-2'))).toBe(true);
    expect(stows).toBe(2);
    expect(r.failed).toEqual([]);
    expect(await readdir(outbox.dir)).toEqual([]);
  }, 60_000);

  it('a copy set aside by a process that died mid-removal goes back into the queue and is sent', async () => {
    const outbox = new Outbox(path.join(tmp, 'ob-crash'), 'dest');
    const [entry] = await outbox.enqueue([files[1]]);
    const dead = spawn('true');
    await new Promise((r) => dead.on('exit', r));
    await rename(entry.file, `${entry.file}.${dead.pid}.0a1b2c3d.sent`);
    expect((await outbox.list()).map((e) => e.file)).toEqual([entry.file]);
    const r = await outbox.flush(client());
    expect(r.verified).toHaveLength(1);
    expect(await readdir(outbox.dir)).toEqual([]);
  });

  it('refuses a file whose SOP Instance UID is not a UID (a leading "." would make it a hidden, never-sent file)', async () => {
    const bad = path.join(tmp, 'dot-uid.dcm');
    await copyFile(files[1], bad);
    execFileSync('dcmodify', ['-nb', '-m', 'SOPInstanceUID=.1.2.3', bad], { stdio: 'ignore' });
    const outbox = new Outbox(path.join(tmp, 'ob-dot'), 'dest');
    await expect(outbox.enqueue([files[2], bad])).rejects.toThrow(
      /dot-uid\.dcm has SOP Instance UID "\.1\.2\.3", which is not a valid DICOM UID .* Nothing was queued/,
    );
    expect(await outbox.list()).toEqual([]);
    const r = await halo(['send', bad, '--to', server.url, '--outbox', path.join(tmp, 'ob-dot-cli')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not a valid DICOM UID/);
    expect(stows).toBe(0);
  });

  it('another process holding the lock: told so, files kept in the outbox', async () => {
    const other = spawn('sleep', ['30']);
    try {
      const outbox = new Outbox(path.join(tmp, 'ob3'), 'dest');
      await outbox.enqueue([files[2]]);
      await writeFile(path.join(outbox.dir, '.lock'), String(other.pid));
      const err = await outbox.flush(client()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OutboxBusyError);
      expect((err as Error).message).toMatch(new RegExp(`pid ${other.pid}.*sends them too`));
      expect(await outbox.list()).toHaveLength(1);
      expect(stows).toBe(0);
    } finally {
      other.kill();
    }
  });
});
