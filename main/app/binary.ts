/**
 * A tiny self-describing container for typed arrays, used for the big handler results (volumes, slice
 * results) so that Electron IPC and the HTTP bridge carry the same bytes:
 *   [u32 LE header length][header JSON, UTF-8][zero padding to 8][array 0][array 1]...
 * header = { meta, arrays: [{ name, type, offset, length }] }, offsets from the start of the container.
 * No Node imports: used by the renderer too.
 */
export type ArrayKind = 'f32' | 'u8' | 'i16';
type Typed = Float32Array | Uint8Array | Int16Array;

const CTOR = { f32: Float32Array, u8: Uint8Array, i16: Int16Array } as const;
const kindOf = (a: Typed): ArrayKind => (a instanceof Float32Array ? 'f32' : a instanceof Int16Array ? 'i16' : 'u8');

export interface Packed<M> {
  meta: M;
  arrays: Record<string, Typed>;
}

export function pack<M>(meta: M, arrays: Record<string, Typed>): Uint8Array {
  const entries = Object.entries(arrays);
  const descr: { name: string; type: ArrayKind; offset: number; length: number }[] = [];
  // Header size depends on the offsets written into it: iterate until stable (two passes at most in practice).
  let headerBytes = new Uint8Array(0);
  let start = 0;
  for (let pass = 0; pass < 4; pass++) {
    descr.length = 0;
    let offset = start;
    for (const [name, a] of entries) {
      descr.push({ name, type: kindOf(a), offset, length: a.length });
      offset = align8(offset + a.byteLength);
    }
    headerBytes = new TextEncoder().encode(JSON.stringify({ meta, arrays: descr }));
    const next = align8(4 + headerBytes.length);
    if (next === start) break;
    start = next;
  }
  const last = descr[descr.length - 1];
  const total = last ? last.offset + entries[entries.length - 1][1].byteLength : start;
  const out = new Uint8Array(total);
  new DataView(out.buffer).setUint32(0, headerBytes.length, true);
  out.set(headerBytes, 4);
  entries.forEach(([, a], n) => out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), descr[n].offset));
  return out;
}

export function unpack<M>(bytes: Uint8Array): Packed<M> {
  // Copy into an 8-aligned buffer of our own so typed views are aligned whatever the source offset.
  const buf = bytes.byteOffset % 8 === 0 ? bytes : bytes.slice();
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = view.getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(buf.subarray(4, 4 + n))) as {
    meta: M;
    arrays: { name: string; type: ArrayKind; offset: number; length: number }[];
  };
  const arrays: Record<string, Typed> = {};
  for (const d of header.arrays) {
    const C = CTOR[d.type];
    arrays[d.name] = new C(buf.buffer as ArrayBuffer, buf.byteOffset + d.offset, d.length);
  }
  return { meta: header.meta, arrays };
}

function align8(x: number): number {
  return (x + 7) & ~7;
}
