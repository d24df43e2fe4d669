/**
 * `halo send FILES… --to PACS`: every file goes through the local outbox and leaves it only once the PACS
 * confirmed it and a read-back finds it. `halo send --retry --to PACS` sends whatever is still waiting.
 * Per-file status on stderr as it happens; a per-file result on stdout; exit 2 if anything stayed in the outbox.
 */
import type { Command } from 'commander';
import { InputError } from '../../errors';
import { addPacsConnectionOptions, connectionOptions } from './pacs';
import type { OutboxEvent } from '../../pacs/outbox';

interface SendOptions {
  to: string;
  retry?: boolean;
  outbox?: string;
  config?: string;
  callingAet?: string;
  auth?: string;
  json?: boolean;
  verify?: string;
  commitmentPort?: string;
}

export function registerSendCommand(program: Command): void {
  addPacsConnectionOptions(
    program
      .command('send')
      .description('send DICOM files to a PACS through the outbox (confirmed + read back, else kept for --retry)')
      .argument('[files...]', 'DICOM Part 10 files (e.g. Halo SEG / Parametric Map objects)')
      .requiredOption('--to <pacs>', 'node name from the PACS settings, DICOMweb URL or dicom://AET@host:port')
      .option('--retry', 'also (or only, without files) send what is waiting in the outbox for that PACS')
      .option('--outbox <dir>', 'outbox root (default: $HALO_OUTBOX_DIR, outboxDir in the settings, ~/.local/share/halo/outbox)')
      .option('--verify <how>', 'cfind: query the PACS for each stored file (default, or the node\'s verification setting); commitment: DICOM Storage Commitment (DIMSE); none: trust the store confirmation')
      .option('--commitment-port <port>', 'port where Halo listens for the PACS\'s storage commitment report (default: storageCommitment.port in the settings)')
      .option('--json', 'print the per-file results as JSON'),
  ).action(async (files: string[], opts: SendOptions) => {
    if (files.length === 0 && !opts.retry) {
      throw new InputError('nothing to send: give DICOM files, or --retry to send what is waiting in the outbox.');
    }
    if (opts.verify !== undefined && opts.verify !== 'cfind' && opts.verify !== 'commitment' && opts.verify !== 'none') {
      throw new InputError(`--verify must be cfind, commitment or none, got "${opts.verify}".`);
    }
    const commitmentPort = opts.commitmentPort === undefined ? undefined : Number(opts.commitmentPort);
    if (commitmentPort !== undefined && !(Number.isInteger(commitmentPort) && commitmentPort >= 1 && commitmentPort <= 65535)) {
      throw new InputError(`--commitment-port must be a TCP port (1-65535), got "${opts.commitmentPort}".`);
    }
    const { connectPacs } = await import('../../pacs/client');
    const { loadPacsSettings, redactSpec } = await import('../../pacs/config');
    const { Outbox, OutboxBusyError } = await import('../../pacs/outbox');
    const { settings } = await loadPacsSettings({ configPath: opts.config });
    if (commitmentPort) settings.storageCommitment = { ...settings.storageCommitment, port: commitmentPort };
    const { client, endpoint } = await connectPacs(opts.to, { ...connectionOptions(opts), settings });
    const verification = (opts.verify as 'cfind' | 'commitment' | 'none' | undefined) ?? endpoint.verification;
    if (verification === 'commitment' && endpoint.kind !== 'dimse') {
      throw new InputError(`--verify commitment needs a DIMSE node (dicom://AET@host:port); ${opts.to} is DICOMweb. Use cfind or none.`);
    }
    if (verification === 'commitment' && !settings.storageCommitment) {
      throw new InputError(
        'storage commitment needs a port where Halo listens for the PACS\'s report: give --commitment-port N (or storageCommitment.port in ' +
          'the PACS settings), and register our AE title on the PACS with this computer\'s address and that port.',
      );
    }
    const root = opts.outbox ?? (process.env.HALO_OUTBOX_DIR || undefined) ?? settings.outboxDir;
    const outbox = Outbox.forEndpoint(endpoint, root);

    const onEvent = (e: OutboxEvent) => {
      const name = e.entry.source;
      const extra = e.reason ? `: ${e.reason}` : '';
      process.stderr.write(`${e.state.padEnd(8)} ${name}${extra}\n`);
    };
    if (files.length) await outbox.enqueue(files, onEvent);
    else {
      const waiting = await outbox.list();
      process.stderr.write(`${waiting.length} file(s) waiting in ${outbox.dir}\n`);
      for (const entry of waiting) onEvent({ state: 'queued', entry });
    }

    // Every option that chose the PACS, our AE title or the outbox, so the retry goes where this send went.
    const retry = [
      'halo send --retry --to',
      shellQuote(redactSpec(opts.to)),
      ...(opts.config ? ['--config', shellQuote(opts.config)] : []),
      ...(opts.callingAet ? ['--calling-aet', shellQuote(opts.callingAet)] : []),
      ...(opts.outbox ? ['--outbox', shellQuote(opts.outbox)] : []),
      ...(opts.verify ? ['--verify', opts.verify] : []),
      ...(commitmentPort ? ['--commitment-port', String(commitmentPort)] : []),
    ].join(' ');
    const controller = new AbortController();
    const onSigint = () => controller.abort();
    process.once('SIGINT', onSigint);
    let result;
    try {
      result = await outbox.flush(client, {
        onEvent,
        signal: controller.signal,
        verification,
      });
    } catch (err) {
      if (err instanceof OutboxBusyError) throw new InputError(`${err.message} To send later yourself: ${retry}`);
      throw err;
    } finally {
      process.off('SIGINT', onSigint);
    }

    if (opts.json) {
      const rows = [
        ...result.verified.map((e) => ({ status: 'verified', source: e.source, sopInstanceUID: e.sopInstanceUID })),
        ...result.stored.map(({ entry, reason }) => ({ status: 'stored-not-verified', source: entry.source, sopInstanceUID: entry.sopInstanceUID, reason })),
        ...result.failed.map(({ entry, reason }) => ({
          status: 'in-outbox',
          source: entry.source,
          outboxFile: entry.file,
          sopInstanceUID: entry.sopInstanceUID,
          reason,
        })),
      ];
      process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    } else {
      for (const e of result.verified) process.stdout.write(`verified   ${e.source} (SOP ${e.sopInstanceUID})\n`);
      for (const { entry } of result.stored) process.stdout.write(`stored     ${entry.source} (SOP ${entry.sopInstanceUID}, not verified)\n`);
      for (const { entry } of result.failed) process.stdout.write(`in outbox  ${entry.file} (from ${entry.source})\n`);
    }
    if (result.failed.length) {
      throw new InputError(
        `${result.failed.length} file(s) were not confirmed by ${client.label} and stay in the outbox ${outbox.dir}. ` +
          `First reason: ${result.failed[0].reason} Retry with: ${retry}`,
      );
    }
    process.stderr.write(`${result.verified.length} file(s) sent to ${client.label} and verified\n`);
    if (result.stored.length) {
      process.stderr.write(
        `${result.stored.length} file(s) stored on ${client.label} (confirmed by the PACS) but not verified: ${result.stored[0].reason}\n`,
      );
    }
  });
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9@%+=:,./_-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
