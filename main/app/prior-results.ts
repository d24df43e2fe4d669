/**
 * Results already in a study (Halo's own or another tool's): binary and fractional SEG and Parametric Maps found
 * beside the images. Listed when the study opens ("results in this study"), and read frame by frame onto the
 * display grid when the user shows one. Only objects on the display grid itself are shown: a result on another
 * grid is listed with the reason it cannot be drawn, never resampled silently.
 */
import { InputError } from '../errors';
import type { DicomSeries } from '../dicom/read-study';
import type { Dataset } from '../dicom/dcmjs';
import { items, num, nums, str } from '../dicom/values';
import type { GridView, PriorResultView } from './contract';

export const SEG_SOP_CLASS = '1.2.840.10008.5.1.4.1.1.66.4';
export const PM_SOP_CLASS = '1.2.840.10008.5.1.4.1.1.30';

export interface PriorResult {
  view: PriorResultView;
  dataset: Dataset;
}

/** The SEG and Parametric Map objects of the given study among the scanned series. */
export function findPriorResults(series: DicomSeries[], studyInstanceUID: string): PriorResult[] {
  const out: PriorResult[] = [];
  for (const s of series) {
    if (s.studyInstanceUID !== studyInstanceUID) continue;
    for (const inst of s.instances) {
      const ds = inst.dataset;
      const sop = str(ds, 'SOPClassUID');
      if (sop !== SEG_SOP_CLASS && sop !== PM_SOP_CLASS) continue;
      const seg = sop === SEG_SOP_CLASS;
      const segment = items(ds, 'SegmentSequence')[0];
      const description = str(ds, 'SeriesDescription');
      const n = /\bn=(\d+)/.exec(description);
      const date = str(ds, 'ContentDate') || str(ds, 'SeriesDate');
      out.push({
        dataset: ds,
        view: {
          sopInstanceUID: str(ds, 'SOPInstanceUID'),
          kind: seg ? (str(ds, 'SegmentationType') === 'FRACTIONAL' ? 'probability' : 'mask') : 'variance',
          description,
          algorithm: (segment && str(segment, 'SegmentAlgorithmName')) || str(ds, 'ManufacturerModelName') || str(ds, 'Manufacturer'),
          edited: !!segment && str(segment, 'SegmentAlgorithmType') !== 'AUTOMATIC',
          ensemble: n ? Number(n[1]) : null,
          date: /^\d{8}$/.test(date) ? `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6)}` : date,
          frames: num(ds, 'NumberOfFrames') ?? 1,
        },
      });
    }
  }
  return out.sort((a, b) => a.view.date.localeCompare(b.view.date) || a.view.kind.localeCompare(b.view.kind));
}

/**
 * The frames of a prior result as planes of the display grid: k -> values (mask 0/1, probability 0..1, or
 * variance). Refuses an object on another frame of reference or grid.
 */
export function readPriorResult(r: PriorResult, grid: GridView): Map<number, Float32Array> {
  const ds = r.dataset;
  const what = `The ${r.view.kind === 'variance' ? 'Parametric Map' : 'SEG'} "${r.view.description}"`;
  const [nx, ny, nz] = grid.dims;
  if (num(ds, 'Rows') !== ny || num(ds, 'Columns') !== nx) throw new InputError(`${what} is ${num(ds, 'Columns')}×${num(ds, 'Rows')} pixels, the images ${nx}×${ny}: it was made on other images and cannot be shown here.`);
  const for1 = str(ds, 'FrameOfReferenceUID');
  if (grid.frameOfReferenceUID && for1 && for1 !== grid.frameOfReferenceUID) throw new InputError(`${what} is in another frame of reference than the images; it cannot be shown on them.`);
  const frames = num(ds, 'NumberOfFrames') ?? 1;
  const perFrame = items(ds, 'PerFrameFunctionalGroupsSequence');
  const plane = nx * ny;
  const values = pixelValues(ds, r.view.kind, frames * plane, what);
  const out = new Map<number, Float32Array>();
  for (let f = 0; f < frames; f++) {
    const pos = nums(items(perFrame[f] ?? {}, 'PlanePositionSequence')[0] ?? {}, 'ImagePositionPatient');
    if (pos.length !== 3) throw new InputError(`${what} has no position for frame ${f + 1}; it cannot be placed on a slice.`);
    const k = sliceOf(grid, pos);
    if (k === null || k < 0 || k >= nz) throw new InputError(`${what}: frame ${f + 1} does not lie on a slice of these images; it cannot be shown here.`);
    const frame = values.subarray(f * plane, (f + 1) * plane);
    const have = out.get(k);
    if (have) for (let p = 0; p < plane; p++) have[p] = Math.max(have[p], frame[p]); // several segments: their union
    else out.set(k, Float32Array.from(frame));
  }
  return out;
}

/** The slice index k of a frame position, or null when the position is not on the grid (in plane or between slices). */
function sliceOf(grid: GridView, pos: number[]): number | null {
  const d = [0, 1, 2].map((a) => pos[a] - grid.origin[a]);
  const along = (axis: number) => d.reduce((s, v, a) => s + v * grid.direction[axis][a], 0) / grid.spacing[axis];
  const i = along(0);
  const j = along(1);
  const k = along(2);
  if (Math.abs(i) > 0.05 || Math.abs(j) > 0.05 || Math.abs(k - Math.round(k)) > 0.05) return null;
  return Math.round(k);
}

function pixelValues(ds: Dataset, kind: PriorResultView['kind'], count: number, what: string): Float32Array {
  const out = new Float32Array(count);
  if (kind === 'variance') {
    const buf = (ds.FloatPixelData as ArrayBuffer[] | undefined)?.[0];
    if (!buf || buf.byteLength < count * 4) throw new InputError(`${what} has no float pixel data of the expected size.`);
    out.set(new Float32Array(buf.slice(0, count * 4)));
    return out;
  }
  const buf = (ds.PixelData as ArrayBuffer[] | undefined)?.[0];
  if (!buf) throw new InputError(`${what} has no pixel data.`);
  const bytes = new Uint8Array(buf);
  if (kind === 'mask') {
    if (bytes.length * 8 < count) throw new InputError(`${what} has fewer pixels than its frames need.`);
    // Binary SEG frames are packed bit after bit across frame boundaries (PS3.5 8.1.1), least significant first.
    for (let p = 0; p < count; p++) out[p] = (bytes[p >> 3] >> (p & 7)) & 1;
    return out;
  }
  if (bytes.length < count) throw new InputError(`${what} has fewer pixels than its frames need.`);
  const max = num(ds, 'MaximumFractionalValue') ?? 255;
  for (let p = 0; p < count; p++) out[p] = bytes[p] / max;
  return out;
}
