/**
 * Saving what the viewer shows: the binary SEG, the fractional SEG and the variance Parametric Map of exactly
 * the slices (and ensemble size) the renderer names, and the user's measurements as a DICOM SR measurement
 * report, to a folder or through the outbox to a PACS.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../errors';
import { ensembleStatistics, type SliceResult } from '../engine/ensemble';
import { assembleVolumes } from '../engine/outputs';
import { buildDicomOutputs } from '../engine/dicom-outputs';
import { buildMeasurementReport } from '../dicom/measurement-report';
import { writeFileAtomic } from '../io/atomic';
import { connectPacs } from '../pacs/client';
import { instanceIdsOf } from '../pacs/dicom';
import { Outbox, type OutboxEvent } from '../pacs/outbox';
import type { SequenceRole, Volume } from '../volume/volume';
import type { ParsedArgOf, SaveItem, SaveJob } from './contract';
import { userMessage, type Host } from './host';
import type { PacsService } from './pacs-service';
import { outboxDir, savedDir } from './paths';
import type { Run } from './run-service';
import { applyEdits, markEdited } from './seg-edits';
import { newId } from './studies';

interface SaveRecord {
  job: SaveJob;
  files: Map<string, string>;
  /** File name each object gets in a folder. */
  names: Map<string, string>;
  target: { kind: 'pacs'; node: string } | { kind: 'folder'; folder: string };
}

/** The objects, with a short name a person can tell apart in a folder listing. */
const OBJECTS = [
  { key: 'seg', label: 'Segmentation (binary mask)', name: 'SEG-mask' },
  { key: 'fractional', label: 'Segmentation (fractional probability)', name: 'SEG-probability' },
  { key: 'variance', label: 'Parametric Map (ensemble variance)', name: 'PM-variance' },
  { key: 'measurements', label: 'Measurement report (DICOM SR)', name: 'SR-measurements' },
] as const;

/** Who measured (TID 1500's Person Observer Name): the account logged in to this computer. */
function observerName(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

export class SaveService {
  private saves = new Map<string, SaveRecord>();

  constructor(
    private readonly host: Host,
    private readonly pacs: PacsService,
  ) {}

  async save(run: Run, a: ParsedArgOf<'save.start'>, patientId: string): Promise<SaveJob> {
    const { results, edited } = applyEdits(selectResults(run, a.slices, a.ensemble), a.edits ?? []);
    const target = await this.targetOf(a.target);
    const study = run.session.study;
    const vols = assembleVolumes(study.reference.geometry, results, a.ensemble);
    const dicom = buildDicomOutputs(study, run.session.model.card, vols, results.map((r) => r.k), {
      brainExtracted: run.session.brainExtracted,
    });
    if (edited.length) dicom.seg = markEdited(dicom.seg, edited);
    const objects: Partial<Record<(typeof OBJECTS)[number]['key'], Buffer>> = { ...dicom };
    if (a.measurements?.length) {
      objects.measurements = buildMeasurementReport({
        reference: study.reference,
        volumes: study.volumes,
        measurements: a.measurements,
        savedWith: [dicom.seg, dicom.fractional, dicom.variance].map((b) => instanceIdsOf(b, 'a saved object')),
        observer: observerName(),
      });
    }
    const note = edited.length ? `, edited on ${plural(edited.length, 'slice')}` : '';
    const entries = OBJECTS.filter((o) => objects[o.key]).map((o) =>
      o.key === 'measurements'
        ? { bytes: objects[o.key]!, label: `${o.label}, ${plural(a.measurements!.length, 'measurement')}`, name: o.name }
        : { bytes: objects[o.key]!, label: `${o.label}, ${results.length} slices, n=${a.ensemble}${o.key === 'seg' ? note : ''}`, name: `${o.name}_n${a.ensemble}` },
    );
    return this.store(a.runId, target, entries, patientId);
  }

  /** The measurements alone, as an SR, when there is no result of ours to save them with (none run, or a stored one shown). */
  async saveMeasurements(study: { reference: Volume; volumes: Partial<Record<SequenceRole, Volume>> }, a: ParsedArgOf<'save.measurements'>, patientId: string): Promise<SaveJob> {
    const target = await this.targetOf(a.target);
    const bytes = buildMeasurementReport({ reference: study.reference, volumes: study.volumes, measurements: a.measurements, observer: observerName() });
    const o = OBJECTS[3];
    return this.store('', target, [{ bytes, label: `${o.label}, ${plural(a.measurements.length, 'measurement')}`, name: o.name }], patientId);
  }

  private async targetOf(t: ParsedArgOf<'save.start'>['target']): Promise<SaveRecord['target']> {
    if (t.kind === 'pacs') {
      await this.pacs.settings(t.node); // validates the file (and opens this node's credentials) early
      return { kind: 'pacs', node: t.node };
    }
    const folder = await this.host.chooseFolder('save', t.folder);
    if (!folder) throw new InputError('Saving was cancelled: no folder chosen.');
    return { kind: 'folder', folder };
  }

  /** Keep the objects in the app's saved folder, list them as the job's items, and deliver them. */
  private async store(runId: string, target: SaveRecord['target'], entries: { bytes: Buffer; label: string; name: string }[], patientId: string): Promise<SaveJob> {
    const jobId = newId();
    const dir = join(savedDir(), jobId);
    await mkdir(dir, { recursive: true });
    const files = new Map<string, string>();
    const names = new Map<string, string>();
    const items: SaveItem[] = [];
    const who = safeName(patientId) || 'halo';
    for (const e of entries) {
      const ids = instanceIdsOf(e.bytes, e.label);
      const itemId = newId();
      const name = `${who}_${e.name}_${ids.sopInstanceUID}.dcm`;
      const file = join(dir, name);
      await writeFileAtomic(file, e.bytes);
      files.set(itemId, file);
      names.set(itemId, name);
      items.push({ itemId, label: e.label, sopInstanceUID: ids.sopInstanceUID, fileName: name, state: 'queued' });
    }
    const record: SaveRecord = {
      job: { jobId, runId, target: target.kind === 'pacs' ? `PACS ${target.node}` : `folder ${target.folder}`, items },
      files,
      names,
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
          const dest = join(rec.target.folder, rec.names.get(item.itemId)!);
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
      const shown = saveStateOf(e);
      if (item && shown) update(item, shown.state, shown.reason);
    };
    try {
      const settings = await this.pacs.settings(rec.target.node);
      const { client, endpoint } = await connectPacs(rec.target.node, { settings });
      const outbox = Outbox.forEndpoint(endpoint, settings.outboxDir ?? outboxDir());
      await outbox.enqueue(items.map((i) => rec.files.get(i.itemId)!), onEvent);
      await outbox.flush(client, { onEvent, verification: endpoint.verification });
    } catch (err) {
      for (const item of items) if (item.state !== 'verified' && item.state !== 'stored') update(item, 'failed', userMessage(err));
    }
  }
}

/**
 * What the Save panel shows for an outbox event ('sending' shows nothing new). 'stored' is its own state: the PACS
 * confirmed the store but Halo could not read it back (the reason says why), which is less than verified.
 */
export function saveStateOf(e: OutboxEvent): { state: SaveItem['state']; reason?: string } | undefined {
  switch (e.state) {
    case 'sending':
      return undefined;
    case 'failed':
      return { state: 'failed', reason: `${e.reason ?? 'not confirmed'} (kept in the outbox; Retry sends it again)` };
    case 'stored':
      return { state: 'stored', reason: e.reason };
    default:
      return { state: e.state, reason: e.reason }; // a PACS warning on a confirmed store, if any
  }
}

/**
 * The results of the slices the viewer shows, each as an ensemble of `n`: a slice whose result has more members
 * (grown) is taken as its first n members, which is the ensemble of n it had before growing. A slice that has
 * no result, or fewer than n members, is refused: never a frame for a slice the user does not see.
 */
export function selectResults(run: Run, slices: number[], n: number): SliceResult[] {
  if (!slices.length) throw new InputError('Nothing to save: no slice has been segmented yet.');
  const threshold = run.session.model.card.maskEncoding.threshold;
  return [...new Set(slices)]
    .sort((a, b) => a - b)
    .map((k) => {
      const r = run.results.get(k);
      if (!r) throw new InputError(`Slice ${k + 1} has no result in this segmentation; it cannot be saved. Segment it first or leave it out.`);
      if (r.members.length < n) throw new InputError(`Slice ${k + 1} has ${r.members.length} samples, not ${n}: save it with n=${r.members.length}, or add samples first.`);
      return r.members.length === n ? r : firstMembers(r, n, threshold);
    });
}

function firstMembers(r: SliceResult, n: number, threshold: number): SliceResult {
  const members = r.members.slice(0, n);
  return { ...r, members, ...ensembleStatistics(members, threshold) };
}

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

/** Letters, digits, dot, dash only: safe in a file name on every system. */
function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9.-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 48);
}
