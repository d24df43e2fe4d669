/**
 * Exact Euclidean distance transforms on a voxel grid with anisotropic spacing (mm), used by brain extraction
 * (erosion and dilation by a ball) and by the variance shown near the mask.
 */
import type { Geometry } from './volume';

/**
 * Exact squared Euclidean distance (mm²) from every voxel to the nearest site (mask = 1), with anisotropic
 * spacing: Felzenszwalb & Huttenlocher's lower envelope of parabolas, one axis at a time. With `borderIsSite`
 * the voxels just outside the image count as sites (as if the image were padded with them).
 */
export function squaredDistanceToSites(sites: Uint8Array, geometry: Pick<Geometry, 'dims' | 'spacing'>, borderIsSite = false): Float32Array {
  const dims = geometry.dims;
  const far = 1e20;
  const dist = new Float32Array(sites.length);
  for (let p = 0; p < sites.length; p++) dist[p] = sites[p] ? 0 : far;
  const strides = [1, dims[0], dims[0] * dims[1]];
  for (let axis = 0; axis < 3; axis++) {
    const n = dims[axis];
    const step = strides[axis];
    const s = geometry.spacing[axis];
    // The line along `axis`, with one extra position at each end for the border sites.
    const f = new Float64Array(n + 2);
    const out = new Float64Array(n + 2);
    const v = new Int32Array(n + 2);
    const z = new Float64Array(n + 3);
    const [o1, o2] = axis === 0 ? [1, 2] : axis === 1 ? [0, 2] : [0, 1];
    for (let b = 0; b < dims[o2]; b++) {
      for (let a = 0; a < dims[o1]; a++) {
        const base = a * strides[o1] + b * strides[o2];
        f[0] = f[n + 1] = borderIsSite ? 0 : far;
        for (let q = 0; q < n; q++) f[q + 1] = dist[base + q * step];
        lowerEnvelope(f, s, v, z, out);
        for (let q = 0; q < n; q++) dist[base + q * step] = out[q + 1];
      }
    }
  }
  return dist;
}

/** 1D squared distance transform of sampled function f on a line of spacing s: out[q] = min_p (s(q-p))² + f[p]. */
function lowerEnvelope(f: Float64Array, s: number, v: Int32Array, z: Float64Array, out: Float64Array): void {
  const n = f.length;
  const s2 = s * s;
  // Positions with f = "far" are no parabola at all; skipping them keeps the arithmetic finite.
  let k = -1;
  for (let q = 0; q < n; q++) {
    if (f[q] >= 1e20) continue;
    if (k < 0) {
      k = 0;
      v[0] = q;
      z[0] = -Infinity;
      z[1] = Infinity;
      continue;
    }
    // z[0] = -Infinity: the loop stops at k = 0 at the latest.
    let x = 0;
    for (;;) {
      const p = v[k];
      x = (f[q] + s2 * q * q - (f[p] + s2 * p * p)) / (2 * s2 * (q - p));
      if (x <= z[k]) k--;
      else break;
    }
    k++;
    v[k] = q;
    z[k] = x;
    z[k + 1] = Infinity;
  }
  if (k < 0) {
    out.fill(1e20);
    return;
  }
  let j = 0;
  for (let q = 0; q < n; q++) {
    while (z[j + 1] < q) j++;
    const d = q - v[j];
    out[q] = s2 * d * d + f[v[j]];
  }
}
