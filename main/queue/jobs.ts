/**
 * What a queued segmentation job holds, and its id. The id is the study's result-cache key (the inputs' content,
 * model, preprocessing, sampler and seed: see engine/cache.ts) plus what else changes the outputs (ensemble size,
 * slices, screening) and where they go, so the same study submitted twice is one job, computed once.
 */
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { z } from 'zod';
import { cacheKeyOf } from '../engine/cache';
import { cacheKeyParts, parseSliceRange, resolveSettings } from '../engine/segment-study';
import { InputError } from '../errors';
import { loadModel } from '../model/card';
import { loadStudy } from '../study/load-study';

/** The `halo segment` options a job carries, as given on the command line (checked when the job is planned). */
export const SegmentSettingsSchema = z.object({
  model: z.string(),
  ensemble: z.string().optional(),
  steps: z.string().optional(),
  sampler: z.enum(['ddpm', 'ddim']).optional(),
  eta: z.string().optional(),
  seed: z.string(),
  slices: z.string().optional(),
  screen: z.boolean(),
  omitEmptyFrames: z.boolean().optional(),
});
export type SegmentSettings = z.infer<typeof SegmentSettingsSchema>;

export const JobDataSchema = z.object({
  input: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('case'), folder: z.string() }),
    z.object({ kind: z.literal('dicom'), folder: z.string(), roles: z.record(z.string(), z.string()) }),
  ]),
  /** How the study is named in `halo batch status`. */
  label: z.string(),
  settings: SegmentSettingsSchema,
  /** Folder for the results (on storage every worker can write). */
  out: z.string().optional(),
  /** PACS node (name in the worker's pacs.json, DICOMweb URL or dicom://AET@host:port) for the DICOM results. */
  to: z.string().optional(),
});
export type JobData = z.infer<typeof JobDataSchema>;
export type JobInput = JobData['input'];

/** Retries for a job that failed for a reason other than its input (a stalled worker is retried apart from these). */
export const JOB_ATTEMPTS = 3;

const num = (name: string, v: string | undefined) => {
  if (v === undefined) return undefined;
  if (!/^\d+(\.\d+)?$/.test(v)) throw new InputError(`${name} must be a number, got "${v}".`);
  return Number(v);
};

/**
 * Opens the study (so a bad input is reported at once, by whoever submits it) and returns the job's id: what
 * `halo segment` would key its cache by, plus the settings outside that key and the destination.
 */
export async function jobId(data: JobData): Promise<string> {
  const s = data.settings;
  const { card } = await loadModel(s.model);
  const settings = resolveSettings(card, {
    sampler: { kind: s.sampler, steps: num('--steps', s.steps), eta: num('--eta', s.eta) },
    ensemble: num('--ensemble', s.ensemble),
    seed: num('--seed', s.seed),
  });
  const study = await loadStudy(data.input, card.inputs);
  const slices = parseSliceRange(s.slices, study.reference.geometry.dims[2]);
  const cacheKey = cacheKeyOf(cacheKeyParts(card, study.identity, settings));
  return hashId({ cacheKey, ensemble: settings.ensemble, slices, screen: s.screen, omitEmptyFrames: !!s.omitEmptyFrames, out: data.out, to: data.to });
}

/** An id for a study that cannot be opened (its job fails with the reason): its folder and file names. */
export function fallbackJobId(data: JobData, files: string[]): string {
  return hashId({ folder: data.input.folder, files: [...files].sort(), settings: data.settings, out: data.out, to: data.to });
}

function hashId(parts: unknown): string {
  // BullMQ ids must not be plain integers or contain ':'; a hex digest is neither.
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 32);
}

/** A study's label: its folder's name. */
export function labelOf(input: JobInput): string {
  return basename(input.folder);
}
