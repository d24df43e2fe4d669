/**
 * `halo batch` on a real queue: a private redis-server (AOF on) and real `halo worker` processes segmenting real
 * studies (one slice, few steps). Submit → Redis crashes and restarts → two workers → results; a worker killed
 * with kill -9 mid-job → another takes the job after the stall timeout; a study whose input is gone → failed with
 * its sentence, once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { halo } from '../support/cli';
import { CASE_27, HALO_BIN, ROOT } from '../support/paths';
import { openQueue } from '../../main/queue/connection';
import type { JobRow } from '../../main/queue/status';
import { redisAvailable, TestRedis } from '../support/redis';

const DEMO = join(ROOT, 'resources', 'demo');
const tmp = mkdtempSync(join(tmpdir(), 'halo-queue-'));
const redis = new TestRedis();
const workers: ChildProcess[] = [];

/** A real `halo worker` (1 thread, no cache: each job is computed), with its log kept. */
function startWorker(stallSeconds: number): ChildProcess & { log: string } {
  const child = spawn(
    process.execPath,
    [HALO_BIN, 'worker', '--queue', redis.url, '--threads', '1', '--no-cache', '--stall-timeout', String(stallSeconds), '--work', join(tmp, 'work')],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
  ) as ChildProcess & { log: string };
  child.log = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (child.log += d));
  workers.push(child);
  return child;
}

/** Polls the queue until `done` holds (or fails the test after `seconds`, with the workers' logs). */
async function waitFor(what: string, done: (rows: JobRow[]) => boolean, seconds = 180): Promise<JobRow[]> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const rows = await redis.jobs();
    if (done(rows)) return rows;
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}: ${JSON.stringify(rows, null, 1)}\n${workers.map((w) => (w as { log?: string }).log).join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function stop(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.kill('SIGTERM');
  return exited;
}


describe.skipIf(!redisAvailable())('halo batch on Redis + BullMQ', () => {
  beforeAll(() => redis.start());
  afterAll(async () => {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    await redis.dispose();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('bad submissions are refused with what to do; a bad study is reported and the others are still queued', async () => {
    const badUrl = await halo(['batch', 'status', '--queue', 'http://127.0.0.1:6379']);
    expect(badUrl.code).toBe(2);
    expect(badUrl.stderr).toMatch(/--queue must be a redis:\/\/ URL \(e\.g\. redis:\/\/127\.0\.0\.1:6379\), got "http:/);
    const nowhere = await halo(['batch', 'submit', '--queue', redis.url, '--dicom', DEMO]);
    expect(nowhere.stderr).toMatch(/say where the results go: --out DIR .* and\/or --to PACS/);
    const caseToPacs = await halo(['batch', 'submit', '--queue', redis.url, '--case', CASE_27, '--to', 'dicom://PACS@127.0.0.1:104']);
    expect(caseToPacs.stderr).toMatch(/--to sends DICOM results, which need DICOM input/);
    const missing = join(tmp, 'no-such-study');
    const mixed = await halo(['batch', 'submit', '--queue', redis.url, '--dicom', missing, '--case', CASE_27, '--out', join(tmp, 'mixed'), '--slices', '70:71', '--steps', '2']);
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toContain(`not submitted: ${missing}: DICOM folder ${missing} does not exist`);
    expect(mixed.stderr).toMatch(/1 of 2 studies were not submitted/);
    expect(mixed.stdout).toMatch(/^queued +BraTS-GLI-00027-000/m);
    const outside = await halo(['batch', 'submit', '--queue', redis.url, '--case', CASE_27, '--out', join(tmp, 'mixed'), '--slices', '900:901']);
    expect(outside.stderr).toMatch(/--slices 900:901 is outside the volume: it has 155 axial slices/);
    // Leave the queue empty for the tests below.
    const queue = await openQueue(redis.url);
    await queue.obliterate({ force: true });
    await queue.close();
  });

  it('submit → Redis crashes and restarts (nothing lost) → two workers → every result; a study submitted again is one job', async () => {
    const out = join(tmp, 'results');
    const submitted = await halo(['batch', 'submit', '--queue', redis.url, '--dicom', DEMO, '--case', CASE_27, '--out', out, '--slices', '20:21', '--steps', '2', '--ensemble', '2']);
    expect(submitted.stderr).toBe('');
    expect(submitted.code).toBe(0);
    expect(submitted.stdout).toMatch(/^queued +demo/m);
    expect(submitted.stdout).toMatch(/^queued +BraTS-GLI-00027-000/m);
    const again = await halo(['batch', 'submit', '--queue', redis.url, '--dicom', DEMO, '--out', out, '--slices', '20:21', '--steps', '2', '--ensemble', '2']);
    expect(again.stdout).toMatch(/^already queued +demo/m);

    await redis.kill9();
    const down = await halo(['batch', 'status', '--queue', redis.url]);
    expect(down.code).toBe(2);
    expect(down.stderr).toMatch(/cannot reach the queue's Redis at redis:\/\/127\.0\.0\.1:\d+ .*Start redis-server/);
    await redis.start();
    const status = await halo(['batch', 'status', '--queue', redis.url, '--json']);
    const queued = JSON.parse(status.stdout) as JobRow[];
    expect(queued.map((r) => [r.label, r.state]).sort()).toEqual([['BraTS-GLI-00027-000', 'queued'], ['demo', 'queued']]);

    const [a, b] = [startWorker(30), startWorker(30)];
    const rows = await waitFor('both jobs done', (r) => r.length === 2 && r.every((j) => j.state === 'done'));
    for (const r of rows) {
      expect(r.seconds).toBeGreaterThan(0);
      expect([a.pid, b.pid].map((p) => `:${p}`)).toContain(r.worker!.slice(r.worker!.lastIndexOf(':')));
    }
    expect(readdirSync(join(out, 'demo')).sort()).toEqual(
      ['mask.nii.gz', 'mean.nii.gz', 'seg-fractional.dcm', 'seg.dcm', 'summary.json', 'variance-pm.dcm', 'variance.nii.gz'],
    );
    expect(readdirSync(join(out, 'BraTS-GLI-00027-000')).sort()).toEqual(['mask.nii.gz', 'mean.nii.gz', 'summary.json', 'variance.nii.gz']);

    const text = await halo(['batch', 'status', '--queue', redis.url]);
    expect(text.stdout).toMatch(/^done +demo in [\d.]+ s by /m);
    expect(text.stdout).toMatch(/0 queued, 0 running, 2 done, 0 failed/);
    const done = await halo(['batch', 'submit', '--queue', redis.url, '--dicom', DEMO, '--out', out, '--slices', '20:21', '--steps', '2', '--ensemble', '2']);
    expect(done.stdout).toMatch(/^already done +demo/m);

    // SIGTERM: each worker finishes what it holds (nothing) and exits cleanly.
    expect(await stop(a)).toBe(0);
    expect(await stop(b)).toBe(0);
  }, 300_000);

  it('a worker killed with kill -9 mid-job: after the stall timeout another worker takes the job; no half-written output', async () => {
    const out = join(tmp, 'killed');
    // Long enough (2 slices x 3 members x 20 steps) to be killed while it runs.
    const submitted = await halo(['batch', 'submit', '--queue', redis.url, '--case', CASE_27, '--out', out, '--slices', '70:72', '--steps', '20', '--ensemble', '3']);
    expect(submitted.code).toBe(0);
    // The stall timeout must outlast the longest model call (it blocks the worker's event loop): 10 s here.
    const doomed = startWorker(10);
    const running = await waitFor('the job to run', (r) => r.some((j) => j.out === join(out, 'BraTS-GLI-00027-000') && j.state !== 'queued'));
    expect(running.find((j) => j.out === join(out, 'BraTS-GLI-00027-000'))!.state).toBe('running');
    doomed.kill('SIGKILL');
    const rescuer = startWorker(10);
    const rows = await waitFor('the job done by the second worker', (r) => r.some((j) => j.out === join(out, 'BraTS-GLI-00027-000') && j.state === 'done'), 90);
    const job = rows.find((j) => j.out === join(out, 'BraTS-GLI-00027-000'))!;
    expect(job.worker).toMatch(new RegExp(`:${rescuer.pid}$`));
    expect(job.stalls).toBe(1);
    expect(job.attempts).toBe(2);
    // The whole output set, and nothing else visible (a killed write leaves at most a hidden staging folder).
    const visible = readdirSync(join(out, 'BraTS-GLI-00027-000')).filter((f) => !f.startsWith('.'));
    expect(visible.sort()).toEqual(['mask.nii.gz', 'mean.nii.gz', 'summary.json', 'variance.nii.gz']);
    expect(rescuer.log).toMatch(/started BraTS-GLI-00027-000/);
    expect(await stop(rescuer)).toBe(0);
  }, 300_000);

  it('a study whose input is gone by its turn fails with the reason, and is not retried', async () => {
    const study = join(tmp, 'gone-study');
    cpSync(DEMO, study, { recursive: true });
    const submitted = await halo(['batch', 'submit', '--queue', redis.url, '--dicom', study, '--out', join(tmp, 'gone'), '--slices', '20:21', '--steps', '2', '--ensemble', '2']);
    expect(submitted.code).toBe(0);
    renameSync(study, `${study}-moved`);
    startWorker(30);
    const rows = await waitFor('the job to fail', (r) => r.some((j) => j.label === 'gone-study' && j.state === 'failed'));
    const job = rows.find((j) => j.label === 'gone-study')!;
    expect(job.reason).toMatch(new RegExp(`${study}`));
    expect(job.attempts).toBe(1);
    expect(existsSync(join(tmp, 'gone', 'gone-study', 'summary.json'))).toBe(false);
    const text = await halo(['batch', 'status', '--queue', redis.url]);
    expect(text.stdout).toMatch(/^failed +gone-study/m);
  }, 120_000);
});
