/**
 * What the normalisation needs from a study's input volumes: the brain mask (non-zero in any input) and each
 * input's percentiles inside it (numpy.percentile, linear interpolation, exactly). On a BraTS study this is the
 * biggest fixed cost before the first sampling step, so BrainStats gathers it volume by volume, as each one is
 * decoded, while the others still decompress on the thread pool.
 */

/** The value range of the one-pass histogram: int16 and uint16 voxels, i.e. every MR volume seen so far. */
const HIST_MIN = -32768;
const HIST_BINS = 65536 + 32768;

/** Brain mask and per-volume intensity histograms, filled one volume at a time (add), read once all are in. */
export class BrainStats {
  readonly brain: Uint8Array;
  /** Per volume added: the histogram of its non-zero voxels (null when a value is not an integer in range), and their count. */
  private readonly nonzero = new Map<Float32Array, { hist: Uint32Array | null; count: number }>();

  constructor(readonly voxels: number) {
    this.brain = new Uint8Array(voxels);
  }

  /** The stats of `volumes` (all on one grid), gathered in one pass. */
  static of(volumes: Float32Array[]): BrainStats {
    const stats = new BrainStats(volumes[0]?.length ?? 0);
    for (const v of volumes) stats.add(v);
    return stats;
  }

  /** One pass over v: its non-zero voxels join the brain and its histogram. */
  add(v: Float32Array): void {
    if (v.length !== this.voxels) throw new Error(`BrainStats: a volume of ${v.length} voxels added to stats of ${this.voxels}`);
    if (this.nonzero.has(v)) return;
    const brain = this.brain;
    const hist = new Uint32Array(HIST_BINS);
    let count = 0;
    let p = 0;
    for (; p < v.length; p++) {
      const x = v[p];
      if (x === 0) continue;
      const b = (x - HIST_MIN) | 0;
      if (b + HIST_MIN !== x || b < 0 || b >= HIST_BINS) break; // not an integer in range (NaN neither)
      brain[p] = 1;
      count++;
      hist[b]++;
    }
    if (p === v.length) {
      this.nonzero.set(v, { hist, count });
      return;
    }
    // A value the histogram cannot hold: the mask and count only; percentiles() falls back to selection.
    for (; p < v.length; p++) {
      if (v[p] !== 0) {
        brain[p] = 1;
        count++;
      }
    }
    this.nonzero.set(v, { hist: null, count });
  }

  /** Whether exactly these volumes (the same arrays, not copies or resamplings) were added. */
  covers(volumes: Float32Array[]): boolean {
    return volumes.length === this.nonzero.size && volumes.every((v) => this.nonzero.has(v));
  }

  /**
   * brainPercentiles(v, brain, qs) for a volume that was added, from its histogram: a brain voxel where v is 0
   * (another input is non-zero there) counts as a 0.
   */
  percentiles(v: Float32Array, qs: number[], brainVoxels: number): number[] | null {
    const entry = this.nonzero.get(v);
    if (!entry) throw new Error('BrainStats: percentiles of a volume that was not added');
    if (brainVoxels === 0) return null;
    if (!entry.hist) return brainPercentiles(v, this.brain, qs);
    const hist = entry.hist.slice();
    hist[-HIST_MIN] += brainVoxels - entry.count;
    return histogramPercentiles(hist, HIST_MIN, brainVoxels, qs);
  }
}

/**
 * numpy.percentile (linear) of a volume's values inside the brain mask; null when the mask is empty. MR
 * intensities are nearly always integers in a modest range: then the order statistics come from one histogram
 * pass, with no copy; otherwise the brain's values are copied out and selected.
 */
export function brainPercentiles(v: Float32Array, brain: Uint8Array, qs: number[]): number[] | null {
  let count = 0;
  let min = Infinity;
  let max = -Infinity;
  let integral = true;
  for (let p = 0; p < v.length; p++) {
    if (!brain[p]) continue;
    const x = v[p];
    count++;
    if (x < min) min = x;
    if (x > max) max = x;
    if (x !== Math.floor(x)) integral = false; // NaN too
  }
  if (count === 0) return null;
  if (!integral || max - min > 1 << 20) {
    const values = new Float32Array(count);
    for (let p = 0, n = 0; p < v.length; p++) if (brain[p]) values[n++] = v[p];
    return percentilesInPlace(values, qs);
  }
  const hist = new Uint32Array(max - min + 1);
  for (let p = 0; p < v.length; p++) if (brain[p]) hist[v[p] - min]++;
  return histogramPercentiles(hist, min, count, qs);
}

/** numpy.percentile (linear) of `count` integers held as a histogram whose bin b counts the value b + offset. */
function histogramPercentiles(hist: Uint32Array, offset: number, count: number, qs: number[]): number[] {
  /** The k-th smallest value (0-based). */
  const order = (k: number) => {
    let seen = 0;
    for (let b = 0; b < hist.length; b++) {
      seen += hist[b];
      if (seen > k) return b + offset;
    }
    return hist.length - 1 + offset;
  };
  return qs.map((q) => {
    const pos = (q / 100) * (count - 1);
    const lo = Math.floor(pos);
    const vLo = order(lo);
    const vHi = order(Math.min(lo + 1, count - 1));
    return vLo + (vHi - vLo) * (pos - lo);
  });
}

/**
 * numpy.percentile with linear interpolation, for several q at once. Exact, in O(n) per q: the two order
 * statistics each q needs are found by selection (a full sort of a volume's brain voxels costs seconds).
 * NaNs sort last, as in Float32Array.prototype.sort.
 */
export function percentiles(values: Float32Array, qs: number[]): number[] {
  return percentilesInPlace(values.slice(), qs);
}

/** percentiles(), reordering `a` instead of a copy. */
function percentilesInPlace(a: Float32Array, qs: number[]): number[] {
  for (let i = 0; i < a.length; i++) if (a[i] !== a[i]) return percentilesBySort(a, qs);
  const n = a.length;
  return qs.map((q) => {
    const pos = (q / 100) * (n - 1);
    const lo = Math.floor(pos);
    const vLo = select(a, lo);
    let vHi = vLo;
    if (lo + 1 < n) {
      // After select(lo), everything right of lo is ≥ a[lo]: the next order statistic is their minimum.
      vHi = Infinity;
      for (let i = lo + 1; i < n; i++) if (a[i] < vHi) vHi = a[i];
    }
    return vLo + (vHi - vLo) * (pos - lo);
  });
}

function percentilesBySort(a: Float32Array, qs: number[]): number[] {
  const sorted = a.sort();
  return qs.map((q) => {
    const pos = (q / 100) * (sorted.length - 1);
    const lo = Math.floor(pos);
    const hi = Math.min(lo + 1, sorted.length - 1);
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
  });
}

/** Hoare's selection: reorders `a` so that a[k] is its k-th smallest value, smaller ones left, larger right. */
function select(a: Float32Array, k: number): number {
  let left = 0;
  let right = a.length - 1;
  while (right > left) {
    const pivot = a[(left + right) >> 1];
    let i = left;
    let j = right;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i]; a[i] = a[j]; a[j] = t;
        i++; j--;
      }
    }
    if (k <= j) right = j;
    else if (k >= i) left = i;
    else break;
  }
  return a[k];
}

