/**
 * Segmentation on a job queue (Redis + BullMQ, see main/queue/): `halo worker`, `halo batch submit|status` (and the
 * options a job carries, shared with `halo listen`).
 * The work loads only when a command runs.
 */
import { join, resolve } from 'node:path';
import { homedir } from 'node:os';
import { Command, Option } from 'commander';
import { InputError } from '../../errors';
import { defaultCacheDir } from '../../engine/cache';
import { DEVICE_PREFERENCES, type DevicePreference } from '../../model/device';
import type { JobData, SegmentSettings } from '../../queue/jobs';
import { addSegmentSettingsOptions, int } from './segment-options';

export const QUEUE_HELP = 'the queue: Redis URL, redis://HOST:PORT[/DB]';

export function settingsFrom(o: SegmentSettings): SegmentSettings {
  return {
    model: o.model, ensemble: o.ensemble, steps: o.steps, sampler: o.sampler, eta: o.eta, seed: o.seed, slices: o.slices, screen: o.screen,
    omitEmptyFrames: o.omitEmptyFrames,
  };
}

function defaultWorkDir(): string {
  return join(process.env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'halo', 'worker');
}

interface WorkerCliOptions {
  queue: string;
  device: DevicePreference;
  threads?: string;
  cache: string | false;
  work: string;
  stallTimeout: string;
  config?: string;
  outbox?: string;
}

interface SubmitCliOptions extends SegmentSettings {
  queue: string;
  case: string[];
  dicom: string[];
  out?: string;
  to?: string;
}

export function registerQueueCommands(program: Command): void {
  program
    .command('worker')
    .description('segment studies from the queue, one at a time, until stopped (Ctrl-C: after the current study)')
    .requiredOption('--queue <url>', QUEUE_HELP)
    .addOption(new Option('--device <d>', 'execution provider').choices(DEVICE_PREFERENCES).default('auto'))
    .option('--threads <n>', 'CPU threads for the model (default: every core)')
    .option('--cache <dir>', 'ensemble cache folder', defaultCacheDir())
    .option('--no-cache', 'do not read or write the ensemble cache')
    .option('--work <dir>', 'folder for the results of jobs sent to a PACS (--to), one folder per job', defaultWorkDir())
    .option('--stall-timeout <s>', 'seconds after which the job of a worker that stopped answering goes to another worker', '60')
    .option('--config <file>', 'PACS settings for the jobs\' --to nodes (default: $HALO_PACS_CONFIG or ~/.config/halo/pacs.json)')
    .option('--outbox <dir>', 'outbox root for results sent to a PACS (default: as halo send)')
    .action(async (o: WorkerCliOptions) => {
      const stallSeconds = int('--stall-timeout', o.stallTimeout)!;
      if (stallSeconds < 1) throw new InputError('--stall-timeout must be at least 1 second.');
      const { parseQueueUrl } = await import('../../queue/connection');
      parseQueueUrl(o.queue);
      const { runWorker } = await import('../../queue/worker');
      await runWorker({
        queue: o.queue,
        device: o.device,
        threads: o.threads,
        cache: o.cache === false ? false : resolve(o.cache),
        workDir: resolve(o.work),
        stallSeconds,
        config: o.config,
        outbox: o.outbox,
      });
    });

  const batch = program.command('batch').description('segment many studies on the queue\'s workers');
  addSegmentSettingsOptions(
    batch
      .command('submit')
      .description('enqueue one job per study (a study already queued, running or done is not computed again)')
      .requiredOption('--queue <url>', QUEUE_HELP)
      .option('--case <dir>', 'BraTS-layout NIfTI case folder (repeat for more)', (v, all: string[]) => [...all, v], [])
      .option('--dicom <dir>', 'DICOM study folder (repeat for more)', (v, all: string[]) => [...all, v], [])
      .option('--out <dir>', 'results folder, one subfolder per study (on storage every worker can write)')
      .option('--to <pacs>', 'send the DICOM results (SEG, fractional SEG, Parametric Map) to this PACS node (name in the workers\' pacs.json, or dicom://AET@host:port)'),
  ).action(async (o: SubmitCliOptions) => submit(o));

  batch
    .command('status')
    .description('every job: queued, running, done or failed, with the reason and the time it took')
    .requiredOption('--queue <url>', QUEUE_HELP)
    .option('--json', 'as JSON')
    .action(async (o: { queue: string; json?: boolean }) => {
      const { openQueue } = await import('../../queue/connection');
      const { formatRows, listJobs } = await import('../../queue/status');
      const queue = await openQueue(o.queue);
      try {
        const rows = await listJobs(queue);
        process.stdout.write(o.json ? `${JSON.stringify(rows, null, 2)}\n` : formatRows(rows));
      } finally {
        await queue.close();
      }
    });
}

async function submit(o: SubmitCliOptions): Promise<void> {
  const inputs: JobData['input'][] = [
    ...o.case.map((f) => ({ kind: 'case' as const, folder: resolve(f) })),
    ...o.dicom.map((f) => ({ kind: 'dicom' as const, folder: resolve(f), roles: {} })),
  ];
  if (!inputs.length) throw new InputError('nothing to submit: give one or more --case DIR or --dicom DIR.');
  if (!o.out && !o.to) throw new InputError('say where the results go: --out DIR (a subfolder per study) and/or --to PACS.');
  if (o.to && o.case.length) throw new InputError('--to sends DICOM results, which need DICOM input: use --dicom for studies sent to a PACS, or --out.');
  const { jobId, labelOf } = await import('../../queue/jobs');
  const { openQueue } = await import('../../queue/connection');
  const { submitJob } = await import('../../queue/submit');
  const labels = inputs.map(labelOf);
  const twice = labels.find((l, i) => labels.indexOf(l) !== i);
  if (twice && o.out) throw new InputError(`two studies are named ${twice}: their results would share ${join(resolve(o.out), twice)}. Submit them with different --out.`);
  const queue = await openQueue(o.queue);
  let bad = 0;
  try {
    for (const [i, input] of inputs.entries()) {
      const data: JobData = { input, label: labels[i], settings: settingsFrom(o), out: o.out && join(resolve(o.out), labels[i]), to: o.to };
      try {
        // Opening each study here reports a bad one now, to whoever submits it, rather than later in a worker.
        const id = await jobId(data);
        process.stdout.write(`${(await submitJob(queue, id, data)).padEnd(12)} ${labels[i]}  [${id}]\n`);
      } catch (err) {
        if (!(err instanceof InputError)) throw err;
        bad++;
        process.stderr.write(`halo: not submitted: ${input.folder}: ${err.message}\n`);
      }
    }
  } finally {
    await queue.close();
  }
  if (bad) throw new InputError(`${bad} of ${inputs.length} studies were not submitted (the reasons are above); the others are queued.`);
}
