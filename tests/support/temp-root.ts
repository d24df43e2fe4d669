// Vitest global setup: every scratch folder the tests make (mkdtemp under os.tmpdir(), Chromium profiles, the CLI
// and servers they start, which inherit TMPDIR) goes into one folder per run, removed when the run ends. Left in
// /tmp, one run of the suite leaves about 400 MB behind.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), 'halo-tests-'));
  process.env.TMPDIR = root;
  return () => rmSync(root, { recursive: true, force: true });
}
