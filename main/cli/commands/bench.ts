/**
 * `halo bench` (npm run bench): where the time goes, on this machine, measured in one run (see bench-run.ts).
 */
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { DEVICE_PREFERENCES } from '../../model/device';
import type { BenchOptions } from './bench-options';

export function registerBenchCommand(program: Command): void {
  program
    .command('bench')
    .description('benchmark: start-up, per-step time, slice in view, whole volume, fixed overhead, peak RSS, PyTorch reference')
    .option('--case <dir>', 'BraTS case folder to run on', resolve('..', 'shared', 'data', 'brats', 'BraTS-GLI-00027-000'))
    .option('--model <id>', 'model id', 'wt-4seq')
    .option('--slice <k>', 'the "slice in view"', '75')
    .addOption(new Option('--device <d>', 'execution provider').choices(DEVICE_PREFERENCES).default('auto'))
    .option('--threads <n>', 'CPU threads for the model (default: every core)')
    .option('--no-python', 'skip the PyTorch reference')
    .option('--no-volume', 'skip the whole-volume CLI run (minutes on a CPU)')
    .option('--json', 'print JSON only')
    .action(async (o: BenchOptions) => (await import('./bench-run')).bench(o));
}
