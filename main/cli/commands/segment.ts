/**
 * `halo segment`: a study in, the ensemble's mean / variance / mask / members and a summary out.
 */
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import cliProgress from 'cli-progress';
import { InputError } from '../../errors';
import { defaultCacheDir } from '../../engine/cache';
import type { SliceResult } from '../../engine/ensemble';
import { buildDicomOutputs, DICOM_OUTPUT_FILES, writeDicomOutputs } from '../../engine/dicom-outputs';
import { writeOutputSet } from '../../io/output-set';
import { assembleVolumes, ensureWritableFolder, summariseSlice, writeVolumeOutputs } from '../../engine/outputs';
import { openSegmentation, parseSliceRange } from '../../engine/segment-study';
import type { StudyInput } from '../../study/load-study';
import type { RoleOverrides } from '../../study/roles';
import { SEQUENCE_ROLES, type SequenceRole } from '../../volume/volume';
import pkg from '../../../package.json' with { type: 'json' };

interface SegmentOptions {
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
  device: 'auto' | 'cpu' | 'cuda';
  cache: string | false;
  batch?: string;
  progress: boolean;
  omitEmptyFrames?: boolean;
}

const int = (name: string, v: string | undefined) => {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new InputError(`${name} must be a whole number, got "${v}".`);
  return Number(v);
};

export function registerSegmentCommand(program: Command): void {
  program
    .command('segment')
    .description('segment the whole tumour with an ensemble of diffusion samples (mean, variance, mask, members)')
    .option('--case <dir>', 'BraTS-layout NIfTI case folder (*_flair/_t1/_t1ce/_t2 or *-t2f/-t1n/-t1c/-t2w)')
    .option('--t1 <file>', 'T1 NIfTI')
    .option('--t1ce <file>', 'T1 post-contrast NIfTI')
    .option('--t2 <file>', 'T2 NIfTI')
    .option('--flair <file>', 'FLAIR NIfTI')
    .option('--dicom <dir>', 'DICOM study folder')
    .option('--role <ROLE=SERIES>', 'DICOM: assign a series (number, UID or description) to T1/T1ce/T2/FLAIR', (v, all: string[]) => [...all, v], [])
    .requiredOption('--out <dir>', 'output folder')
    .option('--model <id>', 'model id (a folder of models/)', 'wt-4seq')
    .option('--ensemble <n>', 'ensemble size (default: the model card\'s)')
    .option('--steps <k>', 'sampling steps, 1-1000 (default: the model card\'s)')
    .addOption(new Option('--sampler <kind>', 'sampler (default: the model card\'s)').choices(['ddpm', 'ddim']))
    .option('--eta <x>', 'DDIM eta, 0-1')
    .option('--seed <s>', 'random seed (same seed, same result)', '0')
    .option('--slices <A:B>', 'half-open axial slice range A <= z < B (default: all)')
    .addOption(new Option('--device <d>', 'execution provider').choices(['auto', 'cpu', 'cuda']).default('auto'))
    .option('--cache <dir>', 'ensemble cache folder', defaultCacheDir())
    .option('--no-cache', 'do not read or write the ensemble cache')
    .option('--omit-empty-frames', 'DICOM SEGs: leave out frames without tumour (the processed slices stay listed in ImageComments)')
    .option('--batch <n>', 'most slice x member items per model call (default: the ensemble size)')
    .option('--no-progress', 'no progress bar')
    .action(async (o: SegmentOptions) => segment(o));
}

function studyInput(o: SegmentOptions): StudyInput {
  const files: Partial<Record<SequenceRole, string>> = { T1: o.t1, T1ce: o.t1ce, T2: o.t2, FLAIR: o.flair };
  const given = [o.case && '--case', o.dicom && '--dicom', Object.values(files).some(Boolean) && '--t1/--t1ce/--t2/--flair'].filter(Boolean);
  if (given.length !== 1) {
    throw new InputError(`Give exactly one input: --case DIR, --dicom DIR, or per-sequence files (--t1 --t1ce --t2 --flair)${given.length ? `; got ${given.join(' and ')}` : ''}.`);
  }
  if (o.role.length && !o.dicom) throw new InputError('--role only applies to --dicom studies.');
  if (o.case) return { kind: 'case', folder: resolve(o.case) };
  if (o.dicom) return { kind: 'dicom', folder: resolve(o.dicom), roles: parseRoles(o.role) };
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

/** Every file a run may write (an earlier run's files not in the new set are removed). */
const OUTPUT_NAMES = ['mean.nii.gz', 'variance.nii.gz', 'mask.nii.gz', 'samples.nii.gz', 'summary.json', ...Object.values(DICOM_OUTPUT_FILES)];

async function segment(o: SegmentOptions): Promise<void> {
  const input = studyInput(o);
  const out = resolve(o.out);
  await ensureWritableFolder(out);
  const session = await openSegmentation(input, {
    modelId: o.model,
    device: o.device,
    sampler: { kind: o.sampler, steps: int('--steps', o.steps), eta: o.eta === undefined ? undefined : Number(o.eta) },
    ensemble: int('--ensemble', o.ensemble),
    seed: int('--seed', o.seed),
    cacheDir: o.cache === false ? null : resolve(o.cache),
  });
  const { engine, study, model, denoiser } = session;
  const grid = study.reference.geometry;
  const nz = grid.dims[2];
  const [a, b] = parseSliceRange(o.slices, nz);
  const requested = Array.from({ length: b - a }, (_, i) => a + i);
  const withBrain = requested.filter((k) => engine.study.hasBrain[k]);
  const { sampler, ensemble, seed } = engine.settings;

  const device = denoiser.device;
  process.stderr.write(
    `halo: ${model.card.id} ${model.card.version} on ${device.provider.toUpperCase()}` +
      (device.fallbackReason ? ` (CUDA not available: ${device.fallbackReason})` : '') +
      `; ${sampler.kind.toUpperCase()} ${sampler.steps} steps, ensemble ${ensemble}, seed ${seed}; ` +
      `${withBrain.length} of ${requested.length} slices have brain\n`,
  );

  for (const w of session.warnings) process.stderr.write(`halo: warning: ${w}\n`);

  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  const bar = o.progress && process.stderr.isTTY
    ? new cliProgress.SingleBar({ format: 'sampling |{bar}| {percentage}% | slices {done}/{total} | ETA {eta_s}', etaBuffer: 50 }, cliProgress.Presets.shades_classic)
    : null;
  bar?.start(100, 0, { done: 0, total: withBrain.length, eta_s: '?' });
  const t0 = performance.now();
  let results: SliceResult[];
  try {
    results = await engine.run({
      slices: withBrain,
      signal: controller.signal,
      maxBatch: int('--batch', o.batch),
      onProgress: (p) => {
        bar?.update(Math.round(p.fraction * 100), { done: p.slicesDone, total: p.slicesTotal, eta_s: p.etaSeconds === null ? '?' : `${Math.round(p.etaSeconds)}s` });
        if (!bar && p.slice) process.stderr.write(`halo: slice ${p.slice.k} done (${p.slicesDone}/${p.slicesTotal})${p.slice.fromCache ? ' from cache' : ''}\n`);
      },
    });
  } finally {
    bar?.stop();
    process.off('SIGINT', onSignal);
    await session.close();
  }
  results.sort((x, y) => x.k - y.k);
  const seconds = (performance.now() - t0) / 1000;

  const summary = {
    halo: pkg.version,
    input: { kind: input.kind, label: study.label, grid: { dims: grid.dims, spacing: grid.spacing } },
    model: { id: model.card.id, version: model.card.version, inputs: model.card.inputs },
    sampler: sampler.kind,
    steps: sampler.steps,
    eta: sampler.kind === 'ddim' ? sampler.eta : undefined,
    ensemble,
    seed,
    device,
    warnings: session.warnings,
    seconds: +seconds.toFixed(2),
    slices: {
      requested: [a, b],
      processed: results.map((r) => r.k),
      skippedNoBrain: requested.filter((k) => !engine.study.hasBrain[k]),
      notRequested: nz - requested.length,
      note: 'Slices that were not processed are 0 in every output.',
    },
    perSlice: results.map((r) => summariseSlice(r, grid, study.reference.data)),
  };
  const template = study.reference.source.kind === 'nifti' ? study.reference.source.header : undefined;
  const volumes = assembleVolumes(grid, results, ensemble);
  // Build the DICOM objects first: if they cannot be made, nothing is written.
  const dicom =
    input.kind === 'dicom'
      ? buildDicomOutputs(study, model.card, volumes, results.map((r) => r.k), { omitEmptyFrames: o.omitEmptyFrames })
      : null;
  // The whole set replaces an earlier run's as one: a full disk leaves the folder as it was, never a mix of runs.
  const written = await writeOutputSet(out, OUTPUT_NAMES, async (staging) => {
    const files = await writeVolumeOutputs(staging, grid, template, volumes, summary);
    if (dicom) files.push(...(await writeDicomOutputs(staging, dicom)));
    return files;
  });
  process.stdout.write(`halo: wrote ${written.join(', ')} to ${out} (${results.length} slices, ${seconds.toFixed(1)} s)\n`);
}
