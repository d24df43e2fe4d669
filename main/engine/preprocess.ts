/**
 * The model card's preprocessing, re-implemented exactly as models/training/data.py does it:
 * per volume, brain = non-zero in any input; each sequence clipped at its 1st/99th brain percentile (numpy's
 * linear interpolation) and scaled to [0, 1], 0 outside the brain. Per slice (rows = j, columns = i): bilinear
 * resampling to the model's pixel spacing with pixel centres aligned and edges clamped, then a crop/pad to the
 * brain's bounding box, centred and rounded up to the card's multiple: over the whole volume (`cropPer: "volume"`) or
 * of each slice (`cropPer: "slice"`: a slice near the top of the head is a fraction of the middle one's size, and the
 * model's cost follows its input's area). A 2.5D card (`neighboursMm`) adds the sequences of the slices that far below
 * and above (data.stack_neighbours), each normalised in its own brain and cut to the slice's box.
 */
import { conditionChannels, type ModelCard } from '../model/card';
import type { Geometry } from '../volume/volume';
import { BrainStats, brainPercentiles } from './brain-stats';
import { brainInterior } from './brain-extraction';

export interface CropBox {
  row0: number;
  col0: number;
  rows: number;
  cols: number;
}

/** Everything needed to make model inputs for any slice of a study, and to map outputs back. */
export interface PreparedStudy {
  grid: Geometry;
  /** Source slice size (rows = dims[1], cols = dims[0]) and model-grid slice size before cropping. */
  sourceShape: [number, number];
  modelShape: [number, number];
  /** The brain's bounding box over the whole volume (the largest input any slice gets). */
  box: CropBox;
  /** Per slice k: does it contain brain (else it is skipped, not sampled). */
  hasBrain: boolean[];
  /** Model input channels before the noisy mask: the card's inputs, three times over with 2.5D input. */
  channels: number;
  /** The model input's box for slice k (the volume's box, or the slice's own with `cropPer: "slice"`). */
  boxFor(k: number): CropBox;
  /** Model input for slice k: [channels, boxFor(k).rows, boxFor(k).cols] (own sequences, then k − d, then k + d). */
  conditionFor(k: number): Float32Array;
  /** Slice k's model-grid crop [boxFor(k).rows, boxFor(k).cols] → source slice [rows, cols] (bilinear). */
  toSource(crop: Float32Array, k: number): Float32Array;
  /** The brain (non-zero in any input, or the extracted brain) of source slice k, 1/0 per pixel. */
  brainFor(k: number): Uint8Array;
}

/** Python's round(): halves to even. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Sample positions and weights of 1D linear resampling (n_in → n_out; ratio = output step / input step). */
export function linearTaps(nIn: number, nOut: number, ratio: number): { i0: Int32Array; i1: Int32Array; w: Float64Array } {
  const i0 = new Int32Array(nOut);
  const i1 = new Int32Array(nOut);
  const w = new Float64Array(nOut);
  for (let o = 0; o < nOut; o++) {
    const x = Math.min(Math.max((o + 0.5) * ratio - 0.5, 0), nIn - 1);
    i0[o] = Math.floor(x);
    i1[o] = Math.min(i0[o] + 1, nIn - 1);
    w[o] = x - i0[o];
  }
  return { i0, i1, w };
}

/** Separable bilinear resampling of one [rows, cols] image, rows first then columns (as in data.py). */
export function resample2d(
  src: ArrayLike<number>,
  [rows, cols]: [number, number],
  [rowsOut, colsOut]: [number, number],
  rowRatio: number,
  colRatio: number,
): Float32Array {
  const rt = linearTaps(rows, rowsOut, rowRatio);
  const ct = linearTaps(cols, colsOut, colRatio);
  const tmp = new Float64Array(rowsOut * cols);
  for (let r = 0; r < rowsOut; r++) {
    const a = rt.i0[r] * cols;
    const b = rt.i1[r] * cols;
    const w = rt.w[r];
    for (let c = 0; c < cols; c++) tmp[r * cols + c] = src[a + c] * (1 - w) + src[b + c] * w;
  }
  const out = new Float32Array(rowsOut * colsOut);
  for (let r = 0; r < rowsOut; r++) {
    for (let c = 0; c < colsOut; c++) {
      const w = ct.w[c];
      out[r * colsOut + c] = tmp[r * cols + ct.i0[c]] * (1 - w) + tmp[r * cols + ct.i1[c]] * w;
    }
  }
  return out;
}

function cropBox(union: Uint8Array, [rows, cols]: [number, number], multiple: number): CropBox | null {
  let r0 = rows, r1 = -1, c0 = cols, c1 = -1;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      if (!union[r * cols + c]) continue;
      r0 = Math.min(r0, r); r1 = Math.max(r1, r);
      c0 = Math.min(c0, c); c1 = Math.max(c1, c);
    }
  }
  return r1 < 0 ? null : fitBox(r0, r1, c0, c1, multiple);
}

/** The extent rows r0…r1, columns c0…c1 centred in a box rounded up to a multiple. */
function fitBox(r0: number, r1: number, c0: number, c1: number, multiple: number): CropBox {
  const fit = (lo: number, hi: number) => {
    const len = hi + 1 - lo;
    const size = Math.max(multiple, Math.ceil(len / multiple) * multiple);
    return [lo - Math.floor((size - len) / 2), size];
  };
  const [row0, nr] = fit(r0, r1);
  const [col0, nc] = fit(c0, c1);
  return { row0, col0, rows: nr, cols: nc };
}

/**
 * A slice's own box, from its brain's row and column profiles (1 where a source row/column holds brain).
 * Resampling is separable with weights ≥ 0, so the resampled brain's rows are exactly the resampled row
 * profile's non-zero entries (likewise columns): two 1D resamplings per slice instead of a 2D one.
 */
function sliceBox(rowHas: Uint8Array, colHas: Uint8Array, model: [number, number], ratios: [number, number], multiple: number): CropBox | null {
  const extent = (has: Uint8Array, nOut: number, ratio: number) => {
    const { i0, i1, w } = linearTaps(has.length, nOut, ratio);
    let lo = -1, hi = -1;
    for (let o = 0; o < nOut; o++) {
      if ((has[i0[o]] && w[o] < 1) || (has[i1[o]] && w[o] > 0)) {
        if (lo < 0) lo = o;
        hi = o;
      }
    }
    return [lo, hi];
  };
  const [r0, r1] = extent(rowHas, model[0], ratios[0]);
  const [c0, c1] = extent(colHas, model[1], ratios[1]);
  return r0 < 0 || c0 < 0 ? null : fitBox(r0, r1, c0, c1, multiple);
}

/**
 * volumes: one Float32Array per card input, in the card's order, all on `grid`; `gathered`: their BrainStats if
 * the caller gathered them while loading (used only when it covers exactly these arrays). `extractedBrain`: the
 * brain of a study with the skull (brain-extraction.ts), used instead of "non-zero in any input" for the
 * percentiles, the crop and the outputs.
 * Returns null when no voxel of any input is non-zero, or the extracted brain is empty (an empty study).
 */
export function prepareStudy(
  card: ModelCard,
  grid: Geometry,
  volumes: Float32Array[],
  gathered?: BrainStats,
  extractedBrain?: Uint8Array,
): PreparedStudy | null {
  const [nx, ny, nz] = grid.dims;
  const plane = nx * ny;
  const stats = extractedBrain ? null : gathered?.covers(volumes) ? gathered : BrainStats.of(volumes);
  const brain = extractedBrain ?? stats!.brain;

  const s = card.preprocessing.pixelSpacingMm;
  const sourceShape: [number, number] = [ny, nx];
  const modelShape: [number, number] = [
    Math.max(1, roundHalfEven((ny * grid.spacing[1]) / s)),
    Math.max(1, roundHalfEven((nx * grid.spacing[0]) / s)),
  ];
  const [rowRatio, colRatio] = [s / grid.spacing[1], s / grid.spacing[0]];
  const toModel = (img: ArrayLike<number>) => resample2d(img, sourceShape, modelShape, rowRatio, colRatio);

  // The crop box covers every model-grid pixel that any slice's resampled brain reaches. Resampling weights are
  // ≥ 0, so a pixel is > 0 in some slice exactly when it is > 0 in the resampled union of the source masks:
  // one resampling instead of one per slice, same box.
  // One pass over the mask: the union, the brain's size, and each slice's row and column profiles.
  const hasBrain: boolean[] = [];
  const sourceUnion = new Uint8Array(plane);
  const rowHas = Array.from({ length: nz }, () => new Uint8Array(ny));
  const colHas = Array.from({ length: nz }, () => new Uint8Array(nx));
  let brainVoxels = 0;
  for (let k = 0; k < nz; k++) {
    const rowsK = rowHas[k];
    const colsK = colHas[k];
    let count = 0;
    for (let r = 0, p = 0, q = k * plane; r < ny; r++) {
      for (let c = 0; c < nx; c++, p++, q++) {
        if (brain[q]) {
          sourceUnion[p] = 1;
          rowsK[r] = 1;
          colsK[c] = 1;
          count++;
        }
      }
    }
    hasBrain.push(count > 0);
    brainVoxels += count;
  }
  const [qLo, qHi] = card.preprocessing.clipPercentiles;
  // An extracted brain's percentiles come from its interior: its surface band holds bright dura, marrow and
  // flow artefacts that a skull-stripped BraTS brain does not (brain-extraction.ts, brainInterior).
  const measured = extractedBrain ? brainInterior(extractedBrain, grid) : brain;
  const ranges = volumes.map((v) => (stats ? stats.percentiles(v, [qLo, qHi], brainVoxels) : brainPercentiles(v, measured, [qLo, qHi])) ?? [0, 1]);
  const union = toModel(sourceUnion).map((v) => (v > 0 ? 1 : 0));
  const box = cropBox(Uint8Array.from(union), modelShape, card.preprocessing.cropMultiple);
  if (!box) return null;

  const { cropPer, cropMultiple } = card.preprocessing;
  const boxes = hasBrain.map((any, k) =>
    cropPer === 'slice' && any ? (sliceBox(rowHas[k], colHas[k], modelShape, [rowRatio, colRatio], cropMultiple) ?? box) : box,
  );

  const crop = (img: Float32Array, box: CropBox, out: Float32Array, offset: number) => {
    for (let r = 0; r < box.rows; r++) {
      const sr = r + box.row0;
      if (sr < 0 || sr >= modelShape[0]) continue;
      for (let c = 0; c < box.cols; c++) {
        const sc = c + box.col0;
        if (sc >= 0 && sc < modelShape[1]) out[offset + r * box.cols + c] = img[sr * modelShape[1] + sc];
      }
    }
  };

  /** Sequence ch of slice z (a slice index, fractional between slices) clipped, scaled, 0 outside its brain. */
  const normalised = (ch: number, z: number): Float64Array => {
    const norm = new Float64Array(plane);
    const [lo, hi] = ranges[ch];
    const scale = Math.max(hi - lo, 1e-8);
    const z0 = Math.floor(z + 1e-6);
    const w = Math.max(0, z - z0);
    for (const [k, weight] of [[z0, 1 - w], [z0 + 1, w]]) {
      if (k < 0 || k >= nz || weight < 1e-6) continue; // beyond the volume: 0, as a slice without brain
      const v = volumes[ch];
      for (let p = 0, q = k * plane; p < plane; p++, q++) {
        if (brain[q]) norm[p] += weight * ((Math.min(Math.max(v[q], lo), hi) - lo) / scale);
      }
    }
    return norm;
  };
  // Neighbours d slices away (the card's millimetres over this study's slice spacing): 5 mm is slice k ± 5 of a
  // 1 mm volume and the adjacent slices of a 5 mm series.
  const neighbourMm = card.preprocessing.neighboursMm;
  const offsets = neighbourMm ? [0, -neighbourMm / grid.spacing[2], neighbourMm / grid.spacing[2]] : [0];
  const channels = conditionChannels(card);
  if (channels !== volumes.length * offsets.length) throw new Error(`prepareStudy: ${volumes.length} volumes for a card of ${card.inputs.length} inputs`);

  return {
    grid,
    sourceShape,
    modelShape,
    box,
    hasBrain,
    channels,
    boxFor: (k) => boxes[k],
    conditionFor(k: number): Float32Array {
      const box = boxes[k];
      const out = new Float32Array(channels * box.rows * box.cols);
      offsets.forEach((d, n) =>
        volumes.forEach((_, ch) => crop(toModel(normalised(ch, k + d)), box, out, (n * volumes.length + ch) * box.rows * box.cols)),
      );
      return out;
    },
    brainFor(k: number): Uint8Array {
      return brain.subarray(k * plane, (k + 1) * plane);
    },
    toSource(cropped: Float32Array, k: number): Float32Array {
      const box = boxes[k];
      const full = new Float32Array(modelShape[0] * modelShape[1]);
      for (let r = 0; r < box.rows; r++) {
        const sr = r + box.row0;
        if (sr < 0 || sr >= modelShape[0]) continue;
        for (let c = 0; c < box.cols; c++) {
          const sc = c + box.col0;
          if (sc >= 0 && sc < modelShape[1]) full[sr * modelShape[1] + sc] = cropped[r * box.cols + c];
        }
      }
      return resample2d(full, modelShape, sourceShape, modelShape[0] / ny, modelShape[1] / nx);
    },
  };
}
