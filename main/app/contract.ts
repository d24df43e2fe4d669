/**
 * The contract between the renderer and the main process: every handler's argument schema (zod) and result
 * type, and every push event. Imported by main (handlers, IPC, HTTP bridge), by the preload and by the
 * renderer, so both ends agree. No Node imports here: this file is bundled into the renderer.
 */
import { DEVICE_PREFERENCES } from '../model/device';
import { z } from 'zod';

export const RoleSchema = z.enum(['T1', 'T1ce', 'T2', 'FLAIR']);
export type Role = z.infer<typeof RoleSchema>;
export const ROLES: readonly Role[] = ['FLAIR', 'T1', 'T1ce', 'T2'];

const uid = z.string().regex(/^[0-9]+(\.[0-9]+)*$/).max(64);
const id = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);
const nodeName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/);
const folderPath = z.string().min(1).max(4096);
const none = z.object({}).strict();

const saveTarget = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('pacs'), node: nodeName }).strict(),
  /** Electron: a folder dialog (folder absent). Bridge: an allow-listed folder. */
  z.object({ kind: z.literal('folder'), folder: folderPath.optional() }).strict(),
]);
const point = z.tuple([z.number(), z.number(), z.number()]);
/**
 * A measurement as drawn (patient coordinates, LPS mm) on slice k of the reference grid in the viewport of `role`;
 * an ellipse carries the statistics the viewer showed. The report recomputes every length from the points.
 */
export const MeasurementSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('length'), role: RoleSchema, k: z.number().int().min(0), points: z.tuple([point, point]) }).strict(),
  z.object({ kind: z.literal('bidirectional'), role: RoleSchema, k: z.number().int().min(0), points: z.tuple([point, point, point, point]) }).strict(),
  z
    .object({
      kind: z.literal('ellipse'),
      role: RoleSchema,
      k: z.number().int().min(0),
      points: z.tuple([point, point, point, point]),
      stats: z.object({ mean: z.number(), stdDev: z.number().min(0), min: z.number(), max: z.number() }).strict(),
    })
    .strict(),
]);
export type MeasurementArg = z.infer<typeof MeasurementSchema>;

/** name -> argument schema. The only way in: anything not listed here is refused. */
export const HandlerArgs = {
  'app.info': none,
  'study.openDemo': none,
  /** Electron: a folder dialog (folder must be absent). Bridge: `folder` must be inside the allow-list. */
  'study.openFolder': z.object({ folder: folderPath.optional() }).strict(),
  'study.allowedFolders': none,
  'study.setRoles': z.object({ studyId: id, roles: z.partialRecord(RoleSchema, uid) }).strict(),
  /** One sequence on the reference (FLAIR) grid, binary (see binary.ts). */
  'study.volume': z.object({ studyId: id, role: RoleSchema }).strict(),
  /**
   * The brain Halo segments inside, on the reference grid, binary (study-brain.ts): the brain it extracted from the
   * FLAIR of a study with the skull; no mask on a skull-stripped study. Only for the open study.
   */
  'study.brain': z.object({ studyId: id }).strict(),
  /** A small grey picture of a series' middle slice, binary (meta: rows, cols; `pixels`, or none when unreadable). */
  'study.thumbnail': z.object({ studyId: id, seriesInstanceUID: uid }).strict(),
  'segment.start': z
    .object({
      studyId: id,
      modelId: z.string().regex(/^[a-z0-9][a-z0-9-]*$/).max(64),
      steps: z.number().int().min(1).max(1000),
      /** Null: the model's default for this study (larger on one with the skull, when its card says so). */
      ensemble: z.number().int().min(1).max(100).nullable(),
      /** Slice in view: done first, then outwards. */
      focus: z.number().int().min(0),
      /** Half-open range of slices; absent = every slice with brain. */
      range: z.object({ from: z.number().int().min(0), to: z.number().int().min(1) }).strict().optional(),
      device: z.enum(DEVICE_PREFERENCES).default('auto'),
    })
    .strict(),
  /**
   * Prepare the model (ONNX session, study on the model's grid) for these settings while the user reads, so the
   * click on Segment does not wait for it. Answers when it is ready.
   */
  'segment.prepare': z
    .object({
      studyId: id,
      modelId: z.string().regex(/^[a-z0-9][a-z0-9-]*$/).max(64),
      steps: z.number().int().min(1).max(1000),
      device: z.enum(DEVICE_PREFERENCES).default('auto'),
    })
    .strict(),
  'segment.cancel': z.object({ runId: id }).strict(),
  /** Grow the ensemble of a finished run by `add` members on the slices it did. */
  'segment.grow': z.object({ runId: id, add: z.number().int().min(1).max(50), focus: z.number().int().min(0) }).strict(),
  /** A result already in the study, as planes of the display grid (binary: slices + one array per slice). */
  'study.result': z.object({ studyId: id, sopInstanceUID: uid }).strict(),
  /** One slice's result, binary (mask, mean, variance, members). */
  'segment.slice': z.object({ runId: id, k: z.number().int().min(0) }).strict(),
  'save.start': z
    .object({
      runId: id,
      target: saveTarget,
      /** Exactly the slices the viewer shows, and their ensemble size: nothing else is written. */
      slices: z.array(z.number().int().min(0)).min(1).max(4096),
      ensemble: z.number().int().min(1).max(200),
      /** The user's corrected masks (bit-packed, base64) of edited slices; they replace the model's in the binary SEG. */
      edits: z.array(z.object({ k: z.number().int().min(0), mask: z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/).max(2_000_000) }).strict()).max(4096).optional(),
      /** The user's measurements: saved with the result as a DICOM SR measurement report. */
      measurements: z.array(MeasurementSchema).max(1000).optional(),
    })
    .strict(),
  /** The measurements alone (a DICOM SR), for a study with no result of this session to save them with. */
  'save.measurements': z.object({ studyId: id, target: saveTarget, measurements: z.array(MeasurementSchema).min(1).max(1000) }).strict(),
  'save.retry': z.object({ jobId: id, itemId: id }).strict(),
  'pacs.getSettings': none,
  'pacs.setSettings': z
    .object({
      callingAet: z.string().min(1).max(16),
      nodes: z
        .array(
          z.discriminatedUnion('kind', [
            z.object({ name: nodeName, kind: z.literal('dicomweb'), url: z.string().url().max(2048) }).strict(),
            z
              .object({
                name: nodeName,
                kind: z.literal('dimse'),
                aet: z.string().min(1).max(16),
                host: z.string().min(1).max(255),
                port: z.number().int().min(1).max(65535),
              })
              .strict(),
          ]),
        )
        .max(32),
      /** The user removed every node on purpose; without it an empty list never replaces saved nodes. */
      removeAll: z.boolean().optional(),
    })
    .strict(),
  /**
   * Write-only credentials for a DICOMweb node (nothing ever reads them back); scheme 'none' forgets them. One line
   * each: a CR/LF would split the HTTP header; a Basic user name has no colon (RFC 7617).
   */
  'pacs.setCredentials': z.discriminatedUnion('scheme', [
    z
      .object({
        node: nodeName,
        scheme: z.literal('basic'),
        username: z.string().min(1).max(256).regex(/^[^:\r\n]+$/, 'a user name is one line without a colon'),
        password: z.string().min(1).max(1024).regex(/^[^\r\n]+$/, 'a password is one line'),
      })
      .strict(),
    z
      .object({ node: nodeName, scheme: z.literal('bearer'), token: z.string().min(1).max(8192).regex(/^[\x21-\x7e]+$/, 'a token is printable ASCII without spaces') })
      .strict(),
    z.object({ node: nodeName, scheme: z.literal('none') }).strict(),
  ]),
  'pacs.echo': z.object({ node: nodeName }).strict(),
  'pacs.findStudies': z
    .object({
      node: nodeName,
      patientName: z.string().max(64).optional(),
      patientId: z.string().max(64).optional(),
      studyDate: z.string().regex(/^(\d{8})?(-(\d{8})?)?$/).optional(),
      limit: z.number().int().min(1).max(500).default(100),
    })
    .strict(),
  'pacs.retrieve': z.object({ node: nodeName, studyInstanceUID: uid }).strict(),
  'pacs.cancelRetrieve': z.object({}).strict(),
} as const;

export type HandlerName = keyof typeof HandlerArgs;
export const HANDLER_NAMES = Object.keys(HandlerArgs) as HandlerName[];
export type ArgOf<K extends HandlerName> = z.input<(typeof HandlerArgs)[K]>;
export type ParsedArgOf<K extends HandlerName> = z.output<(typeof HandlerArgs)[K]>;

export interface ModelSummary {
  id: string;
  version: string;
  description: string;
  inputs: Role[];
  /** ensembleBrainExtracted: the default on a study whose brain Halo extracts (null: `ensemble` there too). */
  defaults: { sampler: 'ddpm' | 'ddim'; steps: number; ensemble: number; ensembleBrainExtracted: number | null };
  /** The card's validation, for the radiologist; null when the card has none. */
  validation: ModelValidation | null;
  /** Its validation on studies with the skull (issue 23: TCGA LGG, brain extracted by Halo); null when none. */
  validationSkullOn: ModelValidation | null;
}

export interface ModelValidation {
  /** The ensemble size the numbers were measured at. */
  ensemble: number;
  trainingPatients: number | null;
  validationPatients: number;
  validationSlices: number;
  diceSingle: number;
  diceEnsemble: number;
  baselineDice: number | null;
  baselineMethod: string | null;
  auroc: number | null;
  /** Mean false-positive area per tumour-free slice (cm²), where the evaluation had tumour-free slices. */
  falsePositiveCm2: number | null;
  /** The card's own summary: where the model works and where it fails. */
  verdict: string;
}

export interface AppInfo {
  version: string;
  mode: 'electron' | 'bridge';
  models: ModelSummary[];
  demoAvailable: boolean;
}

export interface SeriesView {
  seriesInstanceUID: string;
  seriesNumber?: number;
  description: string;
  modality: string;
  instanceCount: number;
  guessedRole: Role | null;
}

export interface GridView {
  dims: [number, number, number];
  spacing: [number, number, number];
  origin: [number, number, number];
  direction: [[number, number, number], [number, number, number], [number, number, number]];
  frameOfReferenceUID?: string;
}

export interface StudyView {
  studyId: string;
  studyInstanceUID: string;
  patientName: string;
  patientId: string;
  studyDate: string;
  studyDescription: string;
  source: string;
  series: SeriesView[];
  /** Role -> SeriesInstanceUID, as used for display and segmentation. */
  roles: Partial<Record<Role, string>>;
  /** The FLAIR's grid: every viewport and every result lives on it. Null when the study cannot be shown. */
  reference: (GridView & { seriesInstanceUID: string }) | null;
  /** Roles shown resampled onto the reference grid (their own grid differs). */
  resampled: Role[];
  /** Problems a radiologist can act on (missing FLAIR, ambiguous roles, series that do not match, missing slices). */
  problems: string[];
  /**
   * Per assigned role, the reference-grid slices (k) its series has no image for (missing or unreadable files):
   * shown empty and marked missing; a segmentation range that includes one is refused.
   */
  missing: Partial<Record<Role, number[]>>;
  /** Results already in the study (SEG, Parametric Map), oldest first. */
  results: PriorResultView[];
}

export interface PriorResultView {
  sopInstanceUID: string;
  /** mask = binary SEG, probability = fractional SEG, variance = Parametric Map. */
  kind: 'mask' | 'probability' | 'variance';
  description: string;
  /** The algorithm (model) that made it, as the object says. */
  algorithm: string;
  /** A SEG whose segment is not AUTOMATIC (corrected by hand). */
  edited: boolean;
  /** Ensemble size, when the description states it (Halo's do: "n=5"). */
  ensemble: number | null;
  date: string;
  frames: number;
}

export interface SegmentRun {
  runId: string;
  studyId: string;
  studyInstanceUID: string;
  seriesInstanceUID: string;
  modelId: string;
  steps: number;
  ensemble: number;
  provider: 'CPU' | 'CUDA' | 'WebGPU';
  providerNote?: string;
  /** Set when Halo extracted the brain itself (a study with the skull): what to tell the user. */
  brainExtraction?: string;
  /** Set when the ensemble size is the model's default for a study with the skull: why it is larger. */
  ensembleNote?: string;
  /** Which series was taken as the post-contrast T1 and why. */
  seriesNotes?: string[];
  slices: number[];
}

/** What `study.brain` answers besides the mask: what it belongs to, so the viewer can check before drawing. */
export interface StudyBrainMeta {
  studyId: string;
  studyInstanceUID: string;
  /** The FLAIR the brain was found on (the reference grid). */
  seriesInstanceUID: string;
  dims: [number, number, number];
  /** False on a skull-stripped study: then no mask comes. */
  extracted: boolean;
}

/** 'stored': the PACS confirmed the store, but reading it back (the verification) did not succeed; see the reason. */
export type SaveState = 'queued' | 'sent' | 'stored' | 'verified' | 'written' | 'failed';
export interface SaveItem {
  itemId: string;
  label: string;
  sopInstanceUID: string;
  /** The file name it has in a folder (and in the outbox). */
  fileName: string;
  state: SaveState;
  reason?: string;
}
export interface SaveJob {
  jobId: string;
  runId: string;
  target: string;
  items: SaveItem[];
}

export interface PacsNodeView {
  name: string;
  kind: 'dicomweb' | 'dimse';
  url?: string;
  aet?: string;
  host?: string;
  port?: number;
  /** DICOMweb: whether credentials are saved, sealed with the OS keychain or in the owner-only file. Never the value. */
  credentials?: 'none' | 'sealed' | 'file';
}
export interface PacsSettingsView {
  callingAet: string;
  nodes: PacsNodeView[];
  /** Where the settings are stored. */
  file: string;
  /** Where credentials given now are kept, in words. */
  credentialStore: string;
}
export interface PacsStudy {
  studyInstanceUID: string;
  patientName: string;
  patientId: string;
  studyDate: string;
  studyDescription: string;
  modalities: string[];
  numberOfSeries?: number;
}

export interface HandlerResults {
  'app.info': AppInfo;
  'study.openDemo': StudyView;
  'study.openFolder': StudyView | null;
  'study.allowedFolders': { folders: { label: string; path: string }[] };
  'study.setRoles': StudyView;
  'study.volume': Uint8Array;
  'study.result': Uint8Array;
  'study.brain': Uint8Array;
  'study.thumbnail': Uint8Array;
  'segment.start': SegmentRun;
  'segment.prepare': { ready: boolean; seconds: number };
  'segment.cancel': { cancelled: boolean };
  'segment.grow': SegmentRun;
  'segment.slice': Uint8Array;
  'save.start': SaveJob;
  'save.measurements': SaveJob;
  'save.retry': SaveJob;
  'pacs.getSettings': PacsSettingsView;
  'pacs.setSettings': PacsSettingsView;
  'pacs.setCredentials': PacsSettingsView;
  'pacs.echo': { ms: number };
  'pacs.findStudies': PacsStudy[];
  'pacs.retrieve': StudyView;
  'pacs.cancelRetrieve': { cancelled: boolean };
}

/** Every result (and progress event) that belongs to a slice carries this tag; the renderer checks it. */
export interface ResultTag {
  runId: string;
  studyInstanceUID: string;
  seriesInstanceUID: string;
  k: number;
}

export interface HaloEvents {
  'segment.progress': {
    runId: string;
    slicesDone: number;
    slicesTotal: number;
    fraction: number;
    etaSeconds: number | null;
  };
  'segment.slice': ResultTag & { ensemble: number; areaMm2: number; brainMm2: number; meanVariance: number; maxVariance: number };
  'segment.done': { runId: string; status: 'done' | 'cancelled' | 'failed'; message?: string; seconds: number };
  'save.status': SaveJob;
  'pacs.retrieve': { node: string; studyInstanceUID: string; done: number; total?: number };
}
export type EventName = keyof HaloEvents;
export const EVENT_NAMES: EventName[] = ['segment.progress', 'segment.slice', 'segment.done', 'save.status', 'pacs.retrieve'];

/** What a failed call looks like on the renderer side: a message for the user, never a stack. */
export interface HaloErrorBody {
  kind: 'input' | 'pacs' | 'cancelled' | 'validation' | 'internal';
  message: string;
}

/** What every handler call answers, over IPC and HTTP alike. */
export type Envelope<T = unknown> = { ok: true; value: T } | { ok: false; error: HaloErrorBody };

/** The API the preload exposes as `window.halo` (and the browser shim re-implements over HTTP). */
export type HaloApi = {
  [K in HandlerName]: (arg: ArgOf<K>) => Promise<HandlerResults[K]>;
} & {
  on<E extends EventName>(event: E, cb: (payload: HaloEvents[E]) => void): () => void;
};
