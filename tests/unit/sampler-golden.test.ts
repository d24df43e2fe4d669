/**
 * The TypeScript samplers against the PyTorch reference (models/training/make_golden.py): the same ONNX model,
 * the same conditions and noise, every intermediate sample within 1e-4.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DenoiserSession } from '../../main/model/onnx-session';
import { createSampler } from '../../main/sampler/samplers';
import { respacedTimesteps } from '../../main/sampler/schedule';

const DIR = join(__dirname, '../fixtures/golden');
const meta = JSON.parse(readFileSync(join(DIR, 'golden.json'), 'utf8'));
const f32 = (name: string) => {
  const b = readFileSync(join(DIR, name));
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};

describe('sampler golden vectors', () => {
  for (const c of meta.cases) {
    it(`${c.name} matches the reference step by step`, async () => {
      const session = await DenoiserSession.create(join(DIR, 'tiny.onnx'), 'cpu', { input: 'x', timestep: 't', output: 'out' });
      const sampler = createSampler(meta.T, { kind: c.kind, steps: c.steps, eta: c.eta });
      expect(sampler.schedule.timesteps).toEqual(c.timesteps);

      const [b, h, w, cc] = [meta.batch, c.height, c.width, meta.condChannels];
      const pixels = h * w;
      const cond = f32(`${c.name}.cond.f32`);
      const noise = f32(`${c.name}.noise.f32`);
      const trace = f32(`${c.name}.trace.f32`);
      const noiseAt = (n: number) => noise.subarray(n * b * pixels, (n + 1) * b * pixels);

      let x: Float32Array = noiseAt(0).slice();
      let worst = 0;
      for (const [n, k] of sampler.order.entries()) {
        const input = new Float32Array(b * (cc + 1) * pixels);
        for (let i = 0; i < b; i++) {
          input.set(cond.subarray(i * cc * pixels, (i + 1) * cc * pixels), i * (cc + 1) * pixels);
          input.set(x.subarray(i * pixels, (i + 1) * pixels), (i * (cc + 1) + cc) * pixels);
        }
        const out = await session.run(input, new Float32Array(b).fill(sampler.timestep(k)), [b, cc + 1, h, w]);
        x = sampler.step({ modelOutput: out, k, sample: x, noise: noiseAt(n + 1), pixels });
        const slot = c.traceSteps.indexOf(n);
        if (slot >= 0) {
          const ref = trace.subarray(slot * b * pixels, (slot + 1) * b * pixels);
          for (let p = 0; p < ref.length; p++) worst = Math.max(worst, Math.abs(ref[p] - x[p]));
        }
      }
      await session.release();
      expect(worst).toBeLessThanOrEqual(1e-4);
      // The chain must have done something: the final sample is not the starting noise.
      expect(Math.max(...x.map((v, i) => Math.abs(v - noiseAt(0)[i])))).toBeGreaterThan(0.1);
    });
  }

  it('respaces like improved-diffusion', () => {
    expect(respacedTimesteps(1000, 10)).toEqual([0, 111, 222, 333, 444, 555, 666, 777, 888, 999]);
    expect(respacedTimesteps(1000, 1000)).toHaveLength(1000);
    expect(() => respacedTimesteps(1000, 0)).toThrow();
  });
});
