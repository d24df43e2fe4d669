/**
 * PACS as hospitals set them up: an Orthanc that accepts C-STORE from anyone but refuses queries from AE titles it
 * does not know (Halo unregistered), and PACS that answer slowly (a delaying proxy in front of a real Orthanc).
 * A refused or slow read-back after a confirmed store is "stored, not verified", never a failed send; an A-ABORT is
 * reported at once with its reason; one file's trouble does not stop the others; timeouts follow the settings.
 */
import { copyFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectPacs, openPacs } from '../../main/pacs/client';
import { parsePacsSettings, resolveEndpoint } from '../../main/pacs/config';
import { PacsError } from '../../main/pacs/errors';
import { Outbox } from '../../main/pacs/outbox';
import { halo } from '../support/cli';
import { DelayProxy } from '../support/delay-proxy';
import { FakeDicomWeb } from '../support/fake-dicomweb';
import { TestOrthanc } from '../support/orthanc';
import { DATA } from '../support/paths';

const SRC = path.join(DATA, 'dicom', 't1-sag-hfs');
const settings = parsePacsSettings('{"callingAet": "HALO"}');

async function someFiles(tmp: string, from: number, n: number): Promise<string[]> {
  const names = (await readdir(SRC)).filter((f) => f.endsWith('.dcm')).sort().slice(from, from + n);
  const out: string[] = [];
  for (const f of names) {
    await copyFile(path.join(SRC, f), path.join(tmp, f));
    out.push(path.join(tmp, f));
  }
  return out;
}

describe('a store-only PACS (Halo AE not registered, queries refused)', () => {
  // Orthanc's defaults: anyone may echo and store; only registered modalities may query.
  const orthanc = new TestOrthanc({ clientAet: 'SOMEONE', allowUnknown: ['echo', 'store'] });
  let tmp: string;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(tmpdir(), 'halo-storeonly-'));
    await orthanc.start();
  });
  afterAll(async () => {
    await orthanc.dispose();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('a refused C-FIND is reported at once, with the reason', async () => {
    const client = openPacs(resolveEndpoint(orthanc.dimseUrl, settings));
    const t0 = Date.now();
    const err = await client.findStudies({ patientId: 'crlab' }).catch((e: unknown) => e);
    expect(Date.now() - t0).toBeLessThan(5000); // not the 10 s socket timeout
    expect(err).toBeInstanceOf(PacsError);
    expect(['aborted', 'rejected']).toContain((err as PacsError).failure);
    expect((err as Error).message).toMatch(/A-ABORT|rejected the association/);
    expect((err as Error).message).toMatch(/calling AE title "HALO"|calling AE "HALO"/);
  });

  it('halo send: every file is stored and said to be unverified; the outbox is empty; no retry loop', async () => {
    const files = await someFiles(tmp, 0, 2);
    const outbox = path.join(tmp, 'outbox');
    const t0 = Date.now();
    const r = await halo(['send', ...files, '--to', orthanc.dimseUrl, '--calling-aet', 'HALO', '--outbox', outbox]);
    expect(r.code, r.stderr).toBe(0);
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(r.stdout.match(/^stored {5}/gm)).toHaveLength(2);
    expect(r.stderr).toMatch(/2 file\(s\) stored on .* but not verified: stored, not verified: the read-back failed \(.*(A-ABORT|rejected)/);
    expect((await orthanc.rest<string[]>('/instances')).length).toBe(2);
    const left = await new Outbox(outbox, (await readdir(outbox))[0]).list();
    expect(left).toEqual([]);
  });

  it('verification none: stored without a read-back', async () => {
    const files = await someFiles(tmp, 2, 1);
    const r = await halo(['send', ...files, '--to', orthanc.dimseUrl, '--calling-aet', 'HALO', '--verify', 'none', '--outbox', path.join(tmp, 'ob2')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/not verified: stored, not verified: verification is off/);
  });

  it('the retry hint keeps --calling-aet and --outbox', async () => {
    const files = await someFiles(tmp, 3, 1);
    const dead = `dicom://NOBODY@127.0.0.1:${orthanc.httpPort + 0}`; // an HTTP port: not a DICOM node
    const r = await halo(['send', ...files, '--to', dead, '--calling-aet', 'HALO2', '--outbox', path.join(tmp, 'ob3')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Retry with: halo send --retry --to dicom:\/\/NOBODY@127\.0\.0\.1:\d+ --calling-aet HALO2 --outbox \S+/);
  });
});

describe('a slow PACS is not a failed one', () => {
  const orthanc = new TestOrthanc();
  let tmp: string;
  let dimseProxy: DelayProxy;
  // A DICOMweb proxy in front of Orthanc whose instance queries (the read-back) answer late.
  const webProxy = new FakeDicomWeb(async (req, body) => {
    if (req.url.includes('/instances?')) await new Promise((r) => setTimeout(r, 1500));
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && !['host', 'content-length', 'accept-encoding', 'connection'].includes(k)) headers[k] = v;
    const res = await fetch(`${orthanc.httpUrl}${req.url}`, { method: req.method, headers, body: req.method === 'POST' ? new Uint8Array(body) : undefined });
    const out: Record<string, string> = {};
    res.headers.forEach((v, k) => {
      if (!['content-length', 'transfer-encoding', 'connection', 'content-encoding'].includes(k)) out[k] = v;
    });
    return { status: res.status, headers: out, body: new Uint8Array(await res.arrayBuffer()) };
  });

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(tmpdir(), 'halo-slow-'));
    await orthanc.start();
    await webProxy.start();
    dimseProxy = new DelayProxy({ host: '127.0.0.1', port: orthanc.dicomPort }, 2500);
    await dimseProxy.start();
  });
  afterAll(async () => {
    await dimseProxy?.stop();
    await webProxy.stop();
    await orthanc.dispose();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('a QIDO read-back slower than its timeout leaves each file "stored, not verified", and every file is sent', async () => {
    const files = await someFiles(tmp, 0, 2);
    const client = openPacs(resolveEndpoint(webProxy.url, settings), { dicomweb: { queryTimeoutMs: 1000 } });
    const outbox = new Outbox(path.join(tmp, 'outbox-web'), 'slow-web');
    await outbox.enqueue(files);
    const r = await outbox.flush(client, { verifyAttempts: 1 });
    expect(r.failed).toEqual([]);
    expect(r.stored.map((s) => s.entry.source)).toEqual(files);
    expect(r.stored[0].reason).toMatch(/stored, not verified: the read-back failed \(.*did not answer within 1 s/);
    expect(await outbox.list()).toEqual([]);
  });

  it('a C-STORE answered after the connect timeout but within the PDU timeout succeeds', async () => {
    const [file] = await someFiles(tmp, 2, 1);
    const ep = resolveEndpoint(`dicom://${orthanc.aet}@127.0.0.1:${dimseProxy.port}`, settings);
    const client = openPacs(ep, { dimse: { connectTimeoutMs: 1000, associationTimeoutMs: 5000, pduTimeoutMs: 10_000 } });
    const res = await client.store(file);
    expect(res.sopInstanceUID).toMatch(/^[\d.]+$/);
  });

  it('the timeouts in the PACS settings are the ones used', async () => {
    const [file] = await someFiles(tmp, 4, 1);
    const spec = `dicom://${orthanc.aet}@127.0.0.1:${dimseProxy.port}`;
    const tight = parsePacsSettings('{"timeouts": {"connectSeconds": 1, "responseSeconds": 1}}');
    const err = await (await connectPacs(spec, { settings: tight })).client.store(file).catch((e: unknown) => e);
    expect((err as PacsError).failure).toBe('timeout');
    expect((err as Error).message).toMatch(/did not answer within 1 s/);
    const patient = parsePacsSettings('{"timeouts": {"connectSeconds": 1, "responseSeconds": 10}}');
    expect((await (await connectPacs(spec, { settings: patient })).client.store(file)).sopInstanceUID).toMatch(/^[\d.]+$/);
  });

  it('a C-STORE slower than the PDU timeout is a "timeout", not "unreachable"', async () => {
    const [file] = await someFiles(tmp, 3, 1);
    const ep = resolveEndpoint(`dicom://${orthanc.aet}@127.0.0.1:${dimseProxy.port}`, settings);
    const client = openPacs(ep, { dimse: { connectTimeoutMs: 1000, associationTimeoutMs: 5000, pduTimeoutMs: 1000 } });
    const err = await client.store(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PacsError);
    expect((err as PacsError).failure).toBe('timeout');
    expect((err as Error).message).toMatch(/did not answer within 1 s/);
  });
});
