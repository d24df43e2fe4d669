/**
 * Which execution provider runs the model. `auto` tries CUDA (needs onnxruntime's CUDA libraries and an NVIDIA
 * driver), then WebGPU (shipped inside onnxruntime-node: Dawn over Vulkan / D3D12 / Metal), then the CPU, and
 * says which one it took and why; an explicit choice that cannot load is an error, never a silent fallback.
 */
import { InputError } from '../errors';

export const DEVICE_PREFERENCES = ['auto', 'cpu', 'cuda', 'webgpu'] as const;
export type DevicePreference = (typeof DEVICE_PREFERENCES)[number];
export type Provider = 'cpu' | 'cuda' | 'webgpu';

/** The order `auto` tries. */
export const AUTO_ORDER: readonly Provider[] = ['cuda', 'webgpu', 'cpu'];

export const PROVIDER_LABEL = { cpu: 'CPU', cuda: 'CUDA', webgpu: 'WebGPU' } as const satisfies Record<Provider, string>;

export interface DeviceReport {
  /** The execution provider in use. */
  provider: Provider;
  /** What was asked for. */
  requested: DevicePreference;
  /** One sentence: why this provider (printed by the CLI, kept in summary.json). */
  reason: string;
  /** Providers tried before it, and why each did not load. */
  failed: { provider: Provider; error: string }[];
  /** Why the preferred GPU is not in use, when `auto` fell back (kept for the app's status line). */
  fallbackReason?: string;
  /** CPU intra-op threads (CPU provider only). */
  threads?: number;
}

const HINT: Record<Exclude<Provider, 'cpu'>, string> = {
  cuda: 'Install onnxruntime-node with its CUDA 12 libraries on a machine with an NVIDIA driver (README, "GPU inference"), or use --device auto/webgpu/cpu.',
  webgpu: 'WebGPU needs a GPU driver with Vulkan (Linux), D3D12 (Windows) or Metal (macOS); use --device auto/cpu otherwise.',
};

/**
 * Try the providers `preference` allows, in order, with `create`; the first that loads wins. Throws an
 * InputError naming the reason when an explicitly requested GPU provider does not load.
 */
export async function chooseDevice<T>(
  preference: DevicePreference,
  create: (provider: Provider) => Promise<T>,
  /** For `auto`: why a provider is not worth trying here (null: try it). */
  unavailable: (provider: Provider) => string | null = () => null,
): Promise<{ value: T; report: DeviceReport }> {
  if (!DEVICE_PREFERENCES.includes(preference)) {
    throw new InputError(`--device must be one of ${DEVICE_PREFERENCES.join(', ')}; got "${preference}".`);
  }
  const order = preference === 'auto' ? AUTO_ORDER : [preference];
  const failed: DeviceReport['failed'] = [];
  for (const provider of order) {
    const skip = preference === 'auto' ? unavailable(provider) : null;
    if (skip) {
      failed.push({ provider, error: skip });
      continue;
    }
    try {
      const value = await create(provider);
      return { value, report: describe(preference, provider, failed) };
    } catch (err) {
      const error = firstLine(err instanceof Error ? err.message : String(err));
      if (provider === 'cpu' || preference !== 'auto') {
        if (provider === 'cpu') throw err;
        throw new InputError(
          `${PROVIDER_LABEL[provider]} was requested (--device ${provider}) but its execution provider did not load: ${error}. ${HINT[provider]}`,
        );
      }
      failed.push({ provider, error });
    }
  }
  throw new Error('unreachable: the CPU provider ends the auto order');
}

function describe(preference: DevicePreference, provider: Provider, failed: DeviceReport['failed']): DeviceReport {
  const notLoaded = failed.map((f) => `${PROVIDER_LABEL[f.provider]} not used (${f.error})`).join('; ');
  const reason =
    preference !== 'auto'
      ? `--device ${preference} requested`
      : failed.length === 0
        ? `auto: ${PROVIDER_LABEL[provider]} is the first provider that loaded`
        : `auto: ${notLoaded}; using ${PROVIDER_LABEL[provider]}`;
  return { provider, requested: preference, reason, failed, fallbackReason: failed.length ? notLoaded : undefined };
}

/** onnxruntime's messages start with a source location; keep the part a user can act on. */
export function firstLine(message: string): string {
  const line = message.split('\n')[0].trim();
  const why = /(Failed to [^[]*|No supported adapters.*|cannot open shared object file.*)$/.exec(line);
  return (why ? why[1] : line).trim();
}
