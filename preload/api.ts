/**
 * Builds the `window.halo` object from two transport functions. Shared by the Electron preload (IPC) and the
 * browser shim (HTTP bridge), so both expose exactly the same API. No Electron or Node imports here.
 */
import { EVENT_NAMES, HANDLER_NAMES, type Envelope, type EventName, type HaloApi, type HaloErrorBody } from '../main/app/contract';

export class HaloError extends Error {
  override name = 'HaloError';
  constructor(readonly kind: HaloErrorBody['kind'], message: string) {
    super(message);
  }
}

export type CallTransport = (name: string, arg: unknown) => Promise<Envelope>;
export type EventTransport = (listener: (name: string, payload: unknown) => void) => () => void;

export function buildApi(call: CallTransport, subscribe: EventTransport): HaloApi {
  const listeners = new Map<string, Set<(payload: unknown) => void>>();
  let unsubscribe: (() => void) | null = null;
  const api: Record<string, unknown> = {};
  for (const name of HANDLER_NAMES) {
    api[name] = async (arg: unknown) => {
      const env = await call(name, arg ?? {});
      if (!env || typeof env !== 'object' || !('ok' in env)) throw new HaloError('internal', 'No answer from the Halo engine.');
      if (!env.ok) throw new HaloError(env.error.kind, env.error.message);
      return env.value;
    };
  }
  api.on = (event: EventName, cb: (payload: unknown) => void) => {
    if (!EVENT_NAMES.includes(event)) throw new Error(`unknown event ${String(event)}`);
    if (!unsubscribe) {
      unsubscribe = subscribe((name, payload) => {
        for (const l of listeners.get(name) ?? []) l(payload);
      });
    }
    let set = listeners.get(event);
    if (!set) listeners.set(event, (set = new Set()));
    set.add(cb);
    return () => set!.delete(cb);
  };
  return Object.freeze(api) as unknown as HaloApi;
}
