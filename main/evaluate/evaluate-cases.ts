/**
 * The paper's Table 1 for the user's own labelled data: for each case folder, run the ensemble exactly as
 * `halo segment` does and score it against the expert segmentation (whole tumour = every label > 0), per patient
 * and as a mean over patients, next to a trivial FLAIR-threshold baseline on the same slices.
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { InputError } from '../errors';
import type { SliceResult } from '../engine/ensemble';
import { isUnstripped } from '../engine/brain-extraction';
import { openSegmentation, type SegmentationOptions } from '../engine/segment-study';
import { readNifti } from '../io/nifti';
import { loadModel } from '../model/card';
import { findCaseFiles } from '../study/load-study';
import { sameGrid, sliceSize } from '../volume/volume';
import { VARIANCE_THRESHOLD } from '../engine/variance-near-mask';
import { auroc, dice, hd95, jaccard, mean, percentile, type Mask } from './metrics';
import { scoreUncertainty, type RawAndShown, type UncertaintyScores } from './uncertainty-metrics';
import { PAPER_SLICES, paperSlices, perMethod, pooled, predictions, scorePaper, scoreVolume, type PaperScores, type PerMethod } from './paper-protocol';

/** Ground truth in BraTS 2018/2020/2021 (`_seg`) and 2023 (`-seg`) case folders, plain, gzipped or xz-compressed. */
const SEG_NAME = /[_-]seg\.nii(\.gz|\.xz)?$/i;
/** The baseline: FLAIR above this percentile of the case's brain voxels. */
export const BASELINE_PERCENTILE = 90;

export interface EvaluateOptions extends Omit<SegmentationOptions, 'cacheDir'> {
  cacheDir: string | null;
  /** 'tumour': slices whose ground truth has tumour; 'all': every slice with brain (adds the false-positive area). */
  slices: 'tumour' | 'all';
  /** Every stride-th slice of the chosen ones (1 = all), to bound the time on CPU. */
  stride: number;
  /**
   * 'slices': the slices chosen by `slices` and `stride`. 'paper': the paper's Table 1 (tumour slices 80-128 of a
   * 155-slice volume, see paper-protocol.ts); `slices` and `stride` do not apply.
   */
  protocol?: 'slices' | 'paper';
  /** With the paper's protocol: sample every slice with brain too, for the whole-volume 3D Dice and false positives. */
  volume?: boolean;
  /** Only these case folders (by name) of `dir`, e.g. a data set's validation patients; every one must exist. */
  patients?: string[];
  signal?: AbortSignal;
  onProgress?: (p: { caseName: string; caseIndex: number; caseCount: number; fraction: number; etaSeconds: number | null }) => void;
}

export interface Scores {
  dice: number | null;
  jaccard: number | null;
  hd95_mm: number | null;
}

export interface CaseReport {
  case: string;
  /** Whether Halo extracted the brain (a study with the skull), as `halo segment` would; else brain = non-zero voxels. */
  brainExtracted: boolean;
  /** Share of the ground truth's tumour voxels outside the brain (never segmented: they count as missed). */
  tumourOutsideBrain: number;
  /** Tumour slices with no brain at all (not sampled): scored as empty predictions, Dice 0. */
  tumourSlicesWithoutBrain: number;
  tumourSlices: number;
  tumourFreeSlices: number;
  single: Scores;
  ensemble: Scores;
  /** AUROC of the ensemble variance for the pixels (inside the brain, all evaluated slices) the ensemble gets wrong. */
  varianceAuroc: number | null;
  wrongPixelFraction: number;
  /** Mean false-positive area of the ensemble mask on tumour-free slices, cm² per slice (null: none evaluated). */
  falsePositiveCm2: number | null;
  baseline: Scores & { falsePositiveCm2: number | null };
  /**
   * The variance map as a guide (uncertainty-metrics.ts): tint far from the tumour, wrong pixels tinted and AUROC,
   * for the raw variance and for the variance shown near the mask, at the viewer's default threshold.
   */
  uncertainty?: UncertaintyScores;
  /** The paper's protocol only: its per-slice scores, empty counts and the 3D Dice over its slices. */
  paper?: PaperScores;
  /**
   * 3D Dice of the stacked masks over every slice (slices without brain predict nothing): the paper's protocol
   * with the volume, or `slices: 'all'` with stride 1.
   */
  volumeDice3d?: PerMethod<number>;
  seconds: number;
}

export interface EvaluationReport {
  model: { id: string; version: string };
  sampler: { kind: string; steps: number; eta: number };
  ensemble: number;
  seed: number;
  protocol: 'slices' | 'paper';
  slices: 'tumour' | 'all';
  stride: number;
  /** The paper's protocol: whether every slice with brain was sampled (whole-volume 3D Dice, false positives). */
  volume?: boolean;
  provider: string;
  baseline: string;
  task: string;
  cases: CaseReport[];
  mean: Omit<CaseReport, 'case' | 'seconds' | 'paper' | 'volumeDice3d' | 'uncertainty' | 'brainExtracted' | 'tumourSlicesWithoutBrain'> & {
    patients: number;
    /** The brain was extracted in this many of the patients. */
    brainExtracted: number;
    tumourSlicesWithoutBrain: number;
    paper?: PaperMean;
    volumeDice3d?: PerMethod<number | null>;
    uncertainty?: UncertaintyMean;
  };
}

/** Means over patients of the uncertainty scores (nulls left out). */
export type UncertaintyMean = Omit<UncertaintyScores, 'tintedFarCm3' | 'tintedNearCm3' | 'wrongTinted' | 'auroc'> & {
  [K in 'tintedFarCm3' | 'tintedNearCm3' | 'wrongTinted' | 'auroc']: RawAndShown<number | null>;
};

/** The paper's protocol over all cases: means of patients, and the paper's own pooling over all slices. */
export interface PaperMean {
  empty: PerMethod<number>;
  nonEmpty: PerMethod<{ dice: number | null; jaccard: number | null }>;
  dice3dRange: PerMethod<number | null>;
  volumeDice3d: PerMethod<number | null> | null;
  pooled: ReturnType<typeof pooled>;
}

/** Case folders with a ground truth under `dir` (or `dir` itself when it is one), sorted by name. */
export async function findLabelledCases(dir: string): Promise<{ folder: string; seg: string }[]> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) throw new InputError(`--cases ${dir} does not exist or is not a folder.`);
  const segIn = async (folder: string) => (await readdir(folder)).find((n) => SEG_NAME.test(n));
  const own = await segIn(dir);
  if (own) return [{ folder: dir, seg: join(dir, own) }];
  const out: { folder: string; seg: string }[] = [];
  for (const name of (await readdir(dir)).sort()) {
    const folder = join(dir, name);
    if (!(await stat(folder)).isDirectory()) continue;
    const seg = await segIn(folder);
    if (seg) out.push({ folder, seg: join(folder, seg) });
  }
  if (!out.length) {
    throw new InputError(
      `No labelled case folders in ${dir}: each case folder needs its sequences and a ground truth named *_seg.nii(.gz|.xz) ` +
        '(BraTS 2018-2021) or *-seg.nii(.gz|.xz) (BraTS 2023).',
    );
  }
  return out;
}

/** The cases named in `patients` (folder names), in that order; every name must be one of `cases`. */
export function pickPatients<T extends { folder: string }>(cases: T[], patients: string[] | undefined, dir: string): T[] {
  if (!patients) return cases;
  const byName = new Map(cases.map((c) => [basename(c.folder), c]));
  const missing = patients.filter((p) => !byName.has(p));
  if (missing.length || !patients.length) {
    throw new InputError(
      `--patients ${patients.join(',') || '(none)'}: ${missing.length ? `no labelled case folder ${missing.join(', ')} in ${dir}` : 'no patient named'}. ` +
        `Name case folders of ${dir}, separated by commas (it holds ${[...byName.keys()].join(', ')}).`,
    );
  }
  return patients.map((p) => byName.get(p)!);
}

function stridePick<T>(xs: T[], stride: number): T[] {
  return xs.filter((_, i) => i % stride === 0);
}

export async function evaluateCases(dir: string, opts: EvaluateOptions): Promise<EvaluationReport> {
  if (!Number.isInteger(opts.stride) || opts.stride < 1) throw new InputError(`--stride must be a whole number ≥ 1, got ${opts.stride}.`);
  const protocol = opts.protocol ?? 'slices';
  const paper = protocol === 'paper';
  const cases = pickPatients(await findLabelledCases(dir), opts.patients, dir);
  if (opts.ensemble === undefined) await refuseMixedDefaultSizes(cases, opts.modelId);
  const reports: CaseReport[] = [];
  let header: Omit<EvaluationReport, 'cases' | 'mean'> | undefined;
  for (const [caseIndex, c] of cases.entries()) {
    const t0 = performance.now();
    const session = await openSegmentation({ kind: 'case', folder: c.folder }, opts);
    try {
      const { engine, study, model, denoiser } = session;
      const grid = study.reference.geometry;
      header ??= {
        model: { id: model.card.id, version: model.card.version },
        sampler: engine.settings.sampler,
        ensemble: engine.settings.ensemble,
        seed: engine.settings.seed,
        protocol,
        slices: paper ? 'tumour' : opts.slices,
        stride: paper ? 1 : opts.stride,
        ...(paper ? { volume: !!opts.volume } : {}),
        provider: denoiser.device.provider,
        baseline: `FLAIR above its ${BASELINE_PERCENTILE}th percentile inside the brain (per case; the extracted brain where Halo extracted it)`,
        task: paper
          ? 'whole tumour (ground-truth labels > 0), the paper\'s Table 1: axial slices 80-128 with tumour, metrics per slice averaged per patient and pooled, on the input grid'
          : 'whole tumour (ground-truth labels > 0), axial slices, metrics per slice averaged per patient, on the input grid',
      };
      if (engine.settings.ensemble !== header.ensemble) {
        // The default size can differ by case (larger where Halo extracts the brain): one report, one size.
        throw new InputError(
          `${c.folder}: its default ensemble size is ${engine.settings.ensemble}, the earlier cases' ${header.ensemble} ` +
            '(the model asks for more samples on a study with the skull); evaluate such cases apart, or pass --ensemble.',
        );
      }
      const seg = await readNifti(c.seg);
      if (!sameGrid(seg.geometry, grid)) {
        throw new InputError(`${c.seg} is not on the FLAIR's grid in ${c.folder}; the ground truth must be co-registered with the sequences.`);
      }
      const size = sliceSize(grid);
      const truth = (k: number): Mask => Uint8Array.from(seg.data.subarray(k * size, (k + 1) * size), (v) => (v > 0 ? 1 : 0));
      const withBrain = engine.study.hasBrain.flatMap((b, k) => (b ? [k] : []));
      const tumour = withBrain.filter((k) => truth(k).some((v) => v));
      const free = withBrain.filter((k) => !tumour.includes(k));
      // With the brain extracted, tumour can lie outside it: never segmented, so missed (counted, and scored so).
      const outside = tumourOutside(grid.dims[2], truth, (k) => engine.study.brainFor(k));
      const allSlices = !paper && opts.slices === 'all' && opts.stride === 1;
      let scored: number[];
      let chosen: number[];
      if (paper) {
        const range = paperSlices(grid.dims[2], tumour);
        if (typeof range === 'string') throw new InputError(`${c.folder}: ${range}.`);
        // Every slice of the range with brain is sampled (the 3D Dice over the range needs them), or the volume.
        const rangeWithBrain = withBrain.filter((k) => k >= PAPER_SLICES.first && k <= PAPER_SLICES.last);
        scored = opts.volume ? [...range, ...free] : range;
        chosen = opts.volume ? [...range, ...withBrain.filter((k) => !range.includes(k))] : [...range, ...rangeWithBrain.filter((k) => !range.includes(k))];
      } else {
        scored = chosen = [...stridePick(tumour, opts.stride), ...(opts.slices === 'all' ? stridePick(free, opts.stride) : [])];
      }
      const results = await engine.run({
        slices: chosen,
        signal: opts.signal,
        onProgress: (p) => opts.onProgress?.({ caseName: basename(c.folder), caseIndex, caseCount: cases.length, fraction: p.fraction, etaSeconds: p.etaSeconds }),
      });
      const byK = new Map(results.map((r) => [r.k, r]));
      const flair = study.aligned.FLAIR!;
      const baselineMask = baselineMasker(flair, withBrain.map((k) => engine.study.brainFor(k)), withBrain, size);
      const report = scoreCase(basename(c.folder), scored.map((k) => byK.get(k)!), {
        truth,
        brain: (k) => engine.study.brainFor(k),
        baselineMask,
        rows: grid.dims[1],
        cols: grid.dims[0],
        spacing: [grid.spacing[1], grid.spacing[0]],
        seconds: (performance.now() - t0) / 1000,
        tumourSlicesWithoutBrain: paper ? [] : stridePick(outside.slicesWithoutBrain, opts.stride),
        brainExtracted: session.brainExtracted,
        tumourOutsideBrain: outside.fraction,
      });
      report.uncertainty = scoreUncertainty(results, {
        truth: Uint8Array.from(seg.data, (v) => (v > 0 ? 1 : 0)),
        dims: grid.dims,
        spacing: grid.spacing,
        brain: (k) => engine.study.brainFor(k),
        scored: new Set(scored),
        threshold: VARIANCE_THRESHOLD,
      });
      if (allSlices) report.volumeDice3d = scoreVolume(grid.dims[2], new Map(results.map((r) => [r.k, predictions(r, baselineMask(r.k))])), truth);
      if (paper) {
        const masks = new Map(results.map((r) => [r.k, predictions(r, baselineMask(r.k))]));
        const range = scored.filter((k) => tumour.includes(k));
        report.paper = scorePaper(range, masks, truth);
        if (opts.volume) report.volumeDice3d = scoreVolume(grid.dims[2], masks, truth);
      }
      reports.push(report);
    } finally {
      await session.close();
    }
  }
  const m = meanOver(reports);
  return { ...header!, cases: reports, mean: paper ? { ...m, paper: paperMean(reports) } : m };
}

/**
 * One report holds one ensemble size, and a card can ask for more samples on a study with the skull: a folder that
 * mixes studies with and without the skull at the default size is refused before any case is sampled. Each case's
 * FLAIR is read and put to the skull test (about a second a case), only for such a card.
 */
async function refuseMixedDefaultSizes(cases: { folder: string }[], modelId: string): Promise<void> {
  const { defaults } = (await loadModel(modelId)).card;
  if (defaults.ensembleBrainExtracted === undefined || defaults.ensembleBrainExtracted === defaults.ensemble) return;
  const withSkull: string[] = [];
  const without: string[] = [];
  for (const c of cases) {
    const flair = (await findCaseFiles(c.folder)).FLAIR;
    if (!flair) continue; // openSegmentation says what is missing
    const { data, geometry } = await readNifti(flair);
    (isUnstripped(data, geometry) ? withSkull : without).push(basename(c.folder));
  }
  if (withSkull.length && without.length) {
    throw new InputError(
      `${modelId} takes ${defaults.ensembleBrainExtracted} samples by default on a study with the skull ` +
        `(${withSkull.join(', ')}) and ${defaults.ensemble} on a skull-stripped one (${without.join(', ')}), and one ` +
        'report holds one ensemble size: evaluate such cases apart, or pass --ensemble.',
    );
  }
}

/** The ground truth's tumour voxels outside the brain: their share, and the tumour slices with no brain at all. */
function tumourOutside(depth: number, truth: (k: number) => Mask, brain: (k: number) => Uint8Array) {
  let tumour = 0, outside = 0;
  const slicesWithoutBrain: number[] = [];
  for (let k = 0; k < depth; k++) {
    const gt = truth(k);
    const b = brain(k);
    let here = 0, out = 0, anyBrain = false;
    for (let p = 0; p < gt.length; p++) {
      if (b[p]) anyBrain = true;
      if (!gt[p]) continue;
      here++;
      if (!b[p]) out++;
    }
    tumour += here;
    outside += out;
    if (here && !anyBrain) slicesWithoutBrain.push(k);
  }
  return { fraction: tumour ? outside / tumour : 0, slicesWithoutBrain };
}

function paperMean(cases: CaseReport[]): PaperMean {
  const of = (f: (c: CaseReport) => number | null | undefined) => mean(cases.map(f).filter((v): v is number => typeof v === 'number'));
  const scores = cases.map((c) => c.paper!);
  return {
    empty: perMethod((m) => scores.reduce((s, p) => s + p.empty[m], 0)),
    nonEmpty: perMethod((m) => ({ dice: of((c) => c.paper!.nonEmpty[m].dice), jaccard: of((c) => c.paper!.nonEmpty[m].jaccard) })),
    dice3dRange: perMethod((m) => of((c) => c.paper!.dice3dRange[m])),
    volumeDice3d: cases.every((c) => c.volumeDice3d) ? perMethod((m) => of((c) => c.volumeDice3d![m])) : null,
    pooled: pooled(scores),
  };
}

/** FLAIR > its BASELINE_PERCENTILE-th percentile over the case's brain voxels, per slice, inside the brain. */
function baselineMasker(flair: Float32Array, brains: Uint8Array[], slices: number[], size: number): (k: number) => Mask {
  const values: number[] = [];
  slices.forEach((k, n) => {
    const b = brains[n];
    for (let p = 0; p < size; p++) if (b[p]) values.push(flair[k * size + p]);
  });
  const threshold = percentile(values, BASELINE_PERCENTILE);
  return (k) => {
    const b = brains[slices.indexOf(k)];
    return Uint8Array.from({ length: size }, (_, p) => (b[p] && flair[k * size + p] > threshold ? 1 : 0));
  };
}

interface CaseInputs {
  brainExtracted: boolean;
  tumourOutsideBrain: number;
  /** Tumour slices that have no brain (never sampled): every method predicts nothing there. */
  tumourSlicesWithoutBrain: number[];
  truth: (k: number) => Mask;
  brain: (k: number) => Uint8Array;
  baselineMask: (k: number) => Mask;
  rows: number;
  cols: number;
  /** [row spacing, column spacing] in mm. */
  spacing: [number, number];
  seconds: number;
}

export function scoreCase(name: string, results: SliceResult[], c: CaseInputs): CaseReport {
  const single = { dice: [] as number[], jaccard: [] as number[], hd95: [] as number[] };
  const ens = { dice: [] as number[], jaccard: [] as number[], hd95: [] as number[] };
  const base = { dice: [] as number[], jaccard: [] as number[], hd95: [] as number[] };
  const fp: number[] = [];
  const baseFp: number[] = [];
  const variance: number[] = [];
  const wrong: number[] = [];
  const cm2 = (c.spacing[0] * c.spacing[1]) / 100;
  let tumourSlices = 0;
  for (const r of results) {
    const gt = c.truth(r.k);
    const brain = c.brain(r.k);
    const one = Uint8Array.from(r.members[0], (v) => (v > 0.5 ? 1 : 0));
    const baseline = c.baselineMask(r.k);
    if (gt.some((v) => v)) {
      tumourSlices++;
      for (const [acc, pred] of [[single, one], [ens, r.mask], [base, baseline]] as const) {
        acc.dice.push(dice(pred, gt));
        acc.jaccard.push(jaccard(pred, gt));
        const h = hd95(pred, gt, c.rows, c.cols, c.spacing);
        if (h !== null) acc.hd95.push(h);
      }
    } else {
      fp.push(r.mask.reduce((s, v) => s + v, 0) * cm2);
      baseFp.push(baseline.reduce((s, v) => s + v, 0) * cm2);
    }
    for (let p = 0; p < brain.length; p++) {
      if (!brain[p]) continue;
      variance.push(r.variance[p]);
      wrong.push(r.mask[p] !== gt[p] ? 1 : 0);
    }
  }
  for (const k of c.tumourSlicesWithoutBrain) {
    const gt = c.truth(k);
    const nothing = new Uint8Array(gt.length);
    tumourSlices++;
    for (const acc of [single, ens, base]) {
      acc.dice.push(dice(nothing, gt));
      acc.jaccard.push(jaccard(nothing, gt));
    }
  }
  const scores = (a: typeof single): Scores => ({ dice: mean(a.dice), jaccard: mean(a.jaccard), hd95_mm: mean(a.hd95) });
  return {
    case: name,
    brainExtracted: c.brainExtracted,
    tumourOutsideBrain: c.tumourOutsideBrain,
    tumourSlicesWithoutBrain: c.tumourSlicesWithoutBrain.length,
    tumourSlices,
    tumourFreeSlices: results.length + c.tumourSlicesWithoutBrain.length - tumourSlices,
    single: scores(single),
    ensemble: scores(ens),
    varianceAuroc: auroc(Float64Array.from(variance), Uint8Array.from(wrong)),
    wrongPixelFraction: wrong.length ? wrong.reduce((s, v) => s + v, 0) / wrong.length : 0,
    falsePositiveCm2: mean(fp),
    baseline: { ...scores(base), falsePositiveCm2: mean(baseFp) },
    seconds: Math.round(c.seconds),
  };
}

/** Unweighted mean over patients of every per-patient number (nulls left out). */
function meanOver(cases: CaseReport[]): EvaluationReport['mean'] {
  const m = (f: (c: CaseReport) => number | null) => mean(cases.map(f).filter((v): v is number => v !== null));
  const s = (f: (c: CaseReport) => Scores): Scores => ({ dice: m((c) => f(c).dice), jaccard: m((c) => f(c).jaccard), hd95_mm: m((c) => f(c).hd95_mm) });
  const volume = cases.length > 0 && cases.every((c) => c.volumeDice3d);
  return {
    patients: cases.length,
    brainExtracted: cases.filter((c) => c.brainExtracted).length,
    tumourOutsideBrain: m((c) => c.tumourOutsideBrain) ?? 0,
    tumourSlicesWithoutBrain: cases.reduce((a, c) => a + c.tumourSlicesWithoutBrain, 0),
    tumourSlices: cases.reduce((a, c) => a + c.tumourSlices, 0),
    tumourFreeSlices: cases.reduce((a, c) => a + c.tumourFreeSlices, 0),
    single: s((c) => c.single),
    ensemble: s((c) => c.ensemble),
    varianceAuroc: m((c) => c.varianceAuroc),
    wrongPixelFraction: m((c) => c.wrongPixelFraction) ?? 0,
    falsePositiveCm2: m((c) => c.falsePositiveCm2),
    baseline: { ...s((c) => c.baseline), falsePositiveCm2: m((c) => c.baseline.falsePositiveCm2) },
    ...(volume ? { volumeDice3d: perMethod((method) => m((c) => c.volumeDice3d![method])) } : {}),
    ...(cases.every((c) => c.uncertainty) ? { uncertainty: uncertaintyMean(cases.map((c) => c.uncertainty!)) } : {}),
  };
}

function uncertaintyMean(u: UncertaintyScores[]): UncertaintyMean {
  const m = (f: (x: UncertaintyScores) => number | null) => mean(u.map(f).filter((v): v is number => v !== null));
  const both = (key: 'tintedFarCm3' | 'tintedNearCm3' | 'wrongTinted' | 'auroc') => ({ raw: m((x) => x[key].raw), nearMask: m((x) => x[key].nearMask) });
  return {
    threshold: u[0].threshold,
    nearMaskMm: u[0].nearMaskMm,
    tintedFarCm3: both('tintedFarCm3'),
    tintedNearCm3: both('tintedNearCm3'),
    wrongTinted: both('wrongTinted'),
    auroc: both('auroc'),
  };
}
