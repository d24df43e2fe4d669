/**
 * A hostile or broken DICOMweb server (scripted on loopback) must not make Halo write outside the output folder,
 * nor accept an instance it did not ask for: every remote UID passes the UID grammar before it names a path.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import dimse from 'dcmjs-dimse';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parsePart10 } from '../../main/dicom/dcmjs';
import { openPacs } from '../../main/pacs/client';
import { echoWithoutProbing } from '../../main/pacs/echo';
import { parsePacsSettings, resolveEndpoint } from '../../main/pacs/config';
import { readInstanceIds, type InstanceIds } from '../../main/pacs/dicom';
import { PacsError } from '../../main/pacs/errors';
import { halo } from '../support/cli';
import { FakeCGetScp } from '../support/fake-cget-scp';
import { dicomJson, FakeDicomWeb, multipartDicom } from '../support/fake-dicomweb';
import { freePort } from '../support/orthanc';
import { DATA } from '../support/paths';

const FILE = path.join(DATA, 'dicom', 't1-sag-hfs', '0001_1.3.12.2.1107.5.2.43.67060.2022040715053454597060816.dcm');

describe('retrieving from a hostile DICOMweb server', () => {
  let tmp: string;
  let bytes: Buffer;
  let ids: InstanceIds;
  let listed: { series: string; sop: string };
  const server = new FakeDicomWeb((req) => {
    if (req.url.includes('/instances?') || req.url.endsWith('/instances')) {
      return dicomJson([
        { '0020000E': { vr: 'UI', Value: [listed.series] }, '00080018': { vr: 'UI', Value: [listed.sop] } },
      ]);
    }
    if (req.url.includes('/instances/')) return multipartDicom([bytes]);
    return { status: 404 };
  });
  const settings = parsePacsSettings('{}');

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(tmpdir(), 'halo-hostile-'));
    bytes = await readFile(FILE);
    ids = await readInstanceIds(FILE);
    await server.start();
  });
  afterAll(async () => {
    await server.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });
  beforeEach(() => {
    server.requests.length = 0;
  });

  const client = () => openPacs(resolveEndpoint(server.url, settings));

  it('refuses a Series Instance UID that is a path, before downloading anything', async () => {
    const out = path.join(tmp, 'out-series');
    listed = { series: `../escaped-series`, sop: ids.sopInstanceUID };
    const err = await client()
      .retrieveStudy(ids.studyInstanceUID, out)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PacsError);
    expect((err as PacsError).failure).toBe('protocol');
    expect((err as Error).message).toMatch(/sent a Series Instance UID "\.\.\/escaped-series", which is not a valid DICOM UID/);
    expect(existsSync(path.join(tmp, 'escaped-series'))).toBe(false);
    expect(server.requests.filter((r) => r.url.includes('/instances/'))).toHaveLength(0);
  });

  it('refuses a SOP Instance UID holding a separator or dots', async () => {
    for (const sop of ['1.2/../../x', '1..2', '.', '1.2.3\\x', `${'1.'.repeat(40)}1`]) {
      listed = { series: ids.seriesInstanceUID, sop };
      const out = path.join(tmp, 'out-sop');
      await expect(client().retrieveStudy(ids.studyInstanceUID, out)).rejects.toThrow(/SOP Instance UID .* not a valid DICOM UID/);
      expect(existsSync(out) ? await readdir(out, { recursive: true }) : []).toEqual([]);
    }
  });

  it('refuses a WADO-RS answer that holds another instance than the one asked for', async () => {
    listed = { series: ids.seriesInstanceUID, sop: '1.2.3.4.5.6.7' };
    const out = path.join(tmp, 'out-swap');
    await expect(client().retrieveStudy(ids.studyInstanceUID, out)).rejects.toThrow(
      /answered the WADO-RS request for instance 1\.2\.3\.4\.5\.6\.7 with another instance/,
    );
    expect(existsSync(path.join(out, ids.seriesInstanceUID, '1.2.3.4.5.6.7.dcm'))).toBe(false);
  });

  it('still retrieves a well-formed answer', async () => {
    listed = { series: ids.seriesInstanceUID, sop: ids.sopInstanceUID };
    const out = path.join(tmp, 'out-good');
    const { files } = await client().retrieveStudy(ids.studyInstanceUID, out);
    expect(files).toEqual([path.join(out, ids.seriesInstanceUID, `${ids.sopInstanceUID}.dcm`)]);
    expect(Buffer.compare(await readFile(files[0]), bytes)).toBe(0);
  });

  it('`halo pacs get` exits 2 with a sentence and writes nothing outside --out', async () => {
    listed = { series: '../../cli-escaped', sop: ids.sopInstanceUID };
    const out = path.join(tmp, 'a', 'cli-out');
    const r = await halo(['pacs', 'get', ids.studyInstanceUID, '--from', server.url, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not a valid DICOM UID/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(path.join(tmp, 'cli-escaped'))).toBe(false);
  });
});

describe('a DICOMweb server that sends without end', () => {
  let bytes: Buffer;
  let ids: InstanceIds;
  /** 3 MiB of QIDO-RS answer: one study, padded with a long description. */
  const huge = JSON.stringify([{ '0020000D': { vr: 'UI', Value: ['1.2.3'] }, '00081030': { vr: 'LO', Value: ['x'.repeat(3 << 20)] } }]);
  let withLength = false;
  const server = new FakeDicomWeb((req) => {
    if (req.url.includes('/instances?') || req.url.endsWith('/instances')) {
      return dicomJson([{ '0020000E': { vr: 'UI', Value: [ids.seriesInstanceUID] }, '00080018': { vr: 'UI', Value: [ids.sopInstanceUID] } }]);
    }
    if (req.url.includes('/instances/')) return multipartDicom([bytes]);
    // Without Content-Length the answer is chunked: the limit must hold while reading, not only from the header.
    return { headers: { 'content-type': 'application/dicom+json', ...(withLength ? { 'content-length': String(Buffer.byteLength(huge)) } : {}) }, body: huge };
  });
  const client = (limits: { maxAnswerBytes?: number; maxInstanceBytes?: number }) =>
    openPacs(resolveEndpoint(server.url, parsePacsSettings('{}')), { dicomweb: limits });

  beforeAll(async () => {
    bytes = await readFile(FILE);
    ids = await readInstanceIds(FILE);
    await server.start();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('stops reading a QIDO-RS answer past the limit, chunked or with a Content-Length', async () => {
    for (const length of [false, true]) {
      withLength = length;
      await expect(client({ maxAnswerBytes: 1 << 20 }).findStudies({})).rejects.toThrow(
        /sent more than 1 MiB as a QIDO-RS answer; Halo stopped reading there/,
      );
    }
    expect(await client({}).findStudies({})).toHaveLength(1); // the default limit (64 MiB) reads it
  });

  it('stops reading a WADO-RS instance past the limit and writes nothing', async () => {
    const out = await mkdtemp(path.join(tmpdir(), 'halo-limit-'));
    try {
      await expect(client({ maxInstanceBytes: 64 << 10 }).retrieveStudy(ids.studyInstanceUID, out)).rejects.toThrow(
        /sent more than 64 KiB for one instance \(WADO-RS\)/,
      );
      expect(readdirSync(out, { recursive: true }).filter((f) => String(f).endsWith('.dcm'))).toEqual([]);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
});

describe('retrieving from a hostile DIMSE (C-GET) server', () => {
  let tmp: string;
  let series = '';
  let sop = '';
  /** Instances the SCP adds to its answer, e.g. another study's or another patient's. */
  let extra: Record<string, unknown>[] = [];
  const scp = new FakeCGetScp(() => {
    const { dataset } = parsePart10(new Uint8Array(readFileSync(FILE)));
    return [{ SeriesInstanceUID: series, SOPInstanceUID: sop }, ...extra].map(
      (change) => new dimse.Dataset({ ...dataset, ...change }, '1.2.840.10008.1.2.1'),
    );
  });

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(tmpdir(), 'halo-hostile-dimse-'));
    await scp.start(await freePort());
  });
  afterAll(async () => {
    scp.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('refuses UIDs that are paths in C-STORE sub-operations and writes nothing outside --out', async () => {
    const ids = await readInstanceIds(FILE);
    const client = openPacs(resolveEndpoint(`dicom://EVIL@127.0.0.1:${scp.port}`, parsePacsSettings('{}')));
    for (const [s, o] of [
      ['../dimse-escaped', ids.sopInstanceUID],
      [ids.seriesInstanceUID, '../../dimse-escaped-sop'],
    ]) {
      series = s;
      sop = o;
      const out = path.join(tmp, 'a', 'out');
      const err = await client.retrieveStudy(ids.studyInstanceUID, out).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PacsError);
      expect((err as Error).message).toMatch(/not a valid DICOM UID/);
      expect(readdirSync(tmp, { recursive: true }).filter((f) => String(f).includes('escaped'))).toEqual([]);
    }
    // a well-formed answer is written where it belongs
    series = ids.seriesInstanceUID;
    sop = ids.sopInstanceUID;
    const { files } = await client.retrieveStudy(ids.studyInstanceUID, path.join(tmp, 'good'));
    expect(files).toEqual([path.join(tmp, 'good', ids.seriesInstanceUID, `${ids.sopInstanceUID}.dcm`)]);
  });

  it("refuses an answer holding another study's or another patient's instances, and keeps none of it", async () => {
    const ids = await readInstanceIds(FILE);
    series = ids.seriesInstanceUID;
    sop = ids.sopInstanceUID;
    const cases: [Record<string, unknown>, RegExp][] = [
      [
        { StudyInstanceUID: '1.2.3.999', SOPInstanceUID: '1.2.3.999.1', PatientID: 'OTHER', PatientName: 'OTHER^PATIENT' },
        /instance 1\.2\.3\.999\.1 belongs to study "1\.2\.3\.999" of patient "OTHER" \(OTHER\^PATIENT\)/,
      ],
      [
        { SOPInstanceUID: '1.2.3.999.2', PatientID: 'OTHER', PatientName: 'OTHER^PATIENT' },
        /instance 1\.2\.3\.999\.2 is of patient "OTHER" \(OTHER\^PATIENT\)/,
      ],
    ];
    for (const [change, message] of cases) {
      extra = [change];
      const out = path.join(tmp, 'mixed');
      const err = await openPacs(resolveEndpoint(`dicom://PACS@127.0.0.1:${scp.port}`, parsePacsSettings('{}')))
        .retrieveStudy(ids.studyInstanceUID, out)
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PacsError);
      expect((err as Error).message).toMatch(message);
      expect((err as Error).message).toMatch(/Nothing of this retrieve was kept/);
      expect(readdirSync(out, { recursive: true }).filter((f) => String(f).endsWith('.dcm'))).toEqual([]);
    }
    extra = [];
    const r = await halo(['pacs', 'get', ids.studyInstanceUID, '--from', `dicom://PACS@127.0.0.1:${scp.port}`, '--out', path.join(tmp, 'cli')]);
    expect(r.code).toBe(0);
    extra = [cases[0][0]];
    const bad = await halo(['pacs', 'get', ids.studyInstanceUID, '--from', `dicom://PACS@127.0.0.1:${scp.port}`, '--out', path.join(tmp, 'cli-mixed')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/not of that study or patient/);
    extra = [];
  });
});

describe("the app's PACS echo is no port scanner", () => {
  it('a closed port and a silent one give the same message after the same time', async () => {
    const silent = createServer(() => undefined); // accepts, never answers
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const closed = await freePort();
    try {
      const settings = parsePacsSettings('{}');
      const outcomes = [];
      for (const port of [closed, (silent.address() as AddressInfo).port]) {
        const client = openPacs(resolveEndpoint(`dicom://PACS@127.0.0.1:${port}`, settings));
        const t0 = Date.now();
        const err = (await echoWithoutProbing(client, 1500).catch((e: unknown) => e)) as Error;
        outcomes.push({ ms: Date.now() - t0, message: err.message.replace(String(port), 'PORT') });
      }
      expect(outcomes[0].message).toBe(outcomes[1].message);
      expect(outcomes[0].message).toMatch(/did not answer within 2 s/);
      for (const o of outcomes) expect(o.ms).toBeGreaterThanOrEqual(1450);
      expect(Math.abs(outcomes[0].ms - outcomes[1].ms)).toBeLessThan(400);
    } finally {
      silent.close();
    }
  });
});
