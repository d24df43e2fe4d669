/**
 * Enqueueing a study. The job id is its cache key (jobs.ts), so submitting a study again is a no-op while it is
 * queued, running or done; a study whose job failed is tried again.
 */
import type { Queue } from 'bullmq';
import { JOB_ATTEMPTS, type JobData } from './jobs';

export type Submitted = 'queued' | 'already queued' | 'already running' | 'already done' | 'queued again (it had failed)';

export async function submitJob(queue: Queue, id: string, data: JobData): Promise<Submitted> {
  const existing = await queue.getJob(id);
  if (existing) {
    const state = await existing.getState();
    if (state === 'failed') {
      await existing.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
      return 'queued again (it had failed)';
    }
    if (state === 'completed') return 'already done';
    if (state === 'active') return 'already running';
    if (state !== 'unknown') return 'already queued';
  }
  await queue.add('segment', data, {
    jobId: id,
    attempts: JOB_ATTEMPTS,
    backoff: { type: 'exponential', delay: 10_000 },
    // Kept, so that `halo batch status` can say what happened and a resubmitted study is not computed again.
    removeOnComplete: false,
    removeOnFail: false,
  });
  return 'queued';
}
