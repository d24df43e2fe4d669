/**
 * NIfTI-1 in and out. Reading uses nifti-reader-js; writing is a 348-byte header plus raw data, gzipped.
 * Outputs on an input's grid reuse that input's header bytes (so the affine, qform/sform codes and units are
 * exactly the input's); outputs on a DICOM grid get a header whose sform is built from the geometry.
 */
import { readFile } from 'node:fs/promises';
import { once } from 'node:events';
import { createGzip, gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import * as nifti from 'nifti-reader-js';
import { InputError } from '../errors';
import { writeFileAtomic } from './atomic';
import type { Geometry, Vec3, Volume } from '../volume/volume';

const HEADER_BYTES = 348;
const DATA_OFFSET = 352; // header + the 4-byte "no extensions" flag

/** Voxel types: bytes per voxel and the typed array that views them (little-endian hosts read LE files in place). */
const TYPES: Record<number, [number, new (b: ArrayBuffer, o: number, n: number) => ArrayLike<number>, (v: DataView, o: number, le: boolean) => number]> = {
  2: [1, Uint8Array, (v, o) => v.getUint8(o)],
  256: [1, Int8Array, (v, o) => v.getInt8(o)],
  4: [2, Int16Array, (v, o, le) => v.getInt16(o, le)],
  512: [2, Uint16Array, (v, o, le) => v.getUint16(o, le)],
  8: [4, Int32Array, (v, o, le) => v.getInt32(o, le)],
  768: [4, Uint32Array, (v, o, le) => v.getUint32(o, le)],
  16: [4, Float32Array, (v, o, le) => v.getFloat32(o, le)],
  64: [8, Float64Array, (v, o, le) => v.getFloat64(o, le)],
};
const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const gunzipAsync = promisify(gunzip);

/**
 * zlib's output chunk for a gzip file: its whole uncompressed size, from the trailer (ISIZE, the size mod 2^32 of
 * the last member), clamped. With the default 16 KiB chunk, every chunk of a 18 MB volume is a round trip to the
 * main thread and a copy; one chunk makes the decompression ~3x faster. A wrong ISIZE only costs speed.
 */
function gunzipChunkSize(file: Uint8Array): number {
  const isize = file.length >= 4 ? new DataView(file.buffer, file.byteOffset + file.length - 4, 4).getUint32(0, true) : 0;
  return Math.min(Math.max(isize, 64 * 1024), 256 * 1024 * 1024);
}

export async function readNifti(path: string): Promise<Volume> {
  let file: Uint8Array;
  try {
    file = await readFile(path);
  } catch (err) {
    throw new InputError(`Cannot read NIfTI file ${path}: ${(err as Error).message}`);
  }
  return decodeNifti(file, path);
}

/**
 * A NIfTI-1 file's bytes (gzipped or not) → a volume. Gunzipping runs on libuv's thread pool, so several files
 * decode at once and the main thread stays free (e.g. to create the ONNX session meanwhile).
 */
export async function decodeNifti(file: Uint8Array, path: string): Promise<Volume> {
  let bytes = file;
  if (file[0] === 0x1f && file[1] === 0x8b) {
    try {
      bytes = await gunzipAsync(file, { chunkSize: gunzipChunkSize(file) });
    } catch {
      throw new InputError(`${path} is not a readable gzip file (truncated or corrupt). Re-export or re-copy it.`);
    }
  }
  // Own, aligned memory: typed-array views of the voxels need an offset that is a multiple of their size.
  const buf = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    ? (bytes.buffer as ArrayBuffer)
    : (bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
  if (!nifti.isNIFTI1(buf)) {
    throw new InputError(`${path} is not a NIfTI-1 file (no "n+1" magic). Halo reads NIfTI-1 .nii and .nii.gz.`);
  }
  const h = nifti.readHeader(buf) as nifti.NIFTI1;
  const ndim = h.dims[0];
  const dims: Vec3 = [h.dims[1], h.dims[2] || 1, ndim >= 3 ? h.dims[3] || 1 : 1];
  const extra = h.dims.slice(4, 1 + ndim).reduce((a, b) => a * (b || 1), 1);
  if (extra !== 1) {
    throw new InputError(`${path} has ${ndim} dimensions (${h.dims.slice(1, 1 + ndim).join(' x ')}); expected one 3D volume.`);
  }
  const type = TYPES[h.datatypeCode];
  if (!type) throw new InputError(`${path}: NIfTI datatype ${h.datatypeCode} is not supported (use integer or float voxels).`);
  const [bytesPer, View, get] = type;
  const n = dims[0] * dims[1] * dims[2];
  const offset = Math.max(h.vox_offset, HEADER_BYTES);
  if (buf.byteLength < offset + n * bytesPer) {
    throw new InputError(
      `${path} is truncated: the header promises ${dims.join(' x ')} voxels (${n * bytesPer} bytes) but the file holds ` +
        `${Math.max(0, buf.byteLength - offset)}. Re-copy the file.`,
    );
  }
  const slope = h.scl_slope && Number.isFinite(h.scl_slope) ? h.scl_slope : 1;
  const inter = Number.isFinite(h.scl_inter) ? h.scl_inter : 0;
  const data = new Float32Array(n);
  if (h.littleEndian === HOST_LE && offset % bytesPer === 0) {
    // Read in place through a typed array: no per-voxel DataView calls.
    const src = new View(buf, offset, n);
    if (slope === 1 && inter === 0) data.set(src);
    else for (let v = 0; v < n; v++) data[v] = src[v] * slope + inter;
  } else {
    const view = new DataView(buf, offset, n * bytesPer);
    for (let v = 0; v < n; v++) data[v] = get(view, v * bytesPer, h.littleEndian) * slope + inter;
  }

  const header = new Uint8Array(buf, 0, HEADER_BYTES).slice();
  return { geometry: geometryFromAffine(affineOf(h), dims), data, source: { kind: 'nifti', path, header } };
}

/** The voxel → RAS affine the NIfTI standard says to use: sform, else qform, else the voxel sizes. */
function affineOf(h: nifti.NIFTI1): number[][] {
  if (h.sform_code > 0) return h.affine;
  if (h.qform_code > 0) return h.getQformMat();
  return [
    [h.pixDims[1], 0, 0, 0],
    [0, h.pixDims[2], 0, 0],
    [0, 0, h.pixDims[3] || 1, 0],
    [0, 0, 0, 1],
  ];
}

/** NIfTI is RAS+, DICOM LPS+: negate x and y. */
export function geometryFromAffine(a: number[][], dims: Vec3): Geometry {
  const lps = (v: number[]): Vec3 => [-v[0], -v[1], v[2]];
  const spacing = [0, 1, 2].map((c) => Math.hypot(a[0][c], a[1][c], a[2][c])) as Vec3;
  const direction = [0, 1, 2].map((c) => lps([0, 1, 2].map((r) => a[r][c] / spacing[c]))) as [Vec3, Vec3, Vec3];
  return { dims, spacing, origin: lps([a[0][3], a[1][3], a[2][3]]), direction };
}

export type NiftiDataType = 'uint8' | 'float32';

/**
 * Write a volume (or a 4D stack of `frames` volumes) on `grid` as .nii.gz, atomically. The header comes from
 * `template` (a NIfTI source on the same grid) when given, else from the geometry.
 */
export async function writeNifti(
  path: string,
  grid: Geometry,
  data: Float32Array | Uint8Array,
  opts: { type: NiftiDataType; frames?: number; template?: Uint8Array; description?: string },
): Promise<void> {
  const frames = opts.frames ?? 1;
  const n = grid.dims[0] * grid.dims[1] * grid.dims[2] * frames;
  if (data.length !== n) throw new Error(`writeNifti: ${data.length} values for ${n} voxels`);
  const le = opts.template && new DataView(opts.template.buffer, opts.template.byteOffset).getInt32(0, true) === HEADER_BYTES;
  const header = le && opts.template ? opts.template.slice(0, HEADER_BYTES) : headerFromGeometry(grid);
  const h = new DataView(header.buffer, header.byteOffset, HEADER_BYTES);
  const bytes = opts.type === 'uint8' ? 1 : 4;

  h.setInt16(40, frames > 1 ? 4 : 3, true);
  grid.dims.forEach((d, i) => h.setInt16(42 + 2 * i, d, true));
  h.setInt16(48, frames, true);
  for (let i = 5; i < 8; i++) h.setInt16(40 + 2 * i, 1, true);
  h.setInt16(68, 0, true); // intent_code: none
  h.setInt16(70, opts.type === 'uint8' ? 2 : 16, true);
  h.setInt16(72, bytes * 8, true);
  if (frames > 1) h.setFloat32(76 + 4 * 4, 1, true); // pixdim[4]: one "time" step per ensemble member
  h.setFloat32(108, DATA_OFFSET, true);
  h.setFloat32(112, 1, true); // scl_slope
  h.setFloat32(116, 0, true); // scl_inter
  h.setFloat32(124, 0, true); // cal_max
  h.setFloat32(128, 0, true); // cal_min
  if (opts.description !== undefined) {
    const d = new TextEncoder().encode(opts.description.slice(0, 79));
    header.fill(0, 148, 228);
    header.set(d, 148);
  }
  // The voxels are compressed straight from the caller's array (no copied body): header, the 4-byte "no
  // extensions" flag, then the data. Level 1, on the thread pool: several outputs compress at once, several
  // times faster than level 6 for a few per cent more bytes (outputs are mostly zeros outside the brain).
  const payload = opts.type === 'uint8' ? (data instanceof Uint8Array ? data : Uint8Array.from(data)) : (data instanceof Float32Array ? data : Float32Array.from(data));
  const prefix = new Uint8Array(DATA_OFFSET);
  prefix.set(header, 0);
  await writeFileAtomic(path, await gzipParts([prefix, new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength)]));
}

async function gzipParts(parts: Uint8Array[]): Promise<Buffer> {
  const gz = createGzip({ level: 1, chunkSize: 1 << 20 });
  const chunks: Buffer[] = [];
  gz.on('data', (c: Buffer) => chunks.push(c));
  const ended = once(gz, 'end');
  for (const part of parts) gz.write(part);
  gz.end();
  await ended;
  return Buffer.concat(chunks);
}

function headerFromGeometry(g: Geometry): Uint8Array {
  const header = new Uint8Array(HEADER_BYTES);
  const h = new DataView(header.buffer);
  h.setInt32(0, HEADER_BYTES, true);
  h.setFloat32(76, 1, true); // pixdim[0] = qfac
  g.spacing.forEach((s, i) => h.setFloat32(80 + 4 * i, s, true));
  h.setUint8(123, 2 | 8); // mm, seconds
  h.setInt16(252, 0, true); // qform_code: unused
  h.setInt16(254, 1, true); // sform_code: scanner anatomical
  const ras = (v: Vec3, r: number) => (r < 2 ? -v[r] : v[r]);
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) h.setFloat32(280 + 16 * r + 4 * c, ras(g.direction[c], r) * g.spacing[c], true);
    h.setFloat32(280 + 16 * r + 12, ras(g.origin, r), true);
  }
  header.set(new TextEncoder().encode('n+1\0'), 344);
  return header;
}
