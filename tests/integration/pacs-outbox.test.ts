/**
 * The outbox against a real Orthanc: PACS down -> send fails, file stays with a clear error -> PACS back ->
 * retry sends and verifies -> outbox empty. Over DICOMweb and DIMSE, and through the `halo send` CLI.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPacs } from '../../main/pacs/client';
import { parsePacsSettings, resolveEndpoint } from '../../main/pacs/config';
import { readInstanceIds } from '../../main/pacs/dicom';
import { Outbox, type OutboxEvent } from '../../main/pacs/outbox';
import { DATA } from '../support/paths';
import { TestOrthanc } from '../support/orthanc';

const SRC = path.join(DATA, 'dicom', 't1-sag-hfs');
const run = promisify(execFile);

describe('outbox against Orthanc', () => {
  const orthanc = new TestOrthanc();
  let tmp: string;
  let files: string[];
  const settings = parsePacsSettings('{"callingAet": "HALO"}');

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(tmpdir(), 'halo-outbox-'));
    // slices the protocol test does not use, so the two files can share nothing
    const names = (await readdir(SRC)).filter((n) => n.endsWith('.dcm')).sort().slice(10, 15);
    files = [];
    for (const n of names) {
      await copyFile(path.join(SRC, n), path.join(tmp, n));
      files.push(path.join(tmp, n));
    }
    await orthanc.start();
  });

  afterAll(async () => {
    await orthanc.dispose();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  for (const kind of ['dicomweb', 'dimse'] as const) {
    it(`${kind}: PACS down keeps the file; after restart a retry sends, verifies and empties the outbox`, async () => {
      const file = kind === 'dicomweb' ? files[0] : files[1];
      const ids = await readInstanceIds(file);
      const endpoint = resolveEndpoint(kind === 'dicomweb' ? orthanc.dicomWebUrl : orthanc.dimseUrl, settings);
      const client = openPacs(endpoint);
      const outbox = Outbox.forEndpoint(endpoint, path.join(tmp, 'outbox'));
      const events: OutboxEvent[] = [];
      const onEvent = (e: OutboxEvent) => events.push(e);

      await orthanc.stop();
      await outbox.enqueue([file], onEvent);
      const down = await outbox.flush(client, { onEvent });
      expect(down.verified).toEqual([]);
      expect(down.failed).toHaveLength(1);
      expect(down.failed[0].reason).toMatch(/connection refused/);
      expect(down.failed[0].reason).toContain(`127.0.0.1:${kind === 'dicomweb' ? orthanc.httpPort : orthanc.dicomPort}`);
      const waiting = await outbox.list();
      expect(waiting.map((e) => e.sopInstanceUID)).toEqual([ids.sopInstanceUID]);
      expect(waiting[0]).toMatchObject({ attempts: 1, source: file });
      expect(waiting[0].lastError).toMatch(/connection refused/);
      expect(events.map((e) => e.state)).toEqual(['queued', 'sending', 'failed']);

      await orthanc.start(); // same ports, same storage
      events.length = 0;
      const up = await outbox.flush(client, { onEvent });
      expect(up.failed).toEqual([]);
      expect(up.verified.map((e) => e.sopInstanceUID)).toEqual([ids.sopInstanceUID]);
      expect(events.map((e) => e.state)).toEqual(['sending', 'sent', 'verified']);
      expect(await outbox.list()).toEqual([]);
      expect((await readdir(outbox.dir)).filter((n) => !n.startsWith('.'))).toEqual([]);
      expect(await client.hasInstance(ids.studyInstanceUID, ids.seriesInstanceUID, ids.sopInstanceUID)).toBe(true);
    });
  }

  it('CLI: halo send fails with exit 2 while the PACS is down, then --retry empties the outbox', async () => {
    const cli = path.resolve('bin/halo.mjs');
    const outboxRoot = path.join(tmp, 'cli-outbox');
    const env = { ...process.env, HALO_PACS_CONFIG: '', XDG_CONFIG_HOME: tmp, XDG_DATA_HOME: tmp };
    const to = orthanc.dimseUrl;
    await orthanc.stop();
    const fail = (await run(process.execPath, [cli, 'send', files[2], files[3], '--to', to, '--outbox', outboxRoot], { env }).catch(
      (e: unknown) => e,
    )) as { code: number; stderr: string; stdout: string };
    expect(fail.code).toBe(2);
    expect(fail.stderr).toMatch(/2 file\(s\) were not confirmed .* stay in the outbox/);
    expect(fail.stderr).toMatch(/connection refused/);
    expect(fail.stderr).toContain(`halo send --retry --to ${to}`);
    expect(fail.stdout).toMatch(/in outbox/);

    await orthanc.start();
    const ok = await run(process.execPath, [cli, 'send', '--retry', '--to', to, '--outbox', outboxRoot], { env });
    expect(ok.stdout.match(/^verified/gm)).toHaveLength(2);
    const endpoint = resolveEndpoint(to, settings);
    expect(await Outbox.forEndpoint(endpoint, outboxRoot).list()).toEqual([]);
  });

  it('refuses to queue a file that is not DICOM, and queues nothing of that batch', async () => {
    const endpoint = resolveEndpoint(orthanc.dicomWebUrl, settings);
    const outbox = Outbox.forEndpoint(endpoint, path.join(tmp, 'outbox-bad'));
    await expect(outbox.enqueue([files[4], path.join(SRC, '..', '..')])).rejects.toThrow(/cannot read|not a DICOM/);
    expect(await outbox.list()).toEqual([]);
  });
});
