/**
 * Reading DICOM from disk: find every Part 10 file under a folder, group them into series, and turn an image
 * series into a Volume with exact LPS geometry. Single-frame image storage only (classic MR/CT/...).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../errors';
import { checkVolumeSize } from '../io/input-limits';
import { gapsOf } from '../volume/gaps';
import { MAX_VOXEL_MM, MIN_VOXEL_MM, type Geometry, type Vec3, type Volume } from '../volume/volume';
import type { DicomSource } from './derived';
import { type Dataset, type Part10, hasPart10Preamble, IMPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_LITTLE_ENDIAN, parsePart10 } from './dcmjs';
import { num, nums, str, strs } from './values';

export interface DicomInstance {
  path: string;
  transferSyntaxUID: string;
  /** Naturalized dataset, pixel data included. */
  dataset: Dataset;
}

export interface DicomSeries {
  seriesInstanceUID: string;
  studyInstanceUID: string;
  /** The folder that was scanned (not necessarily the files' own directory). */
  folder: string;
  /** In file-path order; seriesToVolume sorts them in space. */
  instances: DicomInstance[];
}

export interface DicomFolderScan {
  series: DicomSeries[];
  /** Files without a DICOM Part 10 preamble (README, .DS_Store ...) and DICOMDIR indexes, skipped. */
  skippedFiles: string[];
  /**
   * DICOM files that cannot be read (truncated, corrupt, no UIDs), skipped: one broken file must not hide the
   * rest of its series. `reason` names the file and the damage; the slice it held shows up as a gap.
   */
  unreadableFiles: { path: string; reason: string }[];
}

/** Non-image or not-a-volume storage classes that carry pixel data but must not be read as an image volume. */
const NON_VOLUME_SOP_CLASSES: Record<string, string> = {
  '1.2.840.10008.5.1.4.1.1.66.4': 'a Segmentation (SEG)',
  '1.2.840.10008.5.1.4.1.1.30': 'a Parametric Map',
  '1.2.840.10008.5.1.4.1.1.4.1': 'an Enhanced MR (multi-frame) image',
  '1.2.840.10008.5.1.4.1.1.4.3': 'an Enhanced MR Color image',
  '1.2.840.10008.5.1.4.1.1.4.4': 'a Legacy Converted Enhanced MR image',
  '1.2.840.10008.5.1.4.1.1.2.1': 'an Enhanced CT (multi-frame) image',
};

/** Media Storage Directory Storage: a DICOMDIR (PS3.10 8.6), an index of the files, not an instance. */
const MEDIA_STORAGE_DIRECTORY = '1.2.840.10008.1.3.10';

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const out: string[] = [];
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/** Parse every Part 10 file under `folder` (recursively) and group by SeriesInstanceUID. */
export async function scanDicomFolder(folder: string): Promise<DicomFolderScan> {
  const info = await stat(folder).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new InputError(`DICOM folder ${folder} does not exist or is not a folder: give the folder that holds the study's files`);
  }
  const bySeries = new Map<string, DicomSeries>();
  const skippedFiles: string[] = [];
  const unreadableFiles: DicomFolderScan['unreadableFiles'] = [];
  const seenInstances = new Set<string>();
  for (const file of await listFiles(folder)) {
    const bytes = await readFile(file);
    // No preamble: not a DICOM file as stored on media (PS3.10); skip it rather than guess.
    if (!hasPart10Preamble(bytes)) {
      skippedFiles.push(file);
      continue;
    }
    let parsed: Part10;
    try {
      parsed = parseInstance(file, bytes);
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      unreadableFiles.push({ path: file, reason: err.message });
      continue;
    }
    // A DICOMDIR (CD/USB exports, which are read-only) indexes the images beside it; the images themselves are read.
    if (str(parsed.meta, 'MediaStorageSOPClassUID') === MEDIA_STORAGE_DIRECTORY) {
      skippedFiles.push(file);
      continue;
    }
    const ds = parsed.dataset;
    const seriesUID = str(ds, 'SeriesInstanceUID');
    const sopInstanceUID = str(ds, 'SOPInstanceUID');
    const damage = !seriesUID || !sopInstanceUID
      ? `${file} has no SeriesInstanceUID or SOPInstanceUID: it is not a valid DICOM instance (truncated inside its header?)`
      : pixelTruncation(file, bytes, parsed);
    if (damage) {
      unreadableFiles.push({ path: file, reason: damage });
      continue;
    }
    // The same instance twice (a copied file) adds nothing; keep the first.
    if (seenInstances.has(sopInstanceUID)) continue;
    seenInstances.add(sopInstanceUID);
    let series = bySeries.get(seriesUID);
    if (!series) {
      series = { seriesInstanceUID: seriesUID, studyInstanceUID: str(ds, 'StudyInstanceUID'), folder, instances: [] };
      bySeries.set(seriesUID, series);
    }
    series.instances.push({ path: file, transferSyntaxUID: str(parsed.meta, 'TransferSyntaxUID'), dataset: ds });
  }
  const series = [...bySeries.values()].sort(
    (a, b) =>
      (num(a.instances[0].dataset, 'SeriesNumber') ?? 0) - (num(b.instances[0].dataset, 'SeriesNumber') ?? 0) ||
      a.seriesInstanceUID.localeCompare(b.seriesInstanceUID),
  );
  return { series, skippedFiles, unreadableFiles };
}

/**
 * Strict parse first. Some real files carry junk after the last element (e.g. a 2.5 MB zero tail after the
 * pixel data); we accept those only when everything up to and including the pixel data parsed, so a file
 * truncated inside its header or pixels is still an error.
 */
function parseInstance(file: string, bytes: Uint8Array): Part10 {
  try {
    return parsePart10(bytes);
  } catch (err) {
    // dcmjs throws plain Errors, TypeErrors and RangeErrors on damaged input, in the lenient mode too.
    try {
      const lenient = parsePart10(bytes, { lenient: true });
      if (lenient.dataset.PixelData !== undefined && str(lenient.dataset, 'SOPInstanceUID')) return lenient;
    } catch {
      // as damaged as the strict parse said
    }
    throw new InputError(`${file} looks like a DICOM file but cannot be parsed (${(err as Error).message}): it may be truncated or corrupt`);
  }
}

/**
 * dcmjs zero-fills a native Pixel Data value that runs past the end of the file, so a file cut inside its
 * pixels parses "fine". Find the Pixel Data element header (7FE0,0010) whose length matches the value dcmjs
 * returned and check that the value really fits in the file; says how it does not, else undefined.
 */
function pixelTruncation(file: string, bytes: Uint8Array, parsed: Part10): string | undefined {
  const pd = parsed.dataset.PixelData;
  const buf = Array.isArray(pd) ? pd[0] : pd;
  if (!(buf instanceof ArrayBuffer)) return undefined;
  const explicit = str(parsed.meta, 'TransferSyntaxUID') !== IMPLICIT_VR_LITTLE_ENDIAN;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 132; at + 12 <= bytes.length; at++) {
    if (bytes[at] !== 0xe0 || bytes[at + 1] !== 0x7f || bytes[at + 2] !== 0x10 || bytes[at + 3] !== 0x00) continue;
    const vr = String.fromCharCode(bytes[at + 4], bytes[at + 5]);
    const [header, length] =
      explicit && (vr === 'OW' || vr === 'OB') ? [12, view.getUint32(at + 8, true)] : [8, view.getUint32(at + 4, true)];
    if (length !== buf.byteLength) continue;
    if (at + header + length > bytes.length) {
      return `${file} ends ${at + header + length - bytes.length} bytes before the end of its pixel data: the file is truncated`;
    }
    return undefined;
  }
  return undefined;
}

/** The voxels a series' volume would hold, from its first header (for the input limits, before decoding). */
export function seriesVoxels(series: DicomSeries): number {
  const first = series.instances[0].dataset;
  return (num(first, 'Rows') ?? 0) * (num(first, 'Columns') ?? 0) * series.instances.length;
}

/** Every series found under `folder`. Non-DICOM files are skipped (see scanDicomFolder for the list). */
export async function readDicomFolder(folder: string): Promise<DicomSeries[]> {
  return (await scanDicomFolder(folder)).series;
}

export interface SeriesDescription {
  seriesInstanceUID: string;
  seriesNumber?: number;
  modality: string;
  sopClassUID: string;
  instanceCount: number;
  seriesDescription: string;
  protocolName: string;
  sequenceName: string;
  /** e.g. ['SE'], ['IR', 'SE'], ['GR'] */
  scanningSequence: string[];
  sequenceVariant: string[];
  imageType: string[];
  /** ms */
  echoTime?: number;
  /** ms */
  repetitionTime?: number;
  /** ms */
  inversionTime?: number;
  /** ContrastBolusAgent; '' when none recorded. */
  contrastAgent: string;
  /**
   * When the series was acquired, as "YYYYMMDDHHMMSS.ffffff" (comparable as text), from AcquisitionDateTime or
   * (Acquisition|Series)Date + (Acquisition|Series)Time; undefined when the headers do not say.
   */
  acquired?: string;
}

/** The attributes a sequence-role mapper needs (T1 / T1ce / T2 / FLAIR), from the series' first instance. */
export function describeSeries(series: DicomSeries): SeriesDescription {
  const ds = series.instances[0].dataset;
  return {
    seriesInstanceUID: series.seriesInstanceUID,
    seriesNumber: num(ds, 'SeriesNumber'),
    modality: str(ds, 'Modality'),
    sopClassUID: str(ds, 'SOPClassUID'),
    instanceCount: series.instances.length,
    seriesDescription: str(ds, 'SeriesDescription'),
    protocolName: str(ds, 'ProtocolName'),
    sequenceName: str(ds, 'SequenceName'),
    scanningSequence: strs(ds, 'ScanningSequence'),
    sequenceVariant: strs(ds, 'SequenceVariant'),
    imageType: strs(ds, 'ImageType'),
    echoTime: num(ds, 'EchoTime'),
    repetitionTime: num(ds, 'RepetitionTime'),
    inversionTime: num(ds, 'InversionTime'),
    contrastAgent: str(ds, 'ContrastBolusAgent'),
    acquired: acquisitionMoment(ds),
  };
}

/** See SeriesDescription.acquired. */
function acquisitionMoment(ds: Dataset): string | undefined {
  const dt = str(ds, 'AcquisitionDateTime');
  const date = dt.slice(0, 8) || str(ds, 'AcquisitionDate') || str(ds, 'SeriesDate');
  const time = dt.slice(8) || str(ds, 'AcquisitionTime') || str(ds, 'SeriesTime');
  const m = /^(\d{2,6})(?:\.(\d{1,6}))?/.exec(time);
  if (!/^\d{8}$/.test(date) || !m) return undefined;
  return `${date}${m[1].padEnd(6, '0')}.${(m[2] ?? '').padEnd(6, '0')}`;
}

const dot = (a: number[], b: number[]) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const cross = (a: number[], b: number[]): Vec3 => [
  a[1] * b[2] - a[2] * b[1],
  a[2] * b[0] - a[0] * b[2],
  a[0] * b[1] - a[1] * b[0],
];
const norm = (a: number[]) => Math.sqrt(dot(a, a));
const unit = (a: number[]): Vec3 => {
  const n = norm(a);
  return [a[0] / n, a[1] / n, a[2] / n];
};

/** Direction cosines agree to this (about 0.006 degrees); scanners write IOP to 5-6 decimals. */
const ORIENTATION_TOL = 1e-4;

/**
 * Turn a single-frame image series into a Volume: slices sorted along the slice normal (row x column
 * direction), LPS geometry from ImagePositionPatient / ImageOrientationPatient / PixelSpacing, values after
 * RescaleSlope/Intercept. Throws InputError for anything that is not one regular 3D grid.
 */
export function seriesToVolume(series: DicomSeries): Volume {
  const where = `series ${series.seriesInstanceUID} ("${str(series.instances[0].dataset, 'SeriesDescription')}") in ${series.folder}`;
  if (series.instances.length === 0) throw new InputError(`${where} has no instances`);

  for (const inst of series.instances) {
    const ds = inst.dataset;
    const sop = str(ds, 'SOPClassUID');
    const kind = NON_VOLUME_SOP_CLASSES[sop];
    if (kind) {
      throw new InputError(`${where}: ${inst.path} is ${kind}, not a single-frame image series; choose an image series (e.g. the MR acquisition) instead`);
    }
    if (ds.PixelData === undefined) {
      throw new InputError(
        `${where}: ${inst.path} (SOP class ${sop}, modality ${str(ds, 'Modality') || '?'}) has no pixel data: it is not an image (a report, SR or presentation state?); choose an image series`,
      );
    }
    if ((num(ds, 'NumberOfFrames') ?? 1) > 1) {
      throw new InputError(`${where}: ${inst.path} is a multi-frame image (${num(ds, 'NumberOfFrames')} frames), which Halo does not read; export the series as single-frame (classic) images`);
    }
    if (inst.transferSyntaxUID !== EXPLICIT_VR_LITTLE_ENDIAN && inst.transferSyntaxUID !== IMPLICIT_VR_LITTLE_ENDIAN) {
      throw new InputError(
        `${where}: ${inst.path} uses transfer syntax ${inst.transferSyntaxUID} (compressed or big-endian), which Halo does not decode; convert it to uncompressed little endian first (e.g. dcmdjpeg / gdcmconv --raw)`,
      );
    }
    if ((num(ds, 'SamplesPerPixel') ?? 1) !== 1) {
      throw new InputError(`${where}: ${inst.path} is a colour image (SamplesPerPixel ${num(ds, 'SamplesPerPixel')}); Halo reads greyscale MR only`);
    }
  }

  // Geometry attributes shared by every slice.
  const first = series.instances[0].dataset;
  // One series is one patient, one study, one frame of reference: a slice that says otherwise was mixed in (or
  // damaged), and a result computed across it would be placed or filed wrongly.
  for (const key of ['PatientID', 'StudyInstanceUID', 'FrameOfReferenceUID'] as const) {
    const want = str(first, key);
    const odd = series.instances.find((inst) => str(inst.dataset, key) !== want);
    if (odd) {
      throw new InputError(
        `${where}: ${odd.path} has ${key} "${str(odd.dataset, key)}" but ${series.instances[0].path} has "${want}"; ` +
          'the slices of one series must share patient, study and frame of reference. Remove the stray file or re-export the series.',
      );
    }
  }
  const iop = nums(first, 'ImageOrientationPatient');
  const pixelSpacing = nums(first, 'PixelSpacing');
  const rows = num(first, 'Rows') ?? 0;
  const cols = num(first, 'Columns') ?? 0;
  if (iop.length !== 6 || iop.some((v) => !Number.isFinite(v))) {
    throw new InputError(`${where}: ${series.instances[0].path} has no valid ImageOrientationPatient; Halo needs patient-space geometry`);
  }
  if (pixelSpacing.length !== 2 || pixelSpacing.some((v) => !(v > 0))) {
    throw new InputError(`${where}: ${series.instances[0].path} has no valid PixelSpacing; Halo needs calibrated pixels`);
  }
  if (pixelSpacing.some((v) => v < MIN_VOXEL_MM || v > MAX_VOXEL_MM)) {
    throw new InputError(
      `${where}: ${series.instances[0].path} has PixelSpacing ${pixelSpacing.join('\\')} mm, outside the ${MIN_VOXEL_MM}-${MAX_VOXEL_MM} mm of any real scan; the header is damaged, re-export the series`,
    );
  }
  // Direction cosines are unit vectors (PS3.3 C.7.6.2.1.1); a zero or scaled one has no direction.
  if ([iop.slice(0, 3), iop.slice(3, 6)].some((v) => Math.abs(norm(v) - 1) > 0.01)) {
    throw new InputError(
      `${where}: ${series.instances[0].path} has ImageOrientationPatient ${iop.join('\\')}, whose row and column directions are not unit vectors; the header is damaged, re-export the series`,
    );
  }
  if (!(rows >= 1 && cols >= 1)) {
    throw new InputError(`${where}: ${series.instances[0].path} has Rows ${rows}, Columns ${cols}; the image has no pixels`);
  }
  // Before any slice's pixels are looked at; again below with the missing slices counted.
  checkVolumeSize([cols, rows, series.instances.length], where);
  const rowDir = unit(iop.slice(0, 3));
  const colDir = unit(iop.slice(3, 6));
  if (Math.abs(dot(rowDir, colDir)) > 1e-3) {
    throw new InputError(`${where}: ImageOrientationPatient rows and columns are not perpendicular (${iop.join('\\')})`);
  }
  const normal = unit(cross(rowDir, colDir));

  const slices: PlacedSlice[] = series.instances.map((inst) => {
    const ds = inst.dataset;
    const o = nums(ds, 'ImageOrientationPatient');
    const ps = nums(ds, 'PixelSpacing');
    if (o.length !== 6 || o.some((v, n) => !(Math.abs(v - iop[n]) <= ORIENTATION_TOL))) {
      throw new InputError(`${where}: ${inst.path} has a different ImageOrientationPatient (${o.join('\\')} vs ${iop.join('\\')}); the series is not one volume (localizer or reformat mixed in?)`);
    }
    if (ps.length !== 2 || ps.some((v, n) => Math.abs(v - pixelSpacing[n]) > 1e-4)) {
      throw new InputError(`${where}: ${inst.path} has a different PixelSpacing (${ps.join('\\')} vs ${pixelSpacing.join('\\')})`);
    }
    if (num(ds, 'Rows') !== rows || num(ds, 'Columns') !== cols) {
      throw new InputError(`${where}: ${inst.path} is ${num(ds, 'Rows')}x${num(ds, 'Columns')}, other slices ${rows}x${cols}; the series is not one volume`);
    }
    checkPixelData(inst, rows, cols, where);
    const ipp = nums(ds, 'ImagePositionPatient');
    if (ipp.length !== 3 || ipp.some((v) => !Number.isFinite(v))) {
      throw new InputError(`${where}: ${inst.path} has no valid ImagePositionPatient`);
    }
    return { inst, ipp: ipp as Vec3, along: dot(ipp, normal) };
  });
  slices.sort((a, b) => a.along - b.along);

  const { sliceGap, ks } = placeOnGrid(slices, normal, where, num(first, 'SliceThickness'));
  const nz = ks[ks.length - 1] + 1;
  checkVolumeSize([cols, rows, nz], where);
  const present = new Set(ks);
  const gaps = gapsOf(Array.from({ length: nz }, (_, k) => k).filter((k) => !present.has(k)));

  const geometry: Geometry = {
    dims: [cols, rows, nz],
    // PixelSpacing is [between rows (down a column), between columns (along a row)]; i runs along a row.
    spacing: [pixelSpacing[1], pixelSpacing[0], sliceGap],
    origin: [...slices[0].ipp],
    direction: [rowDir, colDir, normal],
  };
  const frameOfReferenceUID = str(first, 'FrameOfReferenceUID');
  if (frameOfReferenceUID) geometry.frameOfReferenceUID = frameOfReferenceUID;

  const sliceLen = rows * cols;
  // Missing slices stay 0: shown empty, and never brain, so never segmented.
  const data = new Float32Array(sliceLen * nz);
  slices.forEach((s, n) => decodeSlice(s.inst, data.subarray(ks[n] * sliceLen, (ks[n] + 1) * sliceLen)));
  const instances: DicomSource['instances'] = new Array(nz).fill(null);
  slices.forEach((s, n) => {
    instances[ks[n]] = { sopClassUID: str(s.inst.dataset, 'SOPClassUID'), sopInstanceUID: str(s.inst.dataset, 'SOPInstanceUID'), path: s.inst.path };
  });

  const firstDataset: Dataset = { ...slices[0].inst.dataset };
  delete firstDataset.PixelData;
  return {
    geometry,
    data,
    source: {
      kind: 'dicom',
      folder: series.folder,
      studyInstanceUID: str(first, 'StudyInstanceUID'),
      seriesInstanceUID: series.seriesInstanceUID,
      seriesDescription: str(first, 'SeriesDescription'),
      instances,
      firstDataset,
    },
    ...(gaps.length ? { gaps } : {}),
  };
}

/** A slice of a series with its position: `along` the slice normal, in mm. */
interface PlacedSlice {
  inst: DicomInstance;
  ipp: Vec3;
  along: number;
}

/**
 * The regular grid a sorted stack of slices lies on: the spacing and each slice's index k on it. Spacing is the
 * median step between neighbours, so a few missing slices (a step of 2, 3 ... spacings) leave gaps in k instead
 * of stretching the grid; then every slice must sit on the grid, or the stack is refused (variable spacing, tilt).
 */
function placeOnGrid(slices: PlacedSlice[], normal: Vec3, where: string, sliceThickness: number | undefined): { sliceGap: number; ks: number[] } {
  if (slices.length === 1) {
    // A 2D image: the "gap" is only used to draw the slab; SliceThickness is the honest choice.
    return { sliceGap: sliceThickness !== undefined && sliceThickness > 0 ? sliceThickness : 1, ks: [0] };
  }
  const steps = slices.slice(1).map((s, n) => s.along - slices[n].along);
  if (!(Math.min(...steps) > 1e-3)) {
    throw new InputError(`${where}: several slices share one position; the series holds more than one volume (echoes, time points or repeats); split it first`);
  }
  const median = [...steps].sort((a, b) => a - b)[Math.floor((steps.length - 1) / 2)];
  // Scanners round positions (GE writes IPP to 0.1 mm in SliceLocation terms: the real pd-ax-oblique series
  // has 6.93-7.06 mm gaps around 7.0), so allow 2% of a spacing.
  const tol = (spacing: number) => Math.max(0.05, 0.02 * spacing);
  const ks = [0];
  steps.forEach((step, n) => {
    const m = Math.round(step / median);
    if (m < 1 || Math.abs(step - m * median) > tol(median) * m) {
      throw new InputError(
        `${where}: ${slices[n].inst.path} and ${slices[n + 1].inst.path} are ${step.toFixed(3)} mm apart, not a whole number of the ` +
          `series' ${median.toFixed(3)} mm spacing (variable spacing, or two stacks in one series); Halo needs an evenly spaced stack. Re-export the series.`,
      );
    }
    ks.push(ks[n] + m);
  });
  const nz = ks[ks.length - 1] + 1;
  if (nz - slices.length > slices.length) {
    throw new InputError(
      `${where}: its ${slices.length} images span ${nz} slices of ${median.toFixed(3)} mm, so more than half would be missing: ` +
        'this is not one stack with a few images missing (two slabs, or a sparse export?). Export the complete series.',
    );
  }
  // The spacing from the end slices (exact ends), then every slice on the grid in 3D (catches gantry tilt, where
  // positions step along another direction than the normal).
  const sliceGap = (slices[slices.length - 1].along - slices[0].along) / (nz - 1);
  slices.forEach((s, n) => {
    const expected = slices[0].ipp.map((v, a) => v + ks[n] * sliceGap * normal[a]);
    const off = norm(s.ipp.map((v, a) => v - expected[a]));
    if (off > tol(sliceGap)) {
      throw new InputError(
        `${where}: slice ${s.inst.path} is ${off.toFixed(3)} mm off a regular grid of ${sliceGap.toFixed(3)} mm spacing (variable spacing or gantry tilt); Halo needs an evenly spaced stack`,
      );
    }
  });
  return { sliceGap, ks };
}

/**
 * The pixel description of one slice, checked before any volume memory is allocated: the value must hold exactly
 * rows x columns pixels of BitsAllocated (plus one pad byte to an even length). A mismatch means the header does
 * not describe the pixels (e.g. BitsAllocated 8 over 16-bit data, or Rows/Columns of 65535 over a small image).
 */
function checkPixelData(inst: DicomInstance, rows: number, cols: number, where: string): void {
  const ds = inst.dataset;
  const bitsAllocated = num(ds, 'BitsAllocated') ?? 16;
  const bitsStored = num(ds, 'BitsStored') ?? bitsAllocated;
  if (bitsAllocated !== 8 && bitsAllocated !== 16) {
    throw new InputError(`${where}: ${inst.path} has BitsAllocated ${bitsAllocated}; Halo reads 8- and 16-bit images`);
  }
  if (!(bitsStored >= 1 && bitsStored <= bitsAllocated)) {
    throw new InputError(`${where}: ${inst.path} has BitsStored ${bitsStored} with BitsAllocated ${bitsAllocated}; the pixel description is corrupt`);
  }
  const pd = ds.PixelData;
  const buf = Array.isArray(pd) ? pd[0] : pd; // dcmjs: one ArrayBuffer per frame/fragment
  const expected = rows * cols * (bitsAllocated / 8);
  const got = buf instanceof ArrayBuffer ? buf.byteLength : 0;
  if (got !== expected && got !== expected + (expected % 2)) {
    throw new InputError(
      `${where}: ${inst.path} has ${got} bytes of pixel data, but ${rows}x${cols} pixels of BitsAllocated ${bitsAllocated} need ${expected}: ` +
        (got < expected ? 'the file is truncated or corrupt, or Rows/Columns are wrong' : 'the header does not describe the pixels (BitsAllocated or Rows/Columns wrong)') +
        '; re-export the series.',
    );
  }
  // An absent slope is 1, but a present one that is not a finite number must not silently become 1.
  for (const key of ['RescaleSlope', 'RescaleIntercept']) {
    const v = ds[key];
    if (v !== undefined && v !== null && v !== '' && num(ds, key) === undefined) {
      throw new InputError(`${where}: ${inst.path} has ${key} ${JSON.stringify(v)}, not a finite number; the pixel values cannot be scaled. Re-export the series.`);
    }
  }
}

/** Native pixel data of one slice (checked by checkPixelData) -> modality values (after rescale) into `out`. */
function decodeSlice(inst: DicomInstance, out: Float32Array): void {
  const ds = inst.dataset;
  const bitsAllocated = num(ds, 'BitsAllocated') ?? 16;
  const bitsStored = num(ds, 'BitsStored') ?? bitsAllocated;
  const signed = (num(ds, 'PixelRepresentation') ?? 0) === 1;
  const slope = num(ds, 'RescaleSlope') ?? 1;
  const intercept = num(ds, 'RescaleIntercept') ?? 0;
  const pd = ds.PixelData;
  const view = new DataView((Array.isArray(pd) ? pd[0] : pd) as ArrayBuffer);
  const bytesPer = bitsAllocated / 8;
  // Bits above BitsStored may hold overlays or garbage (PS3.5 8.1.1): mask, then sign-extend from BitsStored.
  const mask = bitsStored >= 32 ? 0xffffffff : (1 << bitsStored) - 1;
  const signBit = 1 << (bitsStored - 1);
  for (let p = 0; p < out.length; p++) {
    let v = bytesPer === 2 ? view.getUint16(p * 2, true) : view.getUint8(p);
    v &= mask;
    if (signed && v & signBit) v -= mask + 1;
    out[p] = v * slope + intercept;
  }
}
