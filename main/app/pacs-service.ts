/**
 * The PACS as the app uses it: the settings file (read, edited from the UI), echo, study search and retrieval.
 * The protocols themselves live in main/pacs.
 */
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CancelledError, InputError } from '../errors';
import { connectPacs } from '../pacs/client';
import { applyNodeEdits, defaultConfigPath, loadPacsSettings, savePacsSettings, splitUrlCredentials, type PacsSettings } from '../pacs/config';
import {
  authorizationValue,
  credentialState,
  credentialStoreDescription,
  openCredentials,
  withCredentials,
  type SecretSealer,
} from '../pacs/credentials';
import { echoWithoutProbing } from '../pacs/echo';
import type { ParsedArgOf, PacsSettingsView, PacsStudy } from './contract';
import type { Emit } from './host';
import { retrievedDir } from './paths';
import { newId } from './studies';

const RETRIEVAL_CANCELLED = 'Retrieval cancelled. Nothing was opened; retrieve the study again to view it.';
/** A partial folder untouched this long belongs to a retrieval that died with its process (files arrive often). */
const STALE_PARTIAL_MS = 60 * 60 * 1000;

export class PacsService {
  /** The retrieval under way (one at a time: the study browser waits for it), so that it can be cancelled. */
  private retrieval: AbortController | null = null;

  /** `sealer`: the OS keychain in the desktop app; absent in the browser bridge (see pacs/credentials.ts). */
  constructor(
    private readonly emit: Emit,
    private readonly sealer?: SecretSealer,
  ) {}

  /** The settings, with the credentials of `node` (the one about to be connected to) opened. */
  async settings(node?: string): Promise<PacsSettings> {
    return openCredentials((await loadPacsSettings({ missingOk: true })).settings, this.sealer, node);
  }

  /** What the settings panel shows: never a credential, only whether a node has one and where it is kept. */
  async getSettings(): Promise<PacsSettingsView> {
    const loaded = await loadPacsSettings({ missingOk: true });
    const file = loaded.path ?? settingsFile();
    return {
      callingAet: loaded.settings.callingAet,
      nodes: loaded.settings.nodes.map((n) =>
        n.kind === 'dicomweb'
          ? { name: n.name, kind: n.kind, url: n.url, credentials: credentialState(n) }
          : { name: n.name, kind: n.kind, aet: n.aet, host: n.host, port: n.port },
      ),
      file,
      credentialStore: credentialStoreDescription(this.sealer, file),
    };
  }

  /** Write-only: the credentials go to the settings (sealed where a keychain is at hand) and never come back. */
  async setCredentials(a: ParsedArgOf<'pacs.setCredentials'>): Promise<PacsSettingsView> {
    const value = a.scheme === 'none' ? undefined : authorizationValue(a);
    const loaded = await loadPacsSettings({ missingOk: true });
    await savePacsSettings(loaded.path ?? settingsFile(), withCredentials(loaded.settings, a.node, value, this.sealer));
    return this.getSettings();
  }

  /**
   * Write the nodes edited in the UI. What the UI never sees (credentials, other fields) is kept from the node of
   * the same name and kind. An empty list never replaces a non-empty one unless the user removed every node on
   * purpose (`removeAll`): a panel that failed to load must not wipe the configuration.
   */
  async setSettings(a: ParsedArgOf<'pacs.setSettings'>): Promise<PacsSettingsView> {
    const loaded = await loadPacsSettings({ missingOk: true });
    const file = loaded.path ?? settingsFile();
    if (!a.nodes.length && loaded.settings.nodes.length && !a.removeAll) {
      throw new InputError(
        `Not saved: this would delete all ${loaded.settings.nodes.length} PACS nodes in ${file}. Remove them one by one in the list if that is what you want.`,
      );
    }
    // `user:password@` typed into a URL leaves it here: the URL is saved bare and they become the node's credentials
    // (sealed where a keychain is at hand), which no handler returns.
    const fromUrls = new Map<string, string>();
    const nodes = a.nodes.map((n) => {
      if (n.kind !== 'dicomweb') return n;
      const { url, authHeader } = splitUrlCredentials(n.url);
      if (authHeader) fromUrls.set(n.name, authHeader);
      return { ...n, url };
    });
    // Credentials are kept only while the node's server (scheme, host, port) stays the same: see applyNodeEdits.
    let settings = applyNodeEdits(loaded.settings, { ...a, nodes });
    for (const [node, value] of fromUrls) settings = withCredentials(settings, node, value, this.sealer);
    await savePacsSettings(file, settings);
    return this.getSettings();
  }

  async echo(node: string): Promise<{ ms: number }> {
    const { client } = await connectPacs(node, { settings: await this.settings(node) });
    return echoWithoutProbing(client);
  }

  async findStudies(a: ParsedArgOf<'pacs.findStudies'>): Promise<PacsStudy[]> {
    const { client } = await connectPacs(a.node, { settings: await this.settings(a.node) });
    const found = await client.findStudies(
      { patientName: a.patientName || undefined, patientId: a.patientId || undefined, studyDate: a.studyDate || undefined, limit: a.limit },
      { signal: AbortSignal.timeout(30_000) },
    );
    return found.map((s) => ({
      studyInstanceUID: s.studyInstanceUID,
      patientName: s.patientName.replace(/\^/g, ' ').trim(),
      patientId: s.patientId,
      studyDate: s.studyDate,
      studyDescription: s.studyDescription,
      modalities: s.modalities,
      numberOfSeries: s.numberOfSeries,
    }));
  }

  /**
   * Retrieve a study into the app's data folder; the folder it is in. It arrives in a partial folder that replaces
   * the study's folder only once complete: a cancelled or failed retrieval leaves no half study that could be opened.
   */
  async retrieve(node: string, studyInstanceUID: string): Promise<string> {
    this.retrieval?.abort();
    const controller = (this.retrieval = new AbortController());
    const out = join(retrievedDir(), studyInstanceUID);
    const partial = join(retrievedDir(), `.partial-${studyInstanceUID}-${newId()}`);
    // Housekeeping only: a folder that cannot be deleted (permissions) must not stop the retrieval asked for.
    await removeStalePartials(retrievedDir(), STALE_PARTIAL_MS).catch(() => []);
    try {
      const { client } = await connectPacs(node, { settings: await this.settings(node) });
      await mkdir(partial, { recursive: true });
      await client.retrieveStudy(studyInstanceUID, partial, {
        signal: controller.signal,
        onProgress: (p) => this.emit('pacs.retrieve', { node, studyInstanceUID, done: p.done, total: p.total }),
      });
      if (!controller.signal.aborted) {
        await rm(out, { recursive: true, force: true });
        await rename(partial, out);
      }
    } catch (err) {
      if (!controller.signal.aborted) throw err;
    } finally {
      if (this.retrieval === controller) this.retrieval = null;
      await rm(partial, { recursive: true, force: true });
    }
    if (controller.signal.aborted) throw new CancelledError(RETRIEVAL_CANCELLED);
    return out;
  }

  cancelRetrieve(): { cancelled: boolean } {
    if (!this.retrieval) return { cancelled: false };
    this.retrieval.abort();
    return { cancelled: true };
  }
}

/**
 * Delete the partial folders of retrievals that ended with their process (a crash, a kill): nothing lists or opens
 * them, they only take space. A folder modified within `maxAgeMs` may be another window's retrieval: it stays.
 */
export async function removeStalePartials(dir: string, maxAgeMs: number, now = Date.now()): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names.filter((n) => n.startsWith('.partial-'))) {
    const path = join(dir, name);
    const touched = await lastTouched(path);
    if (touched !== null && now - touched > maxAgeMs) {
      await rm(path, { recursive: true, force: true });
      removed.push(name);
    }
  }
  return removed;
}

/** When a partial folder last changed: files land in its series folders, so theirs count too. */
async function lastTouched(dir: string): Promise<number | null> {
  const info = await stat(dir).catch(() => null);
  if (!info?.isDirectory()) return null;
  const inside = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const series = await Promise.all(inside.filter((e) => e.isDirectory()).map((e) => stat(join(dir, e.name)).catch(() => null)));
  return Math.max(info.mtimeMs, ...series.map((s) => s?.mtimeMs ?? 0));
}

function settingsFile(): string {
  return process.env.HALO_PACS_CONFIG || defaultConfigPath();
}
