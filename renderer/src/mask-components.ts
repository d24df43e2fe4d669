/**
 * The result's 3D connected components (6-connected: within a slice and to the same pixel of the next slice), so
 * that a reader is warned of a separate blob (a cerebellar or skull-base false positive over several slices) rather
 * than of single slices, and can remove it in one edit. Pure; the strip calls it once a run has finished.
 */
export interface MaskComponent {
  voxels: number;
  volumeCm3: number;
  firstSlice: number;
  lastSlice: number;
  /** Its pixels, per slice k (indices into the slice, row-major). */
  pixels: Map<number, number[]>;
  /** Gap between its bounding box and the largest component's, in mm (a lower bound of the distance; 0: the largest). */
  gapMm: number;
  /** Why a reader should look at it; null for the largest and for those close to it and not small. */
  warning: string | null;
}

/** A separate component under this volume is suspicious (a glioma's satellite is rarely this small). */
export const SMALL_CM3 = 0.5;
/** Specks under this volume (10 mm³) are not listed: too many to act on one by one, and the variance shows them. */
export const SPECK_CM3 = 0.01;
/** A separate component farther than this from the main lesion is suspicious. */
export const FAR_MM = 10;

/**
 * masks: k → the slice's mask (nx × ny, row-major); spacing [x, y, z] in mm. Components largest first.
 */
export function maskComponents(masks: Map<number, Uint8Array>, nx: number, spacing: [number, number, number]): MaskComponent[] {
  const labels = new Map<number, Int32Array>();
  for (const [k, m] of masks) labels.set(k, new Int32Array(m.length));
  const found: (MaskComponent & { box: number[] })[] = [];
  for (const [k0, m0] of [...masks].sort((a, b) => a[0] - b[0])) {
    for (let p0 = 0; p0 < m0.length; p0++) {
      if (!m0[p0] || labels.get(k0)![p0]) continue;
      const id = found.length + 1;
      const pixels = new Map<number, number[]>();
      const box = [Infinity, -Infinity, Infinity, -Infinity, Infinity, -Infinity]; // i, j, k min/max
      const stack = [k0, p0];
      labels.get(k0)![p0] = id;
      let voxels = 0;
      while (stack.length) {
        const p = stack.pop()!;
        const k = stack.pop()!;
        voxels++;
        (pixels.get(k) ?? pixels.set(k, []).get(k)!).push(p);
        const i = p % nx, j = (p - i) / nx;
        box[0] = Math.min(box[0], i); box[1] = Math.max(box[1], i);
        box[2] = Math.min(box[2], j); box[3] = Math.max(box[3], j);
        box[4] = Math.min(box[4], k); box[5] = Math.max(box[5], k);
        const m = masks.get(k)!;
        const visit = (kk: number, q: number) => {
          const mm = kk === k ? m : masks.get(kk);
          const ll = labels.get(kk);
          if (mm && ll && mm[q] && !ll[q]) {
            ll[q] = id;
            stack.push(kk, q);
          }
        };
        if (i > 0) visit(k, p - 1);
        if (i < nx - 1) visit(k, p + 1);
        if (p >= nx) visit(k, p - nx);
        if (p + nx < m.length) visit(k, p + nx);
        visit(k - 1, p);
        visit(k + 1, p);
      }
      const volumeCm3 = (voxels * spacing[0] * spacing[1] * spacing[2]) / 1000;
      found.push({ voxels, volumeCm3, firstSlice: box[4], lastSlice: box[5], pixels, gapMm: 0, warning: null, box });
    }
  }
  found.sort((a, b) => b.voxels - a.voxels);
  const main = found[0];
  return found.map(({ box, ...c }, n) => {
    if (n === 0) return c;
    const gap = (axis: number) => Math.max(0, box[2 * axis] - main.box[2 * axis + 1] - 1, main.box[2 * axis] - box[2 * axis + 1] - 1) * spacing[axis];
    const gapMm = Math.hypot(gap(0), gap(1), gap(2));
    const why = [c.volumeCm3 < SMALL_CM3 ? `small (${c.volumeCm3.toFixed(2)} cm³)` : '', gapMm > FAR_MM ? `${Math.round(gapMm)} mm from the main lesion` : '']
      .filter(Boolean)
      .join(', ');
    return { ...c, gapMm, warning: why && c.volumeCm3 >= SPECK_CM3 ? `separate component on slices ${c.firstSlice + 1}–${c.lastSlice + 1}: ${why}` : null };
  });
}
