/**
 * The fast percentile paths of the preprocessing (histogram for integer intensities, selection otherwise) give
 * exactly numpy.percentile's linear interpolation, i.e. what a full sort gives.
 */
import { describe, expect, it } from 'vitest';
import { BrainStats, brainPercentiles, percentiles } from '../../main/engine/brain-stats';

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

  it('BrainStats, gathered volume by volume, gives each volume brainPercentiles in the union of their non-zero voxels', () => {
    const rnd = lcg(11);
    const n = 20_000;
    // Integer volumes with zeros in different places (a brain voxel where one input is 0 counts as a 0 there),
    // one with negative values, one real-valued (the selection fallback), one with a NaN.
    const make = (f: () => number, zeroEvery: number) => Float32Array.from({ length: n }, (_, p) => (p % zeroEvery === 0 || p < 500 ? 0 : f()));
    const volumes = [
      make(() => Math.floor(rnd() * 4000), 3),
      make(() => Math.floor(rnd() * 500) - 250, 5),
      make(() => rnd() * 100, 7),
      make(() => Math.floor(rnd() * 70_000), 2),
    ];
    volumes[3][1000] = NaN;
    const stats = new BrainStats(n);
    for (const v of volumes) stats.add(v);
    const brain = new Uint8Array(n);
    for (const v of volumes) v.forEach((x, p) => x !== 0 && (brain[p] = 1));
    expect(stats.brain).toEqual(brain);
    const brainVoxels = brain.reduce((a, b) => a + b, 0);
    for (const v of volumes) expect(stats.percentiles(v, qs, brainVoxels)).toEqual(brainPercentiles(v, brain, qs));
    expect(stats.covers(volumes)).toBe(true);
    expect(stats.covers(volumes.slice(1))).toBe(false);
    expect(stats.covers(volumes.map((v) => v.slice()))).toBe(false);
    expect(() => stats.add(new Float32Array(n + 1))).toThrow(/voxels/);
  });
});
