/**
 * The paper's protocol (Table 1 of Wolleb et al. 2022) on hand-made masks: which slices it takes, the empty count,
 * Dice without the empty ones, 3D Dice over its range and the volume, and the paper's pooling over slices.
 */
import { describe, expect, it } from 'vitest';
import { paperSlices, pooled, scorePaper, scoreVolume, type PerMethod } from '../../main/evaluate/paper-protocol';
import type { Mask } from '../../main/evaluate/metrics';

const size = 10;
const filled = (n: number): Mask => Uint8Array.from({ length: size }, (_, p) => (p < n ? 1 : 0));
const same = (m: Mask): PerMethod<Mask> => ({ single: m, ensemble: m, baseline: m });

describe("the paper's protocol", () => {
  it('takes the tumour slices 80-128 of a 155-slice volume, and refuses other depths with a sentence', () => {
    expect(paperSlices(155, [10, 79, 80, 100, 128, 129])).toEqual([80, 100, 128]);
    expect(paperSlices(120, [80])).toMatch(/155-slice BraTS volume, and this one has 120 slices; use --protocol slices/);
  });

  it('counts empty predictions, scores Dice with and without them, and stacks the masks in 3D', () => {
    // Truth: 4 pixels on slices 80 and 81, 2 on slice 90 (left out of the scored list: it counts in 3D only).
    const truth = (k: number) => (k === 80 || k === 81 ? filled(4) : k === 90 ? filled(2) : filled(0));
    const byK = new Map<number, PerMethod<Mask>>([
      [80, same(filled(4))], // perfect
      [81, { single: filled(0), ensemble: filled(2), baseline: filled(0) }], // one sample and baseline empty
      [90, same(filled(0))],
      [5, same(filled(3))], // outside the range: a false positive for the volume only
    ]);
    const p = scorePaper([80, 81], byK, truth);
    expect(p.empty).toEqual({ single: 1, ensemble: 0, baseline: 1 });
    expect(p.perSlice.map((s) => s.dice.ensemble)).toEqual([1, (2 * 2) / (2 + 4)]);
    expect(p.nonEmpty.single.dice).toBe(1); // slice 81 left out
    expect(p.nonEmpty.ensemble.dice).toBeCloseTo((1 + 4 / 6) / 2, 12);
    // 3D over 80-128: ensemble 4 + 2 hits, predicted 4 + 2, truth 4 + 4 + 2.
    expect(p.dice3dRange.ensemble).toBeCloseTo((2 * 6) / (6 + 10), 12);
    // The whole volume adds slice 5's 3 false-positive pixels.
    expect(scoreVolume(155, byK, truth).ensemble).toBeCloseTo((2 * 6) / (9 + 10), 12);
    const q = pooled([p, p]);
    expect(q.slices).toBe(4);
    expect(q.empty.single).toBe(2);
    expect(q.dice.single).toBeCloseTo(0.5, 12);
    expect(q.nonEmptyDice.single).toBe(1);
  });

  it('leaves the 3D Dice over the range undefined for a patient whose tumour lies outside it', () => {
    const truth = (k: number) => (k === 40 ? filled(4) : filled(0));
    const byK = new Map<number, PerMethod<Mask>>([[40, same(filled(4))], [90, same(filled(2))]]);
    const p = scorePaper(paperSlices(155, [40]) as number[], byK, truth);
    expect(p.perSlice).toEqual([]);
    expect(p.dice3dRange).toEqual({ single: null, ensemble: null, baseline: null });
    expect(scoreVolume(155, byK, truth).ensemble).toBeCloseTo((2 * 4) / (6 + 4), 12);
  });
});
