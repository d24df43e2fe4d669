/**
 * The output set of `halo segment --out` replaces an earlier run's as a whole: a full disk (injected ENOSPC, and a
 * real small tmpfs where this machine lets us mount one) leaves the folder as it was and exits 2 with a sentence.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../../main/errors';
import { writeOutputSet } from '../../main/io/output-set';
import { halo } from '../support/cli';
import { CASE_27 } from '../support/paths';

const KNOWN = ['mean.nii.gz', 'summary.json', 'seg.dcm'];
const earlierRun = (dir: string) => {
  for (const f of KNOWN) writeFileSync(join(dir, f), `earlier ${f}`);
};
const contents = (dir: string) => Object.fromEntries(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f), 'utf8')]));

describe('writeOutputSet', () => {
  it('a full disk halfway through leaves the earlier run untouched and says so', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'halo-set-'));
    earlierRun(dir);
    const before = contents(dir);
    const err = await writeOutputSet(dir, KNOWN, async (staging) => {
      await writeFile(join(staging, 'mean.nii.gz'), 'new mean');
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(/is full \(ENOSPC\).*left as they were.*Free some space/);
    expect(contents(dir)).toEqual(before); // no staging folder, no new file, no earlier file lost
  });

  it('a complete new set replaces the earlier one, with no file of the earlier run left beside it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'halo-set-'));
    earlierRun(dir);
    writeFileSync(join(dir, 'notes.txt'), 'the user\'s own file');
    const names = await writeOutputSet(dir, KNOWN, async (staging) => {
      await writeFile(join(staging, 'mean.nii.gz'), 'new mean');
      await writeFile(join(staging, 'summary.json'), 'new summary');
      return ['mean.nii.gz', 'summary.json'];
    });
    expect(names).toEqual(['mean.nii.gz', 'summary.json']);
    expect(contents(dir)).toEqual({ 'mean.nii.gz': 'new mean', 'summary.json': 'new summary', 'notes.txt': "the user's own file" });
  });
});

/** A 3 MB tmpfs, when this machine lets us mount one (root in CI); else undefined. */
function smallTmpfs(): string | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'halo-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', dir], { stdio: 'ignore' });
    return dir;
  } catch {
    return undefined;
  }
}

describe('halo segment on a full disk', () => {
  const mnt = smallTmpfs();
  afterAll(() => {
    if (mnt) execFileSync('umount', [mnt], { stdio: 'ignore' });
  });

  it.skipIf(!mnt)('exits 2 with a sentence, and the earlier run in --out is left whole', async () => {
    const out = join(mnt!, 'out');
    mkdirSync(out);
    earlierRun(out);
    const before = contents(out);
    writeFileSync(join(mnt!, 'filler'), Buffer.alloc(2_900_000)); // leave about 100 kB
    const r = await halo(['segment', '--case', CASE_27, '--out', out, '--slices', '70:71', '--steps', '2', '--ensemble', '2', '--no-cache', '--no-progress']);
    expect(r.stderr).toMatch(/is full \(ENOSPC\)/);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(contents(out)).toEqual(before);
    expect(existsSync(join(out, 'variance.nii.gz'))).toBe(false);
  }, 180_000);
});
