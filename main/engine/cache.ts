/**
 * Ensemble members per slice, kept in memory and on disk so that reopening a study does not resample and an
 * ensemble can grow later. The key covers everything that changes a member: the inputs' content (file hashes or
 * DICOM UIDs), the model id and version, the sampler settings and the seed. Members are stored on the model's
 * cropped grid as float32 (the sampler output mapped to [0, 1]), one file per slice, written atomically.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic';

export function defaultCacheDir(): string {
  return process.env.HALO_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'halo', 'ensembles');
}

/** The cache folder's name for a study and its settings (also the base of a queued job's id). */
export function cacheKeyOf(keyParts: unknown): string {
  return createHash('sha256').update(JSON.stringify(keyParts)).digest('hex').slice(0, 32);
}

export class MemberCache {
  private memory = new Map<number, Float32Array[]>();
  readonly key: string;

  /** dir = null: memory only. */
  constructor(
    readonly dir: string | null,
    keyParts: unknown,
    /** Pixels of one member of slice k (its model input's area). */
    private readonly pixelsFor: (k: number) => number,
  ) {
    this.key = cacheKeyOf(keyParts);
  }

  private file(k: number): string {
    return join(this.dir!, this.key, `slice-${String(k).padStart(4, '0')}.f32`);
  }

  /** Members stored for slice k (possibly none). */
  async get(k: number): Promise<Float32Array[]> {
    const hit = this.memory.get(k);
    if (hit) return hit;
    if (!this.dir) return [];
    const bytes = await readFile(this.file(k)).catch(() => null);
    const pixels = this.pixelsFor(k);
    if (!bytes || bytes.byteLength % (4 * pixels) !== 0) return [];
    const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    const members = Array.from({ length: all.length / pixels }, (_, m) => all.slice(m * pixels, (m + 1) * pixels));
    this.memory.set(k, members);
    return members;
  }

  async put(k: number, members: Float32Array[]): Promise<void> {
    this.memory.set(k, members);
    if (!this.dir) return;
    const pixels = this.pixelsFor(k);
    const all = new Float32Array(members.length * pixels);
    members.forEach((m, i) => all.set(m, i * pixels));
    await writeFileAtomic(this.file(k), new Uint8Array(all.buffer));
  }
}
