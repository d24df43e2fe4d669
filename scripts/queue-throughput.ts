/**
 * Throughput of the job queue with 1, 2 and 4 workers (each with 1 thread) on this machine: a private redis-server,
 * the same batch of small jobs each time (a BraTS case, 2 slices, 5 DDPM steps, ensemble 2, no cache; one job per
 * seed, so each is computed), reported as studies per minute (from the first job taken to the last one done) and
 * the ratio to one worker; and, for what the queue costs, the same jobs as `halo segment` runs one after another.
 * A measurement, not a test. Run:
 *   npm run build:cli && npx tsx scripts/queue-throughput.ts [jobs=8]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { openQueue } from '../main/queue/connection';
import { listJobs } from '../main/queue/status';
import { halo } from '../tests/support/cli';
import { CASE_27, HALO_BIN, ROOT } from '../tests/support/paths';
import { TestRedis } from '../tests/support/redis';

const JOBS = Number(process.argv[2] ?? 8);
const JOB_ARGS = ['--case', CASE_27, '--slices', '70:72', '--steps', '5', '--ensemble', '2', '--no-screen'];
const tmp = mkdtempSync(join(tmpdir(), 'halo-throughput-'));

async function measure(workers: number): Promise<{ workers: number; seconds: number; perMinute: number }> {
  const redis = new TestRedis();
  await redis.start();
  const children: ChildProcess[] = [];
  try {
    for (let seed = 0; seed < JOBS; seed++) {
      const r = await halo(['batch', 'submit', '--queue', redis.url, ...JOB_ARGS, '--out', join(tmp, `w${workers}-s${seed}`), '--seed', String(seed)]);
      if (r.code !== 0) throw new Error(r.stderr);
    }
    for (let i = 0; i < workers; i++) {
      children.push(spawn(process.execPath, [HALO_BIN, 'worker', '--queue', redis.url, '--threads', '1', '--no-cache', '--stall-timeout', '120'], { cwd: ROOT, stdio: 'ignore' }));
    }
    const queue = await openQueue(redis.url);
    try {
      for (;;) {
        const rows = await listJobs(queue);
        if (rows.some((r) => r.state === 'failed')) throw new Error(`a job failed: ${rows.find((r) => r.state === 'failed')!.reason}`);
        if (rows.every((r) => r.state === 'done')) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      const jobs = await queue.getJobs(['completed']);
      const first = Math.min(...jobs.map((j) => j.processedOn!));
      const last = Math.max(...jobs.map((j) => j.finishedOn!));
      const seconds = (last - first) / 1000;
      return { workers, seconds: +seconds.toFixed(1), perMinute: +((JOBS / seconds) * 60).toFixed(1) };
    } finally {
      await queue.close();
    }
  } finally {
    for (const c of children) c.kill('SIGKILL');
    await redis.dispose();
  }
}

const started = performance.now();
for (let seed = 0; seed < JOBS; seed++) {
  const r = await halo(['segment', ...JOB_ARGS, '--out', join(tmp, `plain-s${seed}`, 'out'), '--seed', String(seed), '--threads', '1', '--no-cache', '--no-progress']);
  if (r.code !== 0) throw new Error(r.stderr);
}
const plain = (performance.now() - started) / 1000;
process.stdout.write(`halo segment, one after another: ${JOBS} studies in ${plain.toFixed(1)} s = ${((JOBS / plain) * 60).toFixed(1)} studies/min\n`);

const results = [];
for (const n of [1, 2, 4]) {
  const r = await measure(n);
  results.push(r);
  process.stdout.write(`${n} worker(s): ${JOBS} studies in ${r.seconds} s = ${r.perMinute} studies/min (${(r.perMinute / results[0].perMinute).toFixed(2)}x one worker)\n`);
}
process.stdout.write(`${cpus().length} CPU cores, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} at the end\n`);
rmSync(tmp, { recursive: true, force: true });
