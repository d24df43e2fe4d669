/**
 * Patient and study attributes longer than their VR allows, as some RIS/PACS exports carry them: the SEG and
 * Parametric Map repeat them, so they are checked before any sampling. Identifiers are refused (shortening one
 * would file the result elsewhere); a too-long StudyDescription is shortened with a warning, and the outputs
 * validate with dciodvfy.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { halo } from '../support/cli';
import { dciodvfy } from '../support/dicom-tools';
import { DATA } from '../support/paths';

const tmp = (p: string) => mkdtempSync(join(tmpdir(), `halo-long-${p}-`));

/** The real t1-sag-hfs series (series number 3) with `edits` applied by dcmodify. */
function seriesWith(edits: Record<string, string>): string {
  const dir = tmp('dicom');
  const src = join(DATA, 'dicom', 't1-sag-hfs');
  const files = readdirSync(src).map((f) => {
    mkdirSync(join(dir, 's'), { recursive: true });
    copyFileSync(join(src, f), join(dir, 's', f));
    return join(dir, 's', f);
  });
  execFileSync('dcmodify', ['-nb', '-imt', ...Object.entries(edits).flatMap(([k, v]) => ['-m', `${k}=${v}`]), ...files], { stdio: 'ignore' });
  return dir;
}

const segment = (dir: string, out: string) =>
  halo(['segment', '--dicom', dir, '--model', 'wt-flair-t1', '--role', 'FLAIR=3', '--role', 'T1=3', '--slices', '15:16', '--ensemble', '1', '--steps', '2', '--out', out, '--no-cache', '--no-progress']);

describe('over-long patient and study values', () => {
  it('refuses identifiers longer than their VR, naming the attribute, before sampling', async () => {
    for (const [keyword, value, vr] of [
      ['PatientID', 'P'.repeat(80), 'LO'],
      ['AccessionNumber', 'A'.repeat(20), 'SH'],
      ['PatientName', `${'LONG'.repeat(500)}^NAME`, 'PN'],
    ] as const) {
      const out = tmp('out');
      const r = await segment(seriesWith({ [keyword]: value }), out);
      expect(r.stderr).toMatch(new RegExp(`${keyword} is ${value.length} characters long, more than the \\d+ its VR \\(${vr}\\) allows`));
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).not.toMatch(/^\s+at /m);
      expect(r.stderr).not.toMatch(/sampling|slice 15/i);
      expect(readdirSync(out)).toEqual([]);
    }
  }, 120_000);

  it('shortens a 101-character StudyDescription with a warning; the SEG and Parametric Map validate', async () => {
    const out = tmp('ok');
    const r = await segment(seriesWith({ StudyDescription: `Brain MR ${'with a very long free-text description '.repeat(3)}end`.slice(0, 101) }), out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/warning: StudyDescription is 101 characters, more than the 64 of its VR \(LO\): the results carry it shortened to "Brain MR with a very long/);
    for (const f of ['seg.dcm', 'seg-fractional.dcm', 'variance-pm.dcm']) expect(dciodvfy(join(out, f)).errors, f).toEqual([]);
  }, 120_000);
});
