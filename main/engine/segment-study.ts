/**
 * One segmentation session: model + study + settings → an EnsembleEngine ready to run slices. Used by the CLI
 * and by the app's IPC handlers alike.
 */
import { InputError } from '../errors';
import { loadModel, type ModelCard, type ModelEntry } from '../model/card';
import { DenoiserSession, type DevicePreference } from '../model/onnx-session';
import type { SamplerSettings } from '../sampler/samplers';
import { loadStudy, type Study, type StudyInput } from '../study/load-study';
import { bridgeGaps, missingSlices, refuseRangeAcrossGap, type RangeWords } from '../volume/gaps';
import type { SequenceRole, Volume } from '../volume/volume';
import { BRAIN_EXTRACTION_VERSION, brainIfUnstripped } from './brain-extraction';
import { BrainStats } from './brain-stats';
import { MemberCache } from './cache';
import { EnsembleEngine, type EnsembleSettings } from './ensemble';
import { prepareStudy, type PreparedStudy } from './preprocess';

export interface SegmentationOptions {
  modelId: string;
  device: DevicePreference;
  /** Defaults come from the model card. */
  sampler?: Partial<SamplerSettings>;
  ensemble?: number;
  seed?: number;
  /** Folder of the on-disk cache, or null for memory only. */
  cacheDir: string | null;
  /** CPU intra-op threads (default: every core). */
  threads?: number;
}

export interface SegmentationSession {
  model: ModelEntry;
  study: Study;
  engine: EnsembleEngine;
  denoiser: DenoiserSession;
  /** Things the user should know before trusting the result (shown by the CLI and the app, kept in summaries). */
  warnings: string[];
  /** Whether the brain was extracted automatically (a study with the skull) rather than taken as its non-zero voxels. */
  brainExtracted: boolean;
  close(): Promise<void>;
}

/** Said (CLI, app, summaries, DICOM descriptions) whenever Halo extracted the brain itself. */
export const BRAIN_EXTRACTED_NOTE =
  'brain extracted automatically: the study is not skull-stripped, so Halo found the brain itself (check its outline); ' +
  'nothing outside it is segmented';

/**
 * Said (CLI, app) with a run at the model's default size on a study whose brain Halo extracted, when the card asks
 * for a size of its own there; else undefined.
 */
export function skullEnsembleNote(card: ModelCard, brainExtracted: boolean): string | undefined {
  const n = card.defaults.ensembleBrainExtracted;
  if (!brainExtracted || n === undefined) return undefined;
  return (
    `${n} samples, the model's default on a study with the skull (with ${card.defaults.ensemble}, its validation on such ` +
    'studies showed scattered false positives, which more samples average away)'
  );
}

/** The model's ensemble size for a study, unless the user chose one: larger where the card asks it for a study with the skull. */
export function defaultEnsemble(card: ModelCard, brainExtracted: boolean): number {
  return (brainExtracted ? card.defaults.ensembleBrainExtracted : undefined) ?? card.defaults.ensemble;
}

/**
 * The card's defaults filled in and every setting checked (bad values are InputErrors that name the option).
 * brainExtracted: whether Halo extracted the brain of the study (it may change the default ensemble size).
 */
export function resolveSettings(
  card: ModelCard,
  opts: Pick<SegmentationOptions, 'sampler' | 'ensemble' | 'seed'>,
  brainExtracted = false,
): EnsembleSettings {
  const sampler: SamplerSettings = {
    kind: opts.sampler?.kind ?? card.defaults.sampler,
    steps: opts.sampler?.steps ?? card.defaults.steps,
    eta: opts.sampler?.eta ?? card.defaults.eta,
  };
  if (!Number.isInteger(sampler.steps) || sampler.steps < 1 || sampler.steps > card.schedule.T) {
    throw new InputError(`--steps must be an integer from 1 to ${card.schedule.T}, got ${sampler.steps}.`);
  }
  if (!(sampler.eta >= 0 && sampler.eta <= 1)) throw new InputError(`--eta must be between 0 and 1, got ${sampler.eta}.`);
  const ensemble = opts.ensemble ?? defaultEnsemble(card, brainExtracted);
  if (!Number.isInteger(ensemble) || ensemble < 1 || ensemble > 100) throw new InputError(`--ensemble must be an integer from 1 to 100, got ${ensemble}.`);
  const seed = opts.seed ?? 0;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new InputError(`--seed must be an integer from 0 to 4294967295, got ${seed}.`);
  return { sampler, ensemble, seed };
}

/**
 * What the member cache is keyed by (see cache.ts): the inputs' content, model, preprocessing, sampler and seed.
 * `halo batch` keys its jobs by the same, so a study submitted twice is one job.
 */
export function cacheKeyParts(card: ModelCard, identity: Study['identity'], settings: EnsembleSettings, brainExtracted = false): unknown {
  const { sampler, seed } = settings;
  // brainExtracted only when true: the keys of skull-stripped studies stay those of earlier versions. Its value is
  // the extraction's version, so that results made with an earlier brain are not read back as this one's.
  return {
    inputs: card.inputs.map((r) => identity[r]),
    model: [card.id, card.version],
    preprocessing: card.preprocessing,
    ...(brainExtracted ? { brainExtracted: BRAIN_EXTRACTION_VERSION } : {}),
    sampler,
    seed,
  };
}

export async function openSegmentation(input: StudyInput, opts: SegmentationOptions): Promise<SegmentationSession> {
  DenoiserSession.prefetchRuntime();
  const model = await loadModel(opts.modelId);
  const card = model.card;
  resolveSettings(card, opts); // a bad setting is reported before the study is read

  // The ONNX session is created (synchronously, inside onnxruntime) while the input files decompress on the
  // thread pool: the two biggest fixed costs of a run overlap.
  let sessionP: Promise<DenoiserSession> | undefined;
  const startSession = () => {
    sessionP ??= DenoiserSession.create(model.onnxPath, opts.device, card.onnx, { threads: opts.threads });
    sessionP.catch(() => undefined); // handled below, once the study is loaded
  };
  // The normalisation's statistics are gathered volume by volume as each input is decoded (see BrainStats).
  let gathered: BrainStats | undefined;
  const onVolumeDecoded = (role: SequenceRole, { data }: Volume) => {
    if (!card.inputs.includes(role)) return;
    gathered ??= new BrainStats(data.length);
    if (data.length === gathered.voxels) gathered.add(data); // else the grids differ: prepareStudy computes them itself
  };
  let study: Study;
  try {
    study = await loadStudy(input, card.inputs, { onFilesRead: startSession, onVolumeDecoded });
  } catch (err) {
    await sessionP?.then((s) => s.release(), () => undefined);
    throw err;
  }
  startSession();
  const denoiser = await sessionP!;
  try {
    // A study with the skull: the brain comes from the FLAIR (the reference), which shows it best against the scalp.
    const g = study.reference.geometry;
    const brain = brainIfUnstripped(bridgeGaps(study.reference.data, g.dims, study.gaps), g) ?? undefined;
    // Missing slices hold no brain, whatever was bridged over them: they are never segmented.
    for (const k of missingSlices(study.gaps)) brain?.fill(0, k * g.dims[0] * g.dims[1], (k + 1) * g.dims[0] * g.dims[1]);
    const prepared = prepareStudy(card, study.reference.geometry, card.inputs.map((r) => study.aligned[r]!), gathered, brain);
    if (!prepared) {
      throw new InputError(
        brain
          ? `${study.label}: the study is not skull-stripped and no brain was found in its FLAIR; nothing to segment.`
          : `${study.label}: no voxel of any input sequence is non-zero; nothing to segment.`,
      );
    }
    const settings = resolveSettings(card, opts, brain !== undefined);
    return assembleSession(model, study, prepared, denoiser, settings, opts.cacheDir, brain !== undefined, opts.ensemble === undefined);
  } catch (err) {
    await denoiser.release();
    throw err;
  }
}

function assembleSession(
  model: ModelEntry,
  study: Study,
  prepared: PreparedStudy,
  denoiser: DenoiserSession,
  settings: EnsembleSettings,
  cacheDir: string | null,
  brainExtracted: boolean,
  ensembleByDefault: boolean,
): SegmentationSession {
  const card = model.card;
  const { sampler, ensemble, seed } = settings;
  const cache = new MemberCache(
    cacheDir,
    cacheKeyParts(card, study.identity, settings, brainExtracted),
    (k) => prepared.boxFor(k).rows * prepared.boxFor(k).cols,
  );
  const engine = new EnsembleEngine(denoiser, card, prepared, { sampler, ensemble, seed }, cache);
  const warnings = [...study.roleNotes.warnings, ...(study.warnings ?? []), ...(brainExtracted ? [`${BRAIN_EXTRACTED_NOTE}.`] : [])];
  const ensembleNote = ensembleByDefault ? skullEnsembleNote(card, brainExtracted) : undefined;
  if (ensembleNote) warnings.push(`${ensembleNote}.`);
  return { model, study, engine, denoiser, warnings, brainExtracted, close: () => denoiser.release() };
}

/**
 * The slices a run over from..to-1 samples: those with brain and an image in every sequence. A range the user
 * chose (`chosen`: how to name ranges to them) that includes a missing slice is refused, naming the gap. The whole
 * study (no range chosen) runs on its parts on either side of each gap, because that is what a radiologist who
 * asks for the study expects: the model segments each slice from that slice alone, so the parts are as good as in
 * a complete series, and refusing would leave nothing to read while the images that are there could be segmented.
 * The gap is named in the warnings, left unsegmented, and no output claims it (the volume is a lower bound there).
 */
export function runnableSlices(study: Study, hasBrain: readonly boolean[], from: number, to: number, chosen?: RangeWords): number[] {
  const nz = study.reference.geometry.dims[2];
  if (chosen) refuseRangeAcrossGap(study.gaps, from, to, nz, chosen);
  const missing = new Set(missingSlices(study.gaps));
  return Array.from({ length: to - from }, (_, i) => from + i).filter((k) => hasBrain[k] && !missing.has(k));
}

/** Slice indices ordered by distance from `focus` (the slice in view first, then outwards). */
export function viewportFirst(slices: number[], focus: number): number[] {
  return [...slices].sort((a, b) => Math.abs(a - focus) - Math.abs(b - focus) || a - b);
}

/** Parse "A:B" (half-open, either side optional) against a slice count. */
export function parseSliceRange(spec: string | undefined, count: number): [number, number] {
  if (spec === undefined) return [0, count];
  const m = /^(\d*):(\d*)$/.exec(spec.trim());
  if (!m) throw new InputError(`--slices must look like A:B (half-open axial index range, e.g. 70:74), got "${spec}".`);
  const a = m[1] === '' ? 0 : Number(m[1]);
  const b = m[2] === '' ? count : Number(m[2]);
  if (a >= b || b > count) {
    throw new InputError(`--slices ${spec} is outside the volume: it has ${count} axial slices (0:${count}); give A < B ≤ ${count}.`);
  }
  return [a, b];
}
