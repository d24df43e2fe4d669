/**
 * A private, throw-away redis-server for the queue tests: Debian's binary on a free loopback port, its data in a
 * temp dir, AOF on with fsync on every write (so `kill9()` + `start()` shows what a crash keeps). Never the
 * system's Redis.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openQueue } from '../../main/queue/connection';
import { listJobs, type JobRow } from '../../main/queue/status';
import { freePort } from './orthanc';

export const REDIS_BIN = '/usr/bin/redis-server';

export function redisAvailable(): boolean {
  return existsSync(REDIS_BIN);
}

export class TestRedis {
  dir = '';
  port = 0;
  private proc: ChildProcess | undefined;
  private log = '';

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (!this.dir) {
      this.dir = await mkdtemp(join(tmpdir(), 'halo-redis-'));
      this.port = await freePort();
    }
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', ''];
    const proc = spawn(REDIS_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    this.log = '';
    proc.stdout?.on('data', (b: Buffer) => (this.log += b.toString()));
    proc.stderr?.on('data', (b: Buffer) => (this.log += b.toString()));
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) throw new Error(`redis-server exited during start-up:\n${this.log}`);
      if (await answers(this.port)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`redis-server did not answer on port ${this.port} within 20 s:\n${this.log}`);
  }

  /** A crash: SIGKILL, no shutdown save. The AOF (fsync'd on every write) is all that is left. */
  async kill9(): Promise<void> {
    const proc = this.proc;
    this.proc = undefined;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await exited;
  }

  /** Every job on the queue, as `halo batch status` lists them. */
  async jobs(): Promise<JobRow[]> {
    const queue = await openQueue(this.url);
    try {
      return await listJobs(queue);
    } finally {
      await queue.close();
    }
  }

  async dispose(): Promise<void> {
    await this.kill9();
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }
}

/** True when something on the port answers PING with PONG. */
function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let data = '';
    socket.setTimeout(1000, () => socket.destroy());
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (b) => {
      data += b.toString();
      if (data.includes('PONG')) {
        socket.end();
        resolve(true);
      }
    });
    socket.on('error', () => resolve(false));
    socket.on('close', () => resolve(data.includes('PONG')));
  });
}
