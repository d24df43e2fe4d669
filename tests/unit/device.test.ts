/**
 * Execution-provider choice: the order `auto` tries, the report it prints and records, errors for an explicit
 * GPU that does not load; and the real onnxruntime-node on this machine.
 */
import { describe, expect, it } from 'vitest';
import { InputError } from '../../main/errors';
import { chooseDevice, firstLine, type Provider } from '../../main/model/device';
import { DenoiserSession } from '../../main/model/onnx-session';
import { conditionChannels, loadModel } from '../../main/model/card';

/** A provider "loads" when it is in `working`; records what was tried. */
function machine(working: Provider[]) {
  const tried: Provider[] = [];
  const create = async (p: Provider) => {
    tried.push(p);
    if (!working.includes(p)) throw new Error(`/onnxruntime_src/x.cc:1 something: Failed to load ${p}\nstack`);
    return `session on ${p}`;
  };
  return { tried, create };
}

describe('chooseDevice', () => {
  it('auto takes CUDA first when it loads', async () => {
    const m = machine(['cuda', 'webgpu', 'cpu']);
    const { value, report } = await chooseDevice('auto', m.create);
    expect(value).toBe('session on cuda');
    expect(m.tried).toEqual(['cuda']);
    expect(report).toMatchObject({ provider: 'cuda', requested: 'auto', failed: [], fallbackReason: undefined });
    expect(report.reason).toMatch(/CUDA is the first provider that loaded/);
  });

  it('auto falls back CUDA → WebGPU → CPU and says why', async () => {
    const gpu = machine(['webgpu', 'cpu']);
    const a = await chooseDevice('auto', gpu.create);
    expect(gpu.tried).toEqual(['cuda', 'webgpu']);
    expect(a.report.provider).toBe('webgpu');
    expect(a.report.reason).toBe('auto: CUDA not used (Failed to load cuda); using WebGPU');

    const cpuOnly = machine(['cpu']);
    const b = await chooseDevice('auto', cpuOnly.create);
    expect(cpuOnly.tried).toEqual(['cuda', 'webgpu', 'cpu']);
    expect(b.report.provider).toBe('cpu');
    expect(b.report.failed.map((f) => f.provider)).toEqual(['cuda', 'webgpu']);
    expect(b.report.fallbackReason).toBe('CUDA not used (Failed to load cuda); WebGPU not used (Failed to load webgpu)');
  });

  it('auto does not try a provider the machine cannot have (e.g. no GPU device node), and says so', async () => {
    const m = machine(['webgpu', 'cpu']);
    const noGpu = (p: Provider) => (p === 'webgpu' ? 'no GPU device in /dev/dri or /dev/nvidia*' : null);
    const { report } = await chooseDevice('auto', m.create, noGpu);
    expect(m.tried).toEqual(['cuda', 'cpu']);
    expect(report.reason).toBe('auto: CUDA not used (Failed to load cuda); WebGPU not used (no GPU device in /dev/dri or /dev/nvidia*); using CPU');
    // An explicit request is always tried.
    const m2 = machine(['webgpu']);
    expect((await chooseDevice('webgpu', m2.create, noGpu)).report.provider).toBe('webgpu');
  });

  it('an explicit GPU that does not load is an input error naming it; no silent fallback', async () => {
    for (const p of ['cuda', 'webgpu'] as const) {
      const m = machine(['cpu']);
      const err = await chooseDevice(p, m.create).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InputError);
      expect((err as Error).message).toMatch(new RegExp(`--device ${p}.*did not load: Failed to load ${p}`));
      expect(m.tried).toEqual([p]);
    }
  });

  it('--device cpu tries only the CPU; an unknown device is refused', async () => {
    const m = machine(['cuda', 'cpu']);
    expect((await chooseDevice('cpu', m.create)).report).toMatchObject({ provider: 'cpu', reason: '--device cpu requested' });
    expect(m.tried).toEqual(['cpu']);
    await expect(chooseDevice('tpu' as never, m.create)).rejects.toThrow(/--device must be one of auto, cpu, cuda, webgpu/);
  });

  it('keeps the actionable part of onnxruntime messages', () => {
    expect(firstLine('OrtSessionOptionsAppendExecutionProvider_Cuda: Failed to load shared library')).toBe('Failed to load shared library');
    expect(firstLine('/onnxruntime_src/.../webgpu_context.cc:136 ... was false. Failed to get a WebGPU adapter: No supported adapters\nmore'))
      .toBe('Failed to get a WebGPU adapter: No supported adapters');
  });
});

describe('DenoiserSession on this machine (real onnxruntime-node)', () => {
  it('auto reports every provider it tried and runs on the one it names', async () => {
    const { onnxPath, card } = await loadModel('wt-4seq');
    const s = await DenoiserSession.create(onnxPath, 'auto', card.onnx, { threads: 2 });
    try {
      const d = s.device;
      expect(d.requested).toBe('auto');
      expect(d.failed.map((f) => f.provider)).toEqual(['cuda', 'webgpu'].slice(0, d.failed.length));
      if (d.provider === 'cpu') expect(d.threads).toBe(2);
      const x = new Float32Array(2 * (conditionChannels(card) + 1) * 32 * 32);
      const out = await s.run(x, new Float32Array([10, 10]), [2, conditionChannels(card) + 1, 32, 32]);
      expect(out).toHaveLength(2 * 2 * 32 * 32);
      expect(out.every(Number.isFinite)).toBe(true);
    } finally {
      await s.release();
    }
  });

  it('--device webgpu either runs or fails with the reason and what to do', async () => {
    const { onnxPath, card } = await loadModel('wt-4seq');
    const s = await DenoiserSession.create(onnxPath, 'webgpu', card.onnx).catch((e: unknown) => e);
    if (s instanceof DenoiserSession) {
      expect(s.device.provider).toBe('webgpu');
      await s.release();
    } else {
      expect(s).toBeInstanceOf(InputError);
      expect((s as Error).message).toMatch(/WebGPU was requested \(--device webgpu\).*did not load: .+\. WebGPU needs a GPU driver/);
    }
  });
});
