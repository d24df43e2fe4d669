import { describe, expect, it } from 'vitest';
import { EtaEstimator } from '../../main/engine/eta';

/**
 * A run of `total` units whose seconds per unit follow `secondsPerUnit(u)`; returns the relative error of the ETA
 * given at `fraction` of the run (negative: too short) for an estimator with the given window.
 */
function etaError(total: number, secondsPerUnit: (u: number) => number, fraction: number, windowSeconds: number): number {
  let t = 0;
  const eta = new EtaEstimator(total, windowSeconds, () => t);
  const finish: number[] = [0];
  let predicted: number | null = null;
  for (let u = 1; u <= total; u++) {
    t += secondsPerUnit(u);
    finish.push(t);
    const e = eta.update(u);
    if (predicted === null && u >= fraction * total) predicted = e;
  }
  const at = finish[Math.ceil(fraction * total)];
  return (predicted! - (t - at)) / (t - at);
}

describe('EtaEstimator', () => {
  it('is exact at a steady speed, and null before the first unit', () => {
    let t = 0;
    const eta = new EtaEstimator(100, 60, () => t);
    expect(eta.update(0)).toBeNull();
    t = 10;
    expect(eta.update(10)).toBeCloseTo(90);
    t = 200;
    expect(eta.update(100)).toBe(0);
  });

  it('follows a machine that slows down part-way (a shared VM) where the mean since the start falls short', () => {
    // 1 s per unit for the first 5 minutes, then 1.3 s: as the idle VM's step time went from 99 to 130 ms.
    const slowsDown = (u: number) => (u <= 300 ? 1 : 1.3);
    const windowed = etaError(1000, slowsDown, 0.5, 60);
    const sinceStart = etaError(1000, slowsDown, 0.5, Infinity);
    expect(sinceStart).toBeLessThan(-0.1);
    expect(Math.abs(windowed)).toBeLessThan(0.01);
  });

  it('is no worse than the mean since the start on a steady drift, and within 20 % of it', () => {
    const drifts = (u: number) => 1 + (0.3 * u) / 1000;
    for (const fraction of [0.1, 0.5]) {
      const windowed = etaError(1000, drifts, fraction, 60);
      expect(Math.abs(windowed)).toBeLessThanOrEqual(Math.abs(etaError(1000, drifts, fraction, Infinity)));
      expect(Math.abs(windowed)).toBeLessThan(0.2);
    }
  });

  it('keeps only the marks of its window', () => {
    let t = 0;
    const eta = new EtaEstimator(1e6, 60, () => t);
    for (let u = 1; u <= 10000; u++) {
      t += 1;
      eta.update(u);
    }
    expect((eta as unknown as { marks: unknown[] }).marks.length).toBeLessThanOrEqual(62);
  });
});
