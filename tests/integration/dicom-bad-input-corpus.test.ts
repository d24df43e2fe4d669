/**
 * Damaged DICOM input, from a committed generator (tests/support/dicom-mutations.ts) applied to a real GE series:
 * every named mutation makes `halo segment --dicom --slices 5:15` exit 2 with a sentence that names the damage (no
 * stack, no output; an unreadable or missing file is skipped and named, and the range over its slice refused), and byte flips in the element headers are refused with a sentence or read normally, never a crash.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readDicomFolder, seriesToVolume } from '../../main/dicom/read-study';
import { InputError } from '../../main/errors';
import { headerFlips, mutatedCopy, namedMutations } from '../support/dicom-mutations';
import { halo } from '../support/cli';
import { DATA } from '../support/paths';

const SRC = join(DATA, 'dicom', 'pd-ax-oblique');
const tmp = (p: string) => mkdtempSync(join(tmpdir(), `halo-mut-${p}-`));

describe('halo segment --dicom refuses damaged series', () => {
  for (const m of namedMutations()) {
    it(m.name, async () => {
      const dir = tmp('named');
      mutatedCopy(SRC, dir, m);
      const out = join(dir, 'out');
      mkdirSync(out);
      const r = await halo(['segment', '--dicom', dir, '--model', 'wt-flair-t1', '--role', 'FLAIR=2', '--role', 'T1=2', '--slices', '5:15', '--out', out, '--no-cache', '--no-progress']);
      expect(r.stderr).toMatch(m.expect);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).not.toMatch(/^\s+at /m);
      expect(readdirSync(out)).toEqual([]);
    }, 60_000);
  }
});

describe('header byte flips never crash the reader', () => {
  // One small file of the series (a single-slice "volume" is allowed), so each flip is one quick parse.
  const one = join(SRC, 'brain_002.dcm');
  const flips = headerFlips(readFileSync(one));

  it(`covers ${flips.length} flips of VR and length bytes`, () => {
    expect(flips.length).toBeGreaterThanOrEqual(40);
  });

  for (const m of flips) {
    it(m.name, async () => {
      const dir = tmp('flip');
      const series = mutatedCopy(SRC, dir, { ...m, apply: () => undefined }); // full copy, then keep one file only
      for (const f of readdirSync(series)) if (f !== 'brain_002.dcm') rmSync(join(series, f));
      m.apply(series, [join(series, 'brain_002.dcm')]);
      try {
        const found = await readDicomFolder(dir);
        for (const s of found) seriesToVolume(s);
      } catch (err) {
        expect(err, (err as Error).stack).toBeInstanceOf(InputError);
        expect((err as Error).message).toMatch(/brain_002\.dcm/);
      }
    });
  }
});
