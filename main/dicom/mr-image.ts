/**
 * MR Image IOD (PS3.3 A.4) for one slice of a derived (converted) MR series, built from typed inputs and
 * checked here, in one place, before anything is serialized.
 */
import type { Vec3 } from '../volume/volume';
import { type Dataset, writePart10 } from './dcmjs';
import { ds, dicomNow, haloEquipment, IMPLEMENTATION, shortText, SOP_CLASS } from './iod';

export interface MrSeriesInfo {
  patientName: string;
  patientID: string;
  /** e.g. 'YES' + method for public de-identified research data. */
  deidentificationMethod?: string;
  studyInstanceUID: string;
  studyDescription: string;
  seriesInstanceUID: string;
  seriesNumber: number;
  seriesDescription: string;
  frameOfReferenceUID: string;
  /** Defined terms of (0018,0020): SE, IR, GR, EP, RM. */
  scanningSequence: string[];
  /** Defined terms of (0018,0021), e.g. ['NONE']. */
  sequenceVariant: string[];
  /** Contrast agent when the series is post-contrast (adds the Contrast/Bolus module). */
  contrastAgent?: string;
  /** Why and from what this image was made (free text, up to 1024 characters). */
  derivationDescription: string;
}

export interface MrSliceInput {
  sopInstanceUID: string;
  instanceNumber: number;
  rows: number;
  columns: number;
  /** Top-left voxel centre, LPS mm. */
  position: Vec3;
  /** Unit vector along a row (increasing column index) and down a column (increasing row index), LPS. */
  rowDirection: Vec3;
  columnDirection: Vec3;
  /** [between rows, between columns], mm: the DICOM PixelSpacing order. */
  pixelSpacing: [number, number];
  sliceThickness: number;
  spacingBetweenSlices: number;
  pixels: Int16Array;
}

const isUid = (s: string) => /^[0-9]+(\.[0-9]+)*$/.test(s) && s.length <= 64;

function validate(series: MrSeriesInfo, slice: MrSliceInput): void {
  for (const [name, uid] of [
    ['StudyInstanceUID', series.studyInstanceUID],
    ['SeriesInstanceUID', series.seriesInstanceUID],
    ['FrameOfReferenceUID', series.frameOfReferenceUID],
    ['SOPInstanceUID', slice.sopInstanceUID],
  ]) {
    if (!isUid(uid)) throw new Error(`MR image: ${name} "${uid}" is not a valid UID`);
  }
  if (!series.patientID) throw new Error('MR image: PatientID is required');
  if (series.scanningSequence.length === 0 || series.sequenceVariant.length === 0) {
    throw new Error('MR image: ScanningSequence and SequenceVariant are Type 1');
  }
  if (!(slice.rows > 0 && slice.columns > 0) || slice.pixels.length !== slice.rows * slice.columns) {
    throw new Error(`MR image: ${slice.pixels.length} pixels for a ${slice.rows}x${slice.columns} slice`);
  }
  const r = slice.rowDirection;
  const c = slice.columnDirection;
  const len = (v: Vec3) => Math.hypot(v[0], v[1], v[2]);
  if (Math.abs(len(r) - 1) > 1e-6 || Math.abs(len(c) - 1) > 1e-6 || Math.abs(r[0] * c[0] + r[1] * c[1] + r[2] * c[2]) > 1e-6) {
    throw new Error('MR image: row and column directions must be orthonormal');
  }
  if (!(slice.pixelSpacing[0] > 0 && slice.pixelSpacing[1] > 0 && slice.sliceThickness > 0)) {
    throw new Error('MR image: pixel spacing and slice thickness must be positive');
  }
}

/** One MR Image Storage instance as a Part 10 file. */
export function buildMrImage(series: MrSeriesInfo, slice: MrSliceInput, now = new Date()): Buffer {
  validate(series, slice);
  const { date, time } = dicomNow(now);
  let min = Infinity;
  let max = -Infinity;
  for (const v of slice.pixels) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const pixels = new Int16Array(slice.pixels); // own, little-endian-in-memory copy (all supported hosts are LE)
  const { DeviceSerialNumber: _serial, ...equipment } = haloEquipment(); // not part of the MR IOD's modules
  const dataset: Dataset = {
    SpecificCharacterSet: 'ISO_IR 192',
    // SOP Common
    SOPClassUID: SOP_CLASS.MR_IMAGE,
    SOPInstanceUID: slice.sopInstanceUID,
    InstanceCreationDate: date,
    InstanceCreationTime: time,
    // Patient (Type 2 birth date / sex: unknown for de-identified research data, so present and empty)
    PatientName: { Alphabetic: shortText(series.patientName, 64) },
    PatientID: shortText(series.patientID, 64),
    PatientBirthDate: '',
    PatientSex: '',
    ...(series.deidentificationMethod
      ? { PatientIdentityRemoved: 'YES', DeidentificationMethod: shortText(series.deidentificationMethod, 64) }
      : {}),
    // General Study: no acquisition date/accession is known, so the Type 2 attributes stay empty
    StudyInstanceUID: series.studyInstanceUID,
    StudyDate: '',
    StudyTime: '',
    ReferringPhysicianName: '',
    StudyID: '',
    AccessionNumber: '',
    StudyDescription: shortText(series.studyDescription, 64),
    // General Series
    Modality: 'MR',
    SeriesInstanceUID: series.seriesInstanceUID,
    SeriesNumber: series.seriesNumber,
    SeriesDescription: shortText(series.seriesDescription, 64),
    // Type 2C for MR: required but unknown for converted data, hence empty
    PatientPosition: '',
    BodyPartExamined: 'BRAIN',
    // Frame of Reference
    FrameOfReferenceUID: series.frameOfReferenceUID,
    PositionReferenceIndicator: '',
    // General Equipment: the device that created these instances
    ...equipment,
    // General Image + MR Image
    InstanceNumber: slice.instanceNumber,
    ContentDate: date,
    ContentTime: time,
    // Value 3 is required for MR; none of the defined terms (MPR, T1 MAP, ...) fits a format conversion.
    ImageType: ['DERIVED', 'SECONDARY', 'OTHER'],
    DerivationDescription: series.derivationDescription.slice(0, 1024),
    BurnedInAnnotation: 'NO',
    ScanningSequence: series.scanningSequence,
    SequenceVariant: series.sequenceVariant,
    // Type 2 acquisition parameters the source (NIfTI) does not record: present and empty, never made up.
    ScanOptions: '',
    MRAcquisitionType: '',
    RepetitionTime: '',
    EchoTime: '',
    EchoTrainLength: '',
    ...(series.scanningSequence.includes('IR') ? { InversionTime: '' } : {}),
    // Image Plane
    PixelSpacing: slice.pixelSpacing.map(ds),
    ImageOrientationPatient: [...slice.rowDirection, ...slice.columnDirection].map(ds),
    ImagePositionPatient: slice.position.map(ds),
    SliceThickness: ds(slice.sliceThickness),
    SpacingBetweenSlices: ds(slice.spacingBetweenSlices),
    // Image Pixel
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    Rows: slice.rows,
    Columns: slice.columns,
    BitsAllocated: 16,
    BitsStored: 16,
    HighBit: 15,
    PixelRepresentation: 1,
    SmallestImagePixelValue: Number.isFinite(min) ? min : 0,
    LargestImagePixelValue: Number.isFinite(max) ? max : 0,
    PixelData: [pixels.buffer],
    _vrMap: { PixelData: 'OW', SmallestImagePixelValue: 'SS', LargestImagePixelValue: 'SS' },
  };
  if (series.contrastAgent) {
    // Contrast/Bolus module (required when contrast was used); the agent name is Type 2.
    dataset.ContrastBolusAgent = shortText(series.contrastAgent, 64);
  }
  return writePart10(dataset, IMPLEMENTATION);
}
