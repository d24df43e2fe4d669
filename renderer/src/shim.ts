/**
 * Browser mode: the same `window.halo` as the Electron preload, over the loopback HTTP bridge
 * (fetch for calls, EventSource for events). The token comes from the page URL's fragment (#token=…).
 */
import { EVENT_NAMES, type Envelope } from '../../main/app/contract';
import { buildApi } from '../../preload/api';

export async function installBridgeShim(): Promise<void> {
  const token = new URLSearchParams(location.hash.slice(1)).get('token') ?? '';
  const events = new EventSource(`/api/events?token=${encodeURIComponent(token)}`);
  const listeners = new Set<(name: string, payload: unknown) => void>();
  for (const name of EVENT_NAMES) {
    events.addEventListener(name, (e) => {
      const payload = JSON.parse((e as MessageEvent<string>).data) as unknown;
      for (const l of listeners) l(name, payload);
    });
  }
  await new Promise<void>((resolve) => {
    events.addEventListener('open', () => resolve(), { once: true });
    setTimeout(resolve, 3000);
  });
  const call = async (name: string, arg: unknown): Promise<Envelope> => {
    let res: Response;
    try {
      res = await fetch(`/api/call/${name}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-halo-token': token },
        body: JSON.stringify(arg ?? {}),
      });
    } catch {
      return { ok: false, error: { kind: 'internal', message: 'The Halo service is not running. Restart Halo.' } };
    }
    if (!res.ok) return { ok: false, error: { kind: 'internal', message: `The Halo service refused the request (HTTP ${res.status}).` } };
    if ((res.headers.get('content-type') ?? '').startsWith('application/octet-stream')) {
      return { ok: true, value: new Uint8Array(await res.arrayBuffer()) };
    }
    return (await res.json()) as Envelope;
  };
  window.halo = buildApi(call, (listener) => {
    listeners.add(listener);
    return () => listeners.delete(listener);
  });
}
