/**
 * Segmentation runs of open studies: start (slice in view first), grow the ensemble, cancel, and each finished
 * slice's result. A run keeps every complete slice result it shows; a grow starts from its predecessor's results
 * and replaces them slice by slice, so what the viewer shows and what can be saved stay the same thing.
 */
import { PROVIDER_LABEL } from '../model/device';
import { CancelledError, InputError } from '../errors';
import { defaultCacheDir } from '../engine/cache';
import type { SliceResult } from '../engine/ensemble';
import {
  BRAIN_EXTRACTED_NOTE,
  defaultEnsemble,
  openSegmentation,
  runnableSlices,
  skullEnsembleNote,
  viewportFirst,
  type SegmentationSession,
} from '../engine/segment-study';
import { appRange } from '../volume/gaps';
import { loadModel } from '../model/card';
import type { DevicePreference } from '../model/onnx-session';
import { pack } from './binary';
import type { HaloEvents, ParsedArgOf, SegmentRun } from './contract';
import { userMessage, type Emit } from './host';
import { newId, type OpenStudy } from './studies';

export interface Run {
  meta: SegmentRun;
  session: SegmentationSession;
  controller: AbortController;
  /** Complete slice results by k: only these are ever shown or saved. */
  results: Map<number, SliceResult>;
  done: Promise<void>;
  finished: boolean;
}

export class RunService {
  private runs = new Map<string, Run>();
  private sessions = new Map<string, Promise<SegmentationSession>>();
  private active: Run | null = null;
  /**
   * Opening, closing and handing out sessions happen one at a time. Otherwise a prepare for other settings,
   * started just before a Segment click, could close the session that the click's run had just begun on.
   */
  private sessionLock: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly emit: Emit,
    private readonly cacheDir: string | null | undefined,
  ) {}

  async start(s: OpenStudy, a: ParsedArgOf<'segment.start'>): Promise<SegmentRun> {
    if (!s.display || !s.view.reference) throw new InputError(s.view.problems[0] ?? 'This study cannot be segmented.');
    // In the lock from the first await on, so that session operations run in the order they were asked for.
    return this.exclusive(async () => {
      const model = await loadModel(a.modelId);
      const missing = model.card.inputs.filter((r) => !s.view.roles[r]);
      if (missing.length) {
        throw new InputError(
          `The model "${model.card.id}" needs ${model.card.inputs.join(', ')}; this study has no ${missing.join(', ')} assigned. ` +
            'Assign the series in the header, or choose a model that needs fewer sequences.',
        );
      }
      await this.cancelActive();
      const session = await this.session(s, a.modelId, a.steps, a.device, a.ensemble ?? undefined);
      const nz = session.study.reference.geometry.dims[2];
      const from = a.range ? Math.min(a.range.from, nz) : 0;
      const to = a.range ? Math.min(a.range.to, nz) : nz;
      if (from >= to) throw new InputError(`The slice range ${from + 1}-${to} is outside this series (1-${nz}).`);
      const slices = runnableSlices(session.study, session.engine.study.hasBrain, from, to, a.range ? appRange : undefined);
      if (!slices.length) throw new InputError('None of the chosen slices contains brain; nothing to segment.');
      const ensemble = a.ensemble ?? defaultEnsemble(session.model.card, session.brainExtracted);
      return this.launch(s, session, viewportFirst(slices, Math.min(a.focus, nz - 1)), ensemble, a.ensemble === null);
    });
  }

  /** Runs fn once every earlier session operation has finished (see sessionLock). */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.sessionLock.then(fn);
    this.sessionLock = result.catch(() => undefined);
    return result;
  }

  /**
   * Open the segmentation session (study on the model's grid, ONNX session) that a Segment click with these
   * settings will use, while the user is still reading: the click then only runs slices. Never disturbs a run of
   * the study; a study the model cannot take is not prepared (the click says why).
   */
  async prepare(s: OpenStudy, a: ParsedArgOf<'segment.prepare'>): Promise<{ ready: boolean; seconds: number }> {
    const t0 = performance.now();
    const seconds = () => (performance.now() - t0) / 1000;
    if (!s.display || !s.view.reference) return { ready: false, seconds: seconds() };
    return this.exclusive(async () => {
      const model = await loadModel(a.modelId);
      if (model.card.inputs.some((r) => !s.view.roles[r])) return { ready: false, seconds: seconds() };
      // Opening another session closes the current one: never under a run of this study (running, or finished and
      // still growable); the click on Segment opens it then.
      if (!this.sessions.has(this.key(s, a.modelId, a.steps, a.device)) && [...this.runs.values()].some((r) => r.meta.studyId === s.id)) {
        return { ready: false, seconds: seconds() };
      }
      try {
        await this.session(s, a.modelId, a.steps, a.device);
        return { ready: true, seconds: seconds() };
      } catch (err) {
        if (!(err instanceof InputError)) console.error('halo: preparing the model failed', err);
        return { ready: false, seconds: seconds() };
      }
    });
  }

  private key(s: OpenStudy, modelId: string, steps: number, device: DevicePreference): string {
    return JSON.stringify([s.id, s.view.roles, modelId, steps, device]);
  }

  /** The one open session for these settings (shared by prepare and start); opening another closes the rest. */
  private async session(s: OpenStudy, modelId: string, steps: number, device: DevicePreference, ensemble?: number): Promise<SegmentationSession> {
    const key = this.key(s, modelId, steps, device);
    let sessionP = this.sessions.get(key);
    if (!sessionP) {
      await this.closeSessions();
      const model = await loadModel(modelId);
      const roles = Object.fromEntries(model.card.inputs.map((r) => [r, s.view.roles[r]!]));
      sessionP = openSegmentation(
        { kind: 'dicom', folder: s.folder, roles },
        { modelId, device, sampler: { steps }, ensemble, cacheDir: this.cacheDir === undefined ? defaultCacheDir() : this.cacheDir },
      ).then(async (session) => {
        try {
          await session.engine.warmUp();
          return session;
        } catch (err) {
          await session.close();
          throw err;
        }
      });
      this.sessions.set(key, sessionP);
      sessionP.catch(() => this.sessions.delete(key));
    }
    return sessionP;
  }

  async grow(s: OpenStudy, prev: Run, add: number, focus: number): Promise<SegmentRun> {
    if (!prev.finished) throw new InputError('Wait for the current segmentation to finish (or cancel it) before adding samples.');
    const slices = [...prev.results.keys()];
    if (!slices.length) throw new InputError('There are no segmented slices to add samples to.');
    await this.cancelActive();
    return this.launch(s, prev.session, viewportFirst(slices, focus), prev.meta.ensemble + add, false, prev);
  }

  private launch(s: OpenStudy, session: SegmentationSession, slices: number[], ensemble: number, byDefault = false, prev?: Run): SegmentRun {
    const ref = session.study.reference;
    if (ref.source.kind !== 'dicom') throw new Error('viewer studies are DICOM');
    if (ref.source.seriesInstanceUID !== s.view.roles.FLAIR) throw new InputError('The FLAIR changed since the study was opened; open it again.');
    session.engine.setEnsembleSize(ensemble);
    const device = session.denoiser.device;
    const meta: SegmentRun = {
      runId: newId(),
      studyId: s.id,
      studyInstanceUID: ref.source.studyInstanceUID,
      seriesInstanceUID: ref.source.seriesInstanceUID,
      modelId: session.model.card.id,
      steps: session.engine.settings.sampler.steps,
      ensemble,
      provider: PROVIDER_LABEL[device.provider],
      providerNote: device.fallbackReason ? `GPU not available: ${device.fallbackReason}` : undefined,
      brainExtraction: session.brainExtracted ? BRAIN_EXTRACTED_NOTE : undefined,
      ensembleNote: byDefault ? skullEnsembleNote(session.model.card, session.brainExtracted) : undefined,
      seriesNotes: session.study.roleNotes.notes,
      slices,
    };
    const controller = new AbortController();
    // A grow shows its predecessor's slices until it replaces them: they stay this run's results meanwhile.
    const run: Run = { meta, session, controller, results: new Map(prev?.results), done: Promise.resolve(), finished: false };
    const t0 = performance.now();
    const emit = this.emit;
    run.done = (async () => {
      try {
        await session.engine.run({
          slices,
          signal: controller.signal,
          onProgress: (p) => {
            emit('segment.progress', { runId: meta.runId, slicesDone: p.slicesDone, slicesTotal: p.slicesTotal, fraction: p.fraction, etaSeconds: p.etaSeconds });
            if (p.slice) {
              run.results.set(p.slice.k, p.slice);
              emit('segment.slice', sliceEvent(meta, session, p.slice));
            }
          },
        });
        emit('segment.done', { runId: meta.runId, status: 'done', seconds: (performance.now() - t0) / 1000 });
      } catch (err) {
        const cancelled = err instanceof CancelledError;
        if (!cancelled) console.error('halo: segmentation failed', err);
        emit('segment.done', {
          runId: meta.runId,
          status: cancelled ? 'cancelled' : 'failed',
          message: cancelled ? undefined : userMessage(err),
          seconds: (performance.now() - t0) / 1000,
        });
      } finally {
        run.finished = true;
        if (this.active === run) this.active = null;
      }
    })();
    this.runs.set(meta.runId, run);
    this.active = run;
    return meta;
  }

  async cancel(runId: string): Promise<{ cancelled: boolean }> {
    const run = this.get(runId);
    if (run.finished) return { cancelled: false };
    run.controller.abort();
    await run.done;
    return { cancelled: true };
  }

  sliceResult(runId: string, k: number): Uint8Array {
    const run = this.get(runId);
    const r = run.results.get(k);
    if (!r) throw new InputError(`Slice ${k + 1} has no result in this run yet.`);
    // `brain`: the brain the model saw (the extracted one on a study with the skull), for the viewer's outline.
    const brain = run.session.engine.study.brainFor(k);
    const arrays: Record<string, Float32Array | Uint8Array> = { mask: r.mask, mean: r.mean, variance: r.variance, brain };
    r.members.forEach((m, i) => (arrays[`member${i}`] = m));
    const tag = { runId, studyInstanceUID: run.meta.studyInstanceUID, seriesInstanceUID: run.meta.seriesInstanceUID, k };
    const [cols, rows] = run.session.study.reference.geometry.dims;
    return pack({ tag, ensemble: r.members.length, rows, cols }, arrays);
  }

  get(runId: string): Run {
    const r = this.runs.get(runId);
    if (!r) throw new InputError('That segmentation is no longer available. Run it again.');
    return r;
  }

  /** A new study (or new roles) ends the segmentation of the old one: its results could never be shown. */
  async cancelActive(): Promise<void> {
    const a = this.active;
    if (a && !a.finished) {
      a.controller.abort();
      await a.done;
    }
  }

  /**
   * Another study was opened: the runs of every other study (their results hold every member of every slice) and
   * their model sessions are let go, so memory does not grow with each study opened.
   */
  async forgetOtherStudies(studyId: string): Promise<void> {
    await this.exclusive(async () => {
      await this.cancelActive(); // already done by the caller before opening; here so that no run is left running
      for (const [runId, run] of this.runs) if (run.meta.studyId !== studyId) this.runs.delete(runId);
      if (this.active && this.active.meta.studyId !== studyId) this.active = null;
      const stale = [...this.sessions.keys()].filter((key) => (JSON.parse(key) as unknown[])[0] !== studyId);
      for (const key of stale) {
        const p = this.sessions.get(key)!;
        this.sessions.delete(key);
        await p.then((session) => session.close()).catch(() => undefined);
      }
    });
  }

  /** How much is held, for the memory test: runs and open model sessions. */
  held(): { runs: number; sessions: number } {
    return { runs: this.runs.size, sessions: this.sessions.size };
  }

  async dispose(): Promise<void> {
    await this.exclusive(async () => {
      await this.cancelActive();
      await this.closeSessions();
    });
  }

  private async closeSessions(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    for (const p of all) await p.then((s) => s.close()).catch(() => undefined);
  }
}

/** What the viewer needs to know of a finished slice: tumour and brain area, mean and largest variance. */
function sliceEvent(meta: SegmentRun, session: SegmentationSession, r: SliceResult): HaloEvents['segment.slice'] {
  const ref = session.study.reference;
  const [nx, ny] = ref.geometry.dims;
  const plane = nx * ny;
  const brainOfSlice = session.engine.study.brainFor(r.k);
  const pixelMm2 = ref.geometry.spacing[0] * ref.geometry.spacing[1];
  let area = 0;
  let brain = 0;
  let sumV = 0;
  let maxV = 0;
  for (let i = 0; i < plane; i++) {
    if (r.mask[i]) area++;
    if (brainOfSlice[i]) {
      brain++;
      sumV += r.variance[i];
    }
    if (r.variance[i] > maxV) maxV = r.variance[i];
  }
  return {
    runId: meta.runId,
    studyInstanceUID: meta.studyInstanceUID,
    seriesInstanceUID: meta.seriesInstanceUID,
    k: r.k,
    ensemble: r.members.length,
    areaMm2: area * pixelMm2,
    brainMm2: brain * pixelMm2,
    meanVariance: brain ? sumV / brain : 0,
    maxVariance: maxV,
  };
}
