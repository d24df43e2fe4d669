/**
 * PACS settings (named nodes + our calling AE title) and the one parser that turns what the user typed
 * (`--to NAME`, `--from http://host:8042/dicom-web`, `--to dicom://AET@host:104`) into an Endpoint.
 *
 * Settings file (JSON), looked up at: --config PATH, else $HALO_PACS_CONFIG, else
 * $XDG_CONFIG_HOME/halo/pacs.json (default ~/.config/halo/pacs.json):
 *   { "callingAet": "HALO",
 *     "outboxDir": "/optional/override",
 *     "nodes": [ { "name": "research", "kind": "dicomweb", "url": "http://pacs:8042/dicom-web", "authHeader": "Bearer …" },
 *                { "name": "clinical", "kind": "dimse", "aet": "PACS", "host": "10.0.0.5", "port": 104 } ] }
 */
import { mkdir, readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../io/atomic';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { InputError } from '../errors';

/** AE title: 1–16 characters of the default character repertoire, no backslash, not all spaces (PS3.5 6.2). */
const AE_TITLE = /^[\x20-\x5b\x5d-\x7e]{1,16}$/;

export function isValidAeTitle(aet: string): boolean {
  return AE_TITLE.test(aet) && aet.trim().length > 0;
}

const aeTitle = z
  .string()
  .refine(isValidAeTitle, 'an AE title is 1-16 printable ASCII characters, no backslash, not blank');

const httpUrl = z.string().refine((s) => {
  try {
    const u = new URL(s);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}, 'must be an http:// or https:// URL, e.g. http://pacs:8042/dicom-web');

const nodeName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'a node name is letters, digits, . _ - (max 64), starting with a letter/digit');

/**
 * How a store is verified: 'cfind' (default) queries the PACS for the instance (C-FIND, or QIDO-RS for DICOMweb);
 * 'commitment' (DIMSE nodes) asks for DICOM Storage Commitment (N-ACTION, then the PACS's N-EVENT-REPORT on the
 * port in `storageCommitment`); 'none' trusts the store confirmation (for store-only PACS that refuse queries from us).
 */
const verification = z.enum(['cfind', 'none']);
const dimseVerification = z.enum(['cfind', 'commitment', 'none']);

const DicomWebNodeSchema = z.object({
  name: nodeName,
  kind: z.literal('dicomweb'),
  url: httpUrl,
  verification: verification.optional(),
  /** Value of the HTTP Authorization header, e.g. "Bearer eyJ…" or "Basic dXNlcjpwYXNz". */
  authHeader: z.string().min(1).optional(),
  /** The Authorization value sealed by the desktop app with the OS keychain (base64); see credentials.ts. */
  authSealed: z.string().regex(/^[A-Za-z0-9+/]+={0,2}$/, 'must be base64 (written by the Halo app)').optional(),
  /** A PEM file of the hospital's own CA, trusted for this node beside the system's CAs (see node-ca.ts). */
  caFile: z.string().min(1).optional(),
});

const DimseNodeSchema = z.object({
  name: nodeName,
  kind: z.literal('dimse'),
  aet: aeTitle,
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535),
  verification: dimseVerification.optional(),
});

/** Where Halo listens for Storage Commitment reports: the port the PACS has registered for our AE title. */
const StorageCommitmentSchema = z
  .object({
    port: z.number().int().min(1).max(65535),
    /** How long to wait for the report after the PACS accepted the request. Default 60. */
    waitSeconds: z.number().positive().max(3600).optional(),
  })
  .strict();

/** Seconds; for slow links or busy PACS. Defaults: connect 10, association 15, response 60 (DIMSE, between PDUs), query 30 (QIDO-RS), transfer 300 (WADO-RS/STOW-RS per instance). */
const TimeoutsSchema = z
  .object({
    connectSeconds: z.number().positive().max(600).optional(),
    associationSeconds: z.number().positive().max(600).optional(),
    responseSeconds: z.number().positive().max(3600).optional(),
    querySeconds: z.number().positive().max(3600).optional(),
    transferSeconds: z.number().positive().max(7200).optional(),
  })
  .strict();

export type PacsTimeouts = z.infer<typeof TimeoutsSchema>;

export const PacsSettingsSchema = z.object({
  /** Our own AE title, used as calling AE for every DIMSE association. */
  callingAet: aeTitle.default('HALO'),
  /** Outbox root folder; default $XDG_DATA_HOME/halo/outbox (~/.local/share/halo/outbox). */
  outboxDir: z.string().min(1).optional(),
  nodes: z.array(z.discriminatedUnion('kind', [DicomWebNodeSchema, DimseNodeSchema])).default([]),
  timeouts: TimeoutsSchema.optional(),
  storageCommitment: StorageCommitmentSchema.optional(),
});

export type PacsSettings = z.infer<typeof PacsSettingsSchema>;
export type PacsNode = PacsSettings['nodes'][number];

export interface DicomWebEndpoint {
  kind: 'dicomweb';
  /** The settings name, or the URL for an ad-hoc endpoint. */
  name: string;
  /** Base URL without trailing slash, e.g. http://pacs:8042/dicom-web */
  url: string;
  authHeader?: string;
  verification?: 'cfind' | 'none';
  /** The node's own CA (PEM), trusted beside the system's. */
  caFile?: string;
}

export interface DimseEndpoint {
  kind: 'dimse';
  /** The settings name, or `dicom://AET@host:port` for an ad-hoc endpoint. */
  name: string;
  callingAet: string;
  calledAet: string;
  host: string;
  port: number;
  verification?: 'cfind' | 'commitment' | 'none';
}

export type Endpoint = DicomWebEndpoint | DimseEndpoint;

/** How the endpoint appears in messages: `name (where)`, or just `where` for ad-hoc ones. */
export function describeEndpoint(ep: Endpoint): string {
  const where = ep.kind === 'dicomweb' ? ep.url : `dicom://${ep.calledAet}@${ep.host}:${ep.port}`;
  return ep.name === where ? where : `${ep.name} (${where})`;
}

/**
 * A file-system-safe, stable folder name for an endpoint (used for its outbox folder): the node name for
 * configured nodes, a sanitised form of the address for ad-hoc ones.
 */
export function endpointKey(ep: Endpoint): string {
  const raw = ep.name;
  if (/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(raw)) return raw;
  return raw
    .replace(/^[a-z]+:\/\//i, (m) => m.slice(0, -3) + '_')
    .replace(/[^A-Za-z0-9._@-]+/g, '_')
    .replace(/_+$/, '')
    .slice(0, 120);
}

export function defaultConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
  return path.join(base, 'halo', 'pacs.json');
}

export function defaultOutboxRoot(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_DATA_HOME || path.join(os.homedir(), '.local', 'share');
  return path.join(base, 'halo', 'outbox');
}

export interface LoadedSettings {
  settings: PacsSettings;
  /** Where they came from; undefined when no file exists at the default path (built-in defaults). */
  path?: string;
}

/**
 * Load and validate settings. An explicitly named file (--config or $HALO_PACS_CONFIG) must exist; a missing
 * default file just means "no named nodes" (ad-hoc URLs still work).
 */
export async function loadPacsSettings(
  /** missingOk: a named file that does not exist yet is empty settings (the app's panel creates it on save). */
  opts: { configPath?: string; env?: NodeJS.ProcessEnv; missingOk?: boolean } = {},
): Promise<LoadedSettings> {
  const env = opts.env ?? process.env;
  const explicit = opts.configPath ?? (env.HALO_PACS_CONFIG || undefined);
  const file = explicit ?? defaultConfigPath(env);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !explicit) return { settings: PacsSettingsSchema.parse({}) };
    if (code === 'ENOENT' && opts.missingOk) return { settings: PacsSettingsSchema.parse({}), path: file };
    const via = opts.configPath ? '--config' : env.HALO_PACS_CONFIG ? 'HALO_PACS_CONFIG' : 'default path';
    throw new InputError(
      `cannot read PACS settings ${file} (from ${via}): ${code === 'ENOENT' ? 'no such file' : (err as Error).message}. ` +
        'Create it (see main/pacs/config.ts for the format) or point --config / HALO_PACS_CONFIG at the right file.',
    );
  }
  return { settings: parsePacsSettings(text, file), path: file };
}

/** Validate settings JSON text; `file` is only used in error messages. */
export function parsePacsSettings(text: string, file = 'PACS settings'): PacsSettings {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new InputError(`PACS settings ${file} is not valid JSON: ${(err as Error).message}. Fix the file.`);
  }
  const parsed = PacsSettingsSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`).join('; ');
    throw new InputError(`PACS settings ${file} are invalid: ${problems}. Fix the file.`);
  }
  const seen = new Set<string>();
  for (const n of parsed.data.nodes) {
    if (seen.has(n.name)) throw new InputError(`PACS settings ${file}: node name "${n.name}" is used twice. Rename one.`);
    seen.add(n.name);
  }
  // A hand-edited `user:password@` in a node's URL is taken out of it at once, so the URL can be shown and sent to
  // the renderer; it becomes the node's credentials unless the node has its own.
  const nodes = parsed.data.nodes.map((n): PacsNode => {
    if (n.kind !== 'dicomweb') return n;
    const { url, authHeader } = splitUrlCredentials(n.url);
    if (!authHeader) return n;
    return n.authHeader || n.authSealed ? { ...n, url } : { ...n, url, authHeader };
  });
  return { ...parsed.data, nodes };
}

/** `user:password@` taken out of a DICOMweb URL: the URL without them, and the Basic Authorization value they make. */
export function splitUrlCredentials(url: string): { url: string; authHeader?: string } {
  let u: URL;
  try {
    u = new URL(url.trim());
  } catch {
    return { url };
  }
  if (!u.username && !u.password) return { url };
  const authHeader = `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}`;
  u.username = '';
  u.password = '';
  return { url: u.toString(), authHeader };
}

/**
 * Turn what the user typed into an endpoint: a node name from the settings, a DICOMweb base URL
 * (`http(s)://host:port/dicom-web`) or `dicom://AET@host:port`. `callingAet` overrides the settings' AE title.
 */
export function resolveEndpoint(
  spec: string,
  settings: PacsSettings,
  opts: { callingAet?: string; authorization?: string } = {},
): Endpoint {
  const ep = resolveSpec(spec, settings, opts);
  if (ep.kind === 'dicomweb' && opts.authorization) {
    if (/[\r\n]/.test(opts.authorization)) throw new InputError('the Authorization value must be one line.');
    return { ...ep, authHeader: opts.authorization };
  }
  const node = settings.nodes.find((n) => n.name === spec.trim());
  if (ep.kind === 'dicomweb' && !ep.authHeader && node?.kind === 'dicomweb' && node.authSealed) {
    throw new InputError(
      `The credentials of PACS node "${node.name}" were saved by the Halo app, encrypted with this user's OS keychain, which only the app can open. ` +
        'Here, give them with --auth or $HALO_PACS_AUTHORIZATION.',
    );
  }
  return ep;
}

/**
 * A warning when credentials would travel over plain http:// to another machine, where anyone on the network path
 * can read them (loopback stays on this computer, e.g. a local proxy that adds TLS).
 */
export function plainHttpWarning(ep: Endpoint): string | undefined {
  if (ep.kind !== 'dicomweb' || !ep.authHeader) return undefined;
  const u = new URL(ep.url);
  const loopback = u.hostname === 'localhost' || u.hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(u.hostname);
  if (u.protocol !== 'http:' || loopback) return undefined;
  return `the credentials for ${ep.name} are sent to ${u.host} over plain http://, readable by anyone on the network path. Use the server's https:// address.`;
}

/**
 * A spec with the credentials taken out, for messages and retry hints: `http://user:pass@host/x` becomes
 * `http://host/x`. Anything else is returned as given.
 */
export function redactSpec(spec: string): string {
  const t = spec.trim();
  if (!/^https?:\/\//i.test(t)) return spec;
  try {
    const u = new URL(t);
    if (!u.username && !u.password) return spec;
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return spec.replace(/\/\/[^@/]*@/, '//');
  }
}

function resolveSpec(spec: string, settings: PacsSettings, opts: { callingAet?: string }): Endpoint {
  const callingAet = opts.callingAet ?? settings.callingAet;
  if (!isValidAeTitle(callingAet)) {
    throw new InputError(`calling AE title "${callingAet}" is invalid: use 1-16 printable ASCII characters, no backslash.`);
  }
  const trimmed = spec.trim();
  const node = settings.nodes.find((n) => n.name === trimmed);
  if (node) {
    if (node.kind === 'dicomweb') {
      return { kind: 'dicomweb', name: node.name, url: stripSlash(node.url), authHeader: node.authHeader, verification: node.verification, caFile: node.caFile };
    }
    return {
      kind: 'dimse',
      name: node.name,
      callingAet,
      calledAet: node.aet,
      host: node.host,
      port: node.port,
      verification: node.verification,
    };
  }
  if (/^https?:\/\//i.test(trimmed)) {
    let u: URL;
    try {
      u = new URL(trimmed);
    } catch {
      throw new InputError(`"${redactSpec(spec)}" is not a valid URL. Use a DICOMweb base URL like http://pacs:8042/dicom-web.`);
    }
    if (u.search || u.hash) {
      throw new InputError(`DICOMweb URL "${redactSpec(spec)}" must be a base URL without ?query or #fragment, e.g. http://pacs:8042/dicom-web.`);
    }
    // Credentials written into the URL become an Authorization header and leave the URL, so they never show up
    // in messages, retry hints or the outbox folder name.
    const split = splitUrlCredentials(u.toString());
    const authHeader = split.authHeader;
    const url = stripSlash(split.url);
    return authHeader ? { kind: 'dicomweb', name: url, url, authHeader } : { kind: 'dicomweb', name: url, url };
  }
  if (/^dicom:\/\//i.test(trimmed)) {
    const m = /^dicom:\/\/([^@]+)@(\[[^\]]+\]|[^:/@]+):(\d{1,5})\/?$/i.exec(trimmed);
    if (!m) {
      throw new InputError(`"${spec}" is not a valid DIMSE address. Use dicom://AET@host:port, e.g. dicom://PACS@10.0.0.5:104.`);
    }
    const calledAet = decodeURIComponent(m[1]);
    const port = Number(m[3]);
    if (!isValidAeTitle(calledAet)) {
      throw new InputError(`"${spec}": AE title "${calledAet}" is invalid (1-16 printable ASCII characters, no backslash).`);
    }
    if (port < 1 || port > 65535) throw new InputError(`"${spec}": port ${port} is out of range 1-65535.`);
    const host = m[2].replace(/^\[|\]$/g, '');
    return { kind: 'dimse', name: `dicom://${calledAet}@${m[2]}:${port}`, callingAet, calledAet, host, port };
  }
  const known = settings.nodes.map((n) => n.name);
  throw new InputError(
    `unknown PACS "${redactSpec(spec)}". ` +
      (known.length ? `Configured nodes: ${known.join(', ')}. ` : 'No nodes are configured. ') +
      'Give a node name from the PACS settings, a DICOMweb URL (http://host:port/dicom-web) or dicom://AET@host:port.',
  );
}

/** A node as the UI edits it: only the fields it shows (never credentials). */
export type EditedNode =
  | { name: string; kind: 'dicomweb'; url: string }
  | { name: string; kind: 'dimse'; aet: string; host: string; port: number };

/**
 * The settings after the UI's edit. Fields the UI does not show (credentials, verification) are kept from the node
 * of the same name and kind, except that credentials are dropped when the node's server changes (scheme, host or
 * port): a password given for one server must never be sent to another one just because the URL was edited.
 */
export function applyNodeEdits(old: PacsSettings, edit: { callingAet: string; nodes: EditedNode[] }): PacsSettings {
  const nodes = edit.nodes.map((n): PacsNode => {
    const before = old.nodes.find((o) => o.name === n.name && o.kind === n.kind);
    if (!before) return n;
    const merged = { ...before, ...n } as PacsNode;
    if (merged.kind === 'dicomweb' && before.kind === 'dicomweb' && !sameOrigin(before.url, merged.url)) {
      delete merged.authHeader;
      delete merged.authSealed;
    }
    return merged;
  });
  return { ...old, callingAet: edit.callingAet, nodes };
}

function sameOrigin(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
}

/**
 * Validate (the same checks as on reading) and write the settings atomically with mode 0600: the file may hold
 * credentials, so it stays readable by its owner only, whatever the umask.
 */
export async function savePacsSettings(file: string, settings: PacsSettings): Promise<void> {
  const text = JSON.stringify(settings, null, 2);
  parsePacsSettings(text, file);
  try {
    await mkdir(path.dirname(file), { recursive: true });
    await writeFileAtomic(file, text + '\n', { mode: 0o600 });
  } catch (err) {
    throw new InputError(`cannot write the PACS settings ${file}: ${(err as Error).message}. Check free space and permissions.`);
  }
}

function stripSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
