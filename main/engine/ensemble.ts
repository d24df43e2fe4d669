/**
 * The implicit ensemble (Wolleb et al. 2022): n independent diffusion samples of a slice's mask; their mean is
 * the tumour probability, mean > 0.5 the segmentation, their variance the uncertainty.
 *
 * Work is planned as (slice, member) items: the members of a slice run as one batch, and several slices share
 * a batch when there is room. Slices without brain are skipped. Finished slices are cached (see cache.ts).
 */
import { CancelledError } from '../errors';
import { EtaEstimator } from './eta';
import type { ModelCard } from '../model/card';
import type { DenoiserSession } from '../model/onnx-session';
import { createSampler, type SamplerSettings } from '../sampler/samplers';
import type { MemberCache } from './cache';
import type { PreparedStudy } from './preprocess';
import { NoiseStream } from './rng';

export interface EnsembleSettings {
  sampler: SamplerSettings;
  ensemble: number;
  seed: number;
}

export interface SliceResult {
  k: number;
  /** Each member's mask in [0, 1], on the source slice (rows x cols). */
  members: Float32Array[];
  mean: Float32Array;
  variance: Float32Array;
  mask: Uint8Array;
  /** Sampling time spent on this slice (0 when it came from the cache). */
  seconds: number;
  fromCache: boolean;
}

export interface Progress {
  /** Slices finished so far / to do in this run. */
  slicesDone: number;
  slicesTotal: number;
  /** Fraction of this run's sampling work done, 0…1. */
  fraction: number;
  /** Seconds left, from the speed over the last minute (null until there is a measurement). */
  etaSeconds: number | null;
  /** Set when a slice has just finished. */
  slice?: SliceResult;
}

export interface RunOptions {
  /** Slice indices k in the order they should be done (e.g. the slice in view first). */
  slices: number[];
  onProgress?: (p: Progress) => void;
  signal?: AbortSignal;
  /** Most items (slice x member) per model call. */
  maxBatch?: number;
  /** When given, accumulates where the time goes (for the benchmark). */
  timings?: StepTimings;
}

export interface StepTimings {
  /** Model calls made and the seconds spent inside onnxruntime. */
  steps: number;
  modelSeconds: number;
  /** Seconds of JS-side work around them: assembling inputs, drawing noise, the sampler update. */
  jsSeconds: number;
}

export class EnsembleEngine {
  private results = new Map<number, SliceResult>();

  constructor(
    private readonly session: DenoiserSession,
    private readonly card: ModelCard,
    readonly study: PreparedStudy,
    readonly settings: EnsembleSettings,
    private readonly cache: MemberCache,
  ) {}

  result(k: number): SliceResult | undefined {
    return this.results.get(k);
  }

  /** Grow (or shrink the view of) the ensemble; the next run() samples only the missing members. */
  setEnsembleSize(n: number): void {
    this.settings.ensemble = n;
    for (const [k, r] of this.results) if (r.members.length !== n) this.results.delete(k);
  }

  /**
   * One model call at the shape of a slice's batch (its n members), so that onnxruntime's first-call set-up
   * (buffers, kernel choice: about two steps' worth on a CPU) is paid while the user reads, not by the slice in view.
   */
  async warmUp(): Promise<void> {
    const { box, channels } = this.study; // the largest input; smaller ones reuse its buffers
    const b = this.settings.ensemble;
    await this.session.run(new Float32Array(b * (channels + 1) * box.rows * box.cols), new Float32Array(b), [b, channels + 1, box.rows, box.cols]);
  }

  async run(opts: RunOptions): Promise<SliceResult[]> {
    const n = this.settings.ensemble;
    const slices = [...new Set(opts.slices)].filter((k) => this.study.hasBrain[k]);
    const done: SliceResult[] = [];
    const partial = new Map<number, Float32Array[]>();
    const work: { k: number; m: number }[] = [];

    for (const k of slices) {
      const have = this.results.get(k);
      if (have && have.members.length === n) {
        done.push(have);
        continue;
      }
      const cached = (await this.cache.get(k)).slice(0, n);
      partial.set(k, cached);
      for (let m = cached.length; m < n; m++) work.push({ k, m });
      if (cached.length === n) done.push(this.finish(k, cached, 0, true));
    }

    const sampler = createSampler(this.card.schedule.T, this.settings.sampler);
    const steps = sampler.schedule.length;
    // On a GPU many slices fit in one call; on a CPU a bigger batch gains little and delays the slice in view.
    const maxBatch = Math.max(1, opts.maxBatch ?? (this.session.device.provider !== 'cpu' ? Math.max(n, 64) : n));
    const totalUnits = work.reduce((sum, { k }) => sum + this.cost(k), 0) * steps;
    let units = 0;
    const eta = new EtaEstimator(totalUnits);
    const report = (slice?: SliceResult) => {
      opts.onProgress?.({
        slicesDone: done.length,
        slicesTotal: slices.length,
        fraction: totalUnits ? units / totalUnits : 1,
        etaSeconds: eta.update(units),
        slice,
      });
    };
    for (const r of done) report(r);

    const sliceSeconds = new Map<number, number>();
    for (const batch of this.batches(work, maxBatch)) {
      const t0 = performance.now();
      const crops = await this.sampleBatch(batch, sampler, this.settings.seed, opts.signal, opts.timings, () => {
        units += batch.reduce((sum, { k }) => sum + this.cost(k), 0);
        report();
      });
      const perItem = (performance.now() - t0) / 1000 / batch.length;
      for (const [i, { k, m }] of batch.entries()) {
        const members = partial.get(k)!;
        members[m] = crops[i];
        sliceSeconds.set(k, (sliceSeconds.get(k) ?? 0) + perItem);
        if (members.filter(Boolean).length === n) {
          await this.cache.put(k, members);
          const r = this.finish(k, members, sliceSeconds.get(k)!, false);
          done.push(r);
          report(r);
        }
      }
    }
    return done;
  }

  /**
   * A first look at many slices: member 0 of each slice (the ensemble's own first member, same sampler and
   * noise), several slices per model call. Returns, per slice, how many model-grid pixels that member puts in the
   * tumour (> the card's threshold). The members are kept (memory and disk cache), so a later run() samples only
   * members 1…n-1: screening costs nothing for the slices that go on to the full ensemble.
   */
  async screen(opts: { slices: number[]; signal?: AbortSignal; maxBatch?: number; onProgress?: (fraction: number) => void }): Promise<Map<number, number>> {
    const slices = [...new Set(opts.slices)].filter((k) => this.study.hasBrain[k]);
    const sampler = createSampler(this.card.schedule.T, this.settings.sampler);
    const maxBatch = Math.max(1, opts.maxBatch ?? (this.session.device.provider === 'cpu' ? this.settings.ensemble : 64));
    const threshold = this.card.maskEncoding.threshold;
    const tumourPixels = (m: Float32Array) => m.reduce((a, v) => a + (v > threshold ? 1 : 0), 0);
    const found = new Map<number, number>();
    const todo: number[] = [];
    for (const k of slices) {
      const first = (await this.cache.get(k))[0]; // crop grid, as sampled
      if (first) found.set(k, tumourPixels(first));
      else todo.push(k);
    }
    let units = 0;
    const total = todo.reduce((sum, k) => sum + this.cost(k), 0) * sampler.schedule.length;
    // Slices of one input shape share a call: grouped by shape, in order within each group.
    const byShape = [...todo].sort((a, b) => shapeKey(this.study.boxFor(a)).localeCompare(shapeKey(this.study.boxFor(b))) || a - b);
    for (const batch of this.batches(byShape.map((k) => ({ k, m: 0 })), maxBatch)) {
      const crops = await this.sampleBatch(batch, sampler, this.settings.seed, opts.signal, undefined, () => {
        units += batch.reduce((sum, { k }) => sum + this.cost(k), 0);
        opts.onProgress?.(units / total);
      });
      for (const [i, { k }] of batch.entries()) {
        await this.cache.put(k, [crops[i]]);
        found.set(k, tumourPixels(crops[i]));
      }
    }
    return found;
  }

  /**
   * The relative cost of one item-step of slice k, for progress and ETA: its input's area plus a fixed share per
   * item (on the 2-core VM, batch 5: 32x32 took 0.18 and 64x64 0.52 of the time of 96x96).
   */
  private cost(k: number): number {
    const { rows, cols } = this.study.boxFor(k);
    return rows * cols + 800;
  }

  /** Consecutive items cut into model calls of at most maxBatch items, each of one input shape. */
  private *batches(items: { k: number; m: number }[], maxBatch: number): Generator<{ k: number; m: number }[]> {
    let batch: { k: number; m: number }[] = [];
    for (const item of items) {
      if (batch.length && (batch.length === maxBatch || shapeKey(this.study.boxFor(item.k)) !== shapeKey(this.study.boxFor(batch[0].k)))) {
        yield batch;
        batch = [];
      }
      batch.push(item);
    }
    if (batch.length) yield batch;
  }

  /** Run one batch of (slice, member) items (all of one input shape) through the whole sampling chain; each result on the crop grid in [0, 1]. */
  private async sampleBatch(
    batch: { k: number; m: number }[],
    sampler: ReturnType<typeof createSampler>,
    seed: number,
    signal: AbortSignal | undefined,
    timings: StepTimings | undefined,
    onStep: () => void,
  ): Promise<Float32Array[]> {
    const box = this.study.boxFor(batch[0].k);
    const pixels = box.rows * box.cols;
    const c = this.study.channels;
    const conds = new Map(batch.map(({ k }) => [k, this.study.conditionFor(k)]));
    const noise = batch.map(({ k, m }) => new NoiseStream(seed, k, m));
    const b = batch.length;
    let x: Float32Array = new Float32Array(b * pixels);
    batch.forEach((_, i) => noise[i].fill(x.subarray(i * pixels, (i + 1) * pixels)));
    const input = new Float32Array(b * (c + 1) * pixels);
    batch.forEach(({ k }, i) => input.set(conds.get(k)!, i * (c + 1) * pixels));
    const t = new Float32Array(b);
    const z = new Float32Array(b * pixels);

    for (const k of sampler.order) {
      if (signal?.aborted) throw new CancelledError();
      const stepStart = performance.now();
      for (let i = 0; i < b; i++) input.set(x.subarray(i * pixels, (i + 1) * pixels), (i * (c + 1) + c) * pixels);
      t.fill(sampler.timestep(k));
      const modelStart = performance.now();
      const out = await this.session.run(input, t, [b, c + 1, box.rows, box.cols]);
      const modelSeconds = (performance.now() - modelStart) / 1000;
      const needsNoise = sampler.needsNoise(k);
      if (needsNoise) batch.forEach((_, i) => noise[i].fill(z.subarray(i * pixels, (i + 1) * pixels)));
      x = sampler.step({ modelOutput: out, k, sample: x, noise: needsNoise ? z : null, pixels });
      if (timings) {
        timings.steps++;
        timings.modelSeconds += modelSeconds;
        timings.jsSeconds += (performance.now() - stepStart) / 1000 - modelSeconds;
      }
      onStep();
    }
    // Mask encoding x0 = 2m - 1 (card.maskEncoding): back to [0, 1].
    return batch.map((_, i) => {
      const member = new Float32Array(pixels);
      for (let p = 0; p < pixels; p++) member[p] = Math.min(1, Math.max(0, (x[i * pixels + p] + 1) / 2));
      return member;
    });
  }

  /**
   * Map members to the source slice (0 outside the brain: the model was never shown anything there, and bilinear
   * mapping would smear the crop's edge into the background); mean, (population) variance and mask there.
   */
  private finish(k: number, crops: Float32Array[], seconds: number, fromCache: boolean): SliceResult {
    const brain = this.study.brainFor(k);
    const members = crops.map((m) => this.study.toSource(m, k).map((v, p) => (brain[p] ? v : 0)));
    const { mean, variance, mask } = ensembleStatistics(members, this.card.maskEncoding.threshold);
    const r: SliceResult = { k, members, mean, variance, mask, seconds, fromCache };
    this.results.set(k, r);
    return r;
  }
}

const shapeKey = (box: { rows: number; cols: number }) => `${box.rows}x${box.cols}`;

/** Mean, population variance and mask (mean > threshold) of the members, pixel by pixel. */
export function ensembleStatistics(members: Float32Array[], threshold: number): { mean: Float32Array; variance: Float32Array; mask: Uint8Array } {
  const size = members[0].length;
  const n = members.length;
  const mean = new Float32Array(size);
  const variance = new Float32Array(size);
  const mask = new Uint8Array(size);
  for (let p = 0; p < size; p++) {
    let s = 0;
    for (const m of members) s += m[p];
    const mu = s / n;
    let v = 0;
    for (const m of members) v += (m[p] - mu) ** 2;
    mean[p] = mu;
    variance[p] = v / n;
    mask[p] = mu > threshold ? 1 : 0;
  }
  return { mean, variance, mask };
}
