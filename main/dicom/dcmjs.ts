/**
 * The one place that talks to dcmjs: Part 10 parsing and writing of naturalized datasets (keyword-named
 * attributes, sequences as arrays of items). Everything else in main/dicom works on these plain objects,
 * so the untyped library stays behind a small typed surface.
 */
import dcmjs from 'dcmjs';

/** A naturalized dcmjs dataset: attribute keyword -> value (string | number | array | item[] | ArrayBuffer[]). */
export type Dataset = Record<string, unknown>;

export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
export const IMPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2';

const { DicomMessage, DicomMetaDictionary, DicomDict } = dcmjs.data;

// dcmjs logs every tolerated oddity (odd VRs, trailing padding) to the console; errors we care about are thrown.
dcmjs.log.setLevel('silent');
dcmjs.log.getLogger('validation.dcmjs').setLevel('silent');

/** The VR of a standard attribute keyword (e.g. 'PN' for PatientName), from dcmjs's dictionary. */
export function vrOfKeyword(keyword: string): string | undefined {
  return (DicomMetaDictionary.nameMap as Record<string, { vr?: string } | undefined>)[keyword]?.vr;
}

/** True when the bytes carry the Part 10 preamble + "DICM" prefix (PS3.10 7.1). */
export function hasPart10Preamble(bytes: Uint8Array): boolean {
  return (
    bytes.length >= 132 && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 && bytes[131] === 0x4d
  );
}

export interface Part10 {
  /** File Meta Information (group 0002), naturalized. */
  meta: Dataset;
  dataset: Dataset;
}

/**
 * Parse a Part 10 file. Throws dcmjs's own Error on malformed input; callers turn that into an InputError.
 * `lenient`: keep whatever parsed before the first error (dcmjs ignoreErrors) instead of throwing.
 */
export function parsePart10(bytes: Uint8Array, options: { lenient?: boolean } = {}): Part10 {
  const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const dict = options.lenient ? DicomMessage.readFile(ab, { ignoreErrors: true }) : DicomMessage.readFile(ab);
  return {
    meta: DicomMetaDictionary.naturalizeDataset(dict.meta) as Dataset,
    dataset: DicomMetaDictionary.naturalizeDataset(dict.dict) as Dataset,
  };
}

/**
 * Serialize a naturalized dataset as a Part 10 file (Explicit VR Little Endian). The File Meta Information is
 * derived from the dataset's SOPClassUID / SOPInstanceUID so the two can never disagree.
 */
export function writePart10(dataset: Dataset, implementation: { classUID: string; versionName: string }): Buffer {
  const sopClassUID = dataset.SOPClassUID;
  const sopInstanceUID = dataset.SOPInstanceUID;
  if (typeof sopClassUID !== 'string' || typeof sopInstanceUID !== 'string') {
    throw new Error('writePart10: dataset lacks SOPClassUID / SOPInstanceUID');
  }
  const version = new Uint8Array([0, 1]);
  const meta = {
    FileMetaInformationVersion: version.buffer,
    MediaStorageSOPClassUID: sopClassUID,
    MediaStorageSOPInstanceUID: sopInstanceUID,
    TransferSyntaxUID: EXPLICIT_VR_LITTLE_ENDIAN,
    ImplementationClassUID: implementation.classUID,
    ImplementationVersionName: implementation.versionName,
  };
  const dict = new DicomDict(DicomMetaDictionary.denaturalizeDataset(meta));
  dict.dict = DicomMetaDictionary.denaturalizeDataset(dataset);
  const ab: ArrayBuffer = dict.write();
  return Buffer.from(ab);
}

/** Data element tag (as the 32-bit number an AT value holds) of a keyword, e.g. 'ImagePositionPatient' -> 0x00200032. */
export function tagOf(keyword: string): number {
  const tag = DicomMetaDictionary.tagAsIntegerFromName(keyword) as number | undefined;
  if (tag === undefined) throw new Error(`unknown DICOM keyword ${keyword}`);
  return tag;
}
