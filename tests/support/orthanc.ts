/**
 * A private, throw-away Orthanc for integration tests: its own config, storage and index in a temp dir, HTTP and
 * DICOM ports picked free on 127.0.0.1, DICOMweb plugin loaded, our AE registered so C-GET works.
 * Never touches a system-wide Orthanc. `stop()` + `start()` restarts it on the same ports and storage.
 *
 * Orthanc 1.10 (Debian 12) has no bind-address option: the DICOM port listens on all interfaces. We therefore allow
 * nothing to unknown peers (all DicomAlwaysAllow* false, host checked), and RemoteAccessAllowed=false keeps the
 * HTTP API local-only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ORTHANC_BIN = '/usr/sbin/Orthanc';
export const DICOMWEB_PLUGIN = '/usr/share/orthanc/plugins/libOrthancDicomWeb.so';

/** True when the Orthanc binary and DICOMweb plugin are installed (apt: orthanc orthanc-dicomweb). */
export function orthancAvailable(): boolean {
  return existsSync(ORTHANC_BIN) && existsSync(DICOMWEB_PLUGIN);
}

export interface OrthancOptions {
  /** Orthanc's own AE title (the "called AE" for DIMSE). */
  aet?: string;
  /** The AE title our client uses; registered in DicomModalities with host 127.0.0.1. */
  clientAet?: string;
  /**
   * What Orthanc allows to AE titles it does not know (DicomAlwaysAllow*). Default none. ['echo', 'store'] with
   * `clientAet` set to another AE is Orthanc's out-of-the-box setup as hospitals meet it: Halo may store, not query.
   */
  allowUnknown?: ('echo' | 'store' | 'find' | 'get')[];
  /**
   * The port registered for `clientAet` (default 104, i.e. nobody). Orthanc sends Storage Commitment reports
   * (N-EVENT-REPORT) to 127.0.0.1 on this port, so a commitment test gives the port where Halo listens.
   */
  clientPort?: number;
  /** HTTP users (name → password): Orthanc then wants Basic auth on every HTTP request, DICOMweb included. */
  users?: Record<string, string>;
}

export class TestOrthanc {
  readonly aet: string;
  readonly clientAet: string;
  private readonly allowUnknown: NonNullable<OrthancOptions['allowUnknown']>;
  private readonly clientPort: number;
  private readonly users: Record<string, string> | undefined;
  dir = '';
  httpPort = 0;
  dicomPort = 0;
  private proc: ChildProcess | undefined;
  private log: string[] = [];

  constructor(opts: OrthancOptions = {}) {
    this.aet = opts.aet ?? 'HALOTEST';
    this.clientAet = opts.clientAet ?? 'HALO';
    this.allowUnknown = opts.allowUnknown ?? [];
    this.clientPort = opts.clientPort ?? 104;
    this.users = opts.users;
  }

  /** Headers for our own REST calls: the first user's Basic auth when users are set. */
  private get restHeaders(): Record<string, string> {
    const first = this.users && Object.entries(this.users)[0];
    return first ? { authorization: `Basic ${Buffer.from(`${first[0]}:${first[1]}`).toString('base64')}` } : {};
  }

  get httpUrl(): string {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  get dicomWebUrl(): string {
    return `${this.httpUrl}/dicom-web`;
  }

  /** `dicom://AET@127.0.0.1:port` for the DIMSE side. */
  get dimseUrl(): string {
    return `dicom://${this.aet}@127.0.0.1:${this.dicomPort}`;
  }

  /** Starts Orthanc (creating the temp dir and picking ports on the first call) and waits until /system answers. */
  async start(): Promise<void> {
    if (this.proc) return;
    if (!this.dir) {
      this.dir = await mkdtemp(join(tmpdir(), 'halo-orthanc-'));
      await mkdir(join(this.dir, 'db'), { recursive: true });
      this.httpPort = await freePort();
      this.dicomPort = await freePort();
      while (this.dicomPort === this.httpPort) this.dicomPort = await freePort();
      await writeFile(join(this.dir, 'orthanc.json'), JSON.stringify(this.config(), null, 2));
    }
    this.log = [];
    const proc = spawn(ORTHANC_BIN, [join(this.dir, 'orthanc.json')], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    const keep = (b: Buffer) => {
      this.log.push(b.toString());
      if (this.log.length > 200) this.log.shift();
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    let exited = false;
    proc.once('exit', () => {
      exited = true;
      if (this.proc === proc) this.proc = undefined;
    });
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (exited) throw new Error(`Orthanc exited during start-up:\n${this.log.join('')}`);
      try {
        const res = await fetch(`${this.httpUrl}/system`, { headers: this.restHeaders, signal: AbortSignal.timeout(1000) });
        if (res.ok) {
          await res.arrayBuffer();
          return;
        }
      } catch {
        // not up yet
      }
      await sleep(100);
    }
    await this.stop();
    throw new Error(`Orthanc did not answer on ${this.httpUrl}/system within 30 s:\n${this.log.join('')}`);
  }

  /** Stops Orthanc (SIGTERM, then SIGKILL after 10 s); storage and ports are kept for a restart. */
  async stop(): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    this.proc = undefined;
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }

  /** Stops Orthanc and deletes its temp dir. */
  async dispose(): Promise<void> {
    await this.stop();
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }

  /** Orthanc's recent log output (for failure messages). */
  logs(): string {
    return this.log.join('');
  }

  /** GET on Orthanc's own REST API (JSON). */
  async rest<T = unknown>(path: string): Promise<T> {
    const res = await fetch(`${this.httpUrl}${path}`, { headers: this.restHeaders });
    if (!res.ok) throw new Error(`Orthanc REST ${path}: HTTP ${res.status}`);
    return (await res.json()) as T;
  }

  private config(): Record<string, unknown> {
    return {
      Name: 'halo-test',
      StorageDirectory: join(this.dir, 'db'),
      IndexDirectory: join(this.dir, 'db'),
      Plugins: [DICOMWEB_PLUGIN],
      DicomWeb: { Enable: true, Root: '/dicom-web/', EnableWado: false, Host: `127.0.0.1:${this.httpPort}` },
      HttpServerEnabled: true,
      HttpPort: this.httpPort,
      RemoteAccessAllowed: false,
      AuthenticationEnabled: !!this.users,
      ...(this.users ? { RegisteredUsers: this.users } : {}),
      OrthancExplorerEnabled: false,
      WebDavEnabled: false,
      HttpThreadsCount: 8,
      DicomServerEnabled: true,
      DicomAet: this.aet,
      DicomPort: this.dicomPort,
      DicomCheckCalledAet: true,
      DicomCheckModalityHost: true,
      DicomAlwaysAllowEcho: this.allowUnknown.includes('echo'),
      DicomAlwaysAllowStore: this.allowUnknown.includes('store'),
      DicomAlwaysAllowFind: this.allowUnknown.includes('find'),
      DicomAlwaysAllowGet: this.allowUnknown.includes('get'),
      DicomAlwaysAllowMove: false,
      DicomModalities: {
        halo: {
          AET: this.clientAet,
          Host: '127.0.0.1',
          Port: this.clientPort,
          AllowEcho: true,
          AllowFind: true,
          AllowGet: true,
          AllowMove: false,
          AllowStore: true,
          AllowStorageCommitment: true,
        },
      },
      DicomThreadsCount: 4,
      ConcurrentJobs: 1,
      SaveJobs: false,
      StableAge: 1,
      OverwriteInstances: true,
      StorageCompression: false,
      LuaScripts: [],
      DicomScpTimeout: 30,
    };
  }
}

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
