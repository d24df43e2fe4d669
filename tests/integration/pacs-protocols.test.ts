/**
 * DICOMweb and DIMSE against a real, private Orthanc (apt: orthanc orthanc-dicomweb): echo, store, find,
 * retrieve (WADO-RS and C-GET; files equal by SOP Instance UID and pixel data), read-back, and the errors.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePart10 } from '../../main/dicom/dcmjs';
import { openPacs } from '../../main/pacs/client';
import { parsePacsSettings, resolveEndpoint } from '../../main/pacs/config';
import { readInstanceIds } from '../../main/pacs/dicom';
import { PacsError } from '../../main/pacs/errors';
import type { PacsClient } from '../../main/pacs/types';
import { DATA } from '../support/paths';
import { freePort, TestOrthanc } from '../support/orthanc';

const SRC = path.join(DATA, 'dicom', 't1-sag-hfs');
const STUDY = '1.3.12.2.1107.5.2.43.67060.30000022040717195958300000010';
const run = promisify(execFile);

describe('PACS protocols against Orthanc', () => {
  const orthanc = new TestOrthanc();
  let tmp: string;
  let files: string[];
  let web: PacsClient;
  let dimse: PacsClient;
  const settings = parsePacsSettings('{"callingAet": "HALO"}');

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(tmpdir(), 'halo-pacs-'));
    const names = (await readdir(SRC)).filter((n) => n.endsWith('.dcm')).sort().slice(0, 6);
    files = [];
    for (const n of names) {
      await copyFile(path.join(SRC, n), path.join(tmp, n));
      files.push(path.join(tmp, n));
    }
    await orthanc.start();
    web = openPacs(resolveEndpoint(orthanc.dicomWebUrl, settings));
    dimse = openPacs(resolveEndpoint(orthanc.dimseUrl, settings));
  });

  afterAll(async () => {
    await orthanc.dispose();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('echoes over DICOMweb and DIMSE', async () => {
    expect((await web.echo()).ms).toBeGreaterThanOrEqual(0);
    expect((await dimse.echo()).ms).toBeGreaterThanOrEqual(0);
  });

  it('stores with STOW-RS and C-STORE, and reads each back by SOP Instance UID', async () => {
    for (const [i, f] of files.entries()) {
      const client = i % 2 === 0 ? web : dimse;
      const ids = await readInstanceIds(f);
      expect(await client.hasInstance(ids.studyInstanceUID, ids.seriesInstanceUID, ids.sopInstanceUID)).toBe(false);
      const res = await client.store(f);
      expect(res.sopInstanceUID).toBe(ids.sopInstanceUID);
      // read back over both protocols, whichever stored it
      expect(await web.hasInstance(ids.studyInstanceUID, ids.seriesInstanceUID, ids.sopInstanceUID)).toBe(true);
      expect(await dimse.hasInstance(ids.studyInstanceUID, ids.seriesInstanceUID, ids.sopInstanceUID)).toBe(true);
    }
  });

  it('finds the study by patient name and ID over QIDO-RS and C-FIND', async () => {
    for (const client of [web, dimse]) {
      const byName = await client.findStudies({ patientName: 'HF*' });
      expect(byName.map((s) => s.studyInstanceUID)).toEqual([STUDY]);
      expect(byName[0]).toMatchObject({ patientName: 'HFS', patientId: 'crlab', studyDate: '20220407', modalities: ['MR'] });
      expect(byName[0].numberOfInstances).toBe(files.length);
      const byId = await client.findStudies({ patientId: 'crlab' });
      expect(byId.map((s) => s.studyInstanceUID)).toEqual([STUDY]);
      expect(await client.findStudies({ patientId: 'nobody' })).toEqual([]);
      const series = await client.findSeries(STUDY);
      expect(series).toHaveLength(1);
      expect(series[0].modality).toBe('MR');
    }
  });

  it('retrieves the study over WADO-RS and C-GET, equal by SOP Instance UID and pixel data', async () => {
    const originals = new Map<string, Buffer>();
    for (const f of files) {
      const { dataset } = parsePart10(await readFile(f));
      originals.set(dataset.SOPInstanceUID as string, pixelBytes(dataset));
    }
    for (const [name, client] of [
      ['wado', web],
      ['cget', dimse],
    ] as const) {
      const out = path.join(tmp, `out-${name}`);
      const progress: number[] = [];
      const { files: got } = await client.retrieveStudy(STUDY, out, { onProgress: (p) => progress.push(p.done) });
      expect(got).toHaveLength(files.length);
      expect(progress.at(-1)).toBe(files.length);
      const seen = new Set<string>();
      for (const f of got) {
        const { dataset } = parsePart10(await readFile(f));
        const sop = dataset.SOPInstanceUID as string;
        expect(path.basename(f)).toBe(`${sop}.dcm`);
        expect(originals.has(sop)).toBe(true);
        expect(pixelBytes(dataset).equals(originals.get(sop)!)).toBe(true);
        seen.add(sop);
      }
      expect(seen.size).toBe(files.length);
    }
  });

  it('refused association (wrong called AE) names the endpoint and the cause', async () => {
    const wrong = openPacs(resolveEndpoint(`dicom://NOTORTHANC@127.0.0.1:${orthanc.dicomPort}`, settings));
    const err = await wrong.echo().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PacsError);
    expect((err as PacsError).failure).toBe('rejected');
    expect((err as Error).message).toMatch(/rejected the association.*called AE/);
    expect((err as Error).message).toContain(`127.0.0.1:${orthanc.dicomPort}`);

    const stranger = openPacs(resolveEndpoint(orthanc.dimseUrl, settings, { callingAet: 'STRANGER' }));
    const err2 = await stranger.echo().catch((e: unknown) => e);
    expect((err2 as PacsError).failure).toBe('rejected');
    expect((err2 as Error).message).toMatch(/calling AE/);
  });

  it('wrong URL and closed ports give clear errors', async () => {
    const wrongPath = openPacs(resolveEndpoint(`${orthanc.httpUrl}/not-dicomweb`, settings));
    const e1 = (await wrongPath.findStudies({}).catch((e: unknown) => e)) as PacsError;
    expect(e1).toBeInstanceOf(PacsError);
    expect(e1.failure).toBe('http');
    expect(e1.status).toBe(404);
    expect(e1.message).toMatch(/HTTP 404.*base URL/);

    const port = await freePort();
    for (const spec of [`http://127.0.0.1:${port}/dicom-web`, `dicom://ANY@127.0.0.1:${port}`]) {
      const e = (await openPacs(resolveEndpoint(spec, settings))
        .echo()
        .catch((x: unknown) => x)) as PacsError;
      expect(e).toBeInstanceOf(PacsError);
      expect(e.failure).toBe('unreachable');
      expect(e.message).toMatch(/connection refused/);
      expect(e.message).toContain(`127.0.0.1:${port}`);
    }
  });

  it('CLI: halo pacs find --json and halo pacs echo', async () => {
    const cli = path.resolve('bin/halo.mjs');
    const env = { ...process.env, HALO_PACS_CONFIG: '', XDG_CONFIG_HOME: tmp, XDG_DATA_HOME: tmp };
    const { stdout } = await run(process.execPath, [cli, 'pacs', 'find', '--from', orthanc.dimseUrl, '--patient-id', 'crlab', '--json'], {
      env,
    });
    const studies = JSON.parse(stdout) as { studyInstanceUID: string }[];
    expect(studies.map((s) => s.studyInstanceUID)).toEqual([STUDY]);
    const echo = await run(process.execPath, [cli, 'pacs', 'echo', '--to', orthanc.dicomWebUrl], { env });
    expect(echo.stdout).toMatch(/OK/);
    const bad = await run(process.execPath, [cli, 'pacs', 'echo', '--to', 'nosuchnode'], { env }).catch((e: unknown) => e);
    expect((bad as { code: number }).code).toBe(2);
    expect((bad as { stderr: string }).stderr).toMatch(/unknown PACS "nosuchnode"/);
  });
});

function pixelBytes(ds: Record<string, unknown>): Buffer {
  const pd = ds.PixelData as ArrayBuffer[] | ArrayBuffer;
  const frames = Array.isArray(pd) ? pd : [pd];
  return Buffer.concat(frames.map((f) => Buffer.from(f)));
}
