/**
 * The paper's own evaluation (Wolleb et al., MIDL 2022, Table 1), so that Halo's numbers can be read next to it:
 * axial slices 80-128 of a 155-slice BraTS volume whose ground truth is not empty, Dice / Jaccard / HD95 per slice,
 * the number of slices where the prediction is empty ("empty"), and Dice / Jaccard without those (the paper's
 * numbers in brackets). Added here: the 3D Dice over those slices and over the whole volume, which is what a
 * radiologist scrolling the study sees. Pure functions over the engine's slice results; no I/O.
 */
import type { SliceResult } from '../engine/ensemble';
import { dice, jaccard, mean, type Mask } from './metrics';

/** Slices first..last (inclusive, 0-based k) of a volume of `depth` axial slices. */
export const PAPER_SLICES = { first: 80, last: 128, depth: 155 } as const;

export type Method = 'single' | 'ensemble' | 'baseline';
export const METHODS: Method[] = ['single', 'ensemble', 'baseline'];
export type PerMethod<T> = Record<Method, T>;

export interface SliceScore {
  k: number;
  dice: PerMethod<number>;
  jaccard: PerMethod<number>;
  empty: PerMethod<boolean>;
}

export interface PaperScores {
  /** The evaluated slices (tumour slices of the paper's range), with their scores. */
  perSlice: SliceScore[];
  /** Slices whose prediction is empty although the ground truth is not (the paper's "empty" column). */
  empty: PerMethod<number>;
  /** Mean Dice and Jaccard over the slices with a non-empty prediction (the paper's numbers in brackets). */
  nonEmpty: PerMethod<{ dice: number | null; jaccard: number | null }>;
  /**
   * Dice of the masks stacked over the paper's slices (every slice of the range, tumour or not); null when the
   * range holds no tumour (a tumour wholly above or below it: the protocol does not apply to that patient).
   */
  dice3dRange: PerMethod<number | null>;
}

/** The tumour slices of the paper's range, or a sentence saying why the volume does not fit the protocol. */
export function paperSlices(depth: number, tumourSlices: number[]): number[] | string {
  if (depth !== PAPER_SLICES.depth) {
    return `the paper's protocol takes axial slices ${PAPER_SLICES.first}-${PAPER_SLICES.last} of a ${PAPER_SLICES.depth}-slice ` +
      `BraTS volume, and this one has ${depth} slices; use --protocol slices for other volumes`;
  }
  return tumourSlices.filter((k) => k >= PAPER_SLICES.first && k <= PAPER_SLICES.last);
}

/** The three predictions of one slice as binary masks: member 1 (one sample), the ensemble, the baseline. */
export function predictions(r: SliceResult, baseline: Mask): PerMethod<Mask> {
  return { single: Uint8Array.from(r.members[0], (v) => (v > 0.5 ? 1 : 0)), ensemble: r.mask, baseline };
}

const isEmpty = (m: Mask) => !m.some((v) => v);

/** 3D Dice of stacked masks, accumulated slice by slice. */
export class Dice3d {
  private inter = 0;
  private sum = 0;
  /** One slice; `pred` null: not sampled (no brain), so the prediction is 0 there. */
  add(pred: Mask | null, truth: Mask): void {
    for (let p = 0; p < truth.length; p++) {
      const v = pred ? pred[p] : 0;
      this.inter += v & truth[p];
      this.sum += v + truth[p];
    }
  }
  value(): number {
    return this.sum === 0 ? 1 : (2 * this.inter) / this.sum;
  }
}

export const perMethod = <T>(f: (m: Method) => T): PerMethod<T> => ({ single: f('single'), ensemble: f('ensemble'), baseline: f('baseline') });

/**
 * Scores one case by the paper's protocol. `byK` holds the predictions of (at least) every slice of the range
 * with brain; `truth(k)` the ground truth of any slice.
 */
export function scorePaper(tumourSlices: number[], byK: Map<number, PerMethod<Mask>>, truth: (k: number) => Mask): PaperScores {
  const perSlice = tumourSlices.map((k): SliceScore => {
    const pred = byK.get(k)!;
    const gt = truth(k);
    return { k, dice: perMethod((m) => dice(pred[m], gt)), jaccard: perMethod((m) => jaccard(pred[m], gt)), empty: perMethod((m) => isEmpty(pred[m])) };
  });
  const range = perMethod(() => new Dice3d());
  for (let k = PAPER_SLICES.first; k <= PAPER_SLICES.last; k++) {
    const pred = byK.get(k);
    for (const m of METHODS) range[m].add(pred?.[m] ?? null, truth(k));
  }
  const kept = (m: Method) => perSlice.filter((s) => !s.empty[m]);
  return {
    perSlice,
    empty: perMethod((m) => perSlice.length - kept(m).length),
    nonEmpty: perMethod((m) => ({ dice: mean(kept(m).map((s) => s.dice[m])), jaccard: mean(kept(m).map((s) => s.jaccard[m])) })),
    dice3dRange: perMethod((m) => (tumourSlices.length ? range[m].value() : null)),
  };
}

/** 3D Dice over the whole volume: `byK` predicts every slice with brain, the rest is 0. */
export function scoreVolume(depth: number, byK: Map<number, PerMethod<Mask>>, truth: (k: number) => Mask): PerMethod<number> {
  const whole = perMethod(() => new Dice3d());
  for (let k = 0; k < depth; k++) {
    const pred = byK.get(k);
    for (const m of METHODS) whole[m].add(pred?.[m] ?? null, truth(k));
  }
  return perMethod((m) => whole[m].value());
}

/** What the paper's Table 1 reports over a test set: means over all slices pooled, empty slices counted. */
export function pooled(cases: PaperScores[]) {
  const all = cases.flatMap((c) => c.perSlice);
  const kept = (m: Method) => all.filter((s) => !s.empty[m]);
  return {
    slices: all.length,
    dice: perMethod((m) => mean(all.map((s) => s.dice[m]))),
    jaccard: perMethod((m) => mean(all.map((s) => s.jaccard[m]))),
    empty: perMethod((m) => all.length - kept(m).length),
    nonEmptyDice: perMethod((m) => mean(kept(m).map((s) => s.dice[m]))),
    nonEmptyJaccard: perMethod((m) => mean(kept(m).map((s) => s.jaccard[m]))),
  };
}
