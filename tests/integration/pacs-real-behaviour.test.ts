/**
 * PACS as hospitals set them up: an Orthanc that accepts C-STORE from anyone but refuses queries from AE titles it
 * does not know (Halo unregistered), and PACS that answer slowly (a delaying proxy in front of a real Orthanc).
 * A refused or slow read-back after a confirmed store is "stored, not verified", never a failed send; an A-ABORT is
 * reported at once with its reason; one file's trouble does not stop the others; timeouts follow the settings.
 * Storage Commitment against Orthanc as Commitment SCP: committed SOP verified, an uncommitted one a failure with its code.
 */
import { copyFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectPacs, openPacs, type PacsClient } from '../../main/pacs/client';
import { parsePacsSettings, resolveEndpoint } from '../../main/pacs/config';
import { PacsError } from '../../main/pacs/errors';
import { Outbox } from '../../main/pacs/outbox';
import { halo } from '../support/cli';
import { DelayProxy } from '../support/delay-proxy';
import { FakeDicomWeb } from '../support/fake-dicomweb';
import { freePort, TestOrthanc } from '../support/orthanc';
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

describe('storage commitment with a real Orthanc (N-ACTION, then its N-EVENT-REPORT to the port Halo listens on)', () => {
  let orthanc: TestOrthanc;
  let storeOnly: TestOrthanc;
  let port: number;
  let tmp: string;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(tmpdir(), 'halo-commit-'));
    port = await freePort();
    orthanc = new TestOrthanc({ clientPort: port });
    storeOnly = new TestOrthanc({ clientAet: 'SOMEONE', allowUnknown: ['echo', 'store'] });
    await Promise.all([orthanc.start(), storeOnly.start()]);
  });
  afterAll(async () => {
    await orthanc?.dispose();
    await storeOnly?.dispose();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  const commitSettings = () => parsePacsSettings(JSON.stringify({ callingAet: 'HALO', storageCommitment: { port, waitSeconds: 10 } }));

  it('halo send --verify commitment: the committed file is verified and leaves the outbox', async () => {
    const files = await someFiles(tmp, 0, 2);
    const outbox = path.join(tmp, 'ob-commit');
    const r = await halo(['send', ...files, '--to', orthanc.dimseUrl, '--calling-aet', 'HALO', '--verify', 'commitment', '--commitment-port', String(port), '--outbox', outbox]);
    expect(r.code, r.stderr + orthanc.logs()).toBe(0);
    expect(r.stdout.match(/^verified /gm)).toHaveLength(2);
    expect(r.stderr).not.toMatch(/not verified/);
    expect(await new Outbox(outbox, (await readdir(outbox))[0]).list()).toEqual([]);
  });

  it('an instance the PACS does not hold is reported failed with reason 0x0112', async () => {
    const { client } = await connectPacs(orthanc.dimseUrl, { settings: commitSettings() });
    const [file] = await someFiles(tmp, 2, 1);
    const stored = await client.store(file);
    const unknown = '1.2.826.0.1.3680043.8.498.99999999999999999999';
    const report = await client.commitStorage!([
      { sopClassUID: '1.2.840.10008.5.1.4.1.1.4', sopInstanceUID: stored.sopInstanceUID },
      { sopClassUID: '1.2.840.10008.5.1.4.1.1.4', sopInstanceUID: unknown },
    ]);
    expect(report.committed).toEqual([stored.sopInstanceUID]);
    expect(report.failed).toEqual([{ sopInstanceUID: unknown, reason: 0x0112 }]);
  });

  it('a store the PACS then does not commit is a failure with the reason; the file stays in the outbox', async () => {
    const { client } = await connectPacs(orthanc.dimseUrl, { settings: commitSettings() });
    // A PACS that confirms the store and then loses the instance (deleted before the commitment request).
    const losing: PacsClient = Object.assign(Object.create(Object.getPrototypeOf(client) as object) as PacsClient, client, {
      store: async (f: string, o?: { signal?: AbortSignal }) => {
        const res = await client.store(f, o);
        const ids = await fetch(`${orthanc.httpUrl}/tools/lookup`, { method: 'POST', body: res.sopInstanceUID }).then((x) => x.json() as Promise<{ ID: string }[]>);
        for (const { ID } of ids) await fetch(`${orthanc.httpUrl}/instances/${ID}`, { method: 'DELETE' });
        return res;
      },
    });
    const [file] = await someFiles(tmp, 3, 1);
    const outbox = new Outbox(path.join(tmp, 'ob-lost'), 'lost');
    await outbox.enqueue([file]);
    const r = await outbox.flush(losing, { verification: 'commitment' });
    expect(r.verified).toEqual([]);
    expect(r.stored).toEqual([]);
    expect(r.failed).toHaveLength(1);
    expect(r.failed[0].reason).toMatch(/storage commitment report lists SOP Instance [\d.]+ as failed: Failure Reason 0x0112 \(no such object instance\)/);
    expect((await outbox.list()).map((e) => e.source)).toEqual([file]);
  });

  it('a refused commitment after a confirmed store is "stored, not verified" with the reason', async () => {
    const { client } = await connectPacs(storeOnly.dimseUrl, { settings: commitSettings() });
    const [file] = await someFiles(tmp, 4, 1);
    const outbox = new Outbox(path.join(tmp, 'ob-refused'), 'refused');
    await outbox.enqueue([file]);
    const r = await outbox.flush(client, { verification: 'commitment' });
    expect(r.failed).toEqual([]);
    expect(r.stored).toHaveLength(1);
    expect(r.stored[0].reason).toMatch(/^stored, not verified: storage commitment failed \(.*(A-ABORT|rejected|failure status|no report)/);
    expect(await outbox.list()).toEqual([]);
  });

  it('no report in time (the PACS reports to another port) is "stored, not verified", saying where Halo listened', async () => {
    const elsewhere = await freePort();
    const settings = parsePacsSettings(JSON.stringify({ callingAet: 'HALO', storageCommitment: { port: elsewhere, waitSeconds: 2 } }));
    const { client } = await connectPacs(orthanc.dimseUrl, { settings });
    const [file] = await someFiles(tmp, 6, 1);
    const outbox = new Outbox(path.join(tmp, 'ob-late'), 'late');
    await outbox.enqueue([file]);
    const r = await outbox.flush(client, { verification: 'commitment' });
    expect(r.failed).toEqual([]);
    expect(r.stored[0]?.reason).toMatch(new RegExp(`storage commitment failed \\(.*sent no report to port ${elsewhere} within 2 s`));
  });

  it('per node in pacs.json: commitment for DIMSE nodes only', () => {
    const dimseNode = { name: 'pacs', kind: 'dimse', aet: 'PACS', host: 'pacs', port: 104, verification: 'commitment' };
    const ep = resolveEndpoint('pacs', parsePacsSettings(JSON.stringify({ nodes: [dimseNode], storageCommitment: { port: 11112 } })));
    expect(ep.verification).toBe('commitment');
    const webNode = { name: 'web', kind: 'dicomweb', url: 'http://pacs/dicom-web', verification: 'commitment' };
    expect(() => parsePacsSettings(JSON.stringify({ nodes: [webNode] }))).toThrow(/verification/);
  });

  it('commitment without a listening port, or on a DICOMweb node, is refused before anything is sent', async () => {
    const [file] = await someFiles(tmp, 5, 1);
    const noPort = await halo(['send', file, '--to', orthanc.dimseUrl, '--calling-aet', 'HALO', '--verify', 'commitment', '--outbox', path.join(tmp, 'ob-np')]);
    expect(noPort.code).toBe(2);
    expect(noPort.stderr).toMatch(/storage commitment needs a port where Halo listens/);
    const web = await halo(['send', file, '--to', orthanc.dicomWebUrl, '--verify', 'commitment', '--commitment-port', String(port), '--outbox', path.join(tmp, 'ob-web')]);
    expect(web.code).toBe(2);
    expect(web.stderr).toMatch(/--verify commitment needs a DIMSE node/);
  });
});
