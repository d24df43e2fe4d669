/**
 * Writing a Part 10 file around dataset bytes received over DIMSE, without decoding and re-encoding them.
 * (dcmjs-dimse's Dataset.toFile re-encodes through dcmjs's naturalized form, which silently drops private tags,
 * e.g. Siemens CSA headers, so C-GET results would not be byte-faithful.)
 *
 * Note: this imports dcmjs directly (only for the File Meta Information group) although main/dicom/dcmjs.ts is meant
 * to be its only importer; a `writePart10Raw(meta, datasetBytes)` there would let this file go.
 */
import dcmjs from 'dcmjs';
import { HALO_IMPLEMENTATION_CLASS_UID } from '../dicom/uid';

const { DicomDict, DicomMetaDictionary } = dcmjs.data;

/** Preamble + "DICM" + File Meta Information (Explicit VR LE) + the dataset bytes as received. */
export function part10FromDatasetBytes(
  datasetBytes: Uint8Array,
  ids: { sopClassUID: string; sopInstanceUID: string; transferSyntaxUID: string },
): Buffer {
  const meta = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: ids.sopClassUID,
    MediaStorageSOPInstanceUID: ids.sopInstanceUID,
    TransferSyntaxUID: ids.transferSyntaxUID,
    ImplementationClassUID: HALO_IMPLEMENTATION_CLASS_UID,
    ImplementationVersionName: 'HALO',
  };
  const dict = new DicomDict(DicomMetaDictionary.denaturalizeDataset(meta));
  dict.dict = {};
  const header = Buffer.from(dict.write() as ArrayBuffer);
  return Buffer.concat([header, datasetBytes]);
}
