/**
 * `halo` command line: the headless main job of the app. Each command lives in cli/commands/ and registers
 * itself here. Exit codes: 0 ok, 2 bad input (InputError: message says what and where), 1 internal error.
 */
import { Command } from 'commander';
import { CancelledError, InputError } from '../errors';
import { registerBenchCommand } from './commands/bench';
import { registerEvaluateCommand } from './commands/evaluate';
import { registerImportNiftiCommand } from './commands/import-nifti';
import { registerSegmentCommand } from './commands/segment';
import { registerPacsCommand } from './commands/pacs';
import { registerListenCommand } from './commands/listen';
import { registerQueueCommands } from './commands/queue';
import { registerSendCommand } from './commands/send';
import { registerServeCommand } from './commands/serve';
import pkg from '../../package.json' with { type: 'json' };

const program = new Command('halo')
  .description('Halo: brain tumour segmentation with uncertainty (diffusion-model ensembles)')
  .version(pkg.version)
  .showHelpAfterError()
  .exitOverride();

registerSegmentCommand(program);
registerPacsCommand(program);
registerSendCommand(program);
registerImportNiftiCommand(program);
registerEvaluateCommand(program);
registerBenchCommand(program);
registerServeCommand(program);
registerQueueCommands(program);
registerListenCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.exitCode = exitCodeFor(err);
}

function exitCodeFor(err: unknown): number {
  const e = err as { code?: string; exitCode?: number; message?: string };
  if (e.code?.startsWith('commander.')) {
    // commander already printed its message (bad option, --help, --version)
    return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? 0 : 2;
  }
  if (err instanceof InputError) {
    process.stderr.write(`halo: error: ${err.message}\n`);
    return 2;
  }
  if (err instanceof CancelledError) {
    process.stderr.write('halo: cancelled\n');
    return 130;
  }
  process.stderr.write(`halo: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return 1;
}
