/**
 * Seeded Gaussian noise, one independent stream per (seed, slice, ensemble member): a member's samples do not
 * depend on which other members or slices shared its batch, so results are reproducible and an ensemble can grow
 * (5 → 10) without changing the first 5.
 */

/** 32-bit hash of a few integers (murmur3 finaliser chain). */
function mix(...xs: number[]): number {
  let h = 0x9e3779b9;
  for (const x of xs) {
    h = Math.imul(h ^ (x >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** xoshiro128** generator with Box-Muller normals. */
export class NoiseStream {
  private s: Uint32Array;
  private spare: number | null = null;

  constructor(seed: number, slice: number, member: number) {
    this.s = new Uint32Array([mix(seed, slice, member, 1), mix(seed, slice, member, 2), mix(seed, slice, member, 3), mix(seed, slice, member, 4)]);
    if (this.s.every((v) => v === 0)) this.s[0] = 1;
  }

  private nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform in (0, 1). */
  uniform(): number {
    return (this.nextUint32() + 0.5) / 4294967296;
  }

  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    const r = Math.sqrt(-2 * Math.log(this.uniform()));
    const theta = 2 * Math.PI * this.uniform();
    this.spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  fill(out: Float32Array): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = this.normal();
    return out;
  }
}

const rotl = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;
