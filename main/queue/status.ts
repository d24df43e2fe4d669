/** `halo batch status`: every job in the queue with its state, how long it took and why it failed. */
import type { Job, Queue } from 'bullmq';
import type { JobResult } from './worker';

export type JobState = 'queued' | 'running' | 'done' | 'failed';

export interface JobRow {
  id: string;
  label: string;
  state: JobState;
  /** Percent of the sampling done (running jobs). */
  progress: number;
  /** Times a worker started it (more than one: retried, or taken again after its worker stalled). */
  attempts: number;
  /** Times its worker stopped answering mid-job (the job was then given to another worker). */
  stalls: number;
  worker: string | null;
  submittedAt: string;
  /** From a worker taking it to done / failed. */
  seconds: number | null;
  /** Why it failed, or why its results are not (all) in the PACS yet. */
  reason: string | null;
  out: string | null;
  result: JobResult | null;
}

const STATES: Record<JobState, ('wait' | 'prioritized' | 'delayed' | 'waiting-children' | 'active' | 'completed' | 'failed')[]> = {
  queued: ['wait', 'prioritized', 'delayed', 'waiting-children'],
  running: ['active'],
  done: ['completed'],
  failed: ['failed'],
};

export async function listJobs(queue: Queue): Promise<JobRow[]> {
  const rows: JobRow[] = [];
  for (const [state, kinds] of Object.entries(STATES) as [JobState, (typeof STATES)[JobState]][]) {
    for (const job of await queue.getJobs(kinds)) if (job) rows.push(rowOf(job, state));
  }
  return rows.sort((a, b) => a.submittedAt.localeCompare(b.submittedAt) || a.id.localeCompare(b.id));
}

function rowOf(job: Job, state: JobState): JobRow {
  const result = state === 'done' ? (job.returnvalue as JobResult) : null;
  const delivery = result?.delivery;
  const notDelivered = delivery && delivery.waiting ? `${delivery.waiting} file(s) wait in ${delivery.outbox} for ${delivery.to}: ${delivery.reason}` : null;
  // A job delayed before a retry is "queued" with the last error as its reason.
  const reason = state === 'failed' || state === 'queued' ? job.failedReason || null : notDelivered;
  const data = job.data as { label?: string; out?: string };
  return {
    id: job.id!,
    label: data.label ?? '?',
    state,
    progress: typeof job.progress === 'number' ? job.progress : 0,
    attempts: job.attemptsStarted,
    stalls: job.stalledCounter,
    worker: job.processedBy ?? null,
    submittedAt: new Date(job.timestamp).toISOString(),
    seconds: job.processedOn && job.finishedOn ? +((job.finishedOn - job.processedOn) / 1000).toFixed(1) : null,
    reason,
    out: result?.out ?? data.out ?? null,
    result,
  };
}

/** One line per job, for people. */
export function formatRows(rows: JobRow[]): string {
  const counts = (['queued', 'running', 'done', 'failed'] as const).map((s) => `${rows.filter((r) => r.state === s).length} ${s}`).join(', ');
  const lines = rows.map((r) => {
    const state = r.state === 'running' ? `running ${r.progress}%` : r.state;
    const took = r.seconds === null ? '' : ` in ${r.seconds} s`;
    const retried = r.attempts > 1 ? ` (attempt ${r.attempts}${r.stalls ? `, after a stalled worker` : ''})` : '';
    const by = r.worker ? ` by ${r.worker}` : '';
    return `${state.padEnd(12)} ${r.label}${took}${by}${retried}  [${r.id}]${r.reason ? `\n             ${r.reason}` : ''}`;
  });
  return [...lines, counts].join('\n') + '\n';
}
