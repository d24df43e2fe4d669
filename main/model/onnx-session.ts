/**
 * The denoising network behind onnxruntime-node, on the CUDA execution provider when it loads, else the CPU.
 * The choice is made once, when the session is created, and reported (never a silent fallback).
 */
import * as ort from 'onnxruntime-node';
import { InputError } from '../errors';

export type DevicePreference = 'auto' | 'cpu' | 'cuda';

export interface DeviceReport {
  /** The execution provider in use. */
  provider: 'cuda' | 'cpu';
  /** Why CUDA is not in use, when it was wanted (auto) but did not load. */
  fallbackReason?: string;
}

export class DenoiserSession {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly device: DeviceReport,
    private readonly names: { input: string; timestep: string; output: string },
  ) {}

  static async create(
    onnxPath: string,
    preference: DevicePreference,
    names: { input: string; timestep: string; output: string },
  ): Promise<DenoiserSession> {
    let cudaError: string | undefined;
    if (preference !== 'cpu') {
      try {
        const session = await withQuietOrt(() => ort.InferenceSession.create(onnxPath, { executionProviders: ['cuda'] }));
        return new DenoiserSession(session, { provider: 'cuda' }, names);
      } catch (err) {
        cudaError = firstLine((err as Error).message);
        if (preference === 'cuda') {
          throw new InputError(
            `CUDA was requested (--device cuda) but the CUDA execution provider did not load: ${cudaError}. ` +
              'Install onnxruntime-node with its CUDA libraries (see README, "GPU inference") or use --device auto/cpu.',
          );
        }
      }
    }
    const session = await ort.InferenceSession.create(onnxPath, { executionProviders: ['cpu'], graphOptimizationLevel: 'all' });
    return new DenoiserSession(session, { provider: 'cpu', fallbackReason: cudaError }, names);
  }

  /** x: [B, C, H, W], t: [B] → [B, 2, H, W]. */
  async run(x: Float32Array, t: Float32Array, shape: [number, number, number, number]): Promise<Float32Array> {
    const feeds = {
      [this.names.input]: new ort.Tensor('float32', x, shape),
      [this.names.timestep]: new ort.Tensor('float32', t, [shape[0]]),
    };
    const out = await this.session.run(feeds);
    return out[this.names.output].data as Float32Array;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

const firstLine = (s: string) => s.split('\n')[0].trim();

/** onnxruntime prints its own error for a missing provider library; we report it ourselves. */
async function withQuietOrt<T>(f: () => Promise<T>): Promise<T> {
  const level = ort.env.logLevel;
  ort.env.logLevel = 'fatal';
  try {
    return await f();
  } finally {
    ort.env.logLevel = level;
  }
}
