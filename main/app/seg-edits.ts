/**
 * The user's corrections of the mask. The renderer sends each edited slice's mask bit-packed in base64; the
 * binary SEG written from them records the edit (SegmentAlgorithmType SEMIAUTOMATIC: the model's result, then
 * corrected by hand), while the fractional SEG and the variance map keep what the model computed.
 */
import { InputError } from '../errors';
import type { SliceResult } from '../engine/ensemble';
import { parsePart10, writePart10, type Dataset } from '../dicom/dcmjs';
import { sliceRanges } from '../dicom/derived';
import { fitText } from '../dicom/iod';

/** Unpack a base64 bit-packed mask (LSB first, as the renderer packs it) of `pixels` pixels. */
export function unpackMask(base64: string, pixels: number, k: number): Uint8Array {
  const bytes = Buffer.from(base64, 'base64');
  if (bytes.length !== Math.ceil(pixels / 8)) throw new InputError(`The edited mask of slice ${k + 1} does not fit the image (${bytes.length * 8} pixels sent, ${pixels} expected).`);
  const out = new Uint8Array(pixels);
  for (let p = 0; p < pixels; p++) out[p] = (bytes[p >> 3] >> (p & 7)) & 1;
  return out;
}

/** The selected results with the user's masks in place of the model's on the edited slices. */
export function applyEdits(results: SliceResult[], edits: { k: number; mask: string }[]): { results: SliceResult[]; edited: number[] } {
  const byK = new Map(edits.map((e) => [e.k, e.mask]));
  for (const k of byK.keys()) {
    if (!results.some((r) => r.k === k)) throw new InputError(`Slice ${k + 1} was edited but is not among the slices saved; save it too, or undo the edit.`);
  }
  const edited: number[] = [];
  const out = results.map((r) => {
    const m = byK.get(r.k);
    if (m === undefined) return r;
    edited.push(r.k);
    return { ...r, mask: unpackMask(m, r.mask.length, r.k) };
  });
  return { results: out, edited };
}

/**
 * Mark a binary SEG as corrected by the user on the given slices (1-based in the text). SegmentDescription (LO,
 * 64 characters) says that it was edited and on how many slices; the list of slices, which does not fit there,
 * goes into ImageComments (LT, 10240), after what it already says about the slices computed.
 */
export function markEdited(seg: Buffer, edited: number[]): Buffer {
  const { meta, dataset } = parsePart10(new Uint8Array(seg));
  const slices = [...edited].sort((a, b) => a - b);
  const plural = slices.length === 1 ? '' : 's';
  const segments = (dataset.SegmentSequence as Dataset[] | Dataset | undefined) ?? [];
  for (const s of Array.isArray(segments) ? segments : [segments]) {
    s.SegmentAlgorithmType = 'SEMIAUTOMATIC';
    s.SegmentDescription = fitText(`Edited by the user on ${slices.length} slice${plural}; ${String(s.SegmentDescription ?? '')}`, 64);
  }
  const note = `Edited by the user on slice${plural} ${sliceRanges(slices)}; the probability SEG and the variance map of this result keep the model's values.`;
  dataset.ImageComments = [String(dataset.ImageComments ?? ''), note].filter(Boolean).join(' ');
  dataset.SeriesDescription = `${String(dataset.SeriesDescription ?? '')} (edited)`.slice(0, 64);
  return writePart10(dataset, { classUID: String(meta.ImplementationClassUID), versionName: String(meta.ImplementationVersionName ?? '') });
}
