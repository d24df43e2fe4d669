/**
 * A queue worker: takes one study at a time from the queue, segments it in this process with `halo segment`'s own
 * code (the output set written atomically), and sends the DICOM results to the job's PACS node through the outbox.
 *
 * Faults: a job whose input is bad fails at once with the sentence that says why (not retried); any other error is
 * retried (JOB_ATTEMPTS, 10 s then 20 s apart). A worker that dies mid-job (kill -9, power cut) stops renewing the
 * job's lock: after the stall timeout another worker takes the job again from the start (once; a job that stalls
 * twice fails). The stall timeout must be longer than the longest model call, which blocks this process's event loop.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { segment } from '../cli/commands/segment-run';
import type { SegmentOptions } from '../cli/commands/segment-options';
import { DICOM_OUTPUT_FILES } from '../engine/output-names';
import { InputError } from '../errors';
import type { DevicePreference } from '../model/device';
import type { StudyInput } from '../study/load-study';
import { parseQueueUrl, QUEUE_NAME, describeQueue } from './connection';
import { deliver, type Delivery, type DeliveryOptions } from './deliver';
import { JobDataSchema } from './jobs';

export interface WorkerOptions extends DeliveryOptions {
  queue: string;
  device: DevicePreference;
  threads?: string;
  /** Ensemble cache folder, or false for none. */
  cache: string | false;
  /** Where results of jobs without --out are written before they are sent (one folder per job). */
  workDir: string;
  /** Seconds after which a job whose worker stopped answering is given to another worker. */
  stallSeconds: number;
}

export interface JobResult {
  out: string;
  files: string[];
  worker: string;
  delivery?: Delivery;
}

export async function runWorker(o: WorkerOptions): Promise<void> {
  const name = `${hostname()}:${process.pid}`;
  const stopping = new AbortController();
  const worker = new Worker<unknown, JobResult>(QUEUE_NAME, (job) => processJob(job, o, name, stopping.signal), {
    connection: { ...parseQueueUrl(o.queue), maxRetriesPerRequest: null },
    name,
    concurrency: 1,
    lockDuration: o.stallSeconds * 1000,
    stalledInterval: o.stallSeconds * 1000,
    maxStalledCount: 1,
  });
  const log = (line: string) => process.stderr.write(`halo worker ${name}: ${line}\n`);
  worker.on('active', (job) => log(`started ${job.data && (job.data as { label?: string }).label} (job ${job.id})`));
  worker.on('completed', (job) => log(`done ${job.id}`));
  worker.on('failed', (job, err) => log(`failed ${job?.id}: ${err.message}`));
  worker.on('error', (err) => log(`queue error: ${err.message}`));
  await worker.waitUntilReady();
  log(`waiting for jobs on ${describeQueue(o.queue)} (stall timeout ${o.stallSeconds} s)`);

  // Ctrl-C / SIGTERM: finish the job in hand, take no more. A second one cancels that job; it is retried elsewhere.
  await new Promise<void>((resolve) => {
    let signals = 0;
    const onSignal = () => {
      signals++;
      if (signals === 1) {
        log('stopping after the current job (again to cancel it)');
        void worker.close().then(resolve);
      } else {
        stopping.abort();
        void worker.close(true).then(resolve); // force: do not wait for Redis either (it may be the one gone)
      }
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

async function processJob(job: Job, o: WorkerOptions, worker: string, signal: AbortSignal): Promise<JobResult> {
  const parsed = JobDataSchema.safeParse(job.data);
  if (!parsed.success) throw new UnrecoverableError(`job ${job.id} is not a Halo segmentation job (${parsed.error.issues[0]?.message}).`);
  const data = parsed.data;
  const s = data.settings;
  const options: SegmentOptions = {
    role: [],
    out: data.out ?? join(o.workDir, job.id!),
    model: s.model,
    ensemble: s.ensemble,
    steps: s.steps,
    sampler: s.sampler,
    eta: s.eta,
    seed: s.seed,
    slices: s.slices,
    screen: s.screen,
    omitEmptyFrames: s.omitEmptyFrames,
    device: o.device,
    threads: o.threads,
    samples: false,
    cache: o.cache,
    progress: false,
  };
  let shown = -1;
  const onProgress = (fraction: number) => {
    const percent = Math.floor(fraction * 100);
    if (percent === shown) return;
    shown = percent;
    job.updateProgress(percent).catch(() => undefined); // progress is for show; the lock is what matters
  };
  try {
    const written = await segment(options, data.input as StudyInput, { signal, onProgress });
    const result: JobResult = { out: written.out, files: written.files, worker };
    if (data.to) {
      const dicom = Object.values(DICOM_OUTPUT_FILES).map((f) => join(written.out, f));
      result.delivery = await deliver(dicom, data.to, o);
    }
    return result;
  } catch (err) {
    // Bad input stays bad: fail now with its sentence instead of retrying.
    if (err instanceof InputError) throw new UnrecoverableError(err.message);
    throw err;
  }
}
