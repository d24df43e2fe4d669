/**
 * The app shell's state: what the main process said about itself, which panel is open, and the one busy note,
 * error and notice the header shows. busy() wraps every call to the main process so a failure always lands here.
 */
import { reactive } from 'vue';
import type { AppInfo } from '../../../main/app/contract';

export const appState = reactive({
  info: null as AppInfo | null,
  busy: null as string | null,
  error: null as string | null,
  notice: null as string | null,
  panel: 'viewer' as 'viewer' | 'browser' | 'settings',
});

export function fail(err: unknown): void {
  appState.error = err instanceof Error ? err.message.replace(/^Error invoking remote method '[^']+': (Error: )?/, '') : String(err);
}

/** Run `f` with `what` as the busy note; a failure becomes the error banner and `undefined`. */
export async function busy<T>(what: string, f: () => Promise<T>): Promise<T | undefined> {
  appState.busy = what;
  appState.error = null;
  try {
    return await f();
  } catch (err) {
    fail(err);
    return undefined;
  } finally {
    appState.busy = null;
  }
}
