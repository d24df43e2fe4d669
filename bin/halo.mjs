#!/usr/bin/env node
// Runs the compiled CLI (out/cli, `npm run build:cli`): it starts without transpiling TypeScript. When it is
// missing or older than any source file (e.g. right after `npm ci`, or while editing main/), the sources run
// through tsx instead, so `npx halo` is always the current code. HALO_FROM_SOURCE=1 forces the sources.
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const compiled = join(root, 'out', 'cli', 'halo.mjs');

function mtime(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -1;
  }
}

/** Newest modification time of the files the bundle is built from. */
function newestSource(dir) {
  let newest = -1;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : mtime(path));
  }
  return newest;
}

const built = mtime(compiled);
const fresh = built > 0 && process.env.HALO_FROM_SOURCE !== '1' &&
  built >= Math.max(newestSource(join(root, 'main')), mtime(join(root, 'package.json')));

// Which one runs, for `halo bench`: its start-up and overhead figures are only those of a build.
process.env.HALO_CLI = fresh ? 'compiled' : 'sources';
if (fresh) {
  await import(compiled);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../main/cli/index.ts');
}
