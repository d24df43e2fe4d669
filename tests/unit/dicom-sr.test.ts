/**
 * The measurement report (Comprehensive SR, TID 1500) on a real imported BraTS study: valid for dciodvfy, and
 * read back by dcmjs with the values, the pixel coordinates and the referenced images it was given.
 */
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { beforeAll, expect, it } from 'vitest';
import { importNiftiCase } from '../../main/dicom/import-nifti';
import { readDicomFolder, seriesToVolume } from '../../main/dicom/read-study';
import { parsePart10, type Dataset } from '../../main/dicom/dcmjs';
import { buildMeasurementReport, COMPREHENSIVE_SR, type MeasurementInput } from '../../main/dicom/measurement-report';
import { items, num, nums, str } from '../../main/dicom/values';
import { voxelToWorld, type SequenceRole, type Vec3, type Volume } from '../../main/volume/volume';
import { DATA, dciodvfy, tempDir } from '../support/dicom-tools';

const out = tempDir('sr');
const volumes: Partial<Record<SequenceRole, Volume>> = {};

beforeAll(async () => {
  const dir = path.join(out, 'study');
  await importNiftiCase(path.join(DATA, 'brats', 'BraTS-GLI-00027-000'), dir, { slices: { from: 60, to: 64 } });
  volumes.FLAIR = seriesToVolume((await readDicomFolder(path.join(dir, '1-FLAIR')))[0]);
  volumes.T1ce = seriesToVolume((await readDicomFolder(path.join(dir, '3-T1ce')))[0]);
});

/** Patient position of the centre of voxel (i, j) on slice k of the FLAIR's grid. */
const at = (i: number, j: number, k: number): Vec3 => voxelToWorld(volumes.FLAIR!.geometry, i, j, k);

/** Every content item of the tree, depth first. */
function flatten(seq: Dataset[]): Dataset[] {
  return seq.flatMap((it) => [it, ...flatten(items(it, 'ContentSequence'))]);
}
const named = (all: Dataset[], meaning: string) => all.filter((it) => str(items(it, 'ConceptNameCodeSequence')[0] ?? {}, 'CodeMeaning') === meaning);
const numeric = (it: Dataset) => num(items(it, 'MeasuredValueSequence')[0], 'NumericValue');
const unit = (it: Dataset) => str(items(items(it, 'MeasuredValueSequence')[0], 'MeasurementUnitsCodeSequence')[0], 'CodeValue');

it('stores RANO diameters, a length and an elliptical ROI with exact values, pixel coordinates and image references', () => {
  const flair = volumes.FLAIR!;
  const [sx, sy] = flair.geometry.spacing;
  const measurements: MeasurementInput[] = [
    // Long axis 30 voxels along i, short axis 12 voxels along j, on slice 2 of the FLAIR.
    { kind: 'bidirectional', role: 'FLAIR', k: 2, points: [at(100, 120, 2), at(130, 120, 2), at(115, 114, 2), at(115, 126, 2)] },
    { kind: 'length', role: 'T1ce', k: 1, points: [at(50, 60, 1), at(53, 64, 1)] },
    // Cornerstone's order: the vertical axis' ends (here the minor axis, 10 voxels), then the horizontal (20).
    { kind: 'ellipse', role: 'FLAIR', k: 3, points: [at(90, 105, 3), at(90, 95, 3), at(80, 100, 3), at(100, 100, 3)], stats: { mean: 512.2500000001234, stdDev: 40.5, min: 0, max: 901 } },
  ];
  const seg = { seriesInstanceUID: '2.25.1', sopClassUID: '1.2.840.10008.5.1.4.1.1.66.4', sopInstanceUID: '2.25.2' };
  const bytes = buildMeasurementReport({ reference: flair, volumes, measurements, savedWith: [seg], observer: 'radiologist' });
  const file = path.join(out, 'sr.dcm');
  writeFileSync(file, bytes);

  const v = dciodvfy(file);
  expect(v.errors).toEqual([]);
  expect(v.unexpectedWarnings).toEqual([]);

  const { dataset: d } = parsePart10(bytes);
  const src = flair.source as Extract<Volume['source'], { kind: 'dicom' }>;
  const t1ce = volumes.T1ce!.source as Extract<Volume['source'], { kind: 'dicom' }>;
  expect(str(d, 'SOPClassUID')).toBe(COMPREHENSIVE_SR);
  expect(str(d, 'StudyInstanceUID')).toBe(src.studyInstanceUID);
  expect(str(d, 'PatientID')).toBe(str(src.firstDataset, 'PatientID'));
  expect(str(items(d, 'ContentTemplateSequence')[0], 'TemplateIdentifier')).toBe('1500');
  expect(str(d, 'SeriesDescription')).toBe('Halo measurements (1 bidirectional, 1 length, 1 ROI)');

  const all = flatten(items(d, 'ContentSequence'));
  const groups = named(all, 'Measurement Group');
  expect(groups).toHaveLength(3);

  // RANO: the long axis and its perpendicular, in mm, each inferred from a polyline selected from FLAIR slice 3.
  const rano = flatten(items(groups[0], 'ContentSequence'));
  const long = named(rano, 'Long Axis')[0];
  const short = named(rano, 'Short Axis')[0];
  expect(numeric(long)).toBeCloseTo(30 * sx, 3);
  expect(numeric(short)).toBeCloseTo(12 * sy, 3);
  expect(unit(long)).toBe('mm');
  const longLine = items(long, 'ContentSequence')[0];
  expect(str(longLine, 'GraphicType')).toBe('POLYLINE');
  expect(nums(longLine, 'GraphicData')).toEqual([100.5, 120.5, 130.5, 120.5]);
  const image = items(longLine, 'ContentSequence')[0];
  expect(str(items(image, 'ReferencedSOPSequence')[0], 'ReferencedSOPInstanceUID')).toBe(src.instances[2]!.sopInstanceUID);

  // The length drawn on the T1ce references the T1ce's own image of that slice.
  const length = named(flatten(items(groups[1], 'ContentSequence')), 'Length')[0];
  expect(numeric(length)).toBeCloseTo(Math.hypot(3 * sx, 4 * sy), 3);
  const lengthImage = items(items(length, 'ContentSequence')[0], 'ContentSequence')[0];
  expect(str(items(lengthImage, 'ReferencedSOPSequence')[0], 'ReferencedSOPInstanceUID')).toBe(t1ce.instances[1]!.sopInstanceUID);

  // The ellipse: area from its axes (pi/4 x 20 x 10 voxels), the statistics as given, major axis first.
  const roi = flatten(items(groups[2], 'ContentSequence'));
  const area = named(roi, 'Area')[0];
  expect(numeric(area)).toBeCloseTo((Math.PI / 4) * 20 * sx * 10 * sy, 2);
  expect(nums(items(area, 'ContentSequence')[0], 'GraphicData')).toEqual([80.5, 100.5, 100.5, 100.5, 90.5, 105.5, 90.5, 95.5]);
  expect(unit(area)).toBe('mm2');
  expect(numeric(named(roi, 'Mean')[0])).toBe(512.25);
  expect(unit(named(roi, 'Mean')[0])).toBe('1');
  expect(numeric(named(roi, 'Maximum')[0])).toBe(901);
  expect(str(items(area, 'ContentSequence')[0], 'GraphicType')).toBe('ELLIPSE');

  // Evidence: the two images measured on, and the SEG saved with them.
  const evidence = items(items(d, 'CurrentRequestedProcedureEvidenceSequence')[0], 'ReferencedSeriesSequence');
  expect(evidence.map((s) => str(s, 'SeriesInstanceUID')).sort()).toEqual([src.seriesInstanceUID, t1ce.seriesInstanceUID].sort());
  const other = items(items(d, 'PertinentOtherEvidenceSequence')[0], 'ReferencedSeriesSequence')[0];
  expect(str(items(other, 'ReferencedSOPSequence')[0], 'ReferencedSOPInstanceUID')).toBe(seg.sopInstanceUID);
});

it('refuses a measurement that does not lie in the plane of its slice, naming it', () => {
  const m: MeasurementInput = { kind: 'length', role: 'FLAIR', k: 1, points: [at(50, 60, 1), at(53, 64, 2)] };
  expect(() => buildMeasurementReport({ reference: volumes.FLAIR!, volumes, measurements: [m], observer: 'x' })).toThrow(
    /Measurement 1 \(length on FLAIR, slice 2\) does not lie in the plane of slice 2/,
  );
});

it('refuses a measurement on a series resampled onto the FLAIR grid (its pixels are not that series\' images)', () => {
  const t1ce = volumes.T1ce!;
  const shifted = { ...t1ce, geometry: { ...t1ce.geometry, origin: [t1ce.geometry.origin[0] + 0.5, t1ce.geometry.origin[1], t1ce.geometry.origin[2]] as Vec3 } };
  const m: MeasurementInput = { kind: 'length', role: 'T1ce', k: 1, points: [at(50, 60, 1), at(53, 64, 1)] };
  expect(() => buildMeasurementReport({ reference: volumes.FLAIR!, volumes: { ...volumes, T1ce: shifted }, measurements: [m], observer: 'x' })).toThrow(
    /resampled onto the FLAIR's grid/,
  );
});

it('refuses a measurement on a slice the series has no image for (a missing file), naming it', () => {
  const flair = volumes.FLAIR!;
  const src = flair.source as Extract<Volume['source'], { kind: 'dicom' }>;
  const gapped = { ...flair, source: { ...src, instances: src.instances.map((inst, k) => (k === 1 ? null : inst)) }, gaps: [{ first: 1, last: 1 }] };
  const m: MeasurementInput = { kind: 'length', role: 'FLAIR', k: 1, points: [at(50, 60, 1), at(53, 64, 1)] };
  expect(() => buildMeasurementReport({ reference: gapped, volumes: { ...volumes, FLAIR: gapped }, measurements: [m], observer: 'x' })).toThrow(
    /Measurement 1 \(length on FLAIR, slice 2\) was drawn on a slice the FLAIR series has no image for/,
  );
});
