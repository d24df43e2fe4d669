/**
 * UIDs for everything Halo creates. We use the ISO/ITU "2.25" arc: 2.25.<a random UUID written as one decimal
 * integer> (PS3.5 B.2, ITU-T X.667). It needs no registered organisation root and is globally unique by
 * construction, which suits an open-source desktop app that cannot hand out numbers from a central registry.
 */
import { randomUUID } from 'node:crypto';

/** The UID root all Halo UIDs live under. */
export const HALO_UID_ROOT = '2.25';

/** Implementation Class UID written in every file's meta header: one fixed UUID (generated once for Halo). */
export const HALO_IMPLEMENTATION_CLASS_UID = uuidToUid('6b1f2c1e-8f3a-4d5e-9a47-2c6d0e4b7a91');

export function uuidToUid(uuid: string): string {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-f]{32}$/i.test(hex)) throw new Error(`not a UUID: ${uuid}`);
  return `${HALO_UID_ROOT}.${BigInt(`0x${hex}`).toString(10)}`;
}

/** A new globally unique UID (at most 2.25. + 39 digits = 44 characters, under the 64 limit). */
export function newUid(): string {
  return uuidToUid(randomUUID());
}
