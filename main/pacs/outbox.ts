/**
 * Nothing lost: every file sent to a PACS first goes into a local outbox folder (one per destination), and leaves it
 * only when the PACS confirmed the store (STOW-RS without failure / C-STORE success) AND a read-back (QIDO-RS /
 * C-FIND on its SOP Instance UID) finds it. PACS down, refusing, or Halo killed mid-send: the file stays, and a
 * later `flush()` (`halo send --retry --to NAME`) sends it again (re-sending the same SOP Instance is idempotent).
 *
 * Layout: <root>/<destination>/<SOPInstanceUID>.dcm    the copy to send (written with temp + fsync + rename)
 *         <root>/<destination>/<SOPInstanceUID>.json   what we know: source path, UIDs, attempts, last error
 *         <root>/<destination>/.lock                  pid of the process flushing right now
 */
import { createHash, randomBytes } from 'node:crypto';
import { link, mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { CancelledError, InputError } from '../errors';
import { writeFileAtomic } from '../io/atomic';
import { defaultOutboxRoot, describeEndpoint, endpointKey, type Endpoint } from './config';
import { failureReasonText } from './commitment';
import { instanceIdsOf, isValidUid, type InstanceIds } from './dicom';
import { failsWholeQueue } from './errors';
import type { PacsClient } from './types';

/**
 * verified: stored and found by the read-back; stored: the PACS confirmed the store but the read-back was off or
 * could not be done (refused, aborted, too slow): the file leaves the outbox, and the event says why it is unverified.
 */
export type OutboxState = 'queued' | 'sending' | 'sent' | 'verified' | 'stored' | 'failed';

/** How a store is verified: a query for the instance (C-FIND / QIDO-RS), DICOM Storage Commitment, or not at all. */
export type Verification = 'cfind' | 'commitment' | 'none';

export interface OutboxEntry extends InstanceIds {
  /** The copy in the outbox. */
  file: string;
  /** Where the user's file was when it was queued. */
  source: string;
  queuedAt: string;
  attempts: number;
  lastAttemptAt?: string;
  lastError?: string;
}

export interface OutboxEvent {
  state: OutboxState;
  entry: OutboxEntry;
  /** For 'failed': why; for 'stored': why it is not verified; for 'sent': a PACS warning if any. */
  reason?: string;
}

export interface FlushOptions {
  onEvent?: (e: OutboxEvent) => void;
  /** Default 'cfind' (a read-back query; QIDO-RS for DICOMweb). */
  verification?: Verification;
  signal?: AbortSignal;
  /** Read-back attempts after a confirmed store (PACS may index asynchronously). Default 4. */
  verifyAttempts?: number;
  /** Delay before the 2nd read-back; doubles each time. Default 500 ms. */
  verifyDelayMs?: number;
}

export interface FlushResult {
  verified: OutboxEntry[];
  /** Confirmed stored by the PACS, not verified (why in `reason`); no longer in the outbox. */
  stored: { entry: OutboxEntry; reason: string }[];
  /** Entries still in the outbox, with the reason. */
  failed: { entry: OutboxEntry; reason: string }[];
}

/** Flushes running in this process, by outbox folder (see Outbox.flush). */
const FLUSHING = new Map<string, Promise<unknown>>();

/** Another process holds the outbox lock. The files are queued; that process sends them before it lets go. */
export class OutboxBusyError extends InputError {
  override name = 'OutboxBusyError';
  constructor(
    readonly dir: string,
    readonly pid: number,
    lockFile: string,
  ) {
    super(
      `another Halo process (pid ${pid}) is sending the outbox ${dir} right now; the files queued here stay in it, and ` +
        `that process sends them too before it finishes. If it is not Halo, delete ${lockFile}.`,
    );
  }
}

export class Outbox {
  readonly dir: string;

  /** `root`: outbox root folder; `destination`: the folder name for one PACS (see endpointKey). */
  constructor(
    root: string,
    readonly destination: string,
  ) {
    if (!/^[A-Za-z0-9._@-]+$/.test(destination) || destination.startsWith('.')) {
      throw new InputError(`outbox destination "${destination}" is not a safe folder name`);
    }
    this.dir = path.join(root, destination);
  }

  /** The outbox for an endpoint: <root>/<node name or sanitised address>. Root defaults to ~/.local/share/halo/outbox. */
  static forEndpoint(endpoint: Endpoint, root?: string): Outbox {
    return new Outbox(root ?? defaultOutboxRoot(), endpointKey(endpoint));
  }

  /**
   * Copy files into the outbox (atomically, fsync'd). All files are checked first: if any is not a DICOM instance
   * nothing is queued (InputError). Queuing a SOP Instance that is already queued replaces the older copy.
   */
  async enqueue(files: string[], onEvent?: (e: OutboxEvent) => void): Promise<OutboxEntry[]> {
    const loaded: { source: string; bytes: Buffer; ids: InstanceIds }[] = [];
    for (const f of files) {
      const source = path.resolve(f);
      let bytes: Buffer;
      try {
        bytes = await readFile(source);
      } catch (err) {
        throw new InputError(`cannot read ${source}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
      }
      const ids = instanceIdsOf(bytes, source);
      // The SOP Instance UID names the outbox file: one that is not a UID (".1.2", "../x") would be a hidden or
      // misplaced file that is never sent nor reported. A PACS would refuse such UIDs anyway.
      for (const [what, uid] of [
        ['SOP Instance UID', ids.sopInstanceUID],
        ['Series Instance UID', ids.seriesInstanceUID],
        ['Study Instance UID', ids.studyInstanceUID],
      ]) {
        if (!isValidUid(uid)) {
          throw new InputError(
            `${source} has ${what} ${JSON.stringify(uid)}, which is not a valid DICOM UID (digits and dots, no empty ` +
              'component, max 64 characters): a PACS cannot store it. Nothing was queued; fix or regenerate the UID (e.g. dcmodify -gin).',
          );
        }
      }
      loaded.push({ source, bytes, ids });
    }
    await this.ensureDir();
    const entries: OutboxEntry[] = [];
    for (const { source, bytes, ids } of loaded) {
      const file = path.join(this.dir, `${ids.sopInstanceUID}.dcm`);
      const entry: OutboxEntry = { ...ids, file, source, queuedAt: new Date().toISOString(), attempts: 0 };
      await writeDurably(file, bytes);
      await this.saveMeta(entry);
      entries.push(entry);
      onEvent?.({ state: 'queued', entry });
    }
    return entries;
  }

  /** What is waiting in the outbox (oldest first). */
  async list(): Promise<OutboxEntry[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const entries: OutboxEntry[] = [];
    for (const name of names.filter((n) => n.endsWith('.sent'))) await this.recoverSetAside(name, names);
    for (const name of names) {
      if (!name.endsWith('.dcm') || name.startsWith('.')) continue;
      const file = path.join(this.dir, name);
      const entry = await this.loadEntry(file);
      if (entry) entries.push(entry);
    }
    return entries.sort((a, b) => a.queuedAt.localeCompare(b.queuedAt) || a.file.localeCompare(b.file));
  }

  /**
   * Send everything in the outbox to `client`, verify each by read-back, remove what is verified.
   * Never throws for a PACS problem: those come back in `failed` (and as 'failed' events); throws CancelledError
   * when cancelled (files stay) and InputError when another process is flushing the same outbox.
   */
  async flush(client: PacsClient, opts: FlushOptions = {}): Promise<FlushResult> {
    // One flush per outbox folder at a time in this process (the file lock cannot tell two flushes of one process
    // apart): a second one (double Save, Save + Retry) waits its turn, then sends whatever is still waiting, so no
    // file is stored twice and none is reported failed by mistake.
    const before = FLUSHING.get(this.dir) ?? Promise.resolve();
    const mine = before.catch(() => undefined).then(() => this.flushLocked(client, opts));
    FLUSHING.set(this.dir, mine);
    try {
      return await mine;
    } finally {
      if (FLUSHING.get(this.dir) === mine) FLUSHING.delete(this.dir);
    }
  }

  private async flushLocked(client: PacsClient, opts: FlushOptions): Promise<FlushResult> {
    const result: FlushResult = { verified: [], stored: [], failed: [] };
    if ((await this.list()).length === 0) return result;
    const release = await this.lock();
    try {
      let fatal: string | undefined;
      const seen = new Set<string>();
      // Until nothing new is waiting: files queued while we send (by another Halo process, which found the lock
      // held) go out with this flush instead of waiting for a retry.
      for (;;) {
        const entries = (await this.list()).filter((e) => !seen.has(`${e.file}|${e.queuedAt}`));
        if (entries.length === 0) break;
        for (const entry of entries) {
          seen.add(`${entry.file}|${entry.queuedAt}`);
          if (opts.signal?.aborted) throw new CancelledError();
          if (fatal) {
            // The PACS is unreachable or refuses us: don't hammer it with every file, keep them for the retry.
            const reason = `not sent: ${fatal}`;
            await this.recordFailure(entry, reason, false);
            result.failed.push({ entry, reason });
            opts.onEvent?.({ state: 'failed', entry, reason });
            continue;
          }
          const outcome = await this.sendOne(client, entry, opts);
          if (outcome.ok && outcome.unverified) result.stored.push({ entry, reason: outcome.unverified });
          else if (outcome.ok) result.verified.push(entry);
          else {
            result.failed.push({ entry, reason: outcome.reason });
            if (outcome.fatal) fatal = outcome.reason;
          }
        }
      }
    } finally {
      await release();
    }
    return result;
  }

  private async sendOne(
    client: PacsClient,
    entry: OutboxEntry,
    opts: FlushOptions,
  ): Promise<{ ok: true; unverified?: string } | { ok: false; reason: string; fatal: boolean }> {
    const emit = opts.onEvent ?? (() => {});
    emit({ state: 'sending', entry });
    // What is sent: another process may queue a newer version of this SOP Instance while it is on its way.
    const sentHash = await fileHash(entry.file).catch(() => undefined);
    let stored;
    try {
      stored = await client.store(entry.file, { signal: opts.signal });
    } catch (err) {
      if (err instanceof CancelledError) throw err;
      const reason = err instanceof Error ? err.message : String(err);
      await this.recordFailure(entry, reason, true);
      emit({ state: 'failed', entry, reason });
      return { ok: false, reason, fatal: failsWholeQueue(err) };
    }
    emit({ state: 'sent', entry, reason: stored.warning });

    // The PACS confirmed the store. From here on nothing is a failed send: re-sending would not help, and a
    // read-back that is refused or slow says nothing about the stored file.
    const check = await this.verify(client, entry, opts);
    if (check.failed) {
      await this.recordFailure(entry, check.failed, true);
      emit({ state: 'failed', entry, reason: check.failed });
      return { ok: false, reason: check.failed, fatal: false };
    }
    const unverified = check.unverified;
    await this.removeSent(entry, sentHash);
    if (unverified) emit({ state: 'stored', entry, reason: unverified });
    else emit({ state: 'verified', entry });
    return { ok: true, unverified };
  }

  /**
   * Remove the outbox copy only while it still holds what was sent. Another Halo process may have queued a new
   * version of the same SOP Instance during the send (it writes the same file name); that version has not been
   * sent and must stay. The copy is first moved aside (atomic), so a version queued during the comparison lands
   * beside it instead of being deleted; a moved-aside newer version goes back unless an even newer one arrived.
   */
  private async removeSent(entry: OutboxEntry, sentHash: string | undefined): Promise<void> {
    const aside = `${entry.file}.${process.pid}.${randomBytes(4).toString('hex')}.sent`;
    try {
      await rename(entry.file, aside);
    } catch {
      return; // already gone
    }
    if (sentHash !== undefined && (await fileHash(aside)) === sentHash) {
      await rm(metaPath(entry.file), { force: true });
    } else {
      await link(aside, entry.file).catch(() => undefined); // EEXIST: an even newer version is queued
    }
    await rm(aside, { force: true });
  }

  /**
   * A copy set aside by removeSent (`<SOP>.dcm.<pid>.<random>.sent`) whose process died before it finished: it may be
   * a version never sent, so it goes back into the queue unless a newer one is already there.
   */
  private async recoverSetAside(name: string, names: string[]): Promise<void> {
    const m = /^(.+\.dcm)\.(\d+)\.[0-9a-f]+\.sent$/.exec(name);
    if (!m || isAlive(Number(m[2]))) return;
    const aside = path.join(this.dir, name);
    if (!names.includes(m[1])) await link(aside, path.join(this.dir, m[1])).catch(() => undefined);
    await rm(aside, { force: true });
    if (!names.includes(m[1])) names.push(m[1]);
  }

  /**
   * After a confirmed store: `failed` when the PACS says it does not hold the instance (read-back finds nothing, or
   * storage commitment lists it as failed: the file stays for a retry); `unverified` when the check is off or could
   * not be done (refused, aborted, slow, no report): the file is stored, the reason says why it is not verified.
   */
  private async verify(client: PacsClient, entry: OutboxEntry, opts: FlushOptions): Promise<{ failed?: string; unverified?: string }> {
    const how = opts.verification ?? 'cfind';
    if (how === 'none') return { unverified: `stored, not verified: verification is off for ${client.label}` };
    if (how === 'commitment') {
      if (!client.commitStorage) {
        return { unverified: `stored, not verified: storage commitment is a DIMSE service and ${client.label} is a DICOMweb node` };
      }
      let report;
      try {
        report = await client.commitStorage([{ sopClassUID: entry.sopClassUID, sopInstanceUID: entry.sopInstanceUID }], { signal: opts.signal });
      } catch (err) {
        if (err instanceof CancelledError) throw err;
        return { unverified: `stored, not verified: storage commitment failed (${err instanceof Error ? err.message : String(err)})` };
      }
      const failure = report.failed.find((f) => f.sopInstanceUID === entry.sopInstanceUID);
      if (failure) {
        return {
          failed:
            `${client.label} confirmed the store, but its storage commitment report lists SOP Instance ${entry.sopInstanceUID} ` +
            `as failed: Failure Reason ${failureReasonText(failure.reason)}. The file stays in the outbox; check the PACS log.`,
        };
      }
      if (!report.committed.includes(entry.sopInstanceUID)) {
        return { unverified: `stored, not verified: the storage commitment report of ${client.label} does not list SOP Instance ${entry.sopInstanceUID}` };
      }
      return {};
    }
    try {
      if (!(await this.readBack(client, entry, opts))) {
        return {
          failed:
            `${client.label} confirmed the store, but a read-back of SOP Instance ${entry.sopInstanceUID} does not find it ` +
            '(the PACS may index late, or dropped it).',
        };
      }
      return {};
    } catch (err) {
      if (err instanceof CancelledError) throw err;
      return { unverified: `stored, not verified: the read-back failed (${err instanceof Error ? err.message : String(err)})` };
    }
  }

  private async readBack(client: PacsClient, entry: OutboxEntry, opts: FlushOptions): Promise<boolean> {
    const attempts = Math.max(1, opts.verifyAttempts ?? 4);
    let delay = opts.verifyDelayMs ?? 500;
    for (let i = 0; i < attempts; i++) {
      if (i > 0) {
        await sleep(delay, opts.signal);
        delay *= 2;
      }
      const found = await client.hasInstance(entry.studyInstanceUID, entry.seriesInstanceUID, entry.sopInstanceUID, {
        signal: opts.signal,
      });
      if (found) return true;
    }
    return false;
  }

  private async recordFailure(entry: OutboxEntry, reason: string, attempted: boolean): Promise<void> {
    if (attempted) {
      entry.attempts += 1;
      entry.lastAttemptAt = new Date().toISOString();
    }
    entry.lastError = reason;
    try {
      await this.saveMeta(entry);
    } catch {
      // the .dcm is what matters; the sidecar is informational
    }
  }

  private async loadEntry(file: string): Promise<OutboxEntry | undefined> {
    try {
      const meta = JSON.parse(await readFile(metaPath(file), 'utf8')) as OutboxEntry;
      return { ...meta, file };
    } catch {
      // no or broken sidecar (e.g. killed between the two writes): rebuild it from the file itself
    }
    try {
      const bytes = await readFile(file);
      const ids = instanceIdsOf(bytes, file);
      const st = await stat(file);
      return { ...ids, file, source: file, queuedAt: st.mtime.toISOString(), attempts: 0 };
    } catch {
      return undefined; // vanished or unreadable: not ours to send
    }
  }

  private async saveMeta(entry: OutboxEntry): Promise<void> {
    await writeDurably(metaPath(entry.file), Buffer.from(JSON.stringify(entry, null, 2)));
  }

  private async ensureDir(): Promise<void> {
    try {
      await mkdir(this.dir, { recursive: true });
    } catch (err) {
      throw new InputError(`cannot create outbox folder ${this.dir}: ${(err as Error).message}. Check permissions or choose another --outbox.`);
    }
  }

  /** An exclusive lock on this destination's outbox; a lock left by a dead process is taken over. */
  private async lock(): Promise<() => Promise<void>> {
    await this.ensureDir();
    const lockFile = path.join(this.dir, '.lock');
    for (let tries = 0; tries < 2; tries++) {
      try {
        const fh = await open(lockFile, 'wx');
        await fh.writeFile(String(process.pid));
        await fh.close();
        return async () => {
          await rm(lockFile, { force: true });
        };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const pid = Number((await readFile(lockFile, 'utf8').catch(() => '')).trim());
        if (pid && pid !== process.pid && isAlive(pid)) throw new OutboxBusyError(this.dir, pid, lockFile);
        await rm(lockFile, { force: true }); // stale
      }
    }
    throw new InputError(`cannot lock the outbox ${this.dir}; another process keeps taking it. Try again.`);
  }
}

export interface SendOptions extends FlushOptions {
  /** Outbox root; default ~/.local/share/halo/outbox. */
  outboxRoot?: string;
}

/** Queue `files` for `endpoint` and flush its outbox (which also retries anything queued earlier). */
export async function sendViaOutbox(
  files: string[],
  endpoint: Endpoint,
  client: PacsClient,
  opts: SendOptions = {},
): Promise<FlushResult & { outbox: Outbox }> {
  const outbox = Outbox.forEndpoint(endpoint, opts.outboxRoot);
  await outbox.enqueue(files, opts.onEvent);
  const result = await outbox.flush(client, opts);
  return { ...result, outbox };
}

/** One-line summary of an endpoint's outbox, for messages. */
export function describeOutbox(outbox: Outbox, endpoint: Endpoint): string {
  return `outbox ${outbox.dir} (for ${describeEndpoint(endpoint)})`;
}

async function fileHash(file: string): Promise<string> {
  return createHash('sha256').update(await readFile(file)).digest('hex');
}

function metaPath(dcmFile: string): string {
  return dcmFile.replace(/\.dcm$/, '.json');
}

/** The atomic, fsync'd write, with a message that says what to check when the disk is full or read-only. */
async function writeDurably(file: string, data: Uint8Array): Promise<void> {
  try {
    await writeFileAtomic(file, data);
  } catch (err) {
    throw new InputError(`cannot write ${file}: ${(err as Error).message}. Check free space and permissions.`);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new CancelledError());
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new CancelledError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
