/**
 * The bundled demo study (real DICOM: four series of 48 slices) as an interrupted transfer leaves it, for the
 * missing-slice tests: its FLAIR without six consecutive images from the middle and with one more image cut short
 * inside its pixel data. The other three series are complete.
 */
import { chmodSync, cpSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './paths';

export const DEMO = join(ROOT, 'resources', 'demo');
/** Removed from 1-FLAIR: the 20th to 25th images (z = 66-71 mm of 1 mm slices). */
export const REMOVED = ['IM0020.dcm', 'IM0021.dcm', 'IM0022.dcm', 'IM0023.dcm', 'IM0024.dcm', 'IM0025.dcm'];
/** Cut 20,000 bytes short (inside its pixel data): unreadable. */
export const TRUNCATED = 'IM0030.dcm';

/** Copy the demo into `dir` and damage its FLAIR; returns the FLAIR's folder. */
export function gappedDemo(dir: string): string {
  cpSync(DEMO, dir, { recursive: true });
  for (const series of readdirSync(dir)) for (const f of readdirSync(join(dir, series))) chmodSync(join(dir, series, f), 0o644);
  const flair = join(dir, '1-FLAIR');
  for (const f of REMOVED) rmSync(join(flair, f));
  const bytes = readFileSync(join(flair, TRUNCATED));
  writeFileSync(join(flair, TRUNCATED), bytes.subarray(0, bytes.length - 20_000));
  return flair;
}
