/**
 * The renderer's state and actions. Talks only to window.halo. Every slice result is checked against the
 * study, the reference series and the run in view before it is drawn (never a result on the wrong images).
 */
import { markRaw, reactive } from 'vue';
import { unpack } from '../../main/app/binary';
import type { AppInfo, HaloEvents, PacsSettingsView, PacsStudy, PriorResultView, ResultTag, Role, SaveJob, SegmentRun, StudyView } from '../../main/app/contract';
import { ROLES } from '../../main/app/contract';
import type { OverlayState } from './viewer/overlays';
import type { EditTool } from './viewer/tools';
import { VARIANCE_THRESHOLD } from './viewer/variance-colours';
import { Viewer } from './viewer/viewer';
import type { WindowPreset } from './viewer/viewports';

export interface SliceStat {
  k: number;
  areaMm2: number;
  brainMm2: number;
  meanVariance: number;
  maxVariance: number;
  ensemble: number;
}

interface SliceData {
  tag: ResultTag;
  /** A stored result's mask came from a binary SEG (a fractional SEG does not override it). */
  fromMask?: boolean;
  mask: Uint8Array;
  mean: Float32Array;
  variance: Float32Array;
  members: Float32Array[];
}

export const viewer = new Viewer();
const results = new Map<number, SliceData>();
/** The user's corrected masks by slice (only where they differ from the model's). */
const edits = new Map<number, Uint8Array>();
/** The mask last drawn on each slice: what the user's strokes are compared with. */
const drawn = new Map<number, Uint8Array>();

export const state = reactive({
  info: null as AppInfo | null,
  study: null as StudyView | null,
  busy: null as string | null,
  error: null as string | null,
  notice: null as string | null,
  panel: 'viewer' as 'viewer' | 'browser' | 'settings',
  layout: 'grid' as 'grid' | 'one-three',
  mainRole: 'FLAIR' as Role,
  shownRoles: [] as Role[],
  k: 0,
  nz: 0,
  labels: { top: '', bottom: '', left: '', right: '' },
  overlay: { mask: true, maskStyle: 'outline', variance: true, varianceOpacity: 0.5, varianceThreshold: VARIANCE_THRESHOLD } as OverlayState,
  /** Values under the cursor (null when it is not over an image). */
  readout: null as { role: Role; i: number; j: number; k: number; intensity: number; probability: number | null; variance: number | null } | null,
  settings: { modelId: '', steps: 20, ensemble: 5, scope: 'all' as 'all' | 'around', radius: 2, device: 'auto' as 'auto' | 'cpu' | 'cuda' },
  run: null as SegmentRun | null,
  running: false,
  progress: null as { fraction: number; etaSeconds: number | null; slicesDone: number; slicesTotal: number } | null,
  lastRunStatus: null as string | null,
  stats: {} as Record<number, SliceStat>,
  member: -1,
  memberCount: 0,
  save: null as SaveJob | null,
  /** SOP Instance UIDs of the results already in the study that are shown (instead of a run of ours). */
  priorShown: [] as string[],
  editTool: 'none' as EditTool,
  brushSize: 6,
  /** k -> area (mm²) of the user's corrected mask, for the slices the user edited. */
  edited: {} as Record<number, number>,
  pacs: null as PacsSettingsView | null,
  viewerReady: false,
  /** The model prepared for the open study and the current settings (so Segment only runs slices). */
  model: null as null | 'preparing' | 'ready',
  /** Per viewport: window width/level, zoom, slice position and spacing (corner annotations); the active preset. */
  view: {} as ReturnType<Viewer['viewInfo']>,
  preset: 'auto' as WindowPreset | 'custom',
});

// For the end-to-end tests and diagnostics in the developer tools (read-only views).
Object.assign(window as unknown as Record<string, unknown>, {
  haloViewer: viewer,
  haloDebug: Object.freeze({
    runId: () => state.run?.runId ?? null,
    resultSlices: () => [...results.keys()].sort((a, b) => a - b),
    stats: () => JSON.parse(JSON.stringify(state.stats)) as Record<number, SliceStat>,
    settings: () => ({ ...state.settings }),
    spacingZ: () => state.study?.reference?.spacing[2] ?? 0,
    dims: () => [...(state.study?.reference?.dims ?? [])],
  }),
});

/**
 * Events of a run whose start (or grow) call has not answered yet: the events come over another channel (SSE /
 * IPC events) and may overtake the answer, e.g. slices served from the cache at once. Kept until the run is
 * known, then replayed; dropped when the call fails.
 */
type EarlyEvent =
  | { name: 'segment.progress'; ev: HaloEvents['segment.progress'] }
  | { name: 'segment.slice'; ev: HaloEvents['segment.slice'] }
  | { name: 'segment.done'; ev: HaloEvents['segment.done'] };
let awaitingRun = false;
let cancelWhenKnown = false;
const early: EarlyEvent[] = [];
function keepEarly(e: EarlyEvent): void {
  if (awaitingRun && early.length < 10_000) early.push(e);
}
function runKnown(run: SegmentRun): void {
  // A grown run holds its predecessor's slices until it replaces them: what is drawn stays valid.
  for (const r of results.values()) r.tag = { ...r.tag, runId: run.runId };
  state.run = run;
  state.memberCount = run.ensemble;
  state.settings.ensemble = run.ensemble;
  awaitingRun = false;
  const replay = early.splice(0).filter((e) => e.ev.runId === run.runId);
  for (const e of replay) {
    if (e.name === 'segment.progress') onProgress(e.ev);
    else if (e.name === 'segment.slice') void onSlice(e.ev);
    else onDone(e.ev);
  }
  if (cancelWhenKnown && state.running) void cancel();
  cancelWhenKnown = false;
}
function runFailed(): void {
  awaitingRun = false;
  cancelWhenKnown = false;
  early.length = 0;
  state.running = false;
  state.progress = null;
}

let elementsProvider: (() => Map<Role, HTMLDivElement>) | null = null;
export function setElementsProvider(f: () => Map<Role, HTMLDivElement>): void {
  elementsProvider = f;
}

function fail(err: unknown): void {
  state.error = err instanceof Error ? err.message.replace(/^Error invoking remote method '[^']+': (Error: )?/, '') : String(err);
}

async function busy<T>(what: string, f: () => Promise<T>): Promise<T | undefined> {
  state.busy = what;
  state.error = null;
  try {
    return await f();
  } catch (err) {
    fail(err);
    return undefined;
  } finally {
    state.busy = null;
  }
}

export async function start(): Promise<void> {
  window.halo.on('segment.progress', onProgress);
  window.halo.on('segment.slice', (ev) => void onSlice(ev));
  window.halo.on('segment.done', onDone);
  window.halo.on('pacs.retrieve', (p) => {
    if (state.busy?.startsWith(RETRIEVING)) state.busy = `${RETRIEVING}: ${p.done}${p.total ? ` of ${p.total}` : ''} images`;
  });
  window.halo.on('save.status', (job) => {
    if (state.save && job.jobId === state.save.jobId) {
      state.save = job;
      saveEvents++;
    } else keepEarlySave(job);
  });
  viewer.onMaskEdited = collectEdit;
  viewer.onViewChange = refreshView;
  viewer.onSliceChange = (k) => {
    const prev = state.k;
    state.k = k;
    refreshView();
    if (state.member >= 0 && prev !== k) {
      redraw(prev);
      redraw(k);
    }
  };
  const info = await busy('Starting', () => window.halo['app.info']({}));
  if (!info) return;
  state.info = info;
  const model = info.models.find((m) => m.id === 'wt-4seq') ?? info.models[0];
  if (model) applyModel(model.id);
  if (info.demoAvailable) await openStudy(() => window.halo['study.openDemo']({}), 'Opening the demo study');
}

export function applyModel(id: string): void {
  const m = state.info?.models.find((x) => x.id === id);
  if (!m) return;
  state.settings.modelId = m.id;
  state.settings.steps = m.defaults.steps;
  state.settings.ensemble = m.defaults.ensemble;
}

export const RETRIEVING = 'Retrieving from the PACS';

export async function openStudy(get: () => Promise<StudyView | null>, what = 'Opening the study'): Promise<void> {
  const study = await busy(what, get);
  if (study) await show(study);
}

export async function reassignRole(role: Role, seriesInstanceUID: string): Promise<void> {
  if (!state.study) return;
  const roles: Partial<Record<Role, string>> = {};
  for (const r of ROLES) {
    const uid = r === role ? seriesInstanceUID : state.study.roles[r];
    if (uid && (r === role || uid !== seriesInstanceUID)) roles[r] = uid;
  }
  const id = state.study.studyId;
  await openStudy(() => window.halo['study.setRoles']({ studyId: id, roles }), 'Reassigning sequences');
}

async function show(study: StudyView): Promise<void> {
  // Forget everything about the previous study before anything of the new one is drawn.
  state.run = null;
  state.running = false;
  state.progress = null;
  state.stats = {};
  state.save = null;
  state.member = -1;
  state.memberCount = 0;
  state.lastRunStatus = null;
  awaitingRun = false;
  cancelWhenKnown = false;
  early.length = 0;
  results.clear();
  forgetEdits();
  state.priorShown = [];
  state.study = study;
  state.panel = 'viewer';
  state.viewerReady = false;
  state.model = null;
  preparing = '';
  viewer.dispose();
  if (!study.reference) {
    state.shownRoles = [];
    return;
  }
  const roles = ROLES.filter((r) => study.roles[r]);
  state.shownRoles = roles;
  if (!roles.includes(state.mainRole)) state.mainRole = roles[0];
  await busy('Loading images', async () => {
    const volumes = [];
    for (const role of roles) {
      const { meta, arrays } = unpack<{ studyInstanceUID: string; role: Role }>(await window.halo['study.volume']({ studyId: study.studyId, role }));
      if (meta.studyInstanceUID !== study.studyInstanceUID || meta.role !== role) throw new Error('The images received do not belong to this study.');
      volumes.push({ role, data: markRaw(arrays.data as Float32Array) });
    }
    // Let Vue create the viewport elements first.
    await new Promise((r) => requestAnimationFrame(() => r(null)));
    const elements = elementsProvider!();
    await viewer.load(study.studyId, study.reference!, volumes, elements);
    state.nz = viewer.sliceCount;
    state.k = viewer.slice;
    state.labels = viewer.labels();
    viewer.setOverlay(state.overlay);
    refreshView();
    state.viewerReady = true;
  });
  void prepareModel();
}

let preparing = '';
/**
 * Have the main process prepare the model for the open study and the current settings, once the images are
 * on screen (loading them comes first). Called again when the settings change; a stale answer is dropped.
 */
export async function prepareModel(): Promise<void> {
  const study = state.study;
  const s = state.settings;
  if (!study?.reference || !state.viewerReady || !s.modelId || state.running) return;
  const key = JSON.stringify([study.studyId, s.modelId, s.steps, s.device]);
  if (key === preparing) return;
  preparing = key;
  state.model = 'preparing';
  let ready = false;
  try {
    ready = (await window.halo['segment.prepare']({ studyId: study.studyId, modelId: s.modelId, steps: s.steps, device: s.device })).ready;
  } catch {
    // not prepared: the click on Segment prepares it and says why if it cannot
  }
  if (preparing !== key) return;
  state.model = ready ? 'ready' : null;
  if (!ready) preparing = '';
}

export function setSlice(k: number): void {
  viewer.setSlice(k);
}

export function setOverlay(o: Partial<OverlayState>): void {
  const rebin = o.varianceThreshold !== undefined && o.varianceThreshold !== state.overlay.varianceThreshold;
  Object.assign(state.overlay, o);
  viewer.setOverlay(state.overlay);
  if (rebin) for (const k of results.keys()) redraw(k);
}

/** The values under the cursor on viewport `role` (CSS px in its element), for the readout. */
export function pointAt(role: Role, x: number, y: number): void {
  const v = viewer.voxelAt(role, x, y);
  if (!v) {
    state.readout = null;
    return;
  }
  const r = results.get(v.k);
  const p = v.j * (state.study?.reference?.dims[0] ?? 0) + v.i;
  const shown = r && tagMatches(r.tag);
  state.readout = { role, ...v, probability: shown ? r.mean[p] : null, variance: shown ? r.variance[p] : null };
}

export function setWindow(preset: WindowPreset): void {
  viewer.setWindow('all', preset);
}

/** Window width and level typed by the user, for one sequence (each has its own intensity scale). */
export function setWindowValues(role: Role, width: number, level: number): void {
  viewer.setWindowValues(role, width, level);
}

function refreshView(): void {
  state.view = viewer.viewInfo();
  state.preset = viewer.preset;
}

export async function segment(): Promise<void> {
  const study = state.study;
  if (!study || state.running) return;
  const s = state.settings;
  const range = s.scope === 'around' ? { from: Math.max(0, state.k - s.radius), to: Math.min(state.nz, state.k + s.radius + 1) } : undefined;
  state.stats = {};
  state.member = -1;
  results.clear();
  forgetEdits();
  state.priorShown = [];
  viewer.clearResults();
  state.save = null;
  state.progress = { fraction: 0, etaSeconds: null, slicesDone: 0, slicesTotal: 0 };
  state.running = true;
  state.lastRunStatus = null;
  state.run = null;
  awaitingRun = true;
  early.length = 0;
  const run = await busy('Preparing the model', () =>
    window.halo['segment.start']({ studyId: study.studyId, modelId: s.modelId, steps: s.steps, ensemble: s.ensemble, focus: state.k, range, device: s.device }),
  );
  if (!run) return runFailed();
  if (state.study?.studyId !== study.studyId) return;
  runKnown(run);
}

export async function growEnsemble(add = 5): Promise<void> {
  const run = state.run;
  if (!run || state.running) return;
  state.running = true;
  state.lastRunStatus = null;
  state.progress = { fraction: 0, etaSeconds: null, slicesDone: 0, slicesTotal: 0 };
  awaitingRun = true;
  early.length = 0;
  const next = await busy('Adding samples', () => window.halo['segment.grow']({ runId: run.runId, add, focus: state.k }));
  if (!next) return runFailed();
  if (state.run?.runId !== run.runId) return; // another study or run meanwhile
  runKnown(next);
}

export async function cancel(): Promise<void> {
  if (!state.running) return;
  if (awaitingRun) {
    // The run is being prepared: cancel it as soon as it is known.
    cancelWhenKnown = true;
    return;
  }
  if (state.run) await busy('Cancelling', () => window.halo['segment.cancel']({ runId: state.run!.runId }));
}

function onProgress(p: HaloEvents['segment.progress']): void {
  if (!state.run || p.runId !== state.run.runId) return keepEarly({ name: 'segment.progress', ev: p });
  state.progress = { fraction: p.fraction, etaSeconds: p.etaSeconds, slicesDone: p.slicesDone, slicesTotal: p.slicesTotal };
}

function onDone(d: HaloEvents['segment.done']): void {
  if (!state.run || d.runId !== state.run.runId) return keepEarly({ name: 'segment.done', ev: d });
  state.running = false;
  state.lastRunStatus =
    d.status === 'done' ? `Done in ${d.seconds.toFixed(0)} s` : d.status === 'cancelled' ? 'Cancelled; the slices finished so far are kept.' : `Failed: ${d.message}`;
  if (d.status === 'failed') state.error = `Segmentation failed: ${d.message}`;
}

/** A tag belongs to what is on screen: same run, same study, same reference (FLAIR) series. */
export function tagMatches(tag: ResultTag): boolean {
  const s = state.study;
  return !!s && !!s.reference && !!state.run && tag.runId === state.run.runId && tag.studyInstanceUID === s.studyInstanceUID && tag.seriesInstanceUID === s.reference.seriesInstanceUID && tag.k >= 0 && tag.k < s.reference.dims[2];
}

async function onSlice(ev: HaloEvents['segment.slice']): Promise<void> {
  if (!state.run || ev.runId !== state.run.runId) return keepEarly({ name: 'segment.slice', ev });
  if (!tagMatches(ev)) return;
  try {
    const { meta, arrays } = unpack<{ tag: ResultTag; ensemble: number; rows: number; cols: number }>(await window.halo['segment.slice']({ runId: ev.runId, k: ev.k }));
    const t = meta.tag;
    const dims = state.study?.reference?.dims;
    if (!tagMatches(t) || t.k !== ev.k || !dims || meta.rows !== dims[1] || meta.cols !== dims[0]) return; // stale or foreign: never drawn
    const members: Float32Array[] = [];
    for (let m = 0; m < meta.ensemble; m++) members.push(arrays[`member${m}`] as Float32Array);
    results.set(t.k, { tag: t, mask: arrays.mask as Uint8Array, mean: arrays.mean as Float32Array, variance: arrays.variance as Float32Array, members });
    state.stats[t.k] = { k: t.k, areaMm2: ev.areaMm2, brainMm2: ev.brainMm2, meanVariance: ev.meanVariance, maxVariance: ev.maxVariance, ensemble: ev.ensemble };
    redraw(t.k);
  } catch (err) {
    fail(err);
  }
}

/**
 * Draw slice k from the stored result: the ensemble mask (as the user corrected it, if so), or the selected
 * member's mask on the slice in view.
 */
function redraw(k: number): void {
  const r = results.get(k);
  if (!r || !tagMatches(r.tag)) return;
  let mask = edits.get(k) ?? r.mask;
  if (state.member >= 0 && k === state.k && r.members[state.member]) {
    const m = r.members[state.member];
    mask = new Uint8Array(m.length);
    for (let p = 0; p < m.length; p++) mask[p] = m[p] > 0.5 ? 1 : 0;
  }
  drawn.set(k, mask);
  viewer.drawSlice(k, mask, r.variance);
}

function forgetEdits(): void {
  edits.clear();
  drawn.clear();
  state.edited = {};
  if (state.editTool !== 'none') setEditTool('none');
}

const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((v, i) => v === b[i]);

/** After a stroke or an undo on the slice in view: keep the user's mask as an edit of the ensemble's. */
function collectEdit(): void {
  const k = state.k;
  const now = viewer.maskOf(k);
  const before = drawn.get(k);
  if (!now || (before && same(now, before))) return;
  const r = results.get(k);
  if (!r || state.member >= 0) {
    // Only a result shown as the ensemble can be corrected (and saved): put back what was there.
    if (r) redraw(k);
    else if (now.some((v) => v)) viewer.drawSlice(k, new Uint8Array(now.length), new Float32Array(now.length));
    state.notice = r ? 'Show the ensemble (not one sample) to correct the mask.' : 'Segment this slice before correcting it.';
    return;
  }
  drawn.set(k, now);
  const dims = state.study?.reference?.spacing ?? [1, 1, 1];
  if (same(now, r.mask)) {
    edits.delete(k);
    delete state.edited[k];
  } else {
    edits.set(k, now);
    state.edited[k] = now.reduce((n, v) => n + v, 0) * dims[0] * dims[1];
  }
}

export function setEditTool(tool: EditTool): void {
  if (tool !== 'none' && (!state.run || state.run.runId === PRIOR_RUN)) return; // only our own result can be corrected
  if (tool !== 'none' && state.member >= 0) {
    state.member = -1;
    redraw(state.k);
  }
  state.editTool = tool;
  viewer.setEditTool(tool, state.brushSize);
}

export function setBrushSize(size: number): void {
  state.brushSize = size;
  viewer.setEditTool(state.editTool, size);
}

export function undoEdit(): void {
  viewer.undoEdit();
}

/** Bit-pack a mask (LSB first) as base64, as main/app/seg-edits.ts unpacks it. */
function packMask(mask: Uint8Array): string {
  const bytes = new Uint8Array(Math.ceil(mask.length / 8));
  for (let p = 0; p < mask.length; p++) if (mask[p]) bytes[p >> 3] |= 1 << (p & 7);
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

export function stepMember(delta: number): void {
  const n = results.get(state.k)?.members.length ?? 0;
  if (!n) return;
  // -1 = the ensemble (mean > 0.5), then members 0 … n-1.
  let m = state.member + delta;
  if (m < -1) m = n - 1;
  if (m >= n) m = -1;
  state.member = m;
  redraw(state.k);
}

/** The run id under which results already in the study are shown: never sent to the main process. */
export const PRIOR_RUN = 'prior';

/**
 * Show a result already in the study (SEG mask, fractional SEG, Parametric Map) in place of a run of ours;
 * several of one set (mask + probability + variance) layer on the same slices.
 */
export async function showPrior(r: PriorResultView): Promise<void> {
  const study = state.study;
  const ref = study?.reference;
  if (!study || !ref || state.running) return;
  const bytes = await busy('Loading the result', () => window.halo['study.result']({ studyId: study.studyId, sopInstanceUID: r.sopInstanceUID }));
  if (!bytes || state.study?.studyId !== study.studyId) return;
  const { meta, arrays } = unpack<{ studyInstanceUID: string; sopInstanceUID: string; kind: PriorResultView['kind']; slices: number[] }>(bytes);
  if (meta.studyInstanceUID !== study.studyInstanceUID || meta.sopInstanceUID !== r.sopInstanceUID) return;
  if (state.run?.runId !== PRIOR_RUN) {
    // Leave our own run's results: what is on screen is the stored result from now on.
    results.clear();
    forgetEdits();
    state.stats = {};
    state.save = null;
    state.member = -1;
    state.lastRunStatus = null;
    state.progress = null;
    viewer.clearResults();
    state.priorShown = [];
    state.run = {
      runId: PRIOR_RUN,
      studyId: study.studyId,
      studyInstanceUID: study.studyInstanceUID,
      seriesInstanceUID: ref.seriesInstanceUID,
      modelId: r.algorithm,
      steps: 0,
      ensemble: r.ensemble ?? 0,
      provider: 'CPU',
      slices: meta.slices,
    };
  }
  const plane = ref.dims[0] * ref.dims[1];
  const pixelMm2 = ref.spacing[0] * ref.spacing[1];
  const mainRole = state.shownRoles[0];
  for (const k of meta.slices) {
    const values = arrays[`k${k}`] as Float32Array;
    const tag = { runId: PRIOR_RUN, studyInstanceUID: study.studyInstanceUID, seriesInstanceUID: ref.seriesInstanceUID, k };
    const e = results.get(k) ?? { tag, mask: new Uint8Array(plane), mean: new Float32Array(plane), variance: new Float32Array(plane), members: [], fromMask: false };
    if (meta.kind === 'mask') {
      e.mask = Uint8Array.from(values, (v) => (v > 0.5 ? 1 : 0));
      e.fromMask = true;
    } else if (meta.kind === 'probability') {
      e.mean = values;
      if (!e.fromMask) e.mask = Uint8Array.from(values, (v) => (v > 0.5 ? 1 : 0));
    } else e.variance = values;
    results.set(k, e);
    const brain = mainRole ? viewer.nonZeroOf(mainRole, k) : null;
    let area = 0, nb = 0, sumV = 0, maxV = 0;
    for (let p = 0; p < plane; p++) {
      if (e.mask[p]) area++;
      if (!brain || brain[p]) { nb++; sumV += e.variance[p]; }
      if (e.variance[p] > maxV) maxV = e.variance[p];
    }
    state.stats[k] = { k, areaMm2: area * pixelMm2, brainMm2: brain ? nb * pixelMm2 : 0, meanVariance: nb ? sumV / nb : 0, maxVariance: maxV, ensemble: r.ensemble ?? 0 };
    redraw(k);
  }
  state.priorShown = [...state.priorShown, r.sopInstanceUID];
  state.memberCount = 0;
}

export function hasResult(k: number): boolean {
  return results.has(k);
}

/**
 * What can be saved: per ensemble size n shown on some slice, the slices that have at least n samples. One
 * option when every slice shows the same n (save exactly what is displayed); several when a grow was cancelled
 * part way, and the user chooses (the saved objects carry one n).
 */
export function saveOptions(): { ensemble: number; slices: number[] }[] {
  if (state.run?.runId === PRIOR_RUN) return []; // already stored
  const shown = Object.values(state.stats).filter((s) => results.has(s.k));
  const sizes = [...new Set(shown.map((s) => s.ensemble))].sort((a, b) => a - b);
  return sizes.map((n) => ({ ensemble: n, slices: shown.filter((s) => s.ensemble >= n).map((s) => s.k).sort((a, b) => a - b) }));
}

/**
 * A save reports its progress as events, and the events and the reply to save.start/save.retry travel separately
 * (in the browser bridge, an event stream and a fetch): a folder save can be written before its reply arrives.
 * The newest status of a job not yet known is kept, so the list never sticks at "queued".
 */
const earlySave = new Map<string, SaveJob>();
let saveEvents = 0; // statuses applied to the job on screen: a retry's reply is older than any that came after it was asked
function keepEarlySave(job: SaveJob): void {
  if (earlySave.size >= 16) earlySave.delete(earlySave.keys().next().value!);
  earlySave.set(job.jobId, job);
}
function saveKnown(job: SaveJob): void {
  state.save = earlySave.get(job.jobId) ?? job;
  earlySave.clear();
}

export async function save(target: { kind: 'pacs'; node: string } | { kind: 'folder'; folder?: string }, choice: { ensemble: number; slices: number[] }): Promise<void> {
  const run = state.run;
  if (!run || !choice.slices.length) return;
  const edited = choice.slices.filter((k) => edits.has(k)).map((k) => ({ k, mask: packMask(edits.get(k)!) }));
  const job = await busy('Preparing the DICOM objects', () =>
    window.halo['save.start']({ runId: run.runId, target, slices: choice.slices, ensemble: choice.ensemble, edits: edited.length ? edited : undefined }),
  );
  if (job) saveKnown(job);
}

export async function retry(itemId: string): Promise<void> {
  const job = state.save;
  if (!job) return;
  const seen = saveEvents;
  const next = await busy('Retrying', () => window.halo['save.retry']({ jobId: job.jobId, itemId }));
  if (next && saveEvents === seen && state.save?.jobId === next.jobId) state.save = next;
}

export async function loadPacs(): Promise<void> {
  const s = await busy('Reading PACS settings', () => window.halo['pacs.getSettings']({}));
  if (s) state.pacs = s;
}

/** Studies found, or null when the search failed (the reason is in state.error). */
export async function findPacsStudies(node: string, text: string, date: string): Promise<PacsStudy[] | null> {
  const q = text.trim();
  const looksLikeId = /\d/.test(q) && !/\s/.test(q);
  return (
    (await busy('Searching the PACS', () =>
      window.halo['pacs.findStudies']({
        node,
        patientName: q && !looksLikeId ? `*${q}*` : undefined,
        patientId: q && looksLikeId ? `*${q}*` : undefined,
        studyDate: date || undefined,
      }),
    )) ?? null
  );
}

export { busy, fail };
