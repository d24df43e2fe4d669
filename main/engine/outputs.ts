/**
 * Whole-volume outputs of a run on the reference grid: mean, variance, mask and, when asked for, every member
 * (4D), written as NIfTI with the input's own header (same affine, same slice order), plus summary.json.
 * Unprocessed slices are 0 everywhere and listed as such in the summary.
 */
import { access, constants, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../errors';
import { writeFileAtomic } from '../io/atomic';
import { writeNifti } from '../io/nifti';
import type { Geometry } from '../volume/volume';
import type { SliceResult } from './ensemble';

export interface VolumeOutputs {
  mean: Float32Array;
  variance: Float32Array;
  mask: Uint8Array;
  /** n volumes back to back; null unless asked for (n whole float32 volumes are most of a run's memory). */
  samples: Float32Array | null;
  ensemble: number;
}

export function assembleVolumes(grid: Geometry, results: SliceResult[], ensemble: number, opts: { samples?: boolean } = {}): VolumeOutputs {
  const plane = grid.dims[0] * grid.dims[1];
  const voxels = plane * grid.dims[2];
  const out: VolumeOutputs = {
    mean: new Float32Array(voxels),
    variance: new Float32Array(voxels),
    mask: new Uint8Array(voxels),
    samples: opts.samples ? new Float32Array(voxels * ensemble) : null,
    ensemble,
  };
  for (const r of results) {
    out.mean.set(r.mean, r.k * plane);
    out.variance.set(r.variance, r.k * plane);
    out.mask.set(r.mask, r.k * plane);
    if (out.samples) r.members.forEach((m, i) => out.samples!.set(m, i * voxels + r.k * plane));
  }
  return out;
}

export interface SliceSummary {
  k: number;
  seconds: number;
  fromCache: boolean;
  tumourAreaMm2: number;
  /** Mean ensemble variance over the slice's brain (non-zero reference) pixels. */
  meanVariance: number;
  /** Mean variance inside the predicted tumour (null when there is none). */
  meanVarianceInMask: number | null;
}

/** `brain`: slice r.k's brain (PreparedStudy.brainFor), over which the mean variance is taken. */
export function summariseSlice(r: SliceResult, grid: Geometry, brain: Uint8Array): SliceSummary {
  const plane = grid.dims[0] * grid.dims[1];
  let brainPixels = 0, vBrain = 0, tumour = 0, vTumour = 0;
  for (let p = 0; p < plane; p++) {
    if (brain[p]) {
      brainPixels++;
      vBrain += r.variance[p];
    }
    if (r.mask[p]) {
      tumour++;
      vTumour += r.variance[p];
    }
  }
  return {
    k: r.k,
    seconds: +r.seconds.toFixed(3),
    fromCache: r.fromCache,
    tumourAreaMm2: +(tumour * grid.spacing[0] * grid.spacing[1]).toFixed(2),
    meanVariance: brainPixels ? +(vBrain / brainPixels).toExponential(4) : 0,
    meanVarianceInMask: tumour ? +(vTumour / tumour).toExponential(4) : null,
  };
}

/** Fail early, before any sampling, when the output folder cannot be written. */
export async function ensureWritableFolder(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
  } catch (err) {
    throw new InputError(`Output folder ${dir} is not writable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}). Choose another --out.`);
  }
}

/** Writes the volumes side by side (each compresses on the thread pool), then summary.json; returns the file names. */
export async function writeVolumeOutputs(
  dir: string,
  grid: Geometry,
  template: Uint8Array | undefined,
  v: VolumeOutputs,
  summary: unknown,
): Promise<string[]> {
  const jobs: [string, () => Promise<void>][] = [
    ['mean.nii.gz', () => writeNifti(join(dir, 'mean.nii.gz'), grid, v.mean, { type: 'float32', template, description: 'Halo ensemble mean' })],
    ['variance.nii.gz', () => writeNifti(join(dir, 'variance.nii.gz'), grid, v.variance, { type: 'float32', template, description: 'Halo ensemble variance' })],
    ['mask.nii.gz', () => writeNifti(join(dir, 'mask.nii.gz'), grid, v.mask, { type: 'uint8', template, description: 'Halo mask (mean > 0.5)' })],
  ];
  const samples = v.samples;
  if (samples) {
    jobs.push(['samples.nii.gz', () => writeNifti(join(dir, 'samples.nii.gz'), grid, samples, { type: 'float32', template, frames: v.ensemble, description: 'Halo ensemble members' })]);
  }
  // Wait for every write to settle before reporting a failure: the caller removes the folder on failure, and a
  // write still in flight would otherwise recreate files in it afterwards.
  const settled = await Promise.allSettled(jobs.map(([, write]) => write()));
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  await writeFileAtomic(join(dir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  return [...jobs.map(([name]) => name), 'summary.json'];
}
