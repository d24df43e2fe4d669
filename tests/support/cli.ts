import { spawnSync } from 'node:child_process';
import { HALO_BIN, ROOT } from './paths';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run the real `halo` CLI in a child process. */
export function halo(args: string[], env: Record<string, string> = {}): CliResult {
  const r = spawnSync(process.execPath, [HALO_BIN, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 300_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
