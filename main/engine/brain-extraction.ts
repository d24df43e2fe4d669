/**
 * Classical brain extraction for studies that still have the skull (a scanner's series, not BraTS):
 * morphology on a head mask, all distances in millimetres so that 1 mm and 5 mm slices are treated alike.
 *
 *  1. tissue = voxels above a BET-style threshold, 2nd percentile + 25 % of the 2nd–98th percentile range, less
 *     a 6 mm band inside the head's outline in each slice (the scalp: a thick one joins the brain at the skull base);
 *  2. an erosion by a 5 mm ball cuts the thin bridges (optic nerves, vessels, dura) between brain and scalp;
 *  3. the largest remaining 6-connected component is the brain; dilated back by 5 mm, within the tissue;
 *  4. holes filled slice by slice (ventricles, dark lesions), a 1.25 mm margin added (the dark CSF rim);
 *  5. a closing by a 3 mm ball takes in the dark CSF of sulci and fissures that open onto the surface (a tumour
 *     lying in them would otherwise be left outside the brain, and so never segmented);
 *  6. when that threshold lies above 0.55 × the median of the brain's interior, steps 1–5 again at 0.55 × that
 *     median (a very bright scalp had set the 98th percentile, and the threshold had cut the cortex).
 *
 * The parameters were chosen by measurement on skull-on/open-ms (expert brain masks) with the constraint that
 * the skull-on/lgg tumours stay inside; docs/brain-extraction.md gives the tables and where it fails.
 * The brain is normalised by its interior (brainInterior), not by its bright surface band.
 */
import { brainPercentiles, percentiles } from './brain-stats';
import { squaredDistanceToSites } from '../volume/distance';
import type { Geometry, Vec3 } from '../volume/volume';

/**
 * Changes with what the extraction gives (and how its brain is normalised): the ensemble cache keys on it, and
 * models/training/brain.py's VERSION must match (the training cache keys on that).
 */
export const BRAIN_EXTRACTION_VERSION = 5;
const THRESHOLD_FRACTION = 0.25;
const OPENING_RADIUS_MM = 5;
/**
 * Step 0 and steps 4 and 5 (mm); exported so that scripts/brain-extraction-measure.ts can sweep them. scalpMm:
 * tissue this close to the outside of the head, in the slice plane, is scalp and never brain.
 */
export const SURFACE = { scalpMm: 6, marginMm: 1.25, closingMm: 3 };
/**
 * Step 6. On 8-bit FLAIR with a very bright scalp (TCGA_EZ_7264: p98 = 118 from the scalp, brain 24–49) the first
 * threshold sits above the cortex, and the brain keeps little more than its white matter. The interior's median
 * (the brain's own intensity, whatever the scalp) then sets a lower one. `capped`: only ever lower the threshold,
 * so that open-ms (first threshold 0.31–0.35 × the median) is untouched; 0.5 already let the dark skull of
 * TCGA_DU_7013's top slices in (docs/brain-extraction.md). fraction 0: no second pass (the sweep's reference).
 */
export const SECOND_PASS = { fraction: 0.55, capped: true };
/** The head: above a tenth of the 98th percentile, its largest connected part, holes filled per slice. */
const HEAD_FRACTION = 0.1;
/**
 * A study counts as not skull-stripped when more than this share of its non-zero voxels lies outside the
 * extracted brain (on the coarse grid): measured (session 16, with the scalp band) 0.165–0.270 on the sequences of
 * 23 skull-stripped BraTS volumes, 0.45–0.88 on the 33 skull-on ones (FLAIR 0.485–0.876). The highest BraTS value
 * is Brats18_2013_20_1's FLAIR, whose field of view cuts the head short; 0.25 took it for a study with the skull.
 */
export const UNSTRIPPED_OUTSIDE_FRACTION = 0.38;
/**
 * How far inside an extracted brain's surface the voxels lie whose intensities set the normalisation: the band
 * outside it keeps what the extraction could not cut away (dura, marrow, vessels, FLAIR flow artefacts), and its
 * brightest voxels would otherwise set the 99th percentile (see brainInterior).
 */
export const INTERIOR_MM = 8;
/** The in-plane pixel size at which that test is made. */
const COARSE_PIXEL_MM = 3;

/** The brain mask (1/0 per voxel) of one volume with the skull. */
export function extractBrain(data: Float32Array, geometry: Geometry, surface = SURFACE, secondPass = SECOND_PASS): Uint8Array {
  const [p2, p98] = percentiles(data, [2, 98]);
  const threshold = p2 + THRESHOLD_FRACTION * (p98 - p2);
  let scalp: Uint8Array | null = null;
  if (surface.scalpMm > 0) {
    // Distances in the slice plane only: the air above the top slice is not scalp's measure.
    const inPlane = { dims: geometry.dims, spacing: [geometry.spacing[0], geometry.spacing[1], 1e6] as Vec3 };
    const toOutside = squaredDistanceToSites(invert(headMask(data, geometry.dims)), inPlane, false);
    scalp = withinRadius(toOutside, surface.scalpMm, true);
  }
  const brain = brainAbove(data, geometry, threshold, scalp, surface);
  if (!(secondPass.fraction > 0)) return brain;
  const median = brainPercentiles(data, brainInterior(brain, geometry), [50]);
  if (!median) return brain; // nothing found: no brain's intensity to go by
  const second = secondPass.fraction * median[0];
  if (secondPass.capped && second >= threshold) return brain;
  return brainAbove(data, geometry, second, scalp, surface);
}

/** Steps 1–5 at one threshold; `scalp`: the band that is never brain (null: none). */
function brainAbove(data: Float32Array, geometry: Geometry, threshold: number, scalp: Uint8Array | null, surface: typeof SURFACE): Uint8Array {
  const tissue = new Uint8Array(data.length);
  for (let p = 0; p < data.length; p++) tissue[p] = data[p] > threshold && !scalp?.[p] ? 1 : 0;

  // Erosion cuts the bridges (the image's outside counts as non-tissue); the largest part grows back within the tissue.
  const core = largestComponent(erode(tissue, geometry, OPENING_RADIUS_MM, true), geometry.dims);
  const brain = dilate(core, geometry, OPENING_RADIUS_MM);
  for (let p = 0; p < data.length; p++) brain[p] &= tissue[p];
  fillHolesPerSlice(brain, geometry.dims);

  const withMargin = dilate(brain, geometry, surface.marginMm);
  const closed = erode(dilate(withMargin, geometry, surface.closingMm), geometry, surface.closingMm);
  for (let p = 0; p < data.length; p++) closed[p] |= withMargin[p];
  fillHolesPerSlice(closed, geometry.dims);
  return closed;
}

/** The head of a volume with the skull: above a tenth of its 98th percentile, the largest part, holes filled. */
export function headMask(data: Float32Array, dims: Vec3): Uint8Array {
  const [p98] = percentiles(data, [98]);
  const above = new Uint8Array(data.length);
  for (let p = 0; p < data.length; p++) above[p] = data[p] > HEAD_FRACTION * p98 ? 1 : 0;
  const head = largestComponent(above, dims);
  fillHolesPerSlice(head, dims);
  return head;
}

/** The voxels of an extracted brain farther than INTERIOR_MM from its outside (the whole brain if none are). */
export function brainInterior(brain: Uint8Array, geometry: Geometry): Uint8Array {
  const interior = erode(brain, geometry, INTERIOR_MM);
  return interior.some((v) => v === 1) ? interior : brain;
}

/** The voxels within `radiusMm` of the mask: a dilation by a ball. */
function dilate(mask: Uint8Array, geometry: Geometry, radiusMm: number): Uint8Array {
  return withinRadius(squaredDistanceToSites(mask, geometry, false), radiusMm, true);
}

/** The voxels farther than `radiusMm` from everything outside the mask: an erosion by a ball. */
function erode(mask: Uint8Array, geometry: Geometry, radiusMm: number, borderIsOutside = false): Uint8Array {
  return withinRadius(squaredDistanceToSites(invert(mask), geometry, borderIsOutside), radiusMm, false);
}

function withinRadius(squaredDistance: Float32Array, radiusMm: number, within: boolean): Uint8Array {
  const r2 = radiusMm * radiusMm;
  const out = new Uint8Array(squaredDistance.length);
  for (let p = 0; p < out.length; p++) out[p] = squaredDistance[p] <= r2 === within ? 1 : 0;
  return out;
}

/**
 * The brain of a volume that still has its skull, or null when it is already skull-stripped (zero outside the
 * brain, as BraTS is: then the engine's "non-zero in any sequence" is the brain). The test runs on every
 * study, so it looks at every `stride`-th row and column only (pixels of about 3 mm): many of the volume's
 * non-zero voxels lying outside the brain found there means a skull. Only then is the brain extracted at
 * full resolution.
 */
export function brainIfUnstripped(data: Float32Array, geometry: Geometry): Uint8Array | null {
  return isUnstripped(data, geometry) ? extractBrain(data, geometry) : null;
}

/** The skull test alone: whether a FLAIR volume still has its skull (brainIfUnstripped extracts a brain then). */
export function isUnstripped(data: Float32Array, geometry: Geometry): boolean {
  return outsideShare(data, geometry) > UNSTRIPPED_OUTSIDE_FRACTION;
}

/** The skull test's measure: the share of the volume's non-zero voxels outside the brain extracted at about 3 mm. */
export function outsideShare(data: Float32Array, geometry: Geometry): number {
  const stride = Math.max(1, Math.floor(COARSE_PIXEL_MM / Math.max(geometry.spacing[0], geometry.spacing[1])));
  const coarse = stride > 1 ? subsampleInPlane(data, geometry, stride) : { data, geometry };
  const brain = extractBrain(coarse.data, coarse.geometry);
  let nonzero = 0;
  let outside = 0;
  for (let p = 0; p < coarse.data.length; p++) {
    if (coarse.data[p] === 0) continue;
    nonzero++;
    if (!brain[p]) outside++;
  }
  return nonzero ? outside / nonzero : 0;
}

/** Every stride-th column and row of each slice (only dims and spacing matter to extractBrain). */
function subsampleInPlane(data: Float32Array, geometry: Geometry, stride: number): { data: Float32Array; geometry: Geometry } {
  const [nx, ny, nz] = geometry.dims;
  const mx = Math.ceil(nx / stride);
  const my = Math.ceil(ny / stride);
  const out = new Float32Array(mx * my * nz);
  let q = 0;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j += stride) {
      for (let i = 0; i < nx; i += stride) out[q++] = data[i + nx * (j + ny * k)];
    }
  }
  const [sx, sy, sz] = geometry.spacing;
  return { data: out, geometry: { ...geometry, dims: [mx, my, nz], spacing: [sx * stride, sy * stride, sz] } };
}

function invert(mask: Uint8Array): Uint8Array {
  return mask.map((v) => (v ? 0 : 1));
}

/** The largest 6-connected component of a mask (empty when the mask is). */
export function largestComponent(mask: Uint8Array, [nx, ny, nz]: [number, number, number]): Uint8Array {
  const plane = nx * ny;
  const label = new Int32Array(mask.length);
  const queue = new Int32Array(mask.length);
  // Neighbour offsets and, per offset, whether voxel (i, j, k) has that neighbour (no closures: this loop is hot).
  const steps = [-1, 1, -nx, nx, -plane, plane];
  let best = 0;
  let bestSize = 0;
  let next = 0;
  for (let seed = 0; seed < mask.length; seed++) {
    if (!mask[seed] || label[seed]) continue;
    next++;
    let head = 0;
    let tail = 0;
    queue[tail++] = seed;
    label[seed] = next;
    while (head < tail) {
      const p = queue[head++];
      const i = p % nx;
      const j = ((p - i) / nx) % ny;
      const k = (p - i - j * nx) / plane;
      const has = [i > 0, i < nx - 1, j > 0, j < ny - 1, k > 0, k < nz - 1];
      for (let n = 0; n < 6; n++) {
        const q = p + steps[n];
        if (has[n] && mask[q] && !label[q]) {
          label[q] = next;
          queue[tail++] = q;
        }
      }
    }
    if (tail > bestSize) {
      bestSize = tail;
      best = next;
    }
  }
  const out = new Uint8Array(mask.length);
  if (best > 0) for (let p = 0; p < mask.length; p++) out[p] = label[p] === best ? 1 : 0;
  return out;
}

/** Fills, in each slice, the background not 4-connected to the slice's edge (in place). */
export function fillHolesPerSlice(mask: Uint8Array, [nx, ny, nz]: [number, number, number]): void {
  const plane = nx * ny;
  const outside = new Uint8Array(plane);
  const queue = new Int32Array(plane);
  for (let k = 0; k < nz; k++) {
    const slice = mask.subarray(k * plane, (k + 1) * plane);
    outside.fill(0);
    let tail = 0;
    // The slice's edge pixels that are background start the flood.
    for (let p = 0; p < plane; p++) {
      const i = p % nx;
      const edge = i === 0 || i === nx - 1 || p < nx || p >= plane - nx;
      if (edge && !slice[p]) {
        outside[p] = 1;
        queue[tail++] = p;
      }
    }
    for (let head = 0; head < tail; head++) {
      const p = queue[head];
      const i = p % nx;
      const around = [i > 0 ? p - 1 : -1, i < nx - 1 ? p + 1 : -1, p >= nx ? p - nx : -1, p < plane - nx ? p + nx : -1];
      for (const q of around) {
        if (q >= 0 && !slice[q] && !outside[q]) {
          outside[q] = 1;
          queue[tail++] = q;
        }
      }
    }
    for (let p = 0; p < plane; p++) if (!outside[p]) slice[p] = 1;
  }
}
