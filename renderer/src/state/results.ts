/**
 * The results on screen, per slice of the reference grid: the ensemble's mask, mean, variance and members (from
 * a run of ours or a result already in the study), their statistics for the slice strip, and which member is
 * shown. Every result is checked against the study, the reference series and the run before it is drawn.
 * The variance is drawn and ranked near the mask only (variance-near-mask.ts), unless the user asks for all of it.
 */
import { reactive } from 'vue';
import type { ResultTag, Role } from '../../../main/app/contract';
import { NearMaskStack, uncertainArea } from '../../../main/engine/variance-near-mask';
import type { OverlayState } from '../viewer/overlays';
import { correctedMask } from './corrections';
import { tagMatches } from './run';
import { studyState } from './study';
import { viewer, viewState } from './view';

export interface SliceStat {
  k: number;
  areaMm2: number;
  brainMm2: number;
  meanVariance: number;
  maxVariance: number;
  ensemble: number;
  /** Area where the variance shown (near the mask) reaches the threshold, mm²: what "Most uncertain" ranks by. */
  uncertainMm2: number;
  /** Mean variance over that area (0 when there is none). */
  uncertainVariance: number;
}

/** What a result brings; the uncertain area is computed here, from its neighbours' masks too. */
export type SliceStatIn = Omit<SliceStat, 'uncertainMm2' | 'uncertainVariance'>;

export interface SliceData {
  tag: ResultTag;
  /** A stored result's mask came from a binary SEG (a fractional SEG does not override it). */
  fromMask?: boolean;
  mask: Uint8Array;
  mean: Float32Array;
  variance: Float32Array;
  members: Float32Array[];
}

const results = new Map<number, SliceData>();
/** The mask last drawn on each slice: what the user's strokes are compared with. */
const drawn = new Map<number, Uint8Array>();
/** The ensemble masks' distance maps, for the variance near the mask (made for the study's grid on first use). */
let nearMask: NearMaskStack | null = null;

export const resultsState = reactive({
  stats: {} as Record<number, SliceStat>,
  /** The member shown on the slice in view: -1 = the ensemble (mean > 0.5). */
  member: -1,
  memberCount: 0,
  /** SOP Instance UIDs of the results already in the study that are shown (instead of a run of ours). */
  priorShown: [] as string[],
  /** Draw the variance everywhere (as saved), not only near the mask. */
  varianceEverywhere: false,
});

export function resultAt(k: number): SliceData | undefined {
  return results.get(k);
}

export function hasResult(k: number): boolean {
  return results.has(k);
}

export function resultSlices(): number[] {
  return [...results.keys()].sort((a, b) => a - b);
}

export function setResult(k: number, data: SliceData, stat: SliceStatIn): void {
  results.set(k, data);
  resultsState.stats[k] = { ...stat, uncertainMm2: 0, uncertainVariance: 0 };
  const stack = nearMaskStack();
  // Slice k's mask moves the near-mask region of the slices around it: they are redrawn too.
  const touched = stack ? stack.setMask(k, data.mask) : [k];
  for (const j of touched) if (results.has(j)) redraw(j);
}

function nearMaskStack(): NearMaskStack | null {
  const ref = studyState.study?.reference;
  if (!ref) return null;
  const [sx, sy, sz] = ref.spacing;
  nearMask ??= new NearMaskStack({ nx: ref.dims[0], ny: ref.dims[1], spacing: [sx, sy, sz] });
  return nearMask;
}

/** The variance drawn on slice k: near the mask (and its slice statistics updated), or all of it. */
function shownVariance(k: number, r: SliceData): Float32Array {
  const ref = studyState.study?.reference;
  const near = nearMaskStack()?.varianceAt(k, r.variance) ?? r.variance;
  const stat = resultsState.stats[k];
  if (stat && ref) {
    const u = uncertainArea(near, viewState.overlay.varianceThreshold, ref.spacing[0] * ref.spacing[1]);
    stat.uncertainMm2 = u.areaMm2;
    stat.uncertainVariance = u.meanVariance;
  }
  return resultsState.varianceEverywhere ? r.variance : near;
}

export function drawnMask(k: number): Uint8Array | undefined {
  return drawn.get(k);
}

export function setDrawnMask(k: number, mask: Uint8Array): void {
  drawn.set(k, mask);
}

/** A grown run holds its predecessor's slices until it replaces them: what is drawn stays valid. */
export function retagResults(runId: string): void {
  for (const r of results.values()) r.tag = { ...r.tag, runId };
}

/** Forget every result (the viewer's overlays are the caller's: cleared, or disposed with the study). */
export function forgetResults(): void {
  results.clear();
  drawn.clear();
  resultsState.stats = {};
  resultsState.member = -1;
  resultsState.priorShown = [];
  nearMask = null;
}

/**
 * Draw slice k from the stored result: the ensemble mask (as the user corrected it, if so), or the selected
 * member's mask on the slice in view.
 */
export function redraw(k: number): void {
  const r = results.get(k);
  if (!r || !tagMatches(r.tag)) return;
  let mask = correctedMask(k) ?? r.mask;
  const member = resultsState.member;
  if (member >= 0 && k === viewState.k && r.members[member]) {
    const m = r.members[member];
    mask = new Uint8Array(m.length);
    for (let p = 0; p < m.length; p++) mask[p] = m[p] > 0.5 ? 1 : 0;
  }
  drawn.set(k, mask);
  viewer.drawSlice(k, mask, shownVariance(k, r));
}

/** Show the variance everywhere (as saved) or only near the mask. */
export function setVarianceEverywhere(on: boolean): void {
  resultsState.varianceEverywhere = on;
  for (const k of results.keys()) redraw(k);
}

export function stepMember(delta: number): void {
  const n = results.get(viewState.k)?.members.length ?? 0;
  if (!n) return;
  // -1 = the ensemble (mean > 0.5), then members 0 … n-1.
  let m = resultsState.member + delta;
  if (m < -1) m = n - 1;
  if (m >= n) m = -1;
  resultsState.member = m;
  redraw(viewState.k);
}

/** The slice in view changed: a member is shown on the slice in view only. */
export function sliceChanged(prev: number, k: number): void {
  if (resultsState.member >= 0 && prev !== k) {
    redraw(prev);
    redraw(k);
  }
}

export function setOverlay(o: Partial<OverlayState>): void {
  const rebin = o.varianceThreshold !== undefined && o.varianceThreshold !== viewState.overlay.varianceThreshold;
  Object.assign(viewState.overlay, o);
  viewer.setOverlay(viewState.overlay);
  if (rebin) for (const k of results.keys()) redraw(k);
}

/** The values under the cursor on a view of sequence `role` (CSS px in its element), for the readout. */
export function pointAt(view: string, role: Role, x: number, y: number): void {
  const v = viewer.voxelAt(view, x, y);
  if (!v) {
    viewState.readout = null;
    return;
  }
  const r = results.get(v.k);
  const p = v.j * (studyState.study?.reference?.dims[0] ?? 0) + v.i;
  const shown = r && tagMatches(r.tag);
  viewState.readout = { view, role, ...v, probability: shown ? r.mean[p] : null, variance: shown ? r.variance[p] : null };
}
