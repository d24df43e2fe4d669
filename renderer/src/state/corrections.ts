/**
 * The user's corrections of the mask: per slice, the corrected mask where it differs from the model's, and its
 * area. They outlive a grown ensemble (the new members replace the model's mask, not the user's) and are sent
 * with Save. The tool that makes them: edit-tool.ts.
 */
import { reactive } from 'vue';

const corrected = new Map<number, Uint8Array>();

export const correctionsState = reactive({
  /** k -> area (mm²) of the user's corrected mask, for the slices the user edited. */
  edited: {} as Record<number, number>,
});

export function correctedMask(k: number): Uint8Array | undefined {
  return corrected.get(k);
}

/** Keep `mask` as slice k's correction, or drop it (null: the user's mask is the model's again). */
export function setCorrection(k: number, mask: Uint8Array | null, pixelMm2: number): void {
  if (mask) {
    corrected.set(k, mask);
    correctionsState.edited[k] = mask.reduce((n, v) => n + v, 0) * pixelMm2;
  } else {
    corrected.delete(k);
    delete correctionsState.edited[k];
  }
}

export function forgetCorrections(): void {
  corrected.clear();
  correctionsState.edited = {};
}

/** The corrections of `slices`, bit-packed for save.start. */
export function packedCorrections(slices: number[]): { k: number; mask: string }[] {
  return slices.filter((k) => corrected.has(k)).map((k) => ({ k, mask: packMask(corrected.get(k)!) }));
}

/** Bit-pack a mask (LSB first) as base64, as main/app/seg-edits.ts unpacks it. */
function packMask(mask: Uint8Array): string {
  const bytes = new Uint8Array(Math.ceil(mask.length / 8));
  for (let p = 0; p < mask.length; p++) if (mask[p]) bytes[p >> 3] |= 1 << (p & 7);
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}
