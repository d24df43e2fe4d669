/**
 * Comprehensive SR (PS3.3 A.35.3) holding a TID 1500 Measurement Report of the user's measurements: RANO's
 * bidirectional diameters (long axis and the perpendicular short axis), lengths and elliptical ROIs (area, mean,
 * standard deviation, minimum, maximum). The content tree comes from dcmjs's TID 1500 / TID 300 builders (the ones
 * @cornerstonejs/adapters and OHIF write with, with the same tracking identifiers, so OHIF can read the report
 * back as annotations); the header and evidence are ours, as for the SEG.
 *
 * Each measurement is drawn on one slice of one series and is stored as SCOORD in that image's pixel
 * coordinates, SELECTED FROM that image (PS3.3 C.18.6.1.2: the top left corner of the top left pixel is 0,0,
 * so the centre of voxel (i, j) is (i + 0.5, j + 0.5)).
 */
import dcmjs from 'dcmjs';
import { InputError } from '../errors';
import { type Geometry, type SequenceRole, type Vec3, type Volume, sameGrid } from '../volume/volume';
import { type Dataset, writePart10 } from './dcmjs';
import type { DicomSource } from './derived';
import { dicomNow, fitText, haloEquipment, IMPLEMENTATION, patientStudyModules, shortText } from './iod';
import { dist, r3, storedValues } from './measurement-values';
import { newUid } from './uid';

export const COMPREHENSIVE_SR = '1.2.840.10008.5.1.4.1.1.88.33';

const { TID1500MeasurementReport, TID1501MeasurementGroup } = dcmjs.utilities.TID1500;
const TID300 = dcmjs.utilities.TID300;

/** What the viewer measured, in patient coordinates (LPS mm), with the values it showed. */
export interface MeasurementInput {
  kind: 'bidirectional' | 'length' | 'ellipse';
  /** The sequence (viewport) it was drawn on. */
  role: SequenceRole;
  /** Slice k of the reference grid it lies on. */
  k: number;
  /** bidirectional: long axis ends, then short axis ends; length: its two ends; ellipse: the ends of its two axes. */
  points: Vec3[];
  /** Ellipse statistics as the viewer computed and showed them (image values of the series). */
  stats?: { mean: number; stdDev: number; min: number; max: number };
}

export interface MeasurementReportInputs {
  /** The series whose grid the viewer shows every sequence on (the FLAIR when there is one). */
  reference: Volume;
  /** The study's series by role (their own instances are what a measurement references). */
  volumes: Partial<Record<SequenceRole, Volume>>;
  measurements: MeasurementInput[];
  /** Objects saved with the report (the SEG and Parametric Map), listed as pertinent evidence. */
  savedWith?: { seriesInstanceUID: string; sopClassUID: string; sopInstanceUID: string }[];
  /** Person Observer Name (TID 1003). */
  observer: string;
  now?: Date;
}

export type { StoredValues } from './measurement-values';

const TRACKING: Record<MeasurementInput['kind'], string> = {
  bidirectional: 'Cornerstone3DTools@^0.1.0:Bidirectional',
  length: 'Cornerstone3DTools@^0.1.0:Length',
  ellipse: 'Cornerstone3DTools@^0.1.0:EllipticalROI',
};

const NO_UNITS = { CodeValue: '1', CodingSchemeDesignator: 'UCUM', CodingSchemeVersion: '1.4', CodeMeaning: 'no units' };

const dot = (a: Vec3, b: Vec3) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];

/** Continuous voxel index (i, j, k) of a patient position on grid g (orthonormal directions). */
function worldToVoxel(g: Geometry, p: Vec3): Vec3 {
  const d: Vec3 = [p[0] - g.origin[0], p[1] - g.origin[1], p[2] - g.origin[2]];
  return [dot(d, g.direction[0]) / g.spacing[0], dot(d, g.direction[1]) / g.spacing[1], dot(d, g.direction[2]) / g.spacing[2]];
}

const ROLE_NAME: Record<SequenceRole, string> = { T1: 'T1', T1ce: 'T1ce', T2: 'T2', FLAIR: 'FLAIR' };
const KIND_NAME: Record<MeasurementInput['kind'], string> = { bidirectional: 'bidirectional diameters', length: 'length', ellipse: 'elliptical ROI' };
/** Short names for the series description (64 characters at most). */
const COUNTED: Record<MeasurementInput['kind'], [string, string]> = { bidirectional: ['bidirectional', 'bidirectional'], length: ['length', 'lengths'], ellipse: ['ROI', 'ROIs'] };

/**
 * The image a measurement is on and its points in that image's pixel coordinates. Throws an Error a person can
 * act on when the measurement cannot be tied to one of the series' own images.
 */
function placeOnImage(m: MeasurementInput, n: number, inp: MeasurementReportInputs): { source: DicomSource; index: number; pixels: { x: number; y: number }[] } {
  const where = `Measurement ${n} (${KIND_NAME[m.kind]} on ${ROLE_NAME[m.role]}, slice ${m.k + 1})`;
  const want = { bidirectional: 4, length: 2, ellipse: 4 }[m.kind];
  if (m.points.length !== want) throw new Error(`${where} has ${m.points.length} points, not ${want}.`);
  const v = inp.volumes[m.role];
  if (!v || v.source.kind !== 'dicom') throw new InputError(`${where}: the study has no DICOM ${ROLE_NAME[m.role]} series to reference.`);
  if (!sameGrid(v.geometry, inp.reference.geometry)) {
    const ref = (Object.keys(inp.volumes) as SequenceRole[]).find((r) => inp.volumes[r] === inp.reference);
    const grid = ref ? ROLE_NAME[ref] : 'reference';
    throw new InputError(
      `${where} was drawn on ${ROLE_NAME[m.role]} resampled onto the ${grid}'s grid, not on its own images, so it cannot be saved ` +
        `referencing them. Delete it and measure on the ${grid}, or on a sequence acquired on the ${grid}'s grid.`,
    );
  }
  const g = v.geometry;
  const idx = m.points.map((p) => worldToVoxel(g, p));
  for (const [i, j, k] of idx) {
    if (Math.abs(k - m.k) > 0.01) throw new InputError(`${where} does not lie in the plane of slice ${m.k + 1} (a point is at slice ${(k + 1).toFixed(2)}); measure on one slice.`);
    if (i < -0.5 || j < -0.5 || i > g.dims[0] - 0.5 || j > g.dims[1] - 0.5) throw new InputError(`${where} reaches outside the image; move its ends onto the image.`);
  }
  if (!v.source.instances[m.k]) {
    throw new InputError(`${where} was drawn on a slice the ${ROLE_NAME[m.role]} series has no image for (missing from the series); delete it and measure on a slice that is there.`);
  }
  return { source: v.source, index: m.k, pixels: idx.map(([i, j]) => ({ x: r3(i + 0.5), y: r3(j + 0.5) })) };
}

/** Replace the "px" unit dcmjs gives unit-less image values by UCUM "1" (no units): MR intensities have none. */
function imageValueUnits(items: Dataset[]): Dataset[] {
  for (const item of items) {
    const mv = item.MeasuredValueSequence as Dataset | undefined;
    if (mv && ['Mean', 'Standard Deviation', 'Minimum', 'Maximum'].includes((item.ConceptNameCodeSequence as Dataset).CodeMeaning as string)) {
      mv.MeasurementUnitsCodeSequence = NO_UNITS;
    }
  }
  return items;
}

/** Build the SR instance (Part 10 bytes). Throws an Error naming the measurement when one cannot be stored. */
export function buildMeasurementReport(inp: MeasurementReportInputs): Buffer {
  if (!inp.measurements.length) throw new Error('measurement report: no measurements');
  const ref = inp.reference.source;
  if (ref.kind !== 'dicom') throw new Error('measurement report: the reference series must come from DICOM');

  const groups: unknown[] = [];
  const referenced = new Map<string, { series: string; sopClassUID: string; sopInstanceUID: string }>();
  inp.measurements.forEach((m, n) => {
    const { source, index, pixels } = placeOnImage(m, n + 1, inp);
    const inst = source.instances[index]!; // checked in placeOnImage
    referenced.set(inst.sopInstanceUID, { series: source.seriesInstanceUID, sopClassUID: inst.sopClassUID, sopInstanceUID: inst.sopInstanceUID });
    const common = {
      ReferencedSOPSequence: { ReferencedSOPClassUID: inst.sopClassUID, ReferencedSOPInstanceUID: inst.sopInstanceUID },
      trackingIdentifierTextValue: TRACKING[m.kind],
    };
    const v = storedValues(m.kind, m.points);
    let measurement: { contentItem(): Dataset[] };
    if (m.kind === 'length') {
      measurement = new TID300.Length({ ...common, point1: pixels[0], point2: pixels[1], distance: v.length, unit: 'mm' });
    } else if (m.kind === 'bidirectional') {
      const firstIsLong = dist(m.points[0], m.points[1]) >= dist(m.points[2], m.points[3]);
      const [long, short] = firstIsLong ? [[pixels[0], pixels[1]], [pixels[2], pixels[3]]] : [[pixels[2], pixels[3]], [pixels[0], pixels[1]]];
      measurement = new TID300.Bidirectional({
        ...common,
        longAxis: { point1: long[0], point2: long[1] },
        shortAxis: { point1: short[0], point2: short[1] },
        longAxisLength: v.long,
        shortAxisLength: v.short,
        unit: 'mm',
      });
    } else {
      if (!m.stats || !Object.values(m.stats).every(Number.isFinite)) throw new InputError(`Measurement ${n + 1} (elliptical ROI) has no statistics: wait until its values are shown, then save again.`);
      // SCOORD ELLIPSE: the major axis' ends first, then the minor axis' (PS3.3 C.18.6.1.2).
      const firstIsMajor = dist(m.points[0], m.points[1]) >= dist(m.points[2], m.points[3]);
      const axes = firstIsMajor ? pixels : [pixels[2], pixels[3], pixels[0], pixels[1]];
      const s = m.stats;
      // Three decimals keep every value within DS's 16 characters (dcmjs would cut a longer one blindly).
      measurement = new TID300.Ellipse({ ...common, points: axes, area: v.area, areaUnit: 'mm2', mean: r3(s.mean), stdDev: r3(s.stdDev), min: r3(s.min), max: r3(s.max) });
      const build = measurement.contentItem.bind(measurement);
      measurement.contentItem = () => imageValueUnits(build());
    }
    groups.push(new TID1501MeasurementGroup([measurement]));
  });

  const report = new TID1500MeasurementReport({ TID1501MeasurementGroups: groups });
  const content = report.contentItem([{ StudyInstanceUID: ref.studyInstanceUID, SeriesInstanceUID: ref.seriesInstanceUID }], {
    PersonName: shortText(inp.observer, 64) || 'unknown',
    sopInstanceUIDsToSeriesInstanceUIDMap: Object.fromEntries([...referenced.values()].map((r) => [r.sopInstanceUID, r.series])),
  }) as Dataset;

  const first = ref.firstDataset;
  const { date, time } = dicomNow(inp.now ?? new Date());
  const bySeries = (list: { series: string; sopClassUID: string; sopInstanceUID: string }[]): Dataset[] =>
    [...new Set(list.map((r) => r.series))].map((series) => ({
      SeriesInstanceUID: series,
      ReferencedSOPSequence: list.filter((r) => r.series === series).map((r) => ({ ReferencedSOPClassUID: r.sopClassUID, ReferencedSOPInstanceUID: r.sopInstanceUID })),
    }));
  const savedWith = (inp.savedWith ?? []).map((o) => ({ series: o.seriesInstanceUID, sopClassUID: o.sopClassUID, sopInstanceUID: o.sopInstanceUID }));
  const counts = inp.measurements.reduce((c, m) => c.set(m.kind, (c.get(m.kind) ?? 0) + 1), new Map<string, number>());
  const dataset: Dataset = {
    SpecificCharacterSet: 'ISO_IR 192',
    ...patientStudyModules(first),
    // SR Document Series
    Modality: 'SR',
    SeriesInstanceUID: newUid(),
    SeriesNumber: 1003,
    SeriesDescription: fitText(`Halo measurements (${[...counts].map(([k, c]) => `${c} ${COUNTED[k as MeasurementInput['kind']][c === 1 ? 0 : 1]}`).join(', ')})`, 64),
    SeriesDate: date,
    SeriesTime: time,
    ReferencedPerformedProcedureStepSequence: [],
    // General Equipment
    ...haloEquipment(),
    // SR Document General
    InstanceNumber: 1,
    CompletionFlag: 'COMPLETE',
    VerificationFlag: 'UNVERIFIED',
    ContentDate: date,
    ContentTime: time,
    // The images measured on (every instance the content references) ...
    CurrentRequestedProcedureEvidenceSequence: [{ StudyInstanceUID: ref.studyInstanceUID, ReferencedSeriesSequence: bySeries([...referenced.values()]) }],
    // ... and the segmentation and variance map saved with them.
    ...(savedWith.length ? { PertinentOtherEvidenceSequence: [{ StudyInstanceUID: ref.studyInstanceUID, ReferencedSeriesSequence: bySeries(savedWith) }] } : {}),
    PerformedProcedureCodeSequence: [],
    // SR Document Content: the TID 1500 tree
    ValueType: 'CONTAINER',
    ConceptNameCodeSequence: [content.ConceptNameCodeSequence],
    ContinuityOfContent: 'SEPARATE',
    ContentTemplateSequence: [content.ContentTemplateSequence],
    ContentSequence: content.ContentSequence,
    // SOP Common
    SOPClassUID: COMPREHENSIVE_SR,
    SOPInstanceUID: newUid(),
    InstanceCreationDate: date,
    InstanceCreationTime: time,
  };
  return writePart10(dataset, IMPLEMENTATION);
}
