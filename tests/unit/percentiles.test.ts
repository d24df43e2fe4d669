/**
 * The fast percentile paths of the preprocessing (histogram for integer intensities, selection otherwise) give
 * exactly numpy.percentile's linear interpolation, i.e. what a full sort gives.
 */
import { describe, expect, it } from 'vitest';
import { brainPercentiles, percentiles } from '../../main/engine/preprocess';

/** numpy.percentile(values, q), linear interpolation, by a full sort. */
function bySort(values: number[], qs: number[]): number[] {
  const sorted = Float32Array.from(values).sort();
  return qs.map((q) => {
    const pos = (q / 100) * (sorted.length - 1);
    const lo = Math.floor(pos);
    const hi = Math.min(lo + 1, sorted.length - 1);
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
  });
}

/** A deterministic pseudo-random sequence. */
function lcg(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

describe('percentiles', () => {
  const qs = [0, 1, 37.5, 50, 99, 100];

  it('integer intensities (histogram path) and real-valued ones (selection path) match a full sort', () => {
    const rnd = lcg(7);
    for (const [n, integral, offset] of [[1, true, 0], [2, true, -3], [10_001, true, -1200], [50_000, false, 0], [7, false, 5]] as const) {
      const v = new Float32Array(n * 2);
      const brain = new Uint8Array(n * 2);
      const inside: number[] = [];
      for (let p = 0; p < v.length; p++) {
        const x = integral ? Math.floor(rnd() * 3000) + offset : (rnd() - 0.3) * 1e3 + offset;
        v[p] = x;
        if (p % 2 === 0) {
          brain[p] = 1;
          inside.push(v[p]);
        }
      }
      expect(brainPercentiles(v, brain, qs)).toEqual(bySort(inside, qs));
      expect(percentiles(Float32Array.from(inside), qs)).toEqual(bySort(inside, qs));
    }
  });

  it('many ties, NaN and an empty mask', () => {
    const ties = Float32Array.from({ length: 1000 }, (_, i) => (i % 3) * 10);
    expect(brainPercentiles(ties, new Uint8Array(1000).fill(1), qs)).toEqual(bySort([...ties], qs));
    const withNaN = Float32Array.from([3, NaN, 1, 2]);
    expect(brainPercentiles(withNaN, new Uint8Array(4).fill(1), [0, 50])).toEqual(bySort([...withNaN], [0, 50]));
    expect(brainPercentiles(ties, new Uint8Array(1000), qs)).toBeNull();
  });
});
