/**
 * The segmentation queue lives in Redis (BullMQ); `--queue redis://HOST:PORT[/DB]` names it. Redis must run with
 * AOF on (`appendonly yes`), or a Redis restart loses the jobs queued since its last snapshot.
 */
import { Queue } from 'bullmq';
import { InputError } from '../errors';

/** One BullMQ queue holds every study to segment. */
export const QUEUE_NAME = 'halo-segment';

export interface RedisAddress {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
}

export function parseQueueUrl(spec: string): RedisAddress {
  let url: URL;
  try {
    url = new URL(spec);
  } catch {
    throw new InputError(`--queue must be a Redis URL like redis://127.0.0.1:6379, got "${spec}".`);
  }
  if (url.protocol !== 'redis:') throw new InputError(`--queue must be a redis:// URL (e.g. redis://127.0.0.1:6379), got "${spec}".`);
  const port = url.port ? Number(url.port) : 6379;
  const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw new InputError(`--queue ${spec}: the database after the port must be a number, e.g. redis://host:6379/0.`);
  return {
    host: url.hostname || '127.0.0.1',
    port,
    db,
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
  };
}

/** How the queue URL is shown: never with its password. */
export function describeQueue(spec: string): string {
  const c = parseQueueUrl(spec);
  return `redis://${c.host}:${c.port}`;
}

/**
 * The queue for submit, status and listen: a Redis unreachable at the start is a clear error within seconds, not a
 * silent wait; once connected, a Redis restart is waited out (reconnecting every few seconds).
 */
export async function openQueue(spec: string): Promise<Queue> {
  let connected = false;
  const retryStrategy = (times: number) => (connected ? Math.min(500 * times, 5000) : times > 3 ? null : 300 * times);
  const connection = { ...parseQueueUrl(spec), connectTimeout: 5000, retryStrategy };
  const queue = new Queue(QUEUE_NAME, { connection });
  queue.on('error', () => undefined); // reported by the awaited call below
  try {
    await queue.getJobCounts('wait'); // one round trip: Redis answers
    connected = true;
  } catch (err) {
    await queue.close().catch(() => undefined);
    throw new InputError(
      `cannot reach the queue's Redis at ${describeQueue(spec)} (${(err as Error).message}). Start redis-server there ` +
        '(with appendonly yes, see the README) or check --queue.',
    );
  }
  return queue;
}
