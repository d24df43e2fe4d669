/**
 * A segmentation run's life: prepare the model, start or grow a run, cancel it, and take in its events
 * (progress, each slice's result, done). The run's state: run.ts.
 */
import type { HaloEvents, ResultTag, SegmentRun } from '../../../main/app/contract';
import { unpack } from '../../../main/app/binary';
import { appState, busy, fail } from './app';
import { onRunStarted } from './brain';
import { forgetEdits } from './edit-tool';
import { forgetResults, resultsState, retagResults, setResult } from './results';
import { runState, tagMatches } from './run';
import { saveState } from './save';
import { studyState } from './study';
import { viewer, viewState } from './view';

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
  retagResults(run.runId);
  runState.run = run;
  resultsState.memberCount = run.ensemble;
  runState.settings.ensemble = run.ensemble;
  awaitingRun = false;
  void onRunStarted(run);
  const replay = early.splice(0).filter((e) => e.ev.runId === run.runId);
  for (const e of replay) {
    if (e.name === 'segment.progress') onProgress(e.ev);
    else if (e.name === 'segment.slice') void onSlice(e.ev);
    else onDone(e.ev);
  }
  if (cancelWhenKnown && runState.running) void cancel();
  cancelWhenKnown = false;
}
function runFailed(): void {
  awaitingRun = false;
  cancelWhenKnown = false;
  early.length = 0;
  runState.running = false;
  runState.progress = null;
}

/** Another study is open: no run, nothing prepared, no event of an earlier run kept. */
export function forgetRun(): void {
  runState.run = null;
  runState.running = false;
  runState.progress = null;
  runState.lastRunStatus = null;
  runState.model = null;
  awaitingRun = false;
  cancelWhenKnown = false;
  early.length = 0;
  preparing = '';
}

let preparing = '';
/**
 * Have the main process prepare the model for the open study and the current settings, once the images are
 * on screen (loading them comes first). Called again when the settings change; a stale answer is dropped.
 */
export async function prepareModel(): Promise<void> {
  const study = studyState.study;
  const s = runState.settings;
  if (!study?.reference || !viewState.viewerReady || !s.modelId || runState.running) return;
  const key = JSON.stringify([study.studyId, s.modelId, s.steps, s.device]);
  if (key === preparing) return;
  preparing = key;
  runState.model = 'preparing';
  let ready = false;
  try {
    ready = (await window.halo['segment.prepare']({ studyId: study.studyId, modelId: s.modelId, steps: s.steps, device: s.device })).ready;
  } catch {
    // not prepared: the click on Segment prepares it and says why if it cannot
  }
  if (preparing !== key) return;
  runState.model = ready ? 'ready' : null;
  if (!ready) preparing = '';
}

export async function segment(): Promise<void> {
  const study = studyState.study;
  if (!study || runState.running) return;
  const s = runState.settings;
  const k = viewState.k;
  const range = s.scope === 'around' ? { from: Math.max(0, k - s.radius), to: Math.min(viewState.nz, k + s.radius + 1) } : undefined;
  forgetResults();
  forgetEdits();
  viewer.clearResults();
  saveState.save = null;
  runState.progress = { fraction: 0, etaSeconds: null, slicesDone: 0, slicesTotal: 0 };
  runState.running = true;
  runState.lastRunStatus = null;
  runState.run = null;
  awaitingRun = true;
  early.length = 0;
  const run = await busy('Preparing the model', () =>
    window.halo['segment.start']({ studyId: study.studyId, modelId: s.modelId, steps: s.steps, ensemble: s.ensembleChosen ? s.ensemble : null, focus: k, range, device: s.device }),
  );
  if (!run) return runFailed();
  if (studyState.study?.studyId !== study.studyId) return;
  runKnown(run);
}

export async function growEnsemble(add = 5): Promise<void> {
  const run = runState.run;
  if (!run || runState.running) return;
  runState.running = true;
  runState.lastRunStatus = null;
  runState.progress = { fraction: 0, etaSeconds: null, slicesDone: 0, slicesTotal: 0 };
  awaitingRun = true;
  early.length = 0;
  const next = await busy('Adding samples', () => window.halo['segment.grow']({ runId: run.runId, add, focus: viewState.k }));
  if (!next) return runFailed();
  if (runState.run?.runId !== run.runId) return; // another study or run meanwhile
  runKnown(next);
}

export async function cancel(): Promise<void> {
  if (!runState.running) return;
  if (awaitingRun) {
    // The run is being prepared: cancel it as soon as it is known.
    cancelWhenKnown = true;
    return;
  }
  if (runState.run) await busy('Cancelling', () => window.halo['segment.cancel']({ runId: runState.run!.runId }));
}

export function onProgress(p: HaloEvents['segment.progress']): void {
  if (!runState.run || p.runId !== runState.run.runId) return keepEarly({ name: 'segment.progress', ev: p });
  runState.progress = { fraction: p.fraction, etaSeconds: p.etaSeconds, slicesDone: p.slicesDone, slicesTotal: p.slicesTotal };
}

export function onDone(d: HaloEvents['segment.done']): void {
  if (!runState.run || d.runId !== runState.run.runId) return keepEarly({ name: 'segment.done', ev: d });
  runState.running = false;
  runState.lastRunStatus =
    d.status === 'done' ? `Done in ${d.seconds.toFixed(0)} s` : d.status === 'cancelled' ? 'Cancelled; the slices finished so far are kept.' : `Failed: ${d.message}`;
  if (d.status === 'failed') appState.error = `Segmentation failed: ${d.message}`;
}

export async function onSlice(ev: HaloEvents['segment.slice']): Promise<void> {
  if (!runState.run || ev.runId !== runState.run.runId) return keepEarly({ name: 'segment.slice', ev });
  if (!tagMatches(ev)) return;
  try {
    const { meta, arrays } = unpack<{ tag: ResultTag; ensemble: number; rows: number; cols: number }>(await window.halo['segment.slice']({ runId: ev.runId, k: ev.k }));
    const t = meta.tag;
    const dims = studyState.study?.reference?.dims;
    if (!tagMatches(t) || t.k !== ev.k || !dims || meta.rows !== dims[1] || meta.cols !== dims[0]) return; // stale or foreign: never drawn
    const members: Float32Array[] = [];
    for (let m = 0; m < meta.ensemble; m++) members.push(arrays[`member${m}`] as Float32Array);
    setResult(
      t.k,
      { tag: t, mask: arrays.mask as Uint8Array, mean: arrays.mean as Float32Array, variance: arrays.variance as Float32Array, members },
      { k: t.k, areaMm2: ev.areaMm2, brainMm2: ev.brainMm2, meanVariance: ev.meanVariance, maxVariance: ev.maxVariance, ensemble: ev.ensemble },
    );
  } catch (err) {
    fail(err);
  }
}
