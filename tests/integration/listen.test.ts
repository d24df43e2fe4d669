/**
 * PACS-triggered segmentation, end to end on loopback: a real Orthanc holds the demo MR study and sends it (C-STORE,
 * from its own AE title) to `halo listen`; the study completes after 2 s idle and is queued on a private redis-server;
 * a real `halo worker` segments it (one slice, few steps) and sends the SEG, fractional SEG and Parametric Map back
 * to Orthanc, a node of its pacs.json, through the outbox. A sender not on the allow-list is refused; a study that
 * cannot be segmented (no FLAIR) is queued all the same and fails with the reason, once. Opened from the PACS in
 * the app, the study shows the workers' results as prior results.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppServices, type Host } from '../../main/app/services';
import { freePort, orthancAvailable, TestOrthanc } from '../support/orthanc';
import { HALO_BIN, ROOT } from '../support/paths';
import { redisAvailable, TestRedis } from '../support/redis';

const DEMO = join(ROOT, 'resources', 'demo');
const T1_STUDY = '2.25.314159265358979323846264338327950288';
const run = promisify(execFile);
const tmp = mkdtempSync(join(tmpdir(), 'halo-listen-'));
const redis = new TestRedis();
let orthanc: TestOrthanc;
let listenPort = 0;
const children: (ChildProcess & { log: string })[] = [];

function start(args: string[]): ChildProcess & { log: string } {
  const child = spawn(process.execPath, [HALO_BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] }) as ChildProcess & { log: string };
  child.log = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (child.log += d));
  children.push(child);
  return child;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, seconds = 180): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${children.map((c) => c.log).join('\n')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe.skipIf(!redisAvailable() || !orthancAvailable())('halo listen: Orthanc → Halo → SEG back in Orthanc', () => {
  beforeAll(async () => {
    listenPort = await freePort();
    // Orthanc knows Halo (AE HALO) at our listening port: it may send studies to it, and Halo may query it back.
    orthanc = new TestOrthanc({ aet: 'ORTHANC', clientAet: 'HALO', clientPort: listenPort });
    await Promise.all([redis.start(), orthanc.start()]);
    const files = readdirSync(DEMO, { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && e.name.endsWith('.dcm'));
    for (const f of files) {
      const res = await fetch(`${orthanc.httpUrl}/instances`, { method: 'POST', body: readFileSync(join(f.parentPath, f.name)) });
      expect(res.ok).toBe(true);
    }
  }, 120_000);
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await Promise.all([redis.dispose(), orthanc.dispose()]);
    rmSync(tmp, { recursive: true, force: true });
  });

  it('collects the study Orthanc sends, queues it, and the worker stores SEG + fractional SEG + Parametric Map in Orthanc', async () => {
    const config = join(tmp, 'pacs.json');
    writeFileSync(config, JSON.stringify({ callingAet: 'HALO', nodes: [{ name: 'orthanc', kind: 'dimse', aet: 'ORTHANC', host: '127.0.0.1', port: orthanc.dicomPort }] }));
    const listener = start([
      'listen', '--aet', 'HALO', '--port', String(listenPort), '--queue', redis.url, '--allow', 'ORTHANC', '--to', 'orthanc',
      '--store', join(tmp, 'store'), '--idle', '2', '--slices', '20:21', '--steps', '2', '--ensemble', '2',
    ]);
    await until('halo listen to listen', async () => (/listening on port/.test(listener.log) ? true : undefined), 60);

    // A sender not on the allow-list is refused before anything is stored.
    const refused = await run('storescu', ['-aet', 'INTRUDER', '-aec', 'HALO', '127.0.0.1', String(listenPort), join(DEMO, '1-FLAIR', 'IM0001.dcm')]).then(
      () => 'accepted',
      (err: Error & { stderr?: string }) => err.stderr ?? err.message,
    );
    expect(refused).toMatch(/Association Rejected/i);
    await until('the refusal logged', async () => (/rejected an association from INTRUDER: not in --allow \(ORTHANC\)/.test(listener.log) ? true : undefined), 10);

    const [study] = await orthanc.rest<string[]>('/studies');
    const sent = await fetch(`${orthanc.httpUrl}/modalities/halo/store`, { method: 'POST', body: study });
    expect(sent.ok, await sent.text()).toBe(true);

    const job = await until('the study to be queued', async () => (await redis.jobs())[0]);
    expect(job.label).toMatch(/^[\d.]+$/); // its Study Instance UID
    await until('the queueing logged', async () => (/192 instances from ORTHANC\): queued/.test(listener.log) ? true : undefined), 10);
    const worker = start(['worker', '--queue', redis.url, '--threads', '1', '--no-cache', '--work', join(tmp, 'work'), '--config', config, '--outbox', join(tmp, 'outbox')]);
    const done = await until('the job done', async () => (await redis.jobs()).find((j) => j.state === 'done' || j.state === 'failed'));
    expect(done.reason, worker.log).toBeNull();
    expect(done.state).toBe('done');
    expect(done.result!.delivery).toMatchObject({ to: 'orthanc', verified: 3, waiting: 0 });

    // Back in Orthanc, in the same study: two SEG series (binary, fractional) and the Parametric Map.
    const series = await orthanc.rest<{ Instances: string[] }[]>(`/studies/${study}/series`);
    expect(series).toHaveLength(7);
    const sopClasses: string[] = [];
    for (const s of series.filter((x) => x.Instances.length === 1)) {
      sopClasses.push((await orthanc.rest<{ SOPClassUID: string }>(`/instances/${s.Instances[0]}/simplified-tags`)).SOPClassUID);
    }
    const SEG = '1.2.840.10008.5.1.4.1.1.66.4', PARAMETRIC_MAP = '1.2.840.10008.5.1.4.1.1.30';
    expect(sopClasses.sort()).toEqual([PARAMETRIC_MAP, SEG, SEG]);
    expect(readdirSync(join(tmp, 'outbox'), { recursive: true }).filter((f) => String(f).endsWith('.dcm'))).toEqual([]);

    // The radiologist opens the study from the PACS in the app: the workers' results are there as prior results,
    // and the app never talked to the queue.
    const studyUid = (await orthanc.rest<{ MainDicomTags: { StudyInstanceUID: string } }>(`/studies/${study}`)).MainDicomTags.StudyInstanceUID;
    process.env.HALO_PACS_CONFIG = config;
    process.env.HALO_DATA_DIR = join(tmp, 'app-data');
    const host: Host = { mode: 'bridge', emit: () => {}, allowedFolders: () => [], chooseFolder: async () => null };
    const view = await new AppServices(host, { cacheDir: null }).retrieve('orthanc', studyUid);
    expect(view.results.map((r) => r.kind).sort()).toEqual(['mask', 'probability', 'variance']);
    expect(view.results.every((r) => r.ensemble === 2)).toBe(true);


    // A study that cannot be segmented (a T1 series alone: no FLAIR) is queued all the same and fails with the reason.
    const t1 = join(tmp, 't1-only');
    mkdirSync(t1);
    for (const f of ['IM0001.dcm', 'IM0002.dcm']) copyFileSync(join(DEMO, '2-T1', f), join(t1, f));
    const files = readdirSync(t1).map((f) => join(t1, f));
    await run('dcmodify', ['-nb', '-gin', '-m', `(0020,000D)=${T1_STUDY}`, ...files]);
    await run('storescu', ['-aet', 'ORTHANC', '-aec', 'HALO', '127.0.0.1', String(listenPort), ...files]);
    const failed = await until('the T1-only study to fail', async () => (await redis.jobs()).find((j) => j.label === T1_STUDY && j.state === 'failed'));
    expect(failed.reason).toMatch(/FLAIR/);
    expect(failed.attempts).toBe(1);
    expect(listener.log).toMatch(new RegExp(`study ${T1_STUDY.replace(/\./g, '\\.')} cannot be segmented: .*FLAIR`));

    listener.kill('SIGTERM');
    worker.kill('SIGTERM');
  }, 300_000);
});
