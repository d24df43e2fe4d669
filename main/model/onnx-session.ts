/**
 * The denoising network behind onnxruntime-node. The execution provider is chosen once, when the session is
 * created (see device.ts for the order and the report), and the CPU provider uses every core.
 */
import { readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type * as Ort from 'onnxruntime-node';
import { chooseDevice, type DevicePreference, type DeviceReport, type Provider } from './device';

export type { DevicePreference, DeviceReport } from './device';

export interface SessionOptions {
  /** CPU intra-op threads; default: every core (HALO_THREADS overrides). */
  threads?: number;
}

/** onnxruntime-node (a 45 MB native library) loads with the first session, while the inputs are still being read. */
let ortModule: Promise<typeof Ort> | undefined;
const loadOrt = () => (ortModule ??= import('onnxruntime-node'));

export class DenoiserSession {
  private constructor(
    private readonly ort: typeof Ort,
    private readonly session: Ort.InferenceSession,
    readonly device: DeviceReport,
    private readonly names: { input: string; timestep: string; output: string },
  ) {}

  /** Start loading onnxruntime-node (a large native module) now, e.g. while a study's files are read. */
  static prefetchRuntime(): void {
    loadOrt().catch(() => undefined); // a failure is reported by create()
  }

  static async create(
    onnxPath: string,
    preference: DevicePreference,
    names: { input: string; timestep: string; output: string },
    options: SessionOptions = {},
  ): Promise<DenoiserSession> {
    const threads = options.threads ?? defaultThreads();
    const ort = await loadOrt();
    const { value, report } = await chooseDevice(preference, (provider) => createOn(ort, onnxPath, provider, threads), gpuAbsence);
    return new DenoiserSession(ort, value, { ...report, threads: report.provider === 'cpu' ? threads : undefined }, names);
  }

  /** x: [B, C, H, W], t: [B] → [B, 2, H, W]. */
  async run(x: Float32Array, t: Float32Array, shape: [number, number, number, number]): Promise<Float32Array> {
    const feeds = {
      [this.names.input]: new this.ort.Tensor('float32', x, shape),
      [this.names.timestep]: new this.ort.Tensor('float32', t, [shape[0]]),
    };
    const out = await this.session.run(feeds);
    return out[this.names.output].data as Float32Array;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/**
 * On Linux a GPU shows up as a device node; without one, `auto` does not try WebGPU (Dawn would only find a
 * software Vulkan driver, if any, and prints its own warnings to stderr while failing).
 */
export function gpuAbsence(provider: Provider): string | null {
  if (provider !== 'webgpu' || process.platform !== 'linux') return null;
  const nodes = [...listDir('/dev/dri').filter((n) => n.startsWith('renderD')), ...listDir('/dev').filter((n) => /^nvidia\d+$|^dxg$/.test(n))];
  return nodes.length ? null : 'no GPU device in /dev/dri or /dev/nvidia*';
}

const listDir = (dir: string) => {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
};

export function defaultThreads(): number {
  const fromEnv = Number(process.env.HALO_THREADS);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : Math.max(1, availableParallelism());
}

async function createOn(ort: typeof Ort, onnxPath: string, provider: Provider, threads: number): Promise<Ort.InferenceSession> {
  if (provider === 'cpu') {
    return ort.InferenceSession.create(onnxPath, {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      // Threads that spin between calls steal the cores from each other and from anything else running (the
      // app's UI, a training job): on a busy 2-core machine 2 spinning threads were slower than 1.
      extra: { session: { intra_op: { allow_spinning: '0' } } },
    });
  }
  // A GPU provider that cannot load is expected (no driver, no library): we report it ourselves.
  return withQuietOrt(ort, () => ort.InferenceSession.create(onnxPath, { executionProviders: [provider], graphOptimizationLevel: 'all' }));
}

async function withQuietOrt<T>(ort: typeof Ort, f: () => Promise<T>): Promise<T> {
  const level = ort.env.logLevel;
  ort.env.logLevel = 'fatal';
  try {
    return await f();
  } finally {
    ort.env.logLevel = level;
  }
}
