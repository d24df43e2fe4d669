/**
 * .xz decompression (the `.nii.xz` volumes of public data sets such as the shared skull-on and BraTS training
 * sets), with xz-decompress: xz-embedded compiled to WebAssembly, so no native code and the same on every
 * platform. It streams, so a file is decompressed only as far as the caller needs: the NIfTI header, or the
 * bytes that header promises (a decompression bomb is stopped there).
 */
import { createRequire } from 'node:module';
import { InputError } from '../errors';

// A CommonJS (webpack UMD) package whose named export Node's ESM loader cannot see: load it with require.
const { XzReadableStream } = createRequire(import.meta.url)('xz-decompress') as typeof import('xz-decompress');

/** The xz stream header's magic bytes (FD 37 7A 58 5A 00). */
export function isXz(file: Uint8Array): boolean {
  return file.length >= 6 && file[0] === 0xfd && file[1] === 0x37 && file[2] === 0x7a && file[3] === 0x58 && file[4] === 0x5a && file[5] === 0;
}

/** Raised by unxz when the output would pass `maxBytes`. */
export class XzTooLargeError extends Error {
  override name = 'XzTooLargeError';
}

/**
 * Decompress `file` (an .xz stream). With `prefix`, stop once at least that many bytes are out (they and maybe a
 * few more are returned); with `maxBytes`, throw XzTooLargeError instead of producing more than that. A corrupt
 * or truncated file is an InputError naming `path`.
 */
export async function unxz(file: Uint8Array, path: string, limits: { prefix?: number; maxBytes?: number } = {}): Promise<Uint8Array> {
  const source = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(file);
      controller.close();
    },
  });
  const reader = new XzReadableStream(source).getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      length += value.length;
      if (limits.maxBytes !== undefined && length > limits.maxBytes) throw new XzTooLargeError(`${path} decompresses to more than ${limits.maxBytes} bytes`);
      chunks.push(value);
      if (limits.prefix !== undefined && length >= limits.prefix) break;
    }
  } catch (err) {
    if (err instanceof XzTooLargeError) throw err;
    // The decoder throws whatever its WebAssembly or the end of the input gives: the file is the reason.
    throw new InputError(`${path} is not a readable xz file (truncated or corrupt). Re-copy it, or check it with \`xz -t\`.`);
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  const out = new Uint8Array(length);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}
