/**
 * `halo segment`'s options as commander hands them over, shared by the command (segment.ts) and its work
 * (segment-run.ts), which loads only when the command runs.
 */
import { InputError } from '../../errors';
import type { DevicePreference } from '../../model/device';

export interface SegmentOptions {
  case?: string;
  t1?: string;
  t1ce?: string;
  t2?: string;
  flair?: string;
  dicom?: string;
  role: string[];
  out: string;
  model: string;
  ensemble?: string;
  steps?: string;
  sampler?: 'ddpm' | 'ddim';
  eta?: string;
  seed: string;
  slices?: string;
  device: DevicePreference;
  threads?: string;
  samples: boolean;
  screen: boolean;
  cache: string | false;
  batch?: string;
  progress: boolean;
  omitEmptyFrames?: boolean;
  allowMixedPatients?: boolean;
}

/** A whole-number option (commander gives strings), or undefined when not given. */
export const int = (name: string, v: string | undefined) => {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new InputError(`${name} must be a whole number, got "${v}".`);
  return Number(v);
};
