/**
 * The renderer is served from app://halo/ (a custom, privileged scheme) instead of file://, so the file:// fuse
 * that grants extra privileges can be off: a script injected into the renderer can then read nothing but the
 * renderer's own files, not the user's (pacs.json, studies). This module maps an app:// URL to a file of the
 * built renderer and refuses everything else; main/index.ts only wires it to Electron's protocol.handle.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';

export const RENDERER_SCHEME = 'app';
export const RENDERER_ORIGIN = `${RENDERER_SCHEME}://halo`;

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
};

/** The file under `root` that `url` names, or undefined when it names none (another host, `..`, a bad escape). */
export function rendererFile(url: string, root: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  if (`${u.protocol}//${u.host}` !== RENDERER_ORIGIN) return undefined;
  let pathname: string;
  try {
    pathname = decodeURIComponent(u.pathname);
  } catch {
    return undefined;
  }
  if (pathname.includes('\0')) return undefined;
  const file = path.resolve(root, `.${pathname === '/' ? '/index.html' : pathname}`);
  const inside = path.relative(path.resolve(root), file);
  return inside && !inside.startsWith('..') && !path.isAbsolute(inside) ? file : undefined;
}

/** The answer to an app:// request: the file's bytes and type, or a 404 for anything that is not one. */
export async function serveRendererFile(url: string, root: string): Promise<{ status: number; body: ArrayBuffer | string; type: string }> {
  const file = rendererFile(url, root);
  const bytes = file ? await readFile(file).catch(() => undefined) : undefined;
  if (!file || !bytes) return { status: 404, body: 'Not found', type: 'text/plain; charset=utf-8' };
  const body = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  return { status: 200, body, type: CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream' };
}
