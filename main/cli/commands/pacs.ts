/**
 * `halo pacs echo|find|get`: talk to a PACS named in the PACS settings, or given as a DICOMweb URL
 * (http://host:8042/dicom-web) or dicom://AET@host:port. Progress goes to stderr, results to stdout.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../../errors';
import type { StudyQuery, StudySummary } from '../../pacs/types';

interface CommonOptions {
  config?: string;
  callingAet?: string;
  auth?: string;
}

/**
 * The connection options as connectPacs takes them. Credentials: --auth, else $HALO_PACS_AUTHORIZATION (better:
 * a command line is visible to other users in the process list), else the node's authHeader in the settings.
 */
export function connectionOptions(opts: CommonOptions): {
  configPath?: string;
  callingAet?: string;
  authorization?: string;
  onWarning: (message: string) => void;
} {
  return {
    configPath: opts.config,
    callingAet: opts.callingAet,
    authorization: opts.auth ?? (process.env.HALO_PACS_AUTHORIZATION || undefined),
    onWarning: (message) => process.stderr.write(`halo: warning: ${message}\n`),
  };
}

const ENDPOINT_HELP = 'node name from the PACS settings, DICOMweb URL (http://host:port/dicom-web) or dicom://AET@host:port';

export function addPacsConnectionOptions(cmd: Command): Command {
  return cmd
    .option('--config <file>', 'PACS settings file (default: $HALO_PACS_CONFIG or ~/.config/halo/pacs.json)')
    .option('--calling-aet <aet>', 'our AE title for DIMSE (default: callingAet from the settings, else HALO)')
    .option(
      '--auth <value>',
      'HTTP Authorization value for DICOMweb, e.g. "Bearer TOKEN" (prefer $HALO_PACS_AUTHORIZATION: options show in the process list)',
    );
}

export function registerPacsCommand(program: Command): void {
  const pacs = program.command('pacs').description('query, retrieve from and check a PACS (DICOMweb or DIMSE)');

  addPacsConnectionOptions(
    pacs
      .command('echo')
      .description('check that a PACS answers (C-ECHO, or a minimal QIDO-RS query for DICOMweb)')
      .requiredOption('--to <pacs>', ENDPOINT_HELP),
  ).action(async (opts: CommonOptions & { to: string }) => {
    const { connectPacs } = await import('../../pacs/client');
    const { client } = await connectPacs(opts.to, connectionOptions(opts));
    const { ms } = await client.echo();
    process.stdout.write(`${client.label}: OK (${ms} ms)\n`);
  });

  addPacsConnectionOptions(
    pacs
      .command('find')
      .description('find studies (QIDO-RS or C-FIND at study level)')
      .requiredOption('--from <pacs>', ENDPOINT_HELP)
      .option('--patient-name <pattern>', 'patient name, DICOM wildcards * and ? allowed (e.g. "DOE^J*")')
      .option('--patient-id <id>', 'patient ID')
      .option('--study-date <date>', 'YYYYMMDD or range YYYYMMDD-YYYYMMDD')
      .option('--accession <number>', 'accession number')
      .option('--study-uid <uid>', 'Study Instance UID')
      .option('--limit <n>', 'at most this many studies')
      .option('--json', 'print JSON instead of a table'),
  ).action(
    async (
      opts: CommonOptions & {
        from: string;
        patientName?: string;
        patientId?: string;
        studyDate?: string;
        accession?: string;
        studyUid?: string;
        limit?: string;
        json?: boolean;
      },
    ) => {
      if (opts.studyDate && !/^(\d{8})?(-(\d{8})?)?$/.test(opts.studyDate)) {
        throw new InputError(`--study-date must be YYYYMMDD or a range YYYYMMDD-YYYYMMDD, got "${opts.studyDate}".`);
      }
      if (opts.limit !== undefined && !/^[1-9]\d*$/.test(opts.limit)) {
        throw new InputError(`--limit must be a positive whole number, got "${opts.limit}".`);
      }
      const query: StudyQuery = {
        patientName: opts.patientName,
        patientId: opts.patientId,
        studyDate: opts.studyDate,
        accessionNumber: opts.accession,
        studyInstanceUID: opts.studyUid,
        limit: opts.limit ? Number(opts.limit) : undefined,
      };
      const { connectPacs } = await import('../../pacs/client');
      const { client } = await connectPacs(opts.from, connectionOptions(opts));
      const studies = await client.findStudies(query);
      if (opts.json) process.stdout.write(`${JSON.stringify(studies, null, 2)}\n`);
      else process.stdout.write(studyTable(studies));
      process.stderr.write(`${studies.length} stud${studies.length === 1 ? 'y' : 'ies'} on ${client.label}\n`);
    },
  );

  addPacsConnectionOptions(
    pacs
      .command('get')
      .description('retrieve a study into a folder (WADO-RS or C-GET), as <out>/<SeriesUID>/<SOPInstanceUID>.dcm')
      .argument('<studyUid>', 'Study Instance UID (see `halo pacs find`)')
      .requiredOption('--from <pacs>', ENDPOINT_HELP)
      .requiredOption('--out <dir>', 'output folder (created if needed)'),
  ).action(async (studyUid: string, opts: CommonOptions & { from: string; out: string }) => {
    const { connectPacs } = await import('../../pacs/client');
    const { client } = await connectPacs(opts.from, connectionOptions(opts));
    const out = resolve(opts.out);
    const controller = new AbortController();
    const onSigint = () => controller.abort();
    process.once('SIGINT', onSigint);
    const tty = process.stderr.isTTY;
    try {
      const { files } = await client.retrieveStudy(studyUid, out, {
        signal: controller.signal,
        onProgress: ({ done, total }) => {
          const line = `retrieving from ${client.label}: ${done}${total ? `/${total}` : ''} instances`;
          if (tty) process.stderr.write(`\r${line}`);
          else if (done === total || done % 50 === 0) process.stderr.write(`${line}\n`);
        },
      });
      if (tty) process.stderr.write('\n');
      process.stdout.write(`${files.length} instance(s) of study ${studyUid} written to ${out}\n`);
    } finally {
      process.off('SIGINT', onSigint);
    }
  });
}

function studyTable(studies: StudySummary[]): string {
  const header = ['PATIENT NAME', 'PATIENT ID', 'DATE', 'MODALITIES', 'SERIES', 'DESCRIPTION', 'STUDY UID'];
  const rows = studies.map((s) => [
    s.patientName,
    s.patientId,
    s.studyDate,
    s.modalities.join(','),
    s.numberOfSeries === undefined ? '' : String(s.numberOfSeries),
    s.studyDescription,
    s.studyInstanceUID,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [fmt(header), ...rows.map(fmt)].join('\n') + '\n';
}
