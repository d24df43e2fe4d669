import type { CommitmentReport, CommittedInstance } from './commitment';

/** The protocol-neutral PACS interface, implemented over DICOMweb (dicomweb.ts) and DIMSE (dimse.ts). */

export interface StudyQuery {
  /** DICOM PN matching, `*` and `?` wildcards allowed (e.g. `DOE^J*`). */
  patientName?: string;
  patientId?: string;
  /** YYYYMMDD or a range YYYYMMDD-YYYYMMDD (either end may be open). */
  studyDate?: string;
  studyInstanceUID?: string;
  accessionNumber?: string;
  /** Maximum number of studies to return (DICOMweb `limit`; DIMSE: cancels after that many). */
  limit?: number;
}

export interface StudySummary {
  studyInstanceUID: string;
  patientName: string;
  patientId: string;
  studyDate: string;
  studyTime: string;
  studyDescription: string;
  accessionNumber: string;
  modalities: string[];
  numberOfSeries?: number;
  numberOfInstances?: number;
}

export interface SeriesSummary {
  studyInstanceUID: string;
  seriesInstanceUID: string;
  modality: string;
  seriesNumber?: number;
  seriesDescription: string;
  numberOfInstances?: number;
}

export interface RetrieveProgress {
  /** Instances written so far. */
  done: number;
  /** Total instances when the PACS says (QIDO count / C-GET remaining+completed), else undefined. */
  total?: number;
  /** The file just written. */
  file?: string;
}

export interface RetrieveOptions {
  onProgress?: (p: RetrieveProgress) => void;
  signal?: AbortSignal;
}

export interface RetrieveResult {
  /** Files written, as `<outDir>/<SeriesInstanceUID>/<SOPInstanceUID>.dcm`. */
  files: string[];
}

export interface StoreResult {
  sopInstanceUID: string;
  /** Set when the PACS stored the instance but reported a warning (e.g. coercion of attributes). */
  warning?: string;
}

export interface EchoResult {
  /** Round-trip time in ms. */
  ms: number;
}

export interface PacsClient {
  /** How the endpoint appears in messages (`name (url)`). */
  readonly label: string;
  /** Checks the PACS answers: C-ECHO, or for DICOMweb a minimal QIDO query. */
  echo(opts?: { signal?: AbortSignal }): Promise<EchoResult>;
  findStudies(query: StudyQuery, opts?: { signal?: AbortSignal }): Promise<StudySummary[]>;
  findSeries(studyInstanceUID: string, opts?: { signal?: AbortSignal }): Promise<SeriesSummary[]>;
  retrieveStudy(studyInstanceUID: string, outDir: string, opts?: RetrieveOptions): Promise<RetrieveResult>;
  /** Sends one Part 10 file; resolves only when the PACS confirmed it stored the instance. */
  store(file: string, opts?: { signal?: AbortSignal }): Promise<StoreResult>;
  /** Read-back: does the PACS list this instance? (QIDO instance query / C-FIND at IMAGE level) */
  hasInstance(
    studyInstanceUID: string,
    seriesInstanceUID: string,
    sopInstanceUID: string,
    opts?: { signal?: AbortSignal },
  ): Promise<boolean>;
  /** Storage Commitment (DIMSE only): the PACS's report on `instances`. */
  commitStorage?(instances: CommittedInstance[], opts?: { signal?: AbortSignal }): Promise<CommitmentReport>;
}
