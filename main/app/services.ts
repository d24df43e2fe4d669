/**
 * The app's services behind the handler table: open studies, segmentation runs, saving results, the PACS.
 * One instance per app (Electron) or bridge. Everything here is UI-agnostic: results go out through `emit`.
 */
import { mkdir, readFile, realpath } from 'node:fs/promises';
import { join, relative, resolve, isAbsolute, sep } from 'node:path';
import { CancelledError, InputError } from '../errors';
import { defaultCacheDir } from '../engine/cache';
import type { SliceResult } from '../engine/ensemble';
import { assembleVolumes } from '../engine/outputs';
import { openSegmentation, viewportFirst, type SegmentationSession } from '../engine/segment-study';
import { listModels, loadModel } from '../model/card';
import { connectPacs } from '../pacs/client';
import { echoWithoutProbing } from '../pacs/echo';
import { applyNodeEdits, defaultConfigPath, loadPacsSettings, savePacsSettings, type PacsSettings } from '../pacs/config';
import { instanceIdsOf } from '../pacs/dicom';
import { buildDicomOutputs } from '../engine/dicom-outputs';
import { writeFileAtomic } from '../io/atomic';
import { Outbox, type OutboxEvent } from '../pacs/outbox';
import { pack } from './binary';
import type {
  AppInfo,
  EventName,
  HaloEvents,
  ModelSummary,
  PacsSettingsView,
  ParsedArgOf,
  Role,
  SaveItem,
  SaveJob,
  SegmentRun,
  StudyView,
} from './contract';
import { demoDir, outboxDir, retrievedDir, savedDir } from './paths';
import { newId, openStudyFolder, type OpenStudy } from './studies';
import pkg from '../../package.json' with { type: 'json' };

export type Emit = <E extends EventName>(event: E, payload: HaloEvents[E]) => void;

/** What differs between the Electron app and the HTTP bridge. */
export interface Host {
  mode: 'electron' | 'bridge';
  /**
   * A folder to read (open) or write (save). Electron: a dialog, `given` must be absent. Bridge: `given` must
   * be inside the allow-list. Null when the user cancelled.
   */
  chooseFolder(purpose: 'open' | 'save', given: string | undefined): Promise<string | null>;
  allowedFolders(): { label: string; path: string }[];
  emit: Emit;
  /** Extra roots the app itself may read (demo, retrieved studies) are always allowed. */
}

interface Run {
  meta: SegmentRun;
  session: SegmentationSession;
  controller: AbortController;
  results: Map<number, SliceResult>;
  done: Promise<void>;
  finished: boolean;
}

interface SaveRecord {
  job: SaveJob;
  files: Map<string, string>;
  target: { kind: 'pacs'; node: string } | { kind: 'folder'; folder: string };
}

export class AppServices {
  private studies = new Map<string, OpenStudy>();
  private runs = new Map<string, Run>();
  private sessions = new Map<string, Promise<SegmentationSession>>();
  private saves = new Map<string, SaveRecord>();
  private active: Run | null = null;

  constructor(
    readonly host: Host,
    private readonly opts: { cacheDir?: string | null } = {},
  ) {}

  async info(): Promise<AppInfo> {
    const models: ModelSummary[] = [];
    for (const id of await listModels()) {
      try {
        const { card } = await loadModel(id);
        models.push({
          id: card.id,
          version: card.version,
          description: card.description,
          inputs: card.inputs,
          defaults: { sampler: card.defaults.sampler, steps: card.defaults.steps, ensemble: card.defaults.ensemble },
        });
      } catch {
        // a broken model folder is not offered
      }
    }
    const { existsSync } = await import('node:fs');
    return { version: pkg.version, mode: this.host.mode, models, demoAvailable: existsSync(demoDir()) };
  }

  // ---- studies ------------------------------------------------------------------------------------------

  async openDemo(): Promise<StudyView> {
    return this.open(demoDir());
  }

  async openFolder(given: string | undefined): Promise<StudyView | null> {
    const folder = await this.host.chooseFolder('open', given);
    return folder ? this.open(folder) : null;
  }

  private async open(folder: string, overrides?: Partial<Record<Role, string>>, id?: string): Promise<StudyView> {
    // A new study (or new roles) ends the segmentation of the old one: its results could never be shown.
    await this.cancelActive();
    const s = await openStudyFolder(folder, overrides, id);
    this.studies.set(s.id, s);
    return s.view;
  }

  async setRoles(studyId: string, roles: Partial<Record<Role, string>>): Promise<StudyView> {
    const s = this.study(studyId);
    const uids = Object.values(roles);
    if (new Set(uids).size !== uids.length) throw new InputError('One series cannot have two roles. Choose a different series for each sequence.');
    return this.open(s.folder, roles, s.id);
  }

  async volume(studyId: string, role: Role): Promise<Uint8Array> {
    const s = this.study(studyId);
    if (!s.study) throw new InputError(s.view.problems[0] ?? 'This study cannot be shown.');
    const data = s.study.aligned[role];
    if (!data) throw new InputError(`No ${role} series is assigned in this study.`);
    const v = s.study.volumes[role]!;
    const seriesInstanceUID = v.source.kind === 'dicom' ? v.source.seriesInstanceUID : '';
    return pack({ studyId, role, studyInstanceUID: s.view.studyInstanceUID, seriesInstanceUID, reference: s.view.reference }, { data });
  }

  private study(studyId: string): OpenStudy {
    const s = this.studies.get(studyId);
    if (!s) throw new InputError('That study is no longer open. Open it again.');
    return s;
  }

  // ---- segmentation -------------------------------------------------------------------------------------

  async startSegmentation(a: ParsedArgOf<'segment.start'>): Promise<SegmentRun> {
    const s = this.study(a.studyId);
    if (!s.study || !s.view.reference) throw new InputError(s.view.problems[0] ?? 'This study cannot be segmented.');
    const model = await loadModel(a.modelId);
    const missing = model.card.inputs.filter((r) => !s.view.roles[r]);
    if (missing.length) {
      throw new InputError(
        `The model "${model.card.id}" needs ${model.card.inputs.join(', ')}; this study has no ${missing.join(', ')} assigned. ` +
          'Assign the series in the header, or choose a model that needs fewer sequences.',
      );
    }
    await this.cancelActive();
    const key = JSON.stringify([s.id, s.view.roles, a.modelId, a.steps, a.device]);
    let sessionP = this.sessions.get(key);
    if (!sessionP) {
      await this.closeSessions();
      const roles = Object.fromEntries(model.card.inputs.map((r) => [r, s.view.roles[r]!]));
      sessionP = openSegmentation(
        { kind: 'dicom', folder: s.folder, roles },
        { modelId: a.modelId, device: a.device, sampler: { steps: a.steps }, ensemble: a.ensemble, cacheDir: this.cacheDir() },
      );
      this.sessions.set(key, sessionP);
      sessionP.catch(() => this.sessions.delete(key));
    }
    const session = await sessionP;
    const nz = session.study.reference.geometry.dims[2];
    const from = a.range ? Math.min(a.range.from, nz) : 0;
    const to = a.range ? Math.min(a.range.to, nz) : nz;
    if (from >= to) throw new InputError(`The slice range ${from + 1}-${to} is outside this series (1-${nz}).`);
    const slices = Array.from({ length: to - from }, (_, i) => from + i).filter((k) => session.engine.study.hasBrain[k]);
    if (!slices.length) throw new InputError('None of the chosen slices contains brain; nothing to segment.');
    return this.launch(s, session, viewportFirst(slices, Math.min(a.focus, nz - 1)), a.ensemble);
  }

  async growEnsemble(runId: string, add: number, focus: number): Promise<SegmentRun> {
    const prev = this.run(runId);
    if (!prev.finished) throw new InputError('Wait for the current segmentation to finish (or cancel it) before adding samples.');
    const s = this.study(prev.meta.studyId);
    const slices = [...prev.results.keys()];
    if (!slices.length) throw new InputError('There are no segmented slices to add samples to.');
    await this.cancelActive();
    return this.launch(s, prev.session, viewportFirst(slices, focus), prev.meta.ensemble + add, prev);
  }

  private launch(s: OpenStudy, session: SegmentationSession, slices: number[], ensemble: number, prev?: Run): SegmentRun {
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
      provider: device.provider === 'cuda' ? 'CUDA' : 'CPU',
      providerNote: device.fallbackReason ? `GPU not available: ${device.fallbackReason}` : undefined,
      slices,
    };
    const controller = new AbortController();
    const run: Run = { meta, session, controller, results: new Map(), done: Promise.resolve(), finished: false };
    // Keep what the previous run had until this one replaces it slice by slice (grow).
    void prev;
    const grid = ref.geometry;
    const t0 = performance.now();
    const emit = this.host.emit;
    run.done = (async () => {
      try {
        await session.engine.run({
          slices,
          signal: controller.signal,
          onProgress: (p) => {
            emit('segment.progress', {
              runId: meta.runId,
              slicesDone: p.slicesDone,
              slicesTotal: p.slicesTotal,
              fraction: p.fraction,
              etaSeconds: p.etaSeconds,
            });
            if (p.slice) {
              const r = p.slice;
              run.results.set(r.k, r);
              let area = 0;
              let sumV = 0;
              let maxV = 0;
              let brain = 0;
              const refData = ref.data;
              const plane = grid.dims[0] * grid.dims[1];
              for (let i = 0; i < plane; i++) {
                if (r.mask[i]) area++;
                if (refData[r.k * plane + i] !== 0) {
                  brain++;
                  sumV += r.variance[i];
                }
                if (r.variance[i] > maxV) maxV = r.variance[i];
              }
              emit('segment.slice', {
                runId: meta.runId,
                studyInstanceUID: meta.studyInstanceUID,
                seriesInstanceUID: meta.seriesInstanceUID,
                k: r.k,
                ensemble: r.members.length,
                areaMm2: area * grid.spacing[0] * grid.spacing[1],
                meanVariance: brain ? sumV / brain : 0,
                maxVariance: maxV,
              });
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
    const run = this.run(runId);
    if (run.finished) return { cancelled: false };
    run.controller.abort();
    await run.done;
    return { cancelled: true };
  }

  sliceResult(runId: string, k: number): Uint8Array {
    const run = this.run(runId);
    const r = run.results.get(k);
    if (!r) throw new InputError(`Slice ${k + 1} has no result in this run yet.`);
    const arrays: Record<string, Float32Array | Uint8Array> = { mask: r.mask, mean: r.mean, variance: r.variance };
    r.members.forEach((m, i) => (arrays[`member${i}`] = m));
    const tag = { runId, studyInstanceUID: run.meta.studyInstanceUID, seriesInstanceUID: run.meta.seriesInstanceUID, k };
    return pack({ tag, ensemble: r.members.length, rows: run.session.study.reference.geometry.dims[1], cols: run.session.study.reference.geometry.dims[0] }, arrays);
  }

  private run(runId: string): Run {
    const r = this.runs.get(runId);
    if (!r) throw new InputError('That segmentation is no longer available. Run it again.');
    return r;
  }

  private async cancelActive(): Promise<void> {
    const a = this.active;
    if (a && !a.finished) {
      a.controller.abort();
      await a.done;
    }
  }

  private async closeSessions(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    for (const p of all) await p.then((s) => s.close()).catch(() => undefined);
  }

  private cacheDir(): string | null {
    return this.opts.cacheDir === undefined ? defaultCacheDir() : this.opts.cacheDir;
  }

  // ---- saving -------------------------------------------------------------------------------------------

  async save(a: ParsedArgOf<'save.start'>): Promise<SaveJob> {
    const run = this.run(a.runId);
    if (!run.finished) throw new InputError('Wait for the segmentation to finish (or cancel it) before saving.');
    if (!run.results.size) throw new InputError('Nothing to save: no slice has been segmented yet.');
    let target: SaveRecord['target'];
    if (a.target.kind === 'pacs') {
      await this.pacsSettings(); // validates the file early
      target = { kind: 'pacs', node: a.target.node };
    } else {
      const folder = await this.host.chooseFolder('save', a.target.folder);
      if (!folder) throw new InputError('Saving was cancelled: no folder chosen.');
      target = { kind: 'folder', folder };
    }
    const study = run.session.study;
    const ref = study.reference;
    const results = [...run.results.values()].sort((x, y) => x.k - y.k);
    const ensemble = run.meta.ensemble;
    const vols = assembleVolumes(ref.geometry, results, ensemble);
    const dicom = buildDicomOutputs(study, run.session.model.card, vols, results.map((r) => r.k));
    const objects: [string, Buffer][] = [
      ['Segmentation (binary mask)', dicom.seg],
      ['Segmentation (fractional probability)', dicom.fractional],
      ['Parametric Map (ensemble variance)', dicom.variance],
    ];
    const jobId = newId();
    const dir = join(savedDir(), jobId);
    await mkdir(dir, { recursive: true });
    const files = new Map<string, string>();
    const items: SaveItem[] = [];
    for (const [label, bytes] of objects) {
      const ids = instanceIdsOf(bytes, label);
      const itemId = newId();
      const file = join(dir, `${ids.sopInstanceUID}.dcm`);
      await writeFileAtomic(file, bytes);
      files.set(itemId, file);
      items.push({ itemId, label, sopInstanceUID: ids.sopInstanceUID, state: 'queued' });
    }
    const record: SaveRecord = {
      job: { jobId, runId: a.runId, target: target.kind === 'pacs' ? `PACS ${target.node}` : `folder ${target.folder}`, items },
      files,
      target,
    };
    this.saves.set(jobId, record);
    this.host.emit('save.status', record.job);
    void this.deliver(record, items.map((i) => i.itemId));
    return structuredClone(record.job);
  }

  async retry(jobId: string, itemId: string): Promise<SaveJob> {
    const rec = this.saves.get(jobId);
    if (!rec) throw new InputError('That save is no longer known. Save again.');
    const item = rec.job.items.find((i) => i.itemId === itemId);
    if (!item) throw new InputError('That object is not part of this save.');
    if (item.state !== 'failed') throw new InputError(`"${item.label}" is ${item.state}, not failed; nothing to retry.`);
    item.state = 'queued';
    item.reason = undefined;
    this.host.emit('save.status', rec.job);
    void this.deliver(rec, [itemId]);
    return structuredClone(rec.job);
  }

  /**
   * To a folder: copy and read back. To a PACS: through the same outbox as `halo send` — each file stays in the
   * outbox until the PACS confirmed it and a read-back finds it, so nothing is lost when the PACS is down.
   */
  private async deliver(rec: SaveRecord, itemIds: string[]): Promise<void> {
    const update = (item: SaveItem, state: SaveItem['state'], reason?: string) => {
      item.state = state;
      item.reason = reason;
      this.host.emit('save.status', structuredClone(rec.job));
    };
    const items = itemIds.map((id) => rec.job.items.find((i) => i.itemId === id)!);
    if (rec.target.kind === 'folder') {
      for (const item of items) {
        const file = rec.files.get(item.itemId)!;
        try {
          const dest = join(rec.target.folder, `${item.sopInstanceUID}.dcm`);
          await writeFileAtomic(dest, await readFile(file));
          const back = instanceIdsOf(await readFile(dest), dest);
          if (back.sopInstanceUID !== item.sopInstanceUID) throw new InputError(`${dest} did not read back as the object written.`);
          update(item, 'written');
        } catch (err) {
          update(item, 'failed', userMessage(err));
        }
      }
      return;
    }
    const bySop = new Map(items.map((i) => [i.sopInstanceUID, i]));
    const onEvent = (e: OutboxEvent) => {
      const item = bySop.get(e.entry.sopInstanceUID);
      if (!item || e.state === 'sending') return;
      if (e.state === 'stored') update(item, 'sent', e.reason); // confirmed by the PACS, not verified: the reason says why
      else update(item, e.state, e.state === 'failed' ? `${e.reason ?? 'not confirmed'} (kept in the outbox; Retry sends it again)` : undefined);
    };
    try {
      const settings = await this.pacsSettings();
      const { client, endpoint } = await connectPacs(rec.target.node, { settings });
      const outbox = Outbox.forEndpoint(endpoint, settings.outboxDir ?? outboxDir());
      await outbox.enqueue(items.map((i) => rec.files.get(i.itemId)!), onEvent);
      await outbox.flush(client, { onEvent, verification: endpoint.verification });
    } catch (err) {
      for (const item of items) if (item.state !== 'verified') update(item, 'failed', userMessage(err));
    }
  }

  // ---- PACS ---------------------------------------------------------------------------------------------

  private async pacsSettings(): Promise<PacsSettings> {
    return (await loadPacsSettings()).settings;
  }

  async getPacsSettings(): Promise<PacsSettingsView> {
    const loaded = await loadPacsSettings();
    return {
      callingAet: loaded.settings.callingAet,
      nodes: loaded.settings.nodes.map((n) =>
        n.kind === 'dicomweb' ? { name: n.name, kind: n.kind, url: n.url } : { name: n.name, kind: n.kind, aet: n.aet, host: n.host, port: n.port },
      ),
      file: loaded.path ?? settingsFile(),
    };
  }

  async setPacsSettings(a: ParsedArgOf<'pacs.setSettings'>): Promise<PacsSettingsView> {
    const loaded = await loadPacsSettings();
    await savePacsSettings(loaded.path ?? settingsFile(), applyNodeEdits(loaded.settings, a));
    return this.getPacsSettings();
  }

  async echo(node: string): Promise<{ ms: number }> {
    const { client } = await connectPacs(node, { settings: await this.pacsSettings() });
    return echoWithoutProbing(client);
  }

  async findStudies(a: ParsedArgOf<'pacs.findStudies'>) {
    const { client } = await connectPacs(a.node, { settings: await this.pacsSettings() });
    const found = await client.findStudies(
      { patientName: a.patientName || undefined, patientId: a.patientId || undefined, studyDate: a.studyDate || undefined, limit: a.limit },
      { signal: AbortSignal.timeout(30_000) },
    );
    return found.map((s) => ({
      studyInstanceUID: s.studyInstanceUID,
      patientName: s.patientName.replace(/\^/g, ' ').trim(),
      patientId: s.patientId,
      studyDate: s.studyDate,
      studyDescription: s.studyDescription,
      modalities: s.modalities,
      numberOfSeries: s.numberOfSeries,
    }));
  }

  async retrieve(node: string, studyInstanceUID: string): Promise<StudyView> {
    const { client } = await connectPacs(node, { settings: await this.pacsSettings() });
    const out = join(retrievedDir(), studyInstanceUID);
    await mkdir(out, { recursive: true });
    await client.retrieveStudy(studyInstanceUID, out, {
      onProgress: (p) => this.host.emit('pacs.retrieve', { node, studyInstanceUID, done: p.done, total: p.total }),
    });
    return this.open(out);
  }

  async dispose(): Promise<void> {
    await this.cancelActive();
    await this.closeSessions();
  }
}

function settingsFile(): string {
  return process.env.HALO_PACS_CONFIG || defaultConfigPath();
}

/** The message a radiologist sees: our own errors say what to do; anything else is summarised. */
export function userMessage(err: unknown): string {
  if (err instanceof InputError) return err.message;
  if (err instanceof CancelledError) return 'Cancelled.';
  return 'Halo hit an internal problem and could not finish this step. The details are in the application log.';
}

/** True when `child` is `root` or inside it (after resolving symlinks of both). */
export async function isInside(child: string, root: string): Promise<boolean> {
  const [c, r] = await Promise.all([realpath(resolve(child)).catch(() => null), realpath(resolve(root)).catch(() => null)]);
  if (!c || !r) return false;
  const rel = relative(r, c);
  return rel === '' || (!rel.startsWith('..' + sep) && rel !== '..' && !isAbsolute(rel));
}
