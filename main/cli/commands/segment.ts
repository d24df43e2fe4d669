/**
 * `halo segment`: a study in, the ensemble's mean / variance / mask / members and a summary out.
 */
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { InputError } from '../../errors';
import { defaultCacheDir } from '../../engine/cache';
import { DEVICE_PREFERENCES } from '../../model/device';
import type { StudyInput } from '../../study/load-study';
import type { RoleOverrides } from '../../study/roles';
import { SEQUENCE_ROLES, type SequenceRole } from '../../volume/volume';
import { addSegmentSettingsOptions, type SegmentOptions } from './segment-options';

export function registerSegmentCommand(program: Command): void {
  const cmd = program
    .command('segment')
    .description('segment the whole tumour with an ensemble of diffusion samples (mean, variance, mask, members)')
    .option('--case <dir>', 'BraTS-layout NIfTI case folder (*_flair/_t1/_t1ce/_t2 or *-t2f/-t1n/-t1c/-t2w)')
    .option('--t1 <file>', 'T1 NIfTI')
    .option('--t1ce <file>', 'T1 post-contrast NIfTI')
    .option('--t2 <file>', 'T2 NIfTI')
    .option('--flair <file>', 'FLAIR NIfTI')
    .option('--dicom <dir>', 'DICOM study folder')
    .option('--role <ROLE=SERIES>', 'DICOM: assign a series (number, UID or description) to T1/T1ce/T2/FLAIR', (v, all: string[]) => [...all, v], [])
    .option('--allow-mixed-patients', 'DICOM: combine series whose PatientID/PatientName differ (only when they are one person)')
    .requiredOption('--out <dir>', 'output folder');
  addSegmentSettingsOptions(cmd)
    .addOption(new Option('--device <d>', 'execution provider (auto: CUDA, then WebGPU, then CPU)').choices(DEVICE_PREFERENCES).default('auto'))
    .option('--threads <n>', 'CPU threads for the model (default: every core)')
    .option('--cache <dir>', 'ensemble cache folder', defaultCacheDir())
    .option('--no-cache', 'do not read or write the ensemble cache')
    .option('--batch <n>', 'most slice x member items per model call (default: the ensemble size)')
    .option('--samples', 'also write samples.nii.gz (every ensemble member, 4D)', false)
    .option('--no-progress', 'no progress bar')
    // The work (and onnxruntime, dcmjs, ...) loads only when the command runs: `halo --help` stays instant.
    .action(async (o: SegmentOptions) => {
      await (await import('./segment-run')).segment(o, studyInput(o));
    });
}

export function studyInput(o: SegmentOptions): StudyInput {
  const files: Partial<Record<SequenceRole, string>> = { T1: o.t1, T1ce: o.t1ce, T2: o.t2, FLAIR: o.flair };
  const given = [o.case && '--case', o.dicom && '--dicom', Object.values(files).some(Boolean) && '--t1/--t1ce/--t2/--flair'].filter(Boolean);
  if (given.length !== 1) {
    throw new InputError(`Give exactly one input: --case DIR, --dicom DIR, or per-sequence files (--t1 --t1ce --t2 --flair)${given.length ? `; got ${given.join(' and ')}` : ''}.`);
  }
  if ((o.role.length || o.allowMixedPatients) && !o.dicom) throw new InputError('--role and --allow-mixed-patients only apply to --dicom studies.');
  if (o.case) return { kind: 'case', folder: resolve(o.case) };
  if (o.dicom) return { kind: 'dicom', folder: resolve(o.dicom), roles: parseRoles(o.role), allowMixedPatients: o.allowMixedPatients };
  for (const r of SEQUENCE_ROLES) if (files[r]) files[r] = resolve(files[r]!);
  return { kind: 'files', files };
}

function parseRoles(specs: string[]): RoleOverrides {
  const out: RoleOverrides = {};
  for (const s of specs) {
    const m = /^([^=]+)=(.+)$/.exec(s);
    const role = SEQUENCE_ROLES.find((r) => r.toLowerCase() === m?.[1].trim().toLowerCase());
    if (!m || !role) throw new InputError(`--role must look like ROLE=SERIES with ROLE one of ${SEQUENCE_ROLES.join(', ')}; got "${s}".`);
    out[role] = m[2].trim();
  }
  return out;
}

