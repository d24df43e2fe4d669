/** Small DICOM helpers for the PACS layer: identifying a Part 10 file, reading DICOM JSON (QIDO) answers. */
import { readFile } from 'node:fs/promises';
import { hasPart10Preamble, parsePart10 } from '../dicom/dcmjs';
import path from 'node:path';
import { InputError } from '../errors';
import { PacsError } from './errors';

export interface InstanceIds {
  studyInstanceUID: string;
  seriesInstanceUID: string;
  sopInstanceUID: string;
  sopClassUID: string;
  transferSyntaxUID: string;
}

/** The UIDs that identify a Part 10 file's instance. InputError when it is not a readable DICOM instance. */
export async function readInstanceIds(file: string): Promise<InstanceIds> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new InputError(`cannot read ${file}: ${(err as Error).message}`);
  }
  return instanceIdsOf(bytes, file);
}

export function instanceIdsOf(bytes: Uint8Array, file: string): InstanceIds {
  if (!hasPart10Preamble(bytes)) {
    throw new InputError(`${file} is not a DICOM Part 10 file (no "DICM" preamble). Only DICOM files can be sent to a PACS.`);
  }
  let meta: Record<string, unknown>;
  let ds: Record<string, unknown>;
  try {
    ({ meta, dataset: ds } = parsePart10(bytes));
  } catch (err) {
    throw new InputError(`${file} is not a readable DICOM file: ${(err as Error).message}`);
  }
  const ids = {
    studyInstanceUID: str(ds.StudyInstanceUID),
    seriesInstanceUID: str(ds.SeriesInstanceUID),
    sopInstanceUID: str(ds.SOPInstanceUID) || str(meta.MediaStorageSOPInstanceUID),
    sopClassUID: str(ds.SOPClassUID) || str(meta.MediaStorageSOPClassUID),
    transferSyntaxUID: str(meta.TransferSyntaxUID),
  };
  const missing = Object.entries(ids)
    .filter(([, v]) => !v)
    .map(([k]) => k);
  if (missing.length) throw new InputError(`${file} lacks ${missing.join(', ')}; a PACS cannot store it.`);
  return ids;
}

function str(v: unknown): string {
  if (Array.isArray(v)) v = v[0];
  return typeof v === 'string' ? v.replace(/\0/g, '').trim() : '';
}

/** One dataset of a DICOM JSON answer (PS3.18 F.2): tag "GGGGEEEE" -> { vr, Value?: [...] }. */
export type DicomJson = Record<string, { vr?: string; Value?: unknown[] } | undefined>;

/** Standard tags we read from QIDO answers. */
export const TAG = {
  StudyDate: '00080020',
  StudyTime: '00080030',
  AccessionNumber: '00080050',
  ModalitiesInStudy: '00080061',
  Modality: '00080060',
  SOPClassUID: '00080016',
  SOPInstanceUID: '00080018',
  StudyDescription: '00081030',
  SeriesDescription: '0008103E',
  PatientName: '00100010',
  PatientID: '00100020',
  StudyInstanceUID: '0020000D',
  SeriesInstanceUID: '0020000E',
  SeriesNumber: '00200011',
  NumberOfStudyRelatedSeries: '00201206',
  NumberOfStudyRelatedInstances: '00201208',
  NumberOfSeriesRelatedInstances: '00201209',
  FailureReason: '00081197',
  FailedSOPSequence: '00081198',
  ReferencedSOPSequence: '00081199',
  WarningReason: '00081196',
  ReferencedSOPInstanceUID: '00081155',
} as const;

/** All values of a tag as strings (PN values as their Alphabetic group). */
export function jsonValues(ds: DicomJson, tag: string): string[] {
  const el = ds[tag] ?? ds[tag.toUpperCase()] ?? ds[tag.toLowerCase()];
  if (!el?.Value) return [];
  return el.Value.map((v) => {
    if (v === null || v === undefined) return '';
    if (typeof v === 'object') {
      const pn = v as { Alphabetic?: string };
      return typeof pn.Alphabetic === 'string' ? pn.Alphabetic : '';
    }
    return String(v);
  });
}

export function jsonString(ds: DicomJson, tag: string): string {
  return jsonValues(ds, tag)[0] ?? '';
}

export function jsonNumber(ds: DicomJson, tag: string): number | undefined {
  const s = jsonString(ds, tag);
  if (s === '') return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
}

/** The items of a sequence attribute. */
export function jsonItems(ds: DicomJson, tag: string): DicomJson[] {
  const el = ds[tag] ?? ds[tag.toUpperCase()];
  return (el?.Value ?? []).filter((v): v is DicomJson => typeof v === 'object' && v !== null);
}

/**
 * A DICOM UID (PS3.5 9.1): numeric components separated by single dots, max 64 characters. Leading zeros in a
 * component are tolerated (some scanners write them); anything else is refused, so a UID can never hold a path
 * separator, "..", or a character a file system treats specially.
 */
export function isValidUid(uid: string): boolean {
  return /^[0-9]+(\.[0-9]+)*$/.test(uid) && uid.length <= 64;
}

/**
 * The file or folder name for a UID that a remote (PACS) gave us: the UID itself once it passed the UID grammar,
 * else a PacsError naming the server, so a hostile or broken server cannot make us write outside the output folder.
 */
export function remoteUidName(uid: string, what: string, server: string): string {
  if (!isValidUid(uid)) {
    const shown = JSON.stringify(uid.length > 80 ? `${uid.slice(0, 80)}…` : uid);
    throw new PacsError(
      'protocol',
      server,
      `${server} sent ${what} ${shown}, which is not a valid DICOM UID (digits and dots, max 64 characters); ` +
        'nothing was written for it. The server is broken or not trustworthy; check it with its administrator.',
    );
  }
  return uid;
}

/** `name` joined under `dir`, refusing anything that would land outside `dir` (second line of defence). */
export function pathInside(dir: string, ...names: string[]): string {
  const root = path.resolve(dir);
  const full = path.resolve(root, ...names);
  if (full !== root && !full.startsWith(root + path.sep)) {
    throw new InputError(`refusing to write ${full}: it is outside the output folder ${root}.`);
  }
  return full;
}

export function assertUid(uid: string, what: string): void {
  if (!isValidUid(uid)) throw new InputError(`${what} "${uid}" is not a valid DICOM UID (digits and dots, max 64 characters).`);
}
