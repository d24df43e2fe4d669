/**
 * A corpus of damaged DICOM series, generated from a real one (so it is committed as code, not as files): each
 * mutation is what a broken export, a bad disk or a mixed-up folder produces. Attribute edits use DCMTK's dcmodify
 * (an independent writer); byte-level damage is done here. `walkElements` finds the structural bytes (VR, length)
 * of the top-level elements so byte flips hit the header, where a parser can crash, not just a pixel value.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Mutation {
  name: string;
  /** What the refusal must say (the file or attribute concerned). */
  expect: RegExp;
  /** Damage the copied series in `dir` (files sorted by name). */
  apply(dir: string, files: string[]): void;
}

export interface ElementHeader {
  /** Offset of the tag in the file. */
  at: number;
  group: number;
  element: number;
  vr: string;
  /** Offset of the first length byte. */
  lengthAt: number;
  lengthBytes: 2 | 4;
}

const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);

/** Top-level element headers of an Explicit VR Little Endian Part 10 file, up to (and including) Pixel Data. */
export function walkElements(bytes: Uint8Array): ElementHeader[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: ElementHeader[] = [];
  let at = 132;
  while (at + 8 <= bytes.length) {
    const group = view.getUint16(at, true);
    const element = view.getUint16(at + 2, true);
    const vr = String.fromCharCode(bytes[at + 4], bytes[at + 5]);
    const long = LONG_VRS.has(vr);
    const lengthAt = long ? at + 8 : at + 6;
    const length = long ? view.getUint32(at + 8, true) : view.getUint16(at + 6, true);
    out.push({ at, group, element, vr, lengthAt, lengthBytes: long ? 4 : 2 });
    if (group === 0x7fe0 && element === 0x0010) break;
    if (length === 0xffffffff) break; // undefined-length sequence: stop here, enough headers found
    at = lengthAt + (long ? 4 : 2) + length;
  }
  return out;
}

const dcmodify = (args: string[], file: string) => execFileSync('dcmodify', ['-nb', ...args, file], { stdio: 'ignore' });

/**
 * The named mutations; each must be refused with exit 2 and a sentence naming the damage. An unreadable or
 * missing file is not refused by itself (the rest of the series is read, the file named): a run over a range that
 * includes its slice is, so the corpus runs `--slices 5:15` over the middle file's slice (k = 10 of 20).
 */
export function namedMutations(): Mutation[] {
  const target = (files: string[]) => files[Math.floor(files.length / 2)];
  return [
    {
      name: 'a file cut inside its header',
      expect: /skipped a file that cannot be read: .*brain_\d+\.dcm (looks like a DICOM file but cannot be parsed|has no SeriesInstanceUID)[^]*--slices 5:15 include missing images/,
      apply: (_dir, files) => writeFileSync(target(files), readFileSync(target(files)).subarray(0, 400)),
    },
    {
      name: 'a file cut inside its pixel data',
      expect: /skipped a file that cannot be read: .*brain_\d+\.dcm ends \d+ bytes before the end of its pixel data[^]*--slices 5:15 include missing images/,
      apply: (_dir, files) => {
        const b = readFileSync(target(files));
        const pd = walkElements(b).find((e) => e.group === 0x7fe0 && e.element === 0x0010)!;
        writeFileSync(target(files), b.subarray(0, pd.at + 12 + 1000));
      },
    },
    {
      name: 'a file holding only the preamble',
      expect: /skipped a file that cannot be read: .*brain_\d+\.dcm (looks like a DICOM file but cannot be parsed|has no SeriesInstanceUID)[^]*--slices 5:15 include missing images/,
      apply: (_dir, files) => writeFileSync(target(files), readFileSync(target(files)).subarray(0, 132)),
    },
    {
      name: 'BitsAllocated 8 over 16-bit pixels',
      expect: /BitsAllocated 8 need|BitsStored 16 with BitsAllocated 8/,
      apply: (_dir, files) => dcmodify(['-m', 'BitsAllocated=8'], target(files)),
    },
    {
      name: 'BitsAllocated 8, BitsStored 8 over 16-bit pixels',
      expect: /BitsAllocated 8 need/,
      apply: (_dir, files) => dcmodify(['-m', 'BitsAllocated=8', '-m', 'BitsStored=8', '-m', 'HighBit=7'], target(files)),
    },
    {
      name: 'BitsStored larger than BitsAllocated',
      expect: /BitsStored 17 with BitsAllocated 16/,
      apply: (_dir, files) => dcmodify(['-m', 'BitsStored=17'], target(files)),
    },
    {
      name: 'Rows that do not match the pixel data in every slice',
      expect: /pixel data, but .* need/,
      apply: (_dir, files) => files.forEach((f) => dcmodify(['-m', 'Rows=200'], f)),
    },
    {
      name: 'a slice from another frame of reference',
      expect: /FrameOfReferenceUID "1\.2\.826\.0\.1\.3680043\.8\.498\.1" but/,
      apply: (_dir, files) => dcmodify(['-m', 'FrameOfReferenceUID=1.2.826.0.1.3680043.8.498.1'], target(files)),
    },
    {
      name: 'a slice from another study',
      expect: /StudyInstanceUID "1\.2\.826\.0\.1\.3680043\.8\.498\.2" but/,
      apply: (_dir, files) => dcmodify(['-m', 'StudyInstanceUID=1.2.826.0.1.3680043.8.498.2'], target(files)),
    },
    {
      name: 'a slice of another patient',
      expect: /PatientID "SOMEONE-ELSE" but/,
      apply: (_dir, files) => dcmodify(['-m', 'PatientID=SOMEONE-ELSE'], target(files)),
    },
    {
      name: 'a slice without pixel data',
      expect: /no pixel data/,
      apply: (_dir, files) => dcmodify(['-ea', '(7fe0,0010)'], target(files)),
    },
    {
      name: 'a slice that claims a compressed (RLE) transfer syntax',
      expect: /cannot be parsed|transfer syntax 1\.2\.840\.10008\.1\.2\.5 /,
      apply: (_dir, files) => {
        const b = Buffer.from(readFileSync(target(files)));
        const ts = walkElements(b).find((e) => e.group === 0x0002 && e.element === 0x0010)!;
        const len = b.readUInt16LE(ts.lengthAt);
        const value = '1.2.840.10008.1.2.5'.padEnd(len, '\0'); // RLE Lossless, same length as the original
        if (value.length !== len) throw new Error('transfer syntax value does not fit');
        b.write(value, ts.lengthAt + 2, 'latin1');
        writeFileSync(target(files), b);
      },
    },
    {
      name: 'a slice with a different orientation',
      expect: /different ImageOrientationPatient/,
      apply: (_dir, files) => dcmodify(['-m', 'ImageOrientationPatient=0\\1\\0\\0\\0\\-1'], target(files)),
    },
    {
      name: 'a missing slice',
      expect: /--slices 5:15 include missing images: in the FLAIR series "[^"]*": slices between \S+ and \S+ mm are missing \(about 1 image; slice 11 of 20 is empty\)/,
      apply: (dir, files) => execFileSync('rm', [target(files)], { cwd: dir }),
    },
  ];
}

/**
 * Byte flips (XOR 0xFF) of the structural bytes (first VR byte, most significant length byte) of the first `n`
 * top-level elements of one file: each must be refused with a sentence or read normally, never crash.
 */
export function headerFlips(sample: Uint8Array, n = 24): Mutation[] {
  const heads = walkElements(sample).slice(0, n);
  const out: Mutation[] = [];
  for (const h of heads) {
    const tag = `(${h.group.toString(16).padStart(4, '0')},${h.element.toString(16).padStart(4, '0')})`;
    for (const [what, offset] of [
      ['VR', h.at + 4],
      ['length', h.lengthAt + h.lengthBytes - 1],
    ] as const) {
      out.push({
        name: `flipped ${what} byte of ${tag}`,
        expect: /./,
        apply: (_dir, files) => {
          const f = files[0];
          const b = Buffer.from(readFileSync(f));
          b[offset] ^= 0xff;
          writeFileSync(f, b);
        },
      });
    }
  }
  return out;
}

/** Copy the series in `src` into `dir/series` and apply the mutation; returns the series folder. */
export function mutatedCopy(src: string, dir: string, m: Mutation): string {
  const series = join(dir, 'series');
  mkdirSync(series, { recursive: true });
  const files = readdirSync(src)
    .sort()
    .map((f) => {
      copyFileSync(join(src, f), join(series, f));
      chmodSync(join(series, f), 0o644); // the shared data is read-only
      return join(series, f);
    });
  m.apply(series, files);
  return series;
}
