/**
 * `halo bench`'s options as commander hands them over, shared by the command (bench.ts) and its work
 * (bench-run.ts), which loads only when the command runs.
 */
import type { DevicePreference } from '../../model/device';

export interface BenchOptions {
  case: string;
  model: string;
  slice: string;
  device: DevicePreference;
  threads?: string;
  python: boolean;
  volume: boolean;
  json: boolean;
}
