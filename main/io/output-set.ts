/**
 * A set of result files that replaces an earlier set as a whole: the new files are written (fsync'd) into a
 * staging folder inside the output folder, and only once all of them exist are they moved in, and the earlier
 * run's files that the new set does not have are removed. A full disk or a failed write leaves the folder as it
 * was (never a mix of two runs) and is an InputError that says so.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { syncDir } from './atomic';
import { join } from 'node:path';
import { InputError } from '../errors';

const NO_SPACE = new Set(['ENOSPC', 'EDQUOT']);

/**
 * `write(staging)` writes the new set into `staging` and returns the file names. `known` lists every name a set may
 * hold, so files of an earlier run that this run does not produce are removed instead of left beside the new ones.
 */
export async function writeOutputSet(
  dir: string,
  known: readonly string[],
  write: (staging: string) => Promise<string[]>,
): Promise<string[]> {
  const staging = join(dir, `.halo-staging-${randomBytes(6).toString('hex')}`);
  let names: string[];
  try {
    await mkdir(staging, { recursive: true });
    names = await write(staging);
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw describeWriteError(err, dir);
  }
  try {
    const present = new Set(await readdir(dir));
    for (const old of known) if (present.has(old) && !names.includes(old)) await rm(join(dir, old), { force: true });
    for (const name of names) await rename(join(staging, name), join(dir, name));
    await syncDir(dir);
  } catch (err) {
    throw describeWriteError(err, dir);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return names;
}

function describeWriteError(err: unknown, dir: string): Error {
  if (err instanceof InputError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (code && NO_SPACE.has(code)) {
    return new InputError(
      `the disk holding ${dir} is full (${code}): the results could not be written, and the files already in ${dir} were left as they were. ` +
        'Free some space or choose another --out, then run again.',
    );
  }
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new InputError(`cannot write the results into ${dir} (${code}); the folder was left as it was. Choose another --out.`);
  }
  return err as Error;
}
