/** What differs between the Electron app and the HTTP bridge, and how errors reach the user. */
import { realpath } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { CancelledError, InputError } from '../errors';
import type { SecretSealer } from '../pacs/credentials';
import type { EventName, HaloEvents } from './contract';

export type Emit = <E extends EventName>(event: E, payload: HaloEvents[E]) => void;

export interface Host {
  mode: 'electron' | 'bridge';
  /**
   * A folder to read (open) or write (save). Electron: a dialog, `given` must be absent. Bridge: `given` must
   * be inside the allow-list. Null when the user cancelled.
   */
  chooseFolder(purpose: 'open' | 'save', given: string | undefined): Promise<string | null>;
  /** Folders offered in the UI (the bridge's allow-list; none in Electron, which has a dialog). */
  allowedFolders(): { label: string; path: string }[];
  emit: Emit;
  /** Encrypts PACS credentials at rest: Electron's safeStorage when the OS has a keychain; absent otherwise. */
  sealer?: SecretSealer;
}

/** The message a radiologist sees: our own errors say what to do; anything else is summarised. */
export function userMessage(err: unknown): string {
  if (err instanceof InputError) return err.message;
  if (err instanceof CancelledError) return err.message === 'Cancelled' ? 'Cancelled.' : err.message;
  return 'Halo hit an internal problem and could not finish this step. The details are in the application log.';
}

/** True when `child` is `root` or inside it (after resolving symlinks of both). */
export async function isInside(child: string, root: string): Promise<boolean> {
  const [c, r] = await Promise.all([realpath(resolve(child)).catch(() => null), realpath(resolve(root)).catch(() => null)]);
  if (!c || !r) return false;
  const rel = relative(r, c);
  return rel === '' || (!rel.startsWith('..' + sep) && rel !== '..' && !isAbsolute(rel));
}
