/**
 * The app's services behind the handler table, one per job: open studies (studies.ts), segmentation runs
 * (run-service.ts), saving (save-service.ts), the PACS (pacs-service.ts). One instance per app (Electron) or
 * bridge; UI-agnostic: results go out through the host's `emit`.
 */
import { existsSync } from 'node:fs';
import { InputError } from '../errors';
import { pack } from './binary';
import { listModels, loadModel } from '../model/card';
import type { AppInfo, ModelSummary, ParsedArgOf, Role, SaveJob, SegmentRun, StudyView } from './contract';
import type { Host } from './host';
import { modelSummary } from './model-summary';
import { dicomFolderFor } from './nifti-studies';
import { PacsService } from './pacs-service';
import { demoDir } from './paths';
import { RunService } from './run-service';
import { SaveService } from './save-service';
import { readPriorResult } from './prior-results';
import { DISPLAY_ORDER, openStudyFolder, type OpenStudy } from './studies';
import { studyBrain } from './study-brain';
import { seriesThumbnail, type Thumbnail } from './thumbnails';
import pkg from '../../package.json' with { type: 'json' };

export type { Emit, Host } from './host';
export { isInside, userMessage } from './host';

export class AppServices {
  private studies = new Map<string, OpenStudy>();
  /** Counts openings: of two overlapping ones (the demo still loading when a folder is chosen) the later wins. */
  private openings = 0;
  private thumbnails = new WeakMap<object, Thumbnail | null>();
  readonly pacs: PacsService;
  private runs: RunService;
  private saves: SaveService;

  constructor(
    readonly host: Host,
    opts: { cacheDir?: string | null } = {},
  ) {
    this.pacs = new PacsService(host.emit, host.sealer);
    this.runs = new RunService(host.emit, opts.cacheDir);
    this.saves = new SaveService(host, this.pacs);
  }

  async info(): Promise<AppInfo> {
    const models: ModelSummary[] = [];
    for (const id of await listModels()) {
      try {
        models.push(modelSummary((await loadModel(id)).card));
      } catch {
        // a broken model folder is not offered
      }
    }
    return { version: pkg.version, mode: this.host.mode, models, demoAvailable: existsSync(demoDir()) };
  }

  // ---- studies ------------------------------------------------------------------------------------------

  openDemo(): Promise<StudyView> {
    return this.open(demoDir());
  }

  async openFolder(given: string | undefined): Promise<StudyView | null> {
    const folder = await this.host.chooseFolder('open', given);
    return folder ? this.open(folder) : null;
  }

  async retrieve(node: string, studyInstanceUID: string): Promise<StudyView> {
    return this.open(await this.pacs.retrieve(node, studyInstanceUID));
  }

  async setRoles(studyId: string, roles: Partial<Record<Role, string>>): Promise<StudyView> {
    const s = this.study(studyId);
    const uids = Object.values(roles);
    if (new Set(uids).size !== uids.length) throw new InputError('One series cannot have two roles. Choose a different series for each sequence.');
    // Load first: a refused assignment leaves the open study (and its running segmentation) as it was.
    const next = await openStudyFolder(s.folder, roles, s.id);
    await this.runs.cancelActive();
    this.studies.set(next.id, next);
    return next.view;
  }

  async volume(studyId: string, role: Role): Promise<Uint8Array> {
    const s = this.study(studyId);
    if (!s.display) throw new InputError(s.view.problems[0] ?? 'This study cannot be shown.');
    const data = s.display.aligned[role];
    if (!data) throw new InputError(`No ${role} series is assigned in this study.`);
    const v = s.display.volumes[role]!;
    const seriesInstanceUID = v.source.kind === 'dicom' ? v.source.seriesInstanceUID : '';
    return pack({ studyId, role, studyInstanceUID: s.view.studyInstanceUID, seriesInstanceUID, reference: s.view.reference }, { data });
  }

  /** A result already in the study, on the display grid: the slices it covers and one plane per slice. */
  priorResult(studyId: string, sopInstanceUID: string): Uint8Array {
    const s = this.study(studyId);
    const r = s.prior.find((p) => p.view.sopInstanceUID === sopInstanceUID);
    if (!r) throw new InputError('That result is not in the open study.');
    if (!s.view.reference) throw new InputError('Assign the images first: a result is shown on them.');
    const planes = readPriorResult(r, s.view.reference);
    const arrays: Record<string, Float32Array> = {};
    for (const [k, v] of planes) arrays[`k${k}`] = v;
    return pack({ studyInstanceUID: s.view.studyInstanceUID, sopInstanceUID, kind: r.view.kind, slices: [...planes.keys()].sort((a, b) => a - b) }, arrays);
  }

  /** The brain Halo segments inside, for the viewer's outline (see study-brain.ts). */
  brain(studyId: string): Uint8Array {
    return studyBrain(this.study(studyId));
  }

  /** The series browser's picture of one series of the open study (made once, then kept). */
  thumbnail(studyId: string, seriesInstanceUID: string): Uint8Array {
    const s = this.study(studyId);
    const series = s.images.find((x) => x.seriesInstanceUID === seriesInstanceUID);
    if (!series) throw new InputError('That series is not in the open study.');
    let t = this.thumbnails.get(series);
    if (t === undefined) this.thumbnails.set(series, (t = seriesThumbnail(series)));
    const meta = { studyInstanceUID: s.view.studyInstanceUID, seriesInstanceUID, rows: t?.rows ?? 0, cols: t?.cols ?? 0 };
    return pack(meta, t ? { pixels: t.pixels } : {});
  }

  private async open(folder: string): Promise<StudyView> {
    const opening = ++this.openings;
    // A new study ends the segmentation of the old one: its results could never be shown.
    await this.runs.cancelActive();
    const s = await openStudyFolder(await dicomFolderFor(folder));
    if (opening !== this.openings) throw new InputError(`${folder} was not opened: another study was opened while it loaded.`);
    // One study at a time: the previous one's volumes, runs and model session are released.
    this.studies.clear();
    this.studies.set(s.id, s);
    await this.runs.forgetOtherStudies(s.id);
    return s.view;
  }

  /** What is held in memory (the memory test): open studies, runs, model sessions. */
  held(): { studies: number; runs: number; sessions: number } {
    return { studies: this.studies.size, ...this.runs.held() };
  }

  private study(studyId: string): OpenStudy {
    const s = this.studies.get(studyId);
    if (!s) throw new InputError('That study is no longer open. Open it again.');
    return s;
  }

  // ---- segmentation -------------------------------------------------------------------------------------

  startSegmentation(a: ParsedArgOf<'segment.start'>): Promise<SegmentRun> {
    return this.runs.start(this.study(a.studyId), a);
  }

  prepareSegmentation(a: ParsedArgOf<'segment.prepare'>): Promise<{ ready: boolean; seconds: number }> {
    return this.runs.prepare(this.study(a.studyId), a);
  }

  growEnsemble(runId: string, add: number, focus: number): Promise<SegmentRun> {
    const prev = this.runs.get(runId);
    return this.runs.grow(this.study(prev.meta.studyId), prev, add, focus);
  }

  cancel(runId: string): Promise<{ cancelled: boolean }> {
    return this.runs.cancel(runId);
  }

  sliceResult(runId: string, k: number): Uint8Array {
    return this.runs.sliceResult(runId, k);
  }

  // ---- saving -------------------------------------------------------------------------------------------

  save(a: ParsedArgOf<'save.start'>): Promise<SaveJob> {
    const run = this.runs.get(a.runId);
    return this.saves.save(run, a, this.studies.get(run.meta.studyId)?.view.patientId ?? '');
  }

  /** The measurements alone, referencing the images of the open study they were drawn on. */
  saveMeasurements(a: ParsedArgOf<'save.measurements'>): Promise<SaveJob> {
    const s = this.study(a.studyId);
    const shown = s.display && DISPLAY_ORDER.find((r) => s.display!.volumes[r]);
    if (!s.display || !shown) throw new InputError('This study shows no images, so nothing can have been measured on it.');
    return this.saves.saveMeasurements({ reference: s.display.volumes[shown]!, volumes: s.display.volumes }, a, s.view.patientId);
  }

  retry(jobId: string, itemId: string): Promise<SaveJob> {
    return this.saves.retry(jobId, itemId);
  }

  async dispose(): Promise<void> {
    await this.runs.dispose();
  }
}
