/**
 * Segmentation and uncertainty metrics on one 2D slice (rows x cols, row-major), as in the paper's Table 1:
 * Dice, Jaccard, HD95, plus the AUROC of the variance for flagging wrong pixels. Pure functions, no I/O.
 * Conventions match models/training/evaluate.py: an empty prediction of an empty truth is Dice 1; HD95 is
 * undefined (null) when either mask is empty.
 */

export type Mask = Uint8Array;

function counts(a: Mask, b: Mask): { inter: number; sa: number; sb: number } {
  let inter = 0, sa = 0, sb = 0;
  for (let p = 0; p < a.length; p++) {
    sa += a[p];
    sb += b[p];
    inter += a[p] & b[p];
  }
  return { inter, sa, sb };
}

export function dice(a: Mask, b: Mask): number {
  const { inter, sa, sb } = counts(a, b);
  return sa + sb === 0 ? 1 : (2 * inter) / (sa + sb);
}

export function jaccard(a: Mask, b: Mask): number {
  const { inter, sa, sb } = counts(a, b);
  const union = sa + sb - inter;
  return union === 0 ? 1 : inter / union;
}

/** Pixels of the mask with a 4-neighbour outside it (scipy's binary_erosion border, the image edge counts as outside). */
function surface(m: Mask, rows: number, cols: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const p = r * cols + c;
      if (!m[p]) continue;
      if (r === 0 || c === 0 || r === rows - 1 || c === cols - 1 || !m[p - 1] || !m[p + 1] || !m[p - cols] || !m[p + cols]) out.push(p);
    }
  }
  return out;
}

/** 95th percentile of the symmetric surface distances (mm), numpy's linear percentile; null if either is empty. */
export function hd95(a: Mask, b: Mask, rows: number, cols: number, spacing: [number, number] = [1, 1]): number | null {
  const sa = surface(a, rows, cols);
  const sb = surface(b, rows, cols);
  if (!sa.length || !sb.length) return null;
  const nearest = (from: number[], to: number[]) =>
    from.map((p) => {
      const pr = Math.floor(p / cols), pc = p % cols;
      let best = Infinity;
      for (const q of to) {
        const dr = (pr - Math.floor(q / cols)) * spacing[0], dc = (pc - (q % cols)) * spacing[1];
        const d = dr * dr + dc * dc;
        if (d < best) best = d;
      }
      return Math.sqrt(best);
    });
  return percentile([...nearest(sa, sb), ...nearest(sb, sa)], 95);
}

/** numpy.percentile with linear interpolation. */
export function percentile(values: ArrayLike<number>, q: number): number {
  const s = Float64Array.from(values).sort();
  const x = ((s.length - 1) * q) / 100;
  const lo = Math.floor(x), hi = Math.min(lo + 1, s.length - 1);
  return s[lo] + (s[hi] - s[lo]) * (x - lo);
}

/**
 * Area under the ROC curve of `scores` for `labels` (Mann-Whitney U, ties get their average rank); null when
 * one class is absent. Used with the variance as the score and "the ensemble's mask is wrong here" as the label.
 */
export function auroc(scores: Float32Array | Float64Array, labels: Uint8Array): number | null {
  const n = scores.length;
  let pos = 0;
  for (let i = 0; i < n; i++) pos += labels[i];
  const neg = n - pos;
  if (pos === 0 || neg === 0) return null;
  const order = Uint32Array.from({ length: n }, (_, i) => i).sort((i, j) => scores[i] - scores[j]);
  let rankSumPos = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]] === scores[order[i]]) j++;
    const rank = (i + j) / 2 + 1;
    for (let t = i; t <= j; t++) if (labels[order[t]]) rankSumPos += rank;
    i = j + 1;
  }
  return (rankSumPos - (pos * (pos + 1)) / 2) / (pos * neg);
}

export const mean = (xs: number[]): number | null => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : null);
