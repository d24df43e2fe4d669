/**
 * NIfTI-1 in and out. Reading (.nii, .nii.gz, .nii.xz) uses nifti-reader-js; writing is a 348-byte header plus raw
 * data, gzipped.
 * Outputs on an input's grid reuse that input's header bytes (so the affine, qform/sform codes and units are
 * exactly the input's); outputs on a DICOM grid get a header whose sform is built from the geometry.
 */
import { readFile } from 'node:fs/promises';
import { once } from 'node:events';
import { constants as zlibConstants, createGzip, gunzip, gunzipSync } from 'node:zlib';
import { promisify } from 'node:util';
import * as nifti from 'nifti-reader-js';
import { InputError } from '../errors';
import { writeFileAtomic } from './atomic';
import { checkVolumeSize } from './input-limits';
import { isXz, unxz, XzTooLargeError } from './xz';
import { MAX_VOXEL_MM, MIN_VOXEL_MM } from '../volume/volume';
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

const isGzip = (file: Uint8Array) => file[0] === 0x1f && file[1] === 0x8b;

/** What a NIfTI-1 header says about the voxels that follow it, checked for sense. */
export interface NiftiLayout {
  header: nifti.NIFTI1;
  dims: Vec3;
  voxels: number;
  /** Bytes the header promises: vox_offset (header and extensions) plus the voxels. */
  bytes: number;
}

/**
 * Read and check the header of a NIfTI-1 file (plain, gzipped or xz-compressed) without decompressing the rest:
 * a header whose dimensions are negative, absurd or beyond the input limit is refused before any voxel memory is
 * allocated.
 */
export async function readNiftiLayout(file: Uint8Array, path: string): Promise<NiftiLayout> {
  return niftiLayout(isXz(file) ? await unxz(file, path, { prefix: DATA_OFFSET }) : file, path);
}

/** readNiftiLayout for a plain or gzipped file (xz decodes only asynchronously). */
export function niftiLayout(file: Uint8Array, path: string): NiftiLayout {
  if (isXz(file)) throw new Error(`niftiLayout: ${path} is xz-compressed; use readNiftiLayout`);
  let head = file;
  if (isGzip(file)) {
    // Inflate a prefix only: 4 KiB of deflate output at most about 4 MB, and the header is its first 348 bytes.
    head = new Uint8Array(0);
    for (const size of [4096, 65536]) {
      try {
        head = gunzipSync(file.subarray(0, size), { finishFlush: zlibConstants.Z_SYNC_FLUSH });
      } catch {
        throw new InputError(`${path} is not a readable gzip file (truncated or corrupt). Re-export or re-copy it.`);
      }
      if (head.length >= HEADER_BYTES || size >= file.length) break;
    }
  }
  const buf = head.buffer.slice(head.byteOffset, head.byteOffset + Math.min(head.byteLength, DATA_OFFSET)) as ArrayBuffer;
  if (buf.byteLength < HEADER_BYTES || !nifti.isNIFTI1(buf)) {
    throw new InputError(`${path} is not a NIfTI-1 file (no "n+1" magic). Halo reads NIfTI-1 .nii, .nii.gz and .nii.xz.`);
  }
  const h = nifti.readHeader(buf) as nifti.NIFTI1;
  const ndim = h.dims[0];
  const given = h.dims.slice(1, 1 + ndim);
  if (!(ndim >= 1 && ndim <= 7) || given.some((d) => !(Number.isInteger(d) && d >= 1))) {
    throw new InputError(
      `${path} has a damaged header: dim = [${h.dims.join(', ')}] (dim[0] must be 1-7 and each dimension at least 1). Re-export the file.`,
    );
  }
  const dims: Vec3 = [given[0], given[1] ?? 1, given[2] ?? 1];
  if (given.slice(3).some((d) => d !== 1)) {
    throw new InputError(`${path} has ${ndim} dimensions (${given.join(' x ')}); expected one 3D volume.`);
  }
  const type = TYPES[h.datatypeCode];
  if (!type) throw new InputError(`${path}: NIfTI datatype ${h.datatypeCode} is not supported (use integer or float voxels).`);
  checkVolumeSize(dims, path);
  const voxels = dims[0] * dims[1] * dims[2];
  return { header: h, dims, voxels, bytes: Math.max(h.vox_offset, HEADER_BYTES) + voxels * type[0] };
}

/** Bytes a .nii.gz or .nii.xz may inflate to beyond what its header promises (padding some writers add). */
const INFLATE_SLACK = 1 << 20;

/**
 * A NIfTI-1 file's bytes (plain, gzipped or xz-compressed) → a volume. Gunzipping runs on libuv's thread pool, so
 * several files decode at once and the main thread stays free (e.g. to create the ONNX session meanwhile). It
 * stops at what the header's dimensions need, so a small file that inflates to gigabytes (a decompression bomb,
 * or a header that lies) costs no more memory than the volume it claims to be.
 */
export async function decodeNifti(file: Uint8Array, path: string): Promise<Volume> {
  const layout = await readNiftiLayout(file, path);
  const tooLarge = () =>
    new InputError(
      `${path} inflates to more than the ${layout.bytes} bytes its header describes (${layout.dims.join(' x ')} voxels): ` +
        'the header is wrong or the file is not an image (a decompression bomb?). Re-export it.',
    );
  let bytes = file;
  if (isXz(file)) {
    try {
      bytes = await unxz(file, path, { maxBytes: layout.bytes + INFLATE_SLACK });
    } catch (err) {
      throw err instanceof XzTooLargeError ? tooLarge() : err;
    }
  } else if (isGzip(file)) {
    const maxOutputLength = layout.bytes + INFLATE_SLACK;
    try {
      bytes = await gunzipAsync(file, { chunkSize: Math.min(gunzipChunkSize(file), maxOutputLength), maxOutputLength });
    } catch (err) {
      if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge();
      throw new InputError(`${path} is not a readable gzip file (truncated or corrupt). Re-export or re-copy it.`);
    }
  }
  // Own, aligned memory: typed-array views of the voxels need an offset that is a multiple of their size.
  const buf = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    ? (bytes.buffer as ArrayBuffer)
    : (bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
  const { header: h, dims, voxels: n } = layout;
  const [bytesPer, View, get] = TYPES[h.datatypeCode];
  const offset = Math.max(h.vox_offset, HEADER_BYTES);
  if (buf.byteLength < offset + n * bytesPer) {
    throw new InputError(
      `${path} is truncated: the header promises ${dims.join(' x ')} voxels (${n * bytesPer} bytes) but the file holds ` +
        `${Math.max(0, buf.byteLength - offset)}. Re-copy the file.`,
    );
  }
  // scl_slope 0 means "no scaling" (NIfTI-1), and nibabel writes NaN for it when unset.
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
  refuseNonFinite(data, dims, path);

  const header = new Uint8Array(buf, 0, HEADER_BYTES).slice();
  return { geometry: checkedGeometry(geometryFromAffine(affineOf(h), dims), path), data, source: { kind: 'nifti', path, header } };
}

/**
 * NaN or infinite voxels would flow into means and masks as NaN or zero, i.e. a silent "no tumour": refuse them,
 * saying how many and where the first one is.
 */
function refuseNonFinite(data: Float32Array, dims: Vec3, path: string): void {
  let count = 0;
  let first = -1;
  for (let v = 0; v < data.length; v++) {
    if (!Number.isFinite(data[v])) {
      if (count++ === 0) first = v;
    }
  }
  if (count) {
    const i = first % dims[0];
    const j = Math.floor(first / dims[0]) % dims[1];
    const k = Math.floor(first / (dims[0] * dims[1]));
    throw new InputError(
      `${path} holds ${count} NaN or infinite voxel(s) of ${data.length} (the first at voxel ${i}, ${j}, ${k}); Halo cannot ` +
        'segment undefined intensities. Re-export the volume, or replace them (e.g. with 0) where they are background.',
    );
  }
}

/**
 * A zero voxel size or a singular affine (sform/qform) has no position in space: it would surface later as two
 * grids that "differ" from themselves. Refuse it here, with the header's own numbers.
 */
function checkedGeometry(g: Geometry, path: string): Geometry {
  const [a, b, c] = g.direction;
  const det = a[0] * (b[1] * c[2] - b[2] * c[1]) - a[1] * (b[0] * c[2] - b[2] * c[0]) + a[2] * (b[0] * c[1] - b[1] * c[0]);
  const finite = [...g.spacing, ...g.origin, ...a, ...b, ...c].every(Number.isFinite);
  if (!finite || g.spacing.some((s) => !(s >= MIN_VOXEL_MM && s <= MAX_VOXEL_MM)) || !(Math.abs(det) > 1e-3)) {
    throw new InputError(
      `${path} has no usable voxel-to-patient transform (voxel size ${g.spacing.map((s) => +s.toPrecision(4)).join(' x ')} mm, ` +
        `axes ${Math.abs(det) > 1e-3 ? 'independent' : 'degenerate: the sform/qform is singular'}; sizes must be ${MIN_VOXEL_MM}-${MAX_VOXEL_MM} mm). ` +
        'The header is damaged; re-export the file with its real geometry.',
    );
  }
  return g;
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
