/**
 * Diffusion constants (improved-diffusion, Nichol & Dhariwal 2021): linear beta schedule, respacing.
 * All arithmetic in float64 like the reference; only the samples themselves are float32.
 */
export function linearBetas(T: number): Float64Array {
  const scale = 1000 / T;
  const start = scale * 1e-4;
  const end = scale * 0.02;
  return Float64Array.from({ length: T }, (_, i) => (T === 1 ? start : start + ((end - start) * i) / (T - 1)));
}

/** improved-diffusion's space_timesteps(T, [steps]): evenly strided, always includes 0 and T-1. */
export function respacedTimesteps(T: number, steps: number): number[] {
  if (!Number.isInteger(steps) || steps < 1 || steps > T) throw new RangeError(`steps must be an integer in 1..${T}, got ${steps}`);
  if (steps === 1) return [0];
  const stride = (T - 1) / (steps - 1);
  // Python's round() rounds halves to even; the stride makes exact halves impossible for T = 1000 but be exact anyway.
  const roundHalfEven = (x: number) => {
    const r = Math.round(x);
    return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
  };
  return [...new Set(Array.from({ length: steps }, (_, i) => roundHalfEven(i * stride)))].sort((a, b) => a - b);
}

/** Constants of a (possibly respaced) chain; index k = 0 … length-1 along the chain, k = length-1 is the noisiest. */
export class Schedule {
  readonly timesteps: number[];
  readonly betas: Float64Array;
  readonly alphasCumprod: Float64Array;
  readonly alphasCumprodPrev: Float64Array;
  readonly posteriorLogVarianceClipped: Float64Array;
  readonly posteriorMeanCoef1: Float64Array;
  readonly posteriorMeanCoef2: Float64Array;

  constructor(T: number, steps: number) {
    const base = linearBetas(T);
    const baseCumprod = new Float64Array(T);
    base.reduce((acc, b, i) => (baseCumprod[i] = acc * (1 - b)), 1);
    this.timesteps = respacedTimesteps(T, steps);
    const n = this.timesteps.length;
    this.betas = new Float64Array(n);
    let last = 1;
    this.timesteps.forEach((t, k) => {
      this.betas[k] = 1 - baseCumprod[t] / last;
      last = baseCumprod[t];
    });
    this.alphasCumprod = new Float64Array(n);
    this.alphasCumprodPrev = new Float64Array(n);
    const posteriorVariance = new Float64Array(n);
    this.posteriorMeanCoef1 = new Float64Array(n);
    this.posteriorMeanCoef2 = new Float64Array(n);
    let acp = 1;
    for (let k = 0; k < n; k++) {
      this.alphasCumprodPrev[k] = acp;
      acp *= 1 - this.betas[k];
      this.alphasCumprod[k] = acp;
      const prev = this.alphasCumprodPrev[k];
      posteriorVariance[k] = (this.betas[k] * (1 - prev)) / (1 - acp);
      this.posteriorMeanCoef1[k] = (this.betas[k] * Math.sqrt(prev)) / (1 - acp);
      this.posteriorMeanCoef2[k] = ((1 - prev) * Math.sqrt(1 - this.betas[k])) / (1 - acp);
    }
    // The variance at k = 0 is 0; like the reference, clip its log to the next step's value.
    this.posteriorLogVarianceClipped = posteriorVariance.map((v, k) => Math.log(k === 0 ? posteriorVariance[Math.min(1, n - 1)] : v));
  }

  get length(): number {
    return this.timesteps.length;
  }
}
