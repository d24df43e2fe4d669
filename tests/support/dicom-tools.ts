/** Test helpers for the DICOM modules: dciodvfy, the pydicom reader, temp folders. */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const DATA = path.resolve(fileURLToPath(import.meta.url), '../../../../shared/data');
export const tempDir = (prefix: string) => mkdtempSync(path.join(tmpdir(), `halo-${prefix}-`));

/**
 * dciodvfy warnings we accept, each for a stated reason:
 * - "Retired Person Name form": a PN with one component (e.g. "BraTS-GLI-00027-000", "Halo", or the source's own
 *   name) is legal; dciodvfy flags the missing "^" out of habit.
 * - "needed to build DICOMDIR - Study Date/Time/ID": imported BraTS data has no known study date/time/ID, so
 *   those Type 2 attributes are present and empty rather than invented.
 * - "Unrecognized defined term <99HALO>": our private coding scheme (PS3.3 8.2: 99-prefixed designators) for
 *   the "Ensemble variance" derivation code, for which no standard code exists.
 * - "Unrecognized defined term <QUANTITY> for value 4": Parametric Map derived pixel contrast; the term is in
 *   the standard's list for Parametric Maps (C.8.32.3.1) though not in dciodvfy's table.
 */
export const ACCEPTED_WARNINGS = [
  /Retired Person Name form/,
  /needed to build DICOMDIR - Study (Date|Time|ID)/,
  /Unrecognized defined term <99HALO>/,
  /Unrecognized defined term <QUANTITY> for value 4/,
];

export function dciodvfy(file: string): { errors: string[]; unexpectedWarnings: string[] } {
  const r = spawnSync('/usr/bin/dciodvfy', [file], { encoding: 'utf8' });
  const lines = `${r.stdout}\n${r.stderr}`.split('\n').map((l) => l.trim());
  return {
    errors: lines.filter((l) => l.startsWith('Error')),
    unexpectedWarnings: lines.filter((l) => l.startsWith('Warning') && !ACCEPTED_WARNINGS.some((re) => re.test(l))),
  };
}

export interface PydicomFrames {
  frames: { position: number[]; sourceUID: string }[];
  rows: number;
  columns: number;
  dtype: 'uint8' | 'float32';
  pixels: string;
}

/** Read multi-frame files with pydicom (one python process for all of them). */
export function readWithPydicom(files: string[]): PydicomFrames[] {
  const script = path.resolve(fileURLToPath(import.meta.url), '../dicom-read-multiframe.py');
  const out = execFileSync('/usr/bin/python3', [script, ...files], { encoding: 'utf8', maxBuffer: 1 << 28 });
  return JSON.parse(out) as PydicomFrames[];
}

/** ImagePositionPatient / ImageOrientationPatient of every file in a folder, via pydicom. */
export function pydicomGeometry(folder: string): { ipp: number[]; iop: number[]; pixelSpacing: number[] }[] {
  const code = [
    'import glob, json, sys, pydicom',
    'out = []',
    'for f in sorted(glob.glob(sys.argv[1] + "/*")):',
    '    d = pydicom.dcmread(f, stop_before_pixels=True)',
    '    out.append({"ipp": [float(v) for v in d.ImagePositionPatient], "iop": [float(v) for v in d.ImageOrientationPatient], "pixelSpacing": [float(v) for v in d.PixelSpacing]})',
    'print(json.dumps(out))',
  ].join('\n');
  return JSON.parse(execFileSync('/usr/bin/python3', ['-c', code, folder], { encoding: 'utf8' }));
}
