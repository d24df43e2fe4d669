/**
 * `halo segment`'s options as commander hands them over, shared by the command (segment.ts) and its work
 * (segment-run.ts), which loads only when the command runs.
 */
import { Option, type Command } from 'commander';
import { InputError } from '../../errors';
import type { DevicePreference } from '../../model/device';

export interface SegmentOptions {
  case?: string;
  t1?: string;
  t1ce?: string;
  t2?: string;
  flair?: string;
  dicom?: string;
  role: string[];
  out: string;
  model: string;
  ensemble?: string;
  steps?: string;
  sampler?: 'ddpm' | 'ddim';
  eta?: string;
  seed: string;
  slices?: string;
  device: DevicePreference;
  threads?: string;
  samples: boolean;
  screen: boolean;
  cache: string | false;
  batch?: string;
  progress: boolean;
  omitEmptyFrames?: boolean;
  allowMixedPatients?: boolean;
}

/** A whole-number option (commander gives strings), or undefined when not given. */
export const int = (name: string, v: string | undefined) => {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new InputError(`${name} must be a whole number, got "${v}".`);
  return Number(v);
};

/** The settings of a segmentation, shared by `halo segment` and the queue's commands (same names, same defaults). */
export function addSegmentSettingsOptions(cmd: Command): Command {
  return cmd
    .option('--model <id>', 'model id (a folder of models/)', 'wt-4seq')
    .option('--ensemble <n>', 'ensemble size (default: the model card\'s)')
    .option('--steps <k>', 'sampling steps, 1-1000 (default: the model card\'s)')
    .addOption(new Option('--sampler <kind>', 'sampler (default: the model card\'s)').choices(['ddpm', 'ddim']))
    .option('--eta <x>', 'DDIM eta, 0-1')
    .option('--seed <s>', 'random seed (same seed, same result)', '0')
    .option('--slices <A:B>', 'half-open axial slice range A <= z < B (default: all)')
    .option('--no-screen', 'sample every slice in full (default: runs over 8+ slices sample member 1 of every slice first, the rest only where it shows tumour)')
    .option('--omit-empty-frames', 'DICOM SEGs: leave out frames without tumour (the processed slices stay listed in ImageComments)');
}
