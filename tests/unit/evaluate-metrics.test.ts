/**
 * The evaluation metrics against independent references: hand-computed values, and scipy/numpy (the Python
 * training code's evaluate.py conventions) on random blobs.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { auroc, dice, hd95, jaccard, percentile } from '../../main/evaluate/metrics';

const rows = 40, cols = 50;
function square(r0: number, c0: number, size: number): Uint8Array {
  const m = new Uint8Array(rows * cols);
  for (let r = r0; r < r0 + size; r++) for (let c = c0; c < c0 + size; c++) m[r * cols + c] = 1;
  return m;
}

describe('segmentation metrics', () => {
  it('Dice and Jaccard of overlapping squares, and the empty-vs-empty convention', () => {
    const a = square(5, 5, 10), b = square(5, 10, 10); // overlap 10 x 5
    expect(dice(a, b)).toBeCloseTo((2 * 50) / 200, 12);
    expect(jaccard(a, b)).toBeCloseTo(50 / 150, 12);
    const empty = new Uint8Array(rows * cols);
    expect(dice(empty, empty)).toBe(1);
    expect(dice(a, empty)).toBe(0);
    expect(hd95(a, empty, rows, cols)).toBeNull();
  });

  it('AUROC: perfect, inverted, chance with ties, undefined with one class', () => {
    const labels = Uint8Array.from([0, 0, 1, 1]);
    expect(auroc(Float32Array.from([0.1, 0.2, 0.8, 0.9]), labels)).toBe(1);
    expect(auroc(Float32Array.from([0.9, 0.8, 0.2, 0.1]), labels)).toBe(0);
    expect(auroc(Float32Array.from([0.5, 0.5, 0.5, 0.5]), labels)).toBe(0.5);
    expect(auroc(Float32Array.from([0.5, 0.5]), Uint8Array.from([1, 1]))).toBeNull();
    expect(percentile([1, 2, 3, 4], 50)).toBe(2.5);
  });

  it('agrees with scipy (HD95 from distance transforms) and numpy on random blobs', () => {
    // Random blobs: thresholded smooth noise, the kind of shapes a segmentation has.
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const blob = () => {
      const cx = 10 + rand() * 30, cy = 10 + rand() * 20, rx = 4 + rand() * 8, ry = 4 + rand() * 8;
      return Uint8Array.from({ length: rows * cols }, (_, p) => {
        const r = Math.floor(p / cols), c = p % cols;
        return ((c - cx) / rx) ** 2 + ((r - cy) / ry) ** 2 + 0.3 * Math.sin(r * 0.7 + c * 0.3) < 1 ? 1 : 0;
      });
    };
    const pairs = Array.from({ length: 6 }, () => [blob(), blob()]);
    const scores = Float32Array.from({ length: 300 }, () => Math.round(rand() * 20) / 20);
    const labels = Uint8Array.from({ length: 300 }, (_, i) => (rand() < 0.3 + 0.4 * scores[i] ? 1 : 0));
    const script = `
import json, sys
import numpy as np
from scipy import ndimage
sys.path.insert(0, "models/training")
from evaluate import dice, jaccard, hd95, auroc
d = json.load(sys.stdin)
out = []
for a, b in d["pairs"]:
    a = np.array(a, bool).reshape(${rows}, ${cols}); b = np.array(b, bool).reshape(${rows}, ${cols})
    out.append([float(dice(a, b)), float(jaccard(a, b)), hd95(a, b, spacing=(1.5, 0.9))])
print(json.dumps({"pairs": out, "auroc": auroc(np.array(d["scores"]), np.array(d["labels"]))}))
`;
    const py = spawnSync('/usr/bin/python3', ['-c', script], {
      input: JSON.stringify({ pairs: pairs.map(([a, b]) => [Array.from(a), Array.from(b)]), scores: Array.from(scores), labels: Array.from(labels) }),
      encoding: 'utf8',
    });
    expect(py.status, py.stderr).toBe(0);
    const ref = JSON.parse(py.stdout) as { pairs: [number, number, number | null][]; auroc: number };
    pairs.forEach(([a, b], i) => {
      expect(dice(a, b)).toBeCloseTo(ref.pairs[i][0], 10);
      expect(jaccard(a, b)).toBeCloseTo(ref.pairs[i][1], 10);
      const h = hd95(a, b, rows, cols, [1.5, 0.9]);
      if (ref.pairs[i][2] === null) expect(h).toBeNull();
      else expect(h!).toBeCloseTo(ref.pairs[i][2]!, 6);
    });
    expect(auroc(scores, labels)!).toBeCloseTo(ref.auroc, 10);
  });
});
