/**
 * One interface for both PACS protocols. `openPacs(endpoint)` gives a PacsClient for a resolved endpoint;
 * `connectPacs(spec, …)` goes from what the user typed (node name, DICOMweb URL, dicom://AET@host:port).
 */
import { loadPacsSettings, plainHttpWarning, resolveEndpoint, type Endpoint, type PacsSettings } from './config';
import { DicomWebClient, type DicomWebClientOptions } from './dicomweb';
import { DimseClient, type DimseClientOptions } from './dimse';
import type { PacsClient } from './types';

export type {
  EchoResult,
  PacsClient,
  RetrieveOptions,
  RetrieveProgress,
  RetrieveResult,
  SeriesSummary,
  StoreResult,
  StudyQuery,
  StudySummary,
} from './types';
export { PacsError, type PacsFailure } from './errors';

export interface OpenPacsOptions {
  dicomweb?: DicomWebClientOptions;
  dimse?: DimseClientOptions;
}

export function openPacs(endpoint: Endpoint, opts: OpenPacsOptions = {}): PacsClient {
  return endpoint.kind === 'dicomweb' ? new DicomWebClient(endpoint, opts.dicomweb) : new DimseClient(endpoint, opts.dimse);
}

export interface ConnectOptions extends OpenPacsOptions {
  /** Settings already loaded; otherwise loaded from configPath / HALO_PACS_CONFIG / the default path. */
  settings?: PacsSettings;
  configPath?: string;
  callingAet?: string;
  /** Authorization header value for a DICOMweb endpoint (CLI: --auth / $HALO_PACS_AUTHORIZATION); overrides the node's. */
  authorization?: string;
  /** Told what the user should know before anything is sent (e.g. credentials over plain http://). */
  onWarning?: (message: string) => void;
}

/** Resolve `spec` against the PACS settings and open a client for it. */
export async function connectPacs(
  spec: string,
  opts: ConnectOptions = {},
): Promise<{ client: PacsClient; endpoint: Endpoint; settings: PacsSettings }> {
  const settings = opts.settings ?? (await loadPacsSettings({ configPath: opts.configPath })).settings;
  const endpoint = resolveEndpoint(spec, settings, { callingAet: opts.callingAet, authorization: opts.authorization });
  const warning = plainHttpWarning(endpoint);
  if (warning) opts.onWarning?.(warning);
  // The settings' timeouts, unless the caller gave its own.
  const t = settings.timeouts ?? {};
  const ms = (s?: number) => (s === undefined ? undefined : s * 1000);
  const clientOpts: OpenPacsOptions = {
    dicomweb: { queryTimeoutMs: ms(t.querySeconds), transferTimeoutMs: ms(t.transferSeconds), ...opts.dicomweb },
    dimse: {
      connectTimeoutMs: ms(t.connectSeconds),
      associationTimeoutMs: ms(t.associationSeconds),
      pduTimeoutMs: ms(t.responseSeconds),
      commitmentPort: settings.storageCommitment?.port,
      commitmentWaitMs: ms(settings.storageCommitment?.waitSeconds),
      ...opts.dimse,
    },
  };
  return { client: openPacs(endpoint, clientOpts), endpoint, settings };
}
