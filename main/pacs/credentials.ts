/**
 * DICOMweb credentials at rest. The desktop app seals them with Electron's safeStorage (the OS keychain: Keychain,
 * DPAPI, libsecret/kwallet) into `authSealed`; where no keychain is at hand (the command line, the browser bridge,
 * a Linux desktop without a secret store) they are written as `authHeader` in the owner-only (0600) settings file,
 * and the UI says which of the two it did.
 */
import { InputError } from '../errors';
import type { PacsSettings } from './config';

/** Encrypts a secret for this user on this machine; the desktop app's is Electron's safeStorage. */
export interface SecretSealer {
  /** Said to the user: where the secret is protected, e.g. "the OS keychain (gnome_libsecret)". */
  readonly description: string;
  /** Base64 of the sealed bytes. */
  seal(plain: string): string;
  /** Throws when the secret was sealed by another user or machine. */
  open(sealedBase64: string): string;
}

export type NewCredentials = { scheme: 'basic'; username: string; password: string } | { scheme: 'bearer'; token: string };

/** The HTTP Authorization value (RFC 7617 Basic, RFC 6750 Bearer). */
export function authorizationValue(c: NewCredentials): string {
  return c.scheme === 'basic' ? `Basic ${Buffer.from(`${c.username}:${c.password}`, 'utf8').toString('base64')}` : `Bearer ${c.token}`;
}

/** Where credentials given now would be kept, in words for the settings panel. */
export function credentialStoreDescription(sealer: SecretSealer | undefined, file: string): string {
  return sealer ? `encrypted with ${sealer.description}` : `in ${file}, readable by this user only (no OS keychain here)`;
}

/** The settings with `node`'s credentials replaced (or removed, `value` undefined), sealed when a sealer is given. */
export function withCredentials(settings: PacsSettings, node: string, value: string | undefined, sealer?: SecretSealer): PacsSettings {
  const target = settings.nodes.find((n) => n.name === node);
  if (!target) throw new InputError(`There is no PACS node "${node}" in the saved settings: save the node first, then give its credentials.`);
  if (target.kind !== 'dicomweb') {
    throw new InputError(`PACS node "${node}" is a DIMSE node: DICOM associations carry no password here; the PACS admits Halo by its AE title and address.`);
  }
  return {
    ...settings,
    nodes: settings.nodes.map((n) => {
      if (n !== target || n.kind !== 'dicomweb') return n;
      const { authHeader: _h, authSealed: _s, ...rest } = n;
      if (value === undefined) return rest;
      return sealer ? { ...rest, authSealed: sealer.seal(value) } : { ...rest, authHeader: value };
    }),
  };
}

/**
 * The settings as the app uses them: the sealed credentials of `node` (every node when absent) opened into
 * `authHeader`; only the node being connected to, so one node's unreadable credentials never block another.
 * Without a sealer (another process than the desktop app) sealed credentials stay closed, and `resolveEndpoint`
 * says how to give them.
 */
export function openCredentials(settings: PacsSettings, sealer?: SecretSealer, node?: string): PacsSettings {
  if (!sealer) return settings;
  return {
    ...settings,
    nodes: settings.nodes.map((n) => {
      if (n.kind !== 'dicomweb' || !n.authSealed || (node !== undefined && n.name !== node)) return n;
      try {
        return { ...n, authHeader: sealer.open(n.authSealed) };
      } catch {
        throw new InputError(
          `The saved credentials of PACS node "${n.name}" cannot be decrypted by this user on this machine (they were saved elsewhere, or the keychain was reset). Enter them again in Settings.`,
        );
      }
    }),
  };
}

/** How a node's credentials are kept, for the settings panel (never the credentials themselves). */
export function credentialState(node: PacsSettings['nodes'][number]): 'none' | 'sealed' | 'file' {
  if (node.kind !== 'dicomweb') return 'none';
  return node.authSealed ? 'sealed' : node.authHeader ? 'file' : 'none';
}
