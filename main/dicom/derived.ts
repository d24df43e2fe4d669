/**
 * What Segmentation and Parametric Map objects share: they are multi-frame images derived from one DICOM
 * source series (the FLAIR), one frame per source slice, in the source's study and frame of reference.
 * Inputs are checked here once; the IOD modules common to both are built here once.
 */
import { sliceSize, voxelCount, voxelToWorld, type Geometry, type Volume } from '../volume/volume';
import type { Dataset } from './dcmjs';
import { CODES, codeItem, dicomNow, ds, fitText, haloEquipment, patientStudyModules, shortText, SOP_CLASS } from './iod';
import { BRAIN_EXTRACTION_VERSION } from '../engine/brain-extraction';
import { newUid } from './uid';
import { num, str } from './values';

export interface ModelInfo {
  id: string;
  version: string;
}

/** Inputs every derived object needs. */
export interface DerivedInputs {
  /** The FLAIR volume the per-voxel arrays are defined on (source.kind must be 'dicom'). */
  source: Volume;
  /** The other input series (T1, T1ce, T2), referenced for provenance. */
  otherInputs?: Volume[];
  /** Number of ensemble members (diffusion samples) behind the result. */
  ensembleSize: number;
  model: ModelInfo;
  /** The brain was extracted automatically (a study with the skull): said in the algorithm parameters and ImageComments. */
  brainExtracted?: boolean;
  /** Slices (k) the model actually processed; default all. */
  processedSlices?: number[];
  seriesNumber?: number;
  /** Person or software to name as ContentCreatorName (PN); default 'Halo'. */
  contentCreatorName?: string;
  now?: Date;
}

export type DicomSource = Extract<Volume['source'], { kind: 'dicom' }>;

export interface CheckedInputs extends DerivedInputs {
  src: DicomSource;
  geometry: Geometry;
  processed: Set<number>;
  /** The processed slices in slice order: the frames of every derived object (no frame for a slice not computed). */
  frames: number[];
}

/** Validate the inputs shared by every derived object; throws (a programming error) on inconsistency. */
export function checkDerivedInputs(inp: DerivedInputs, what: string): CheckedInputs {
  const src = inp.source.source;
  if (src.kind !== 'dicom') throw new Error(`${what}: the source volume must come from DICOM (got ${src.kind})`);
  const g = inp.source.geometry;
  if (src.instances.length !== g.dims[2]) {
    throw new Error(`${what}: source has ${src.instances.length} instances for ${g.dims[2]} slices`);
  }
  if (!src.studyInstanceUID || !src.seriesInstanceUID) throw new Error(`${what}: source lacks study/series UIDs`);
  if (!g.frameOfReferenceUID) throw new Error(`${what}: source has no FrameOfReferenceUID`);
  if (!(Number.isInteger(inp.ensembleSize) && inp.ensembleSize >= 1)) {
    throw new Error(`${what}: ensembleSize must be a positive integer (got ${inp.ensembleSize})`);
  }
  if (!inp.model.id.trim() || !inp.model.version.trim()) throw new Error(`${what}: model id and version are required`);
  for (const other of inp.otherInputs ?? []) {
    if (other.source.kind !== 'dicom') throw new Error(`${what}: every input volume must come from DICOM`);
    if (other.geometry.frameOfReferenceUID !== g.frameOfReferenceUID) {
      throw new Error(`${what}: input series ${other.source.seriesInstanceUID} is in another frame of reference`);
    }
  }
  const processed = new Set<number>(inp.processedSlices ?? Array.from({ length: g.dims[2] }, (_, k) => k).filter((k) => src.instances[k]));
  for (const k of processed) {
    if (!(Number.isInteger(k) && k >= 0 && k < g.dims[2])) throw new Error(`${what}: processed slice ${k} is outside 0..${g.dims[2] - 1}`);
  }
  if (processed.size === 0) throw new Error(`${what}: no processed slices, nothing to store`);
  // A result never claims a slice the series has no image for (missing or unreadable file): nothing was computed.
  const imageless = [...processed].filter((k) => !src.instances[k]);
  if (imageless.length) throw new Error(`${what}: processed slices ${sliceRanges(imageless.sort((a, b) => a - b))} have no source image`);
  return { ...inp, src, geometry: g, processed, frames: [...processed].sort((a, b) => a - b) };
}

/** "61-90, 95" for the 0-based slices [60..89, 94]: 1-based slice numbers as ranges. */
export function sliceRanges(slices: number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < slices.length; ) {
    let j = i;
    while (j + 1 < slices.length && slices[j + 1] === slices[j] + 1) j++;
    parts.push(i === j ? `${slices[i] + 1}` : `${slices[i] + 1}-${slices[j] + 1}`);
    i = j + 1;
  }
  return parts.join(', ');
}

/**
 * What part of the source series the object covers. `short` (for descriptions) is empty for a whole-volume run;
 * `full` (ImageComments, LT up to 10240 characters) names every processed slice, so a reader never takes a slice
 * that was not computed for "no tumour there".
 */
export function coverage(c: CheckedInputs): { short: string; full: string } {
  const total = c.geometry.dims[2];
  const n = c.frames.length;
  const all = n === total;
  const brain = c.brainExtracted ? ` ${BRAIN_EXTRACTED_COMMENT}` : '';
  const imageless = c.src.instances.flatMap((inst, k) => (inst ? [] : [k]));
  const missing = imageless.length ? ` The source series has no image for slices ${sliceRanges(imageless)} (missing or unreadable files).` : '';
  return {
    short: all ? '' : `${n}/${total} slices`,
    full: all
      ? `Computed on all ${total} slices of the source series ${c.src.seriesInstanceUID}.${brain}`
      : `PARTIAL RESULT: computed on ${n} of ${total} slices of the source series ${c.src.seriesInstanceUID} ` +
        `(slice numbers 1-${total} in position order): ${sliceRanges(c.frames)}. ` +
        `The other slices were not processed and have no frame here: absence of a frame is not absence of tumour.${missing}${brain}`,
  };
}

/** ImageComments' sentence for a study with the skull (the algorithm parameters say it in short). */
export const BRAIN_EXTRACTED_COMMENT =
  `The source is not skull-stripped: Halo extracted the brain automatically (brain extraction v${BRAIN_EXTRACTION_VERSION}) and segmented only inside it.`;

/** Check a per-voxel array's length against the source grid. */
export function checkVoxelArray(g: Geometry, arr: ArrayLike<number>, name: string, what: string): void {
  if (arr.length !== voxelCount(g)) {
    throw new Error(`${what}: ${name} has ${arr.length} values, the source grid ${g.dims.join('x')} has ${voxelCount(g)}`);
  }
}

/** True when slice k of `arr` has any non-zero value. */
export function sliceHasData(g: Geometry, arr: ArrayLike<number>, k: number): boolean {
  const n = sliceSize(g);
  for (let p = k * n; p < (k + 1) * n; p++) if (arr[p] !== 0) return true;
  return false;
}

const iopOf = (g: Geometry) => [...g.direction[0], ...g.direction[1]].map(ds);

/**
 * Patient/study (copied), series, frame of reference, equipment, general image, SOP common and the common
 * instance reference: everything but the IOD-specific image modules and the functional groups.
 */
export function derivedHeader(
  c: CheckedInputs,
  o: { sopClassUID: string; modality: string; seriesDescription: string; seriesNumber: number; imageComments?: string },
): Dataset {
  const first = c.src.firstDataset;
  const { date, time } = dicomNow(c.now ?? new Date());
  const sourceSeries = [c.source, ...(c.otherInputs ?? [])];
  const sameStudy = sourceSeries.filter((v) => (v.source as DicomSource).studyInstanceUID === c.src.studyInstanceUID);
  const otherStudies = sourceSeries.filter((v) => (v.source as DicomSource).studyInstanceUID !== c.src.studyInstanceUID);
  const seriesItem = (v: Volume): Dataset => {
    const s = v.source as DicomSource;
    return {
      SeriesInstanceUID: s.seriesInstanceUID,
      ReferencedInstanceSequence: s.instances.filter((i) => i !== null).map((i) => ({
        ReferencedSOPClassUID: i.sopClassUID,
        ReferencedSOPInstanceUID: i.sopInstanceUID,
      })),
    };
  };
  const header: Dataset = {
    SpecificCharacterSet: 'ISO_IR 192', // dcmjs decodes sources to Unicode and always writes UTF-8
    ...patientStudyModules(first),
    // General Series
    Modality: o.modality,
    SeriesInstanceUID: newUid(),
    SeriesNumber: o.seriesNumber,
    SeriesDescription: fitText(o.seriesDescription, 64),
    SeriesDate: date,
    SeriesTime: time,
    // Frame of Reference: the source's (the objects are on its grid)
    FrameOfReferenceUID: c.geometry.frameOfReferenceUID,
    PositionReferenceIndicator: str(first, 'PositionReferenceIndicator'),
    // General + Enhanced General Equipment
    ...haloEquipment(),
    // General Image / content identification
    InstanceNumber: 1,
    ContentDate: date,
    ContentTime: time,
    ContentCreatorName: { Alphabetic: shortText(c.contentCreatorName ?? 'Halo', 64) },
    ...(o.imageComments ? { ImageComments: o.imageComments.replace(/\\/g, '/').slice(0, 10240) } : {}),
    // SOP Common
    SOPClassUID: o.sopClassUID,
    SOPInstanceUID: newUid(),
    InstanceCreationDate: date,
    InstanceCreationTime: time,
    // Common Instance Reference: every input series
    ReferencedSeriesSequence: sameStudy.map(seriesItem),
    // The source images of the frames, also at the top level (General Reference), as highdicom and dcmqi write it.
    SourceImageSequence: c.frames.map((k) => ({
      ReferencedSOPClassUID: c.src.instances[k]!.sopClassUID,
      ReferencedSOPInstanceUID: c.src.instances[k]!.sopInstanceUID,
      PurposeOfReferenceCodeSequence: [codeItem(CODES.sourceImageForProcessing)],
    })),
  };
  if (otherStudies.length) {
    header.StudiesContainingOtherReferencedInstancesSequence = otherStudies.map((v) => ({
      StudyInstanceUID: (v.source as DicomSource).studyInstanceUID,
      ReferencedSeriesSequence: [seriesItem(v)],
    }));
  }
  return header;
}

/** True when `frames` (sorted slice indices) are one complete stack: every slice from the first to the last. */
function completeStack(frames: number[]): boolean {
  return frames.every((k, f) => k === frames[0] + f);
}

/**
 * Shared functional group: pixel measures of the source grid. SpacingBetweenSlices only for a complete stack of
 * frames: across a gap (screened-out or omitted empty slices) a reader that trusts it would misplace every frame
 * after the gap; each frame's own ImagePositionPatient is what places it.
 */
export function pixelMeasures(c: CheckedInputs, frames: number[]): Dataset {
  const g = c.geometry;
  return {
    PixelSpacing: [ds(g.spacing[1]), ds(g.spacing[0])],
    SliceThickness: ds(num(c.src.firstDataset, 'SliceThickness') ?? g.spacing[2]),
    ...(completeStack(frames) ? { SpacingBetweenSlices: ds(g.spacing[2]) } : {}),
  };
}

/**
 * DimensionOrganizationType "3D" (PS3.3 C.7.6.17: equally spaced, parallel planes of one volume) only for a
 * complete stack of frames; with gaps the attribute (Type 3) is left out.
 */
export function stackOrganization(frames: number[]): Dataset {
  return completeStack(frames) ? { DimensionOrganizationType: '3D' } : {};
}

/** Per-frame groups common to SEG and PM for source slice k: derivation, plane position and orientation. */
export function framePlaneAndDerivation(c: CheckedInputs, k: number, derivation: typeof CODES.segmentation | null): Dataset {
  const g = c.geometry;
  const inst = c.src.instances[k]!; // checked in checkDerivedInputs
  const derivationItem: Dataset = {
    SourceImageSequence: [
      {
        ReferencedSOPClassUID: inst.sopClassUID,
        ReferencedSOPInstanceUID: inst.sopInstanceUID,
        PurposeOfReferenceCodeSequence: [codeItem(CODES.sourceImageForProcessing)],
      },
    ],
    DerivationCodeSequence: derivation ? [codeItem(derivation)] : [],
  };
  return {
    DerivationImageSequence: [derivationItem],
    // Grid positions of the volume the arrays live on (within the reader's tolerance of the source IPPs).
    PlanePositionSequence: [{ ImagePositionPatient: voxelToWorld(g, 0, 0, k).map(ds) }],
    PlaneOrientationSequence: [{ ImageOrientationPatient: iopOf(g) }],
  };
}

export { SOP_CLASS };
