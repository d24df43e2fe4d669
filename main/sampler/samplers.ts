/**
 * Samplers in the style of diffusers' schedulers: a small object with the chain's timesteps and a `step()` that
 * turns the model output at chain index k into the next (less noisy) sample. Both agree with the PyTorch
 * reference in models/training/diffusion.py step by step (tests/unit/sampler-golden.test.ts).
 *
 * Flat row-major arrays: modelOutput [B, 2, H, W] (eps, variance interpolation v), sample and noise [B, 1, H, W].
 */
import { Schedule } from './schedule';

export type SamplerKind = 'ddpm' | 'ddim';

export interface SamplerSettings {
  kind: SamplerKind;
  steps: number;
  /** DDIM only: 0 = deterministic, 1 = as much noise as DDPM. */
  eta: number;
}

export interface StepInput {
  modelOutput: Float32Array;
  /** Chain index (schedule.length-1 … 0). */
  k: number;
  sample: Float32Array;
  /** Standard normal noise, one value per sample value; ignored (may be null) when needsNoise(k) is false. */
  noise: Float32Array | null;
  /** H * W of one batch item. */
  pixels: number;
}

export abstract class Sampler {
  readonly schedule: Schedule;

  constructor(T: number, steps: number) {
    this.schedule = new Schedule(T, steps);
  }

  /** Chain indices in the order they are run: length-1 down to 0. */
  get order(): number[] {
    return Array.from({ length: this.schedule.length }, (_, i) => this.schedule.length - 1 - i);
  }

  /** The model's timestep input (on the original 0…T-1 scale) at chain index k. */
  timestep(k: number): number {
    return this.schedule.timesteps[k];
  }

  abstract needsNoise(k: number): boolean;

  /** Returns x at chain index k-1 (x0 when k = 0), in a new array. */
  step({ modelOutput, k, sample, noise, pixels }: StepInput): Float32Array {
    if (modelOutput.length !== 2 * sample.length || sample.length % pixels !== 0) {
      throw new Error(`sampler: model output of ${modelOutput.length} values does not match sample of ${sample.length}`);
    }
    if (this.needsNoise(k) && (!noise || noise.length !== sample.length)) throw new Error('sampler: noise missing');
    const out = new Float32Array(sample.length);
    const s = this.schedule;
    const sqrtRecip = Math.sqrt(1 / s.alphasCumprod[k]);
    const sqrtRecipM1 = Math.sqrt(1 / s.alphasCumprod[k] - 1);
    const update = this.pixelUpdate(k);
    for (let p = 0; p < sample.length; p++) {
      const b = Math.floor(p / pixels);
      const o = b * 2 * pixels + (p - b * pixels);
      const x = sample[p];
      const eps = modelOutput[o];
      // x0 predicted from eps, clipped to the mask range [-1, 1] (clip_denoised=True in the reference)
      const x0 = Math.min(1, Math.max(-1, sqrtRecip * x - sqrtRecipM1 * eps));
      out[p] = update(x0, x, modelOutput[o + pixels], noise ? noise[p] : 0);
    }
    return out;
  }

  /** (clipped x0, x_t, v, noise) → x_{k-1}, with the constants of chain index k bound. */
  protected abstract pixelUpdate(k: number): (x0: number, x: number, v: number, z: number) => number;
}

/** Respaced ancestral sampling with the learned-range variance (the paper's sampler). */
export class DDPMSampler extends Sampler {
  needsNoise(k: number): boolean {
    return k > 0;
  }

  protected pixelUpdate(k: number) {
    const s = this.schedule;
    const c1 = s.posteriorMeanCoef1[k];
    const c2 = s.posteriorMeanCoef2[k];
    const maxLog = Math.log(s.betas[k]);
    const minLog = s.posteriorLogVarianceClipped[k];
    const noisy = k > 0;
    return (x0: number, x: number, v: number, z: number) => {
      const mean = c1 * x0 + c2 * x;
      if (!noisy) return mean;
      const frac = (v + 1) / 2;
      const logVar = frac * maxLog + (1 - frac) * minLog;
      return mean + Math.exp(0.5 * logVar) * z;
    };
  }
}

/** DDIM (Song et al. 2021) with eta; eps is re-derived from the clipped x0, as in improved-diffusion. */
export class DDIMSampler extends Sampler {
  constructor(
    T: number,
    steps: number,
    readonly eta: number,
  ) {
    super(T, steps);
    if (!(eta >= 0 && eta <= 1)) throw new RangeError(`DDIM eta must be in [0, 1], got ${eta}`);
  }

  needsNoise(k: number): boolean {
    return k > 0 && this.eta > 0;
  }

  protected pixelUpdate(k: number) {
    const s = this.schedule;
    const a = s.alphasCumprod[k];
    const aPrev = s.alphasCumprodPrev[k];
    const sqrtRecip = Math.sqrt(1 / a);
    const sqrtRecipM1 = Math.sqrt(1 / a - 1);
    const sigma = this.eta * Math.sqrt((1 - aPrev) / (1 - a)) * Math.sqrt(1 - a / aPrev);
    const cx0 = Math.sqrt(aPrev);
    const ceps = Math.sqrt(1 - aPrev - sigma * sigma);
    const noisy = k > 0;
    return (x0: number, x: number, _v: number, z: number) => {
      const eps = (sqrtRecip * x - x0) / sqrtRecipM1;
      const mean = x0 * cx0 + ceps * eps;
      return noisy ? mean + sigma * z : mean;
    };
  }
}

export function createSampler(T: number, settings: SamplerSettings): Sampler {
  return settings.kind === 'ddim' ? new DDIMSampler(T, settings.steps, settings.eta) : new DDPMSampler(T, settings.steps);
}
