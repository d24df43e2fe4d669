import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';
import { randomBytes } from 'node:crypto';

export interface AtomicWriteOptions {
  /** File mode of the new file (e.g. 0o600 for a file holding credentials); default 0o666 less the umask. */
  mode?: number;
}

/**
 * Write a file so that readers see either the old file or the complete new one, never a partial one: a temp file
 * in the same folder (created with the final mode, so a secret is never readable by others, not even briefly),
 * fsync, rename over the target, fsync the folder so the rename survives a power cut.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string, opts: AtomicWriteOptions = {}): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const fh = await open(tmp, 'wx', opts.mode ?? 0o666);
    try {
      if (opts.mode !== undefined) await fh.chmod(opts.mode); // open's mode is masked by the umask; chmod is exact
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await syncDir(dir);
}

/** fsync a folder, so that a rename in it survives a crash (a no-op where the file system cannot). */
export async function syncDir(dir: string): Promise<void> {
  try {
    const dh = await open(dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  } catch {
    // some file systems cannot fsync a folder; the rename is still atomic
  }
}
