/**
 * The ensemble engine on a real study with the shipped model (few steps, to stay fast): seeded reproducibility,
 * independence from batching, growing the ensemble without resampling, cancellation within a step, slices
 * without brain skipped, the disk cache.
 */
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancelledError } from '../../main/errors';
import { loadModel } from '../../main/model/card';
import { openSegmentation, parseSliceRange, viewportFirst, type SegmentationSession } from '../../main/engine/segment-study';
import { CASE_27 } from '../support/paths';

const open = (cacheDir: string | null, seed = 3) =>
  openSegmentation({ kind: 'case', folder: CASE_27 }, { modelId: 'wt-4seq', device: 'cpu', sampler: { kind: 'ddpm', steps: 3 }, ensemble: 2, seed, cacheDir });

/** The shipped model with its card switched to per-slice crop boxes (cropPer "slice"), in a scratch models folder. */
async function openPerSlice(): Promise<SegmentationSession> {
  const { card, onnxPath } = await loadModel('wt-4seq');
  const root = mkdtempSync(join(tmpdir(), 'halo-models-'));
  mkdirSync(join(root, 'wt-4seq'));
  writeFileSync(join(root, 'wt-4seq', 'card.json'), JSON.stringify({ ...card, preprocessing: { ...card.preprocessing, cropPer: 'slice', cropMultiple: 16 } }));
  symlinkSync(onnxPath, join(root, 'wt-4seq', card.onnx.file));
  const before = process.env.HALO_MODELS_DIR;
  process.env.HALO_MODELS_DIR = root;
  try {
    return await open(null);
  } finally {
    if (before === undefined) delete process.env.HALO_MODELS_DIR;
    else process.env.HALO_MODELS_DIR = before;
  }
}

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe('EnsembleEngine', () => {
  let s: SegmentationSession;
  beforeAll(async () => {
    s = await open(null);
  });
  afterAll(async () => s.close());

  it('skips slices without brain and reports progress to completion', async () => {
    expect(s.engine.study.hasBrain[140]).toBe(false); // above the head in this case
    const events: number[] = [];
    const done = await s.engine.run({ slices: [140, 150, 75], onProgress: (p) => events.push(p.fraction) });
    expect(done.map((r) => r.k)).toEqual([75]);
    expect(events.at(-1)).toBe(1);
    expect(events.every((f, i) => i === 0 || f >= events[i - 1])).toBe(true);
  });

  it('is reproducible for a seed and independent of how items are batched', async () => {
    const other = await open(null);
    const [a] = await s.engine.run({ slices: [76], maxBatch: 2 });
    const [b] = await other.engine.run({ slices: [76], maxBatch: 1 });
    await other.close();
    expect(maxDiff(a.mean, b.mean)).toBeLessThan(1e-5);
    a.members.forEach((m, i) => expect(maxDiff(m, b.members[i])).toBeLessThan(1e-5));
  });

  it('a different seed gives different members', async () => {
    const other = await open(null, 4);
    const [a] = await s.engine.run({ slices: [76] });
    const [b] = await other.engine.run({ slices: [76] });
    await other.close();
    expect(maxDiff(a.members[0], b.members[0])).toBeGreaterThan(0.01);
  });

  it('grows the ensemble without redoing the first members', async () => {
    const [before] = await s.engine.run({ slices: [77] });
    s.engine.setEnsembleSize(4);
    const [after] = await s.engine.run({ slices: [77] });
    expect(after.members).toHaveLength(4);
    before.members.forEach((m, i) => expect(maxDiff(m, after.members[i])).toBe(0));
    s.engine.setEnsembleSize(2);
  });

  it('cancels within one step', async () => {
    const controller = new AbortController();
    let steps = 0;
    const run = s.engine.run({
      slices: [80, 81],
      signal: controller.signal,
      onProgress: () => {
        steps++;
        if (steps === 1) controller.abort();
      },
    });
    await expect(run).rejects.toBeInstanceOf(CancelledError);
    expect(steps).toBeLessThanOrEqual(2);
  });

  it('reuses the disk cache across sessions', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'halo-cache-'));
    const first = await open(dir);
    const [a] = await first.engine.run({ slices: [78] });
    await first.close();
    const second = await open(dir);
    const [b] = await second.engine.run({ slices: [78] });
    await second.close();
    expect(a.fromCache).toBe(false);
    expect(b.fromCache).toBe(true);
    expect(maxDiff(a.mean, b.mean)).toBe(0);
  });
});

describe('slice helpers', () => {
  it('orders the slice in view first, then outwards', () => {
    expect(viewportFirst([0, 1, 2, 3, 4, 5], 3)).toEqual([3, 2, 4, 1, 5, 0]);
  });
  it('parses half-open ranges', () => {
    expect(parseSliceRange('70:74', 155)).toEqual([70, 74]);
    expect(parseSliceRange(':10', 155)).toEqual([0, 10]);
    expect(parseSliceRange(undefined, 155)).toEqual([0, 155]);
    expect(() => parseSliceRange('10:5', 155)).toThrow(/outside the volume/);
  });
});

describe('screening plan', () => {
  it('keeps the slices with tumour and their neighbours, lists every other screened slice as skipped', async () => {
    const { planFromScreening } = await import('../../main/engine/screening');
    const found = new Map([[10, 0], [11, 0], [12, 3], [13, 0], [14, 0], [15, 0], [20, 1], [21, 0]]);
    expect(planFromScreening(found)).toEqual({ positive: [12, 20], sampled: [11, 12, 13, 20, 21], skipped: [10, 14, 15] });
    expect(planFromScreening(found, { minPixels: 2, neighbours: 0 })).toEqual({ positive: [12], sampled: [12], skipped: [10, 11, 13, 14, 15, 20, 21] });
    expect(planFromScreening(new Map([[5, 0]]))).toEqual({ positive: [], sampled: [], skipped: [5] });
  });
});

describe('EnsembleEngine.screen', () => {
  it('with a card that crops per slice, puts only slices of one input shape in a model call', async () => {
    const s = await openPerSlice();
    const one = await openPerSlice();
    try {
      const slices = [20, 60, 75, 76, 130];
      const shapes = new Set(slices.map((k) => `${s.engine.study.boxFor(k).rows}x${s.engine.study.boxFor(k).cols}`));
      expect(shapes.size).toBeGreaterThan(1); // the top and bottom of the head are smaller
      const batched = await s.engine.screen({ slices, maxBatch: 5 });
      const single = await one.engine.screen({ slices, maxBatch: 1 });
      expect(batched).toEqual(single);
      const [a] = await s.engine.run({ slices: [20] });
      const [b] = await one.engine.run({ slices: [20] });
      a.members.forEach((m, i) => expect(maxDiff(m, b.members[i])).toBeLessThan(1e-5));
    } finally {
      await s.close();
      await one.close();
    }
  });

  it('samples member 0 of many slices, batched across slices, and the full run reuses it exactly', async () => {
    const s = await open(null);
    const fresh = await open(null);
    try {
      const found = await s.engine.screen({ slices: [150, 60, 75, 76, 77], maxBatch: 3 });
      expect([...found.keys()].sort()).toEqual([60, 75, 76, 77]); // 150 has no brain
      for (const [k, px] of found) expect(Number.isInteger(px) && px >= 0 && px <= s.engine.study.boxFor(k).rows * s.engine.study.boxFor(k).cols).toBe(true);
      expect(s.engine.result(75)).toBeUndefined();
      // The full run samples only the missing members, and the result is exactly that of a run without screening.
      const progress: number[] = [];
      const [after] = await s.engine.run({ slices: [76], maxBatch: 1, onProgress: (p) => progress.push(p.fraction) });
      const [plain] = await fresh.engine.run({ slices: [76] });
      after.members.forEach((m, i) => expect(maxDiff(m, plain.members[i])).toBe(0));
      expect(progress.length).toBe(3 + 1); // 3 steps of one batch (member 1 only; without screening two), the finished slice
      // Screening again finds the kept member instead of resampling it.
      expect((await s.engine.screen({ slices: [76] })).get(76)).toBe(found.get(76));
    } finally {
      await s.close();
      await fresh.close();
    }
  });
});
