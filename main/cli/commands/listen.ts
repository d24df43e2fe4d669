/**
 * `halo listen`: a DICOM storage SCP (main/pacs/store-scp.ts) that queues each study it receives for the workers,
 * whose results go back to a PACS node. The work loads only when the command runs.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../../errors';
import type { JobData, SegmentSettings } from '../../queue/jobs';
import { QUEUE_HELP, settingsFrom } from './queue';
import { addSegmentSettingsOptions } from './segment-options';
import { int } from './segment-options';

interface ListenCliOptions extends SegmentSettings {
  aet: string;
  port: string;
  queue: string;
  allow: string[];
  to: string;
  store: string;
  idle: string;
}

export function registerListenCommand(program: Command): void {
  addSegmentSettingsOptions(
    program
      .command('listen')
      .description('DICOM storage SCP: collect each study sent to us, queue it, and have the workers send the results to --to')
      .requiredOption('--aet <aet>', 'our AE title (the called AE the sender must use)')
      .requiredOption('--port <port>', 'TCP port to listen on')
      .requiredOption('--queue <url>', QUEUE_HELP)
      .requiredOption('--allow <aet>', 'calling AE title allowed to send studies (repeat, or comma-separated)', (v, all: string[]) => [...all, ...v.split(',')], [])
      .requiredOption('--to <pacs>', 'PACS node the workers send the SEG, fractional SEG and Parametric Map to (name in the workers\' pacs.json, or dicom://AET@host:port)')
      .requiredOption('--store <dir>', 'where received studies are kept, one folder per study (on storage every worker can read)')
      .option('--idle <s>', 'a study is complete after this many seconds without a new instance', '30'),
  ).action(async (o: ListenCliOptions) => listen(o));
}

async function listen(o: ListenCliOptions): Promise<void> {
  const port = int('--port', o.port)!;
  if (port < 1 || port > 65535) throw new InputError(`--port must be a TCP port (1-65535), got ${o.port}.`);
  const idleSeconds = int('--idle', o.idle)!;
  if (idleSeconds < 1) throw new InputError('--idle must be at least 1 second.');
  const { isValidAeTitle } = await import('../../pacs/config');
  const allow = o.allow.map((a) => a.trim()).filter(Boolean);
  for (const aet of [o.aet, ...allow]) {
    if (!isValidAeTitle(aet)) throw new InputError(`"${aet}" is not a DICOM AE title (1-16 characters, no backslash or control characters).`);
  }
  const { readdir } = await import('node:fs/promises');
  const { openQueue, describeQueue } = await import('../../queue/connection');
  const { fallbackJobId, jobId } = await import('../../queue/jobs');
  const { submitJob } = await import('../../queue/submit');
  const { StoreScp } = await import('../../pacs/store-scp');
  const queue = await openQueue(o.queue);
  const store = resolve(o.store);
  const log = (line: string) => process.stderr.write(`halo listen: ${line}\n`);

  // One study at a time: opening a study to key its job takes a moment, and studies may complete together.
  let enqueueing = Promise.resolve();
  const enqueue = async (study: { studyInstanceUID: string; folder: string; instances: number; callingAets: string[] }) => {
    const data: JobData = { input: { kind: 'dicom', folder: study.folder, roles: {} }, label: study.studyInstanceUID, settings: settingsFrom(o), to: o.to };
    let id: string;
    try {
      id = await jobId(data);
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      // Queued anyway: its job fails with this same reason, where `halo batch status` shows it.
      log(`study ${study.studyInstanceUID} cannot be segmented: ${err.message}`);
      id = fallbackJobId(data, await readdir(study.folder));
    }
    const state = await submitJob(queue, id, data);
    log(`study ${study.studyInstanceUID} (${study.instances} instances from ${study.callingAets.join(', ')}): ${state} [${id}]`);
  };
  const scp = new StoreScp({
    port,
    aet: o.aet,
    allow,
    dir: store,
    idleSeconds,
    log,
    onStudyComplete: (study) => {
      enqueueing = enqueueing
        .then(() => enqueue(study))
        .catch((err: Error) => {
          log(`could not queue study ${study.studyInstanceUID}: ${err.message}`);
        });
    },
  });
  try {
    await scp.start();
  } catch (err) {
    await queue.close();
    throw new InputError(`cannot listen on port ${port}: ${(err as Error).message}. Choose another --port.`);
  }
  log(`${o.aet} listening on port ${port} for ${allow.join(', ')}; studies complete after ${idleSeconds} s idle, queued on ${describeQueue(o.queue)}, results to ${o.to}`);
  await new Promise<void>((done) => {
    const stop = () => {
      const unfinished = scp.stop();
      log(
        'stopped' +
          (unfinished.length
            ? `; ${unfinished.length} study(ies) still arriving were not queued (their instances stay in ${store}; have the sender send them again): ${unfinished.join(', ')}`
            : ''),
      );
      done();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await enqueueing;
  await queue.close();
}
