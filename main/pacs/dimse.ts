/**
 * DIMSE client over dcmjs-dimse: C-ECHO, C-FIND (study, series, and IMAGE level for read-back), C-GET, C-STORE.
 * One association per operation.
 *
 * Retrieval uses C-GET, not C-MOVE: with C-GET the instances come back over the association we opened, so Halo
 * needs no listening port, no firewall opening towards the workstation and no "move destination" entry (AE + IP
 * + port) on the PACS, which a desktop on DHCP cannot keep valid. The PACS must support C-GET (Orthanc,
 * dcm4chee, most modern ones do); a C-MOVE fallback is not implemented.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import dimse from 'dcmjs-dimse';
import { CancelledError } from '../errors';
import { describeEndpoint, type DimseEndpoint } from './config';
import { CommitmentListener, commitmentRequest, type CommitmentReport, type CommittedInstance } from './commitment';
import { assertUid, pathInside, readInstanceIds, remoteUidName } from './dicom';
import { part10FromDatasetBytes } from './part10';
import { describeNetworkError, PacsError } from './errors';
import type {
  EchoResult,
  PacsClient,
  RetrieveOptions,
  RetrieveResult,
  SeriesSummary,
  StoreResult,
  StudyQuery,
  StudySummary,
} from './types';

const { Client, Dataset } = dimse;
const { CEchoRequest, CFindRequest, CGetRequest, CStoreRequest } = dimse.requests;
const { CStoreResponse } = dimse.responses;
const { Status, RejectReason, RejectSource, StorageClass } = dimse.constants;

type DimseRequest = InstanceType<typeof dimse.requests.Request>;
type DimseResponse = InstanceType<typeof dimse.responses.Response>;
type DimseDataset = InstanceType<typeof dimse.Dataset>;
type CStoreReq = InstanceType<typeof dimse.requests.CStoreRequest>;
type CStoreRsp = InstanceType<typeof dimse.responses.CStoreResponse>;

// dcmjs-dimse logs every PDU at info level; our errors carry what matters.
dimse.log.setLevel('silent');

/**
 * Storage SOP classes Halo must be able to C-GET that dcmjs-dimse 0.3.3 does not propose. On a C-GET association it
 * proposes each entry of its (frozen) constants.StorageClass table with the SCP role; presentation contexts added
 * with Client.addAdditionalPresentationContext lose the role. So we wrap Association.addPresentationContextFromRequest
 * once to add these classes, with the SCP role, to C-GET associations. Without this, a study holding Halo's own SEG
 * or Parametric Map objects could not be fully retrieved by C-GET.
 */
const EXTRA_STORAGE_CLASSES = [
  '1.2.840.10008.5.1.4.1.1.66.4', // Segmentation Storage
  '1.2.840.10008.5.1.4.1.1.30', // Parametric Map Storage
  '1.2.840.10008.5.1.4.1.1.481.3', // RT Structure Set Storage
  '1.2.840.10008.5.1.4.1.1.88.59', // Key Object Selection Document
  '1.2.840.10008.5.1.4.1.1.11.1', // Grayscale Softcopy Presentation State
  '1.2.840.10008.5.1.4.1.1.4.1', // Enhanced MR Image Storage
  '1.2.840.10008.5.1.4.1.1.4.2', // MR Spectroscopy Storage
].filter((uid) => !Object.values(StorageClass as unknown as Record<string, string>).includes(uid));

const PATCHED = Symbol.for('halo.pacs.cgetExtraStorageClasses');
{
  type Assoc = InstanceType<typeof dimse.association.Association>;
  const proto = dimse.association.Association.prototype as Assoc & { [PATCHED]?: boolean };
  if (!proto[PATCHED]) {
    const original = proto.addPresentationContextFromRequest;
    proto.addPresentationContextFromRequest = function (this: Assoc, request: DimseRequest, transferSyntaxes?: string | string[]) {
      const id = original.call(this, request, transferSyntaxes);
      if (request instanceof CGetRequest && request.getAddStorageSopClassesToAssociation()) {
        for (const uid of EXTRA_STORAGE_CLASSES) {
          const pcId = this.addOrGetPresentationContext(uid);
          this.getPresentationContext(pcId).setProviderRole(true);
          for (const ts of ([] as string[]).concat(transferSyntaxes ?? [])) this.addTransferSyntaxToPresentationContext(pcId, ts);
        }
      }
      return id;
    };
    proto[PATCHED] = true;
  }
}

/**
 * Keep the bytes of each incoming C-STORE dataset (C-GET sub-operations) as received, so we can write them to a
 * Part 10 file unchanged (see part10.ts for why). Network is not exported; it is Scp's base class.
 */
const RAW_DATASETS = new WeakMap<object, { bytes: Buffer; transferSyntaxUID: string }>();
{
  type StoreStream = { toBuffer(): Buffer };
  type Pc = { getAcceptedTransferSyntaxUid(): string };
  type NetworkProto = {
    createDatasetFromStoreWritableStream(stream: StoreStream, pc: Pc, cb: (ds: DimseDataset) => void): void;
    [PATCHED]?: boolean;
  };
  const networkProto = Object.getPrototypeOf(dimse.Scp.prototype) as NetworkProto;
  if (!networkProto[PATCHED] && typeof networkProto.createDatasetFromStoreWritableStream === 'function') {
    const original = networkProto.createDatasetFromStoreWritableStream;
    networkProto.createDatasetFromStoreWritableStream = function (this: unknown, stream, pc, cb) {
      const bytes = stream.toBuffer();
      original.call(this, stream, pc, (ds) => {
        if (ds) RAW_DATASETS.set(ds, { bytes, transferSyntaxUID: pc.getAcceptedTransferSyntaxUid() });
        cb(ds);
      });
    };
    networkProto[PATCHED] = true;
  }
}

export interface DimseClientOptions {
  /** TCP connect timeout (ms). Default 10 s. */
  connectTimeoutMs?: number;
  /** Time for the PACS to accept/reject the association (ms). Default 15 s. */
  associationTimeoutMs?: number;
  /** Longest silence between PDUs (ms). Default 60 s. */
  pduTimeoutMs?: number;
  /** Port where Halo listens for Storage Commitment N-EVENT-REPORTs (the port the PACS has registered for our AE). */
  commitmentPort?: number;
  /** How long to wait for the PACS's commitment report after it accepted the N-ACTION (ms). Default 60 s. */
  commitmentWaitMs?: number;
}

interface AssociationOptions {
  signal?: AbortSignal;
  /** Incoming C-STORE sub-operations (C-GET); resolve with the DIMSE status to answer. */
  onCStore?: (request: CStoreReq) => Promise<number>;
}

const WARNING_STATUSES = new Set([0x0001, 0xb000, 0xb006, 0xb007]);

export class DimseClient implements PacsClient {
  readonly label: string;
  private readonly connectTimeoutMs: number;
  private readonly associationTimeoutMs: number;
  private readonly pduTimeoutMs: number;
  private readonly commitmentPort: number | undefined;
  private readonly commitmentWaitMs: number;

  constructor(
    readonly endpoint: DimseEndpoint,
    opts: DimseClientOptions = {},
  ) {
    this.label = describeEndpoint(endpoint);
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
    this.associationTimeoutMs = opts.associationTimeoutMs ?? 15_000;
    this.pduTimeoutMs = opts.pduTimeoutMs ?? 60_000;
    this.commitmentPort = opts.commitmentPort;
    this.commitmentWaitMs = opts.commitmentWaitMs ?? 60_000;
  }

  async echo(opts: { signal?: AbortSignal } = {}): Promise<EchoResult> {
    const t0 = performance.now();
    const req = new CEchoRequest();
    const responses = collectResponses(req);
    await this.associate([req], opts);
    const final = this.finalResponse(responses, 'C-ECHO');
    if (final.getStatus() !== Status.Success) {
      throw this.statusError('C-ECHO', final);
    }
    return { ms: Math.round(performance.now() - t0) };
  }

  async findStudies(query: StudyQuery, opts: { signal?: AbortSignal } = {}): Promise<StudySummary[]> {
    const keys: Record<string, string> = {};
    if (query.patientName) keys.PatientName = query.patientName;
    if (query.patientId) keys.PatientID = query.patientId;
    if (query.studyDate) keys.StudyDate = query.studyDate;
    if (query.accessionNumber) keys.AccessionNumber = query.accessionNumber;
    if (query.studyInstanceUID) keys.StudyInstanceUID = query.studyInstanceUID;
    const datasets = await this.find(CFindRequest.createStudyFindRequest(keys), 'C-FIND (study)', opts.signal, query.limit);
    return datasets.map((ds) => ({
      studyInstanceUID: el(ds, 'StudyInstanceUID'),
      patientName: el(ds, 'PatientName'),
      patientId: el(ds, 'PatientID'),
      studyDate: el(ds, 'StudyDate'),
      studyTime: el(ds, 'StudyTime'),
      studyDescription: el(ds, 'StudyDescription'),
      accessionNumber: el(ds, 'AccessionNumber'),
      modalities: elList(ds, 'ModalitiesInStudy'),
      numberOfSeries: elNumber(ds, 'NumberOfStudyRelatedSeries'),
      numberOfInstances: elNumber(ds, 'NumberOfStudyRelatedInstances'),
    }));
  }

  async findSeries(studyInstanceUID: string, opts: { signal?: AbortSignal } = {}): Promise<SeriesSummary[]> {
    assertUid(studyInstanceUID, 'Study Instance UID');
    const req = CFindRequest.createSeriesFindRequest({ StudyInstanceUID: studyInstanceUID });
    const datasets = await this.find(req, 'C-FIND (series)', opts.signal);
    return datasets.map((ds) => ({
      studyInstanceUID,
      seriesInstanceUID: el(ds, 'SeriesInstanceUID'),
      modality: el(ds, 'Modality'),
      seriesNumber: elNumber(ds, 'SeriesNumber'),
      seriesDescription: el(ds, 'SeriesDescription'),
      numberOfInstances: elNumber(ds, 'NumberOfSeriesRelatedInstances'),
    }));
  }

  async hasInstance(
    studyInstanceUID: string,
    seriesInstanceUID: string,
    sopInstanceUID: string,
    opts: { signal?: AbortSignal } = {},
  ): Promise<boolean> {
    const req = CFindRequest.createImageFindRequest({
      StudyInstanceUID: studyInstanceUID,
      SeriesInstanceUID: seriesInstanceUID,
      SOPInstanceUID: sopInstanceUID,
    });
    const datasets = await this.find(req, 'C-FIND (instance)', opts.signal);
    return datasets.some((ds) => el(ds, 'SOPInstanceUID') === sopInstanceUID);
  }

  async retrieveStudy(studyInstanceUID: string, outDir: string, opts: RetrieveOptions = {}): Promise<RetrieveResult> {
    assertUid(studyInstanceUID, 'Study Instance UID');
    const req = CGetRequest.createStudyGetRequest(studyInstanceUID);
    const responses = collectResponses(req);
    const files: string[] = [];
    let total: number | undefined;
    req.on('response', (r: DimseResponse) => {
      const rr = r as InstanceType<typeof dimse.responses.CGetResponse>;
      if (rr.getStatus() === Status.Pending && total === undefined) {
        const sum = [rr.getRemaining(), rr.getCompleted(), rr.getFailures(), rr.getWarnings()].map((n) => Number(n) || 0);
        total = sum.reduce((a, b) => a + b, 0) || undefined;
      }
    });
    const writeErrors: string[] = [];
    const mismatches: string[] = [];
    let studyPatient: { id: string; text: string } | undefined;
    const onCStore = async (sub: CStoreReq): Promise<number> => {
      const ds = sub.getDataset();
      const sop = ds ? String(ds.getElement('SOPInstanceUID') ?? '') : '';
      const series = ds ? String(ds.getElement('SeriesInstanceUID') ?? '') : '';
      if (!ds || !sop || !series) {
        writeErrors.push('an instance without SOP/Series Instance UID');
        return Status.ProcessingFailure;
      }
      // Like WADO-RS, a sub-operation must belong to the study asked for, and one study has one patient: a PACS
      // that mixes in another study's images must not get them opened as this patient's.
      const study = el(ds, 'StudyInstanceUID');
      const patient = `${JSON.stringify(el(ds, 'PatientID'))} (${el(ds, 'PatientName') || 'no name'})`;
      if (study !== studyInstanceUID) {
        mismatches.push(`instance ${sop} belongs to study ${JSON.stringify(study)} of patient ${patient}`);
        return Status.ProcessingFailure;
      }
      studyPatient ??= { id: el(ds, 'PatientID'), text: patient };
      if (el(ds, 'PatientID') !== studyPatient.id) {
        mismatches.push(`instance ${sop} is of patient ${patient}, the study's first instance of patient ${studyPatient.text}`);
        return Status.ProcessingFailure;
      }
      try {
        const dir = pathInside(outDir, remoteUidName(series, 'a Series Instance UID', this.label));
        const file = await writeDataset(ds, dir, `${remoteUidName(sop, 'a SOP Instance UID', this.label)}.dcm`);
        files.push(file);
        opts.onProgress?.({ done: files.length, total, file });
        return Status.Success;
      } catch (err) {
        writeErrors.push(`${sop}: ${(err as Error).message}`);
        return Status.ProcessingFailure;
      }
    };
    await mkdir(outDir, { recursive: true });
    await this.associate([req], { signal: opts.signal, onCStore });
    const final = this.finalResponse(responses, 'C-GET');
    const status = final.getStatus();
    const g = final as InstanceType<typeof dimse.responses.CGetResponse>;
    const failures = Number(g.getFailures()) || 0;
    if (mismatches.length) {
      await Promise.all(files.map((f) => rm(f, { force: true })));
      throw new PacsError(
        'protocol',
        this.label,
        `${this.label} answered the C-GET for study ${studyInstanceUID} with instances that are not of that study or patient: ` +
          `${mismatches.slice(0, 3).join('; ')}${mismatches.length > 3 ? ` and ${mismatches.length - 3} more` : ''}. ` +
          'Nothing of this retrieve was kept; ask the PACS administrator to check the study.',
      );
    }
    if (writeErrors.length) {
      throw new PacsError(
        'protocol',
        this.label,
        `C-GET from ${this.label}: could not write ${writeErrors.length} instance(s) into ${outDir}: ${writeErrors.slice(0, 3).join('; ')}`,
      );
    }
    if (status === Status.Success || (WARNING_STATUSES.has(status) && failures === 0)) {
      if (files.length === 0) {
        throw new PacsError(
          'not-found',
          this.label,
          `study ${studyInstanceUID} was not found on ${this.label} (C-GET returned no instances). Check the UID with \`halo pacs find\`.`,
        );
      }
      return { files };
    }
    if (WARNING_STATUSES.has(status)) {
      throw new PacsError(
        'refused',
        this.label,
        `C-GET from ${this.label}: ${failures} instance(s) of study ${studyInstanceUID} could not be sent (${files.length} received into ${outDir}). ` +
          'The PACS may hold SOP classes or transfer syntaxes Halo did not propose; check the PACS log.',
        status,
      );
    }
    throw this.statusError('C-GET', final);
  }

  async store(file: string, opts: { signal?: AbortSignal } = {}): Promise<StoreResult> {
    const ids = await readInstanceIds(file);
    const req = new CStoreRequest(await datasetForStore(file, ids.transferSyntaxUID, this.label));
    const responses = collectResponses(req);
    await this.associate([req], opts);
    if (responses.length === 0) {
      throw new PacsError(
        'refused',
        this.label,
        `${this.label} accepted the association but not SOP class ${ids.sopClassUID} in transfer syntax ${ids.transferSyntaxUID}, so ${file} was not sent. ` +
          'Ask the PACS administrator to allow that SOP class.',
      );
    }
    const final = responses[responses.length - 1];
    const status = final.getStatus();
    if (status === Status.Success) return { sopInstanceUID: ids.sopInstanceUID };
    if (WARNING_STATUSES.has(status)) {
      return {
        sopInstanceUID: ids.sopInstanceUID,
        warning: `C-STORE warning ${hex(status)}${final.getErrorComment() ? `: ${final.getErrorComment()}` : ''}`,
      };
    }
    throw this.statusError('C-STORE', final, file);
  }

  /**
   * Storage Commitment: asks the PACS (N-ACTION) to take responsibility for `instances` and waits for its
   * N-EVENT-REPORT, which the PACS sends on a new association to the host and port it has registered for our AE
   * title. Throws PacsError when the request is refused or no report comes in time.
   */
  async commitStorage(instances: CommittedInstance[], opts: { signal?: AbortSignal } = {}): Promise<CommitmentReport> {
    const ep = this.endpoint;
    const port = this.commitmentPort;
    if (!port) {
      throw new PacsError(
        'protocol',
        this.label,
        `storage commitment with ${this.label} needs a port where Halo listens for the PACS's report: set ` +
          `"storageCommitment": {"port": N} in the PACS settings, and register AE title ${ep.callingAet} with this computer's address and that port on the PACS.`,
      );
    }
    const listener = new CommitmentListener({ port, ourAet: ep.callingAet, pacsAet: ep.calledAet });
    try {
      await listener.start();
    } catch (err) {
      throw new PacsError(
        'protocol',
        this.label,
        `cannot listen on port ${port} for storage commitment reports from ${this.label}: ${(err as Error).message}. ` +
          'Is another program (or Halo) using that port? Choose another storageCommitment port.',
      );
    }
    try {
      const what = 'N-ACTION (storage commitment)';
      const { request, transactionUID } = commitmentRequest(instances);
      const responses = collectResponses(request);
      await this.associate([request], opts);
      const final = this.finalResponse(responses, what);
      if (final.getStatus() !== Status.Success) throw this.statusError(what, final);
      const report = await listener.waitFor(transactionUID, this.commitmentWaitMs, opts.signal);
      if (opts.signal?.aborted) throw new CancelledError();
      if (!report) {
        throw new PacsError(
          'timeout',
          this.label,
          `${this.label} accepted the storage commitment request but sent no report to port ${port} within ` +
            `${Math.round(this.commitmentWaitMs / 1000)} s. Check that the PACS has AE title ${ep.callingAet} registered with this computer's address and port ${port}, and that no firewall blocks it.`,
        );
      }
      return report;
    } finally {
      listener.stop();
    }
  }

  // ---------------------------------------------------------------------------------------------------------------

  private async find(req: DimseRequest, what: string, signal?: AbortSignal, limit?: number): Promise<DimseDataset[]> {
    const responses: DimseResponse[] = [];
    const datasets: DimseDataset[] = [];
    let client: InstanceType<typeof Client> | undefined;
    let cancelled = false;
    req.on('response', (r: DimseResponse) => {
      responses.push(r);
      const ds = r.getDataset();
      if (isPending(r.getStatus()) && ds) {
        datasets.push(ds);
        if (limit && datasets.length >= limit && !cancelled && client) {
          cancelled = true;
          client.cancel(req as InstanceType<typeof CFindRequest>);
        }
      }
    });
    await this.associate([req], { signal, onClient: (c) => (client = c) });
    const final = this.finalResponse(responses, what);
    const status = final.getStatus();
    if (status !== Status.Success && !(cancelled && status === Status.Cancel)) {
      throw this.statusError(what, final);
    }
    return limit ? datasets.slice(0, limit) : datasets;
  }

  private finalResponse(responses: DimseResponse[], what: string): DimseResponse {
    const final = responses.filter((r) => !isPending(r.getStatus())).pop();
    if (!final) {
      throw new PacsError(
        'protocol',
        this.label,
        `${this.label} closed the association without answering the ${what} request ` +
          '(it may not support that service, or it aborted). Check the PACS log.',
      );
    }
    return final;
  }

  private statusError(what: string, r: DimseResponse, file?: string): PacsError {
    const status = r.getStatus();
    const comment = r.getErrorComment();
    const name = statusName(status);
    return new PacsError(
      'refused',
      this.label,
      `${this.label} answered ${what}${file ? ` of ${file}` : ''} with failure status ${hex(status)}` +
        `${name ? ` (${name})` : ''}${comment ? `: ${comment}` : ''}. ` +
        (status === Status.NotAuthorized || status === 0x0124
          ? `Ask the PACS administrator to allow AE title ${this.endpoint.callingAet}.`
          : 'Check the PACS log.'),
      status,
    );
  }

  /** Runs one association carrying `requests`; resolves when it is released and the socket closed. */
  private associate(
    requests: DimseRequest[],
    opts: AssociationOptions & { onClient?: (c: InstanceType<typeof Client>) => void },
  ): Promise<void> {
    const ep = this.endpoint;
    return new Promise<void>((resolve, reject) => {
      if (opts.signal?.aborted) {
        reject(new CancelledError());
        return;
      }
      const client = new Client();
      opts.onClient?.(client);
      for (const r of requests) client.addRequest(r);
      let settled = false;
      let connected = false;
      const finish = (err?: Error) => {
        if (settled) return;
        settled = true;
        opts.signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve();
      };
      const onAbort = () => {
        try {
          client.abort();
        } catch {
          // not connected yet
        }
        finish(new CancelledError());
      };
      opts.signal?.addEventListener('abort', onAbort, { once: true });

      client.on('connected', () => {
        connected = true;
        // dcmjs-dimse 0.3.3 leaves connectTimeout as the socket's idle timeout for the whole association (a slow
        // C-STORE answer was cut at 10 s) and does not pass an A-ABORT from the PACS on to the Client: reach its
        // network object for both, so timeouts follow the settings and an abort is reported at once with its reason.
        const network = (client as unknown as { network?: DimseNetwork }).network;
        network?.socket?.setTimeout(this.pduTimeoutMs);
        network?.on('abort', (a: { source: number; reason: number }) => {
          finish(
            new PacsError(
              'aborted',
              this.label,
              `${this.label} aborted the association (A-ABORT: ${abortText(a)}). This often means the PACS does not allow ` +
                `this operation for our calling AE title "${ep.callingAet}"; ask its administrator to register that AE title.`,
            ),
          );
          network.socket?.destroy(); // after an A-ABORT the association is gone: close our end (PS3.8 9.1.8)
        });
      });
      client.on('associationRejected', (r: { result: number; source: number; reason: number }) => {
        finish(
          new PacsError(
            'rejected',
            this.label,
            `${this.label} rejected the association (calling AE "${ep.callingAet}", called AE "${ep.calledAet}"): ${rejectText(r)}.`,
          ),
        );
      });
      client.on('networkError', (e: Error) => {
        const why = describeNetworkError(e);
        if (why) {
          finish(
            new PacsError(
              'unreachable',
              this.label,
              `cannot reach DICOM node ${this.label}: ${why}. Check host ${ep.host} and port ${ep.port} and that the PACS is running.`,
            ),
          );
        } else if (/timeout/i.test(e.message) && !connected) {
          finish(
            new PacsError(
              'unreachable',
              this.label,
              `cannot reach DICOM node ${this.label}: connection timed out. Check host ${ep.host} and port ${ep.port}.`,
            ),
          );
        } else if (/timeout/i.test(e.message)) {
          const which = /association timeout/i.test(e.message)
            ? `accept or reject the association within ${Math.round(this.associationTimeoutMs / 1000)} s`
            : `answer within ${Math.round(this.pduTimeoutMs / 1000)} s`;
          finish(new PacsError('timeout', this.label, `${this.label} did not ${which}. The PACS may be busy; try again later.`));
        } else {
          finish(
            new PacsError(
              'unreachable',
              this.label,
              `DICOM association with ${this.label} failed: ${e.message}. The PACS may have dropped the connection; try again.`,
            ),
          );
        }
      });
      client.on('closed', () => {
        if (!connected) {
          finish(new PacsError('unreachable', this.label, `cannot reach DICOM node ${this.label}: connection closed.`));
        } else finish();
      });
      if (opts.onCStore) {
        const handler = opts.onCStore;
        client.on('cStoreRequest', (request: CStoreReq, callback: (response: CStoreRsp) => void) => {
          const response = CStoreResponse.fromRequest(request);
          handler(request).then(
            (status) => {
              response.setStatus(status);
              callback(response);
            },
            () => {
              response.setStatus(Status.ProcessingFailure);
              callback(response);
            },
          );
        });
      }
      try {
        client.send(ep.host, ep.port, ep.callingAet, ep.calledAet, {
          connectTimeout: this.connectTimeoutMs,
          associationTimeout: this.associationTimeoutMs,
          pduTimeout: this.pduTimeoutMs,
        });
      } catch (err) {
        finish(new PacsError('protocol', this.label, `cannot start a DICOM association with ${this.label}: ${(err as Error).message}`));
      }
    });
  }
}

function collectResponses(req: DimseRequest): DimseResponse[] {
  const out: DimseResponse[] = [];
  req.on('response', (r: DimseResponse) => out.push(r));
  return out;
}

function isPending(status: number): boolean {
  return status === 0xff00 || status === 0xff01;
}

function hex(n: number): string {
  return `0x${n.toString(16).toUpperCase().padStart(4, '0')}`;
}

function statusName(status: number): string | undefined {
  for (const [k, v] of Object.entries(Status as unknown as Record<string, number>)) if (v === status) return k;
  if ((status & 0xff00) === 0xa700) return 'out of resources';
  if ((status & 0xff00) === 0xa900) return 'data set does not match SOP class';
  if ((status & 0xf000) === 0xc000) return 'cannot understand / processing failure';
  return undefined;
}

interface DimseNetwork {
  socket?: { setTimeout(ms: number): void; destroy(): void };
  on(event: 'abort', listener: (a: { source: number; reason: number }) => void): void;
}

/** PS3.8 9.3.8: A-ABORT source and reason. */
function abortText(a: { source: number; reason: number }): string {
  if (a.source === 0) return 'by the PACS application (service user)';
  const reasons = ['reason not specified', 'unrecognized PDU', 'unexpected PDU', '', 'unrecognized PDU parameter', 'unexpected PDU parameter', 'invalid PDU parameter value'];
  return `by the PACS's DICOM layer (service provider): ${reasons[a.reason] || `reason ${a.reason}`}`;
}

function rejectText(r: { result: number; source: number; reason: number }): string {
  const permanent = r.result === 1 ? 'permanently' : 'transiently';
  let why = `reason ${r.reason}`;
  if (r.source === RejectSource.ServiceUser) {
    if (r.reason === RejectReason.CallingAeNotRecognized) {
      why = 'our calling AE title is not known to the PACS; ask its administrator to register it, or fix --calling-aet / callingAet';
    } else if (r.reason === RejectReason.CalledAeNotRecognized) {
      why = "the called AE title is not the PACS's AE title; check the aet in the settings or the dicom://AET@host:port address";
    } else if (r.reason === RejectReason.ApplicationContextNotSupported) {
      why = 'application context not supported';
    } else {
      why = 'no reason given (often: our AE title or IP address is not allowed)';
    }
  } else if (r.source === RejectSource.ServiceProviderAcse) {
    why = r.reason === 2 ? 'protocol version not supported' : 'no reason given';
  } else if (r.source === RejectSource.ServiceProviderPresentation) {
    why = r.reason === 1 ? 'temporary congestion; try again later' : 'local limit exceeded; try again later';
  }
  return `${permanent}, ${why}`;
}

/** Element value as a plain string (first value; PN as its alphabetic group). */
function el(ds: DimseDataset, keyword: string): string {
  return elList(ds, keyword)[0] ?? '';
}

function elList(ds: DimseDataset, keyword: string): string[] {
  const v: unknown = ds.getElement(keyword);
  const list = Array.isArray(v) ? v : v === undefined || v === null ? [] : [v];
  return list
    .map((x: unknown) => {
      if (x && typeof x === 'object') return String((x as { Alphabetic?: string }).Alphabetic ?? '');
      return String(x ?? '');
    })
    .flatMap((s) => s.split('\\'))
    .map((s) => s.replace(/\0/g, '').trim())
    .filter((s, i, arr) => s !== '' || arr.length === 1);
}

function elNumber(ds: DimseDataset, keyword: string): number | undefined {
  const s = el(ds, keyword);
  if (!s) return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * The dataset of a Part 10 file for C-STORE, sent byte-for-byte as in the file. dcmjs-dimse would otherwise
 * re-encode it through dcmjs's naturalized form, which drops private tags and rewrites SpecificCharacterSet.
 * If the PACS only accepts another transfer syntax, dcmjs-dimse transcodes and the re-encoding path is used.
 */
async function datasetForStore(file: string, transferSyntaxUID: string, label: string): Promise<DimseDataset> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new PacsError('protocol', label, `cannot read ${file}: ${(err as Error).message}`);
  }
  // PS3.10 7.1: 128-byte preamble, "DICM", then (0002,0000) UL group length (explicit VR LE: value at offset 140).
  const groupLengthTag = bytes.length >= 144 && bytes.readUInt32LE(132) === 0x00000002 && bytes.toString('latin1', 136, 138) === 'UL';
  if (!groupLengthTag) {
    return await new Promise<DimseDataset>((resolve, reject) =>
      Dataset.fromFile(file, (err, ds) => (err || !ds ? reject(err ?? new Error('unreadable')) : resolve(ds))),
    );
  }
  const raw = bytes.subarray(144 + bytes.readUInt32LE(140));
  const ds = new Dataset(raw, transferSyntaxUID);
  const reencode = ds.getDenaturalizedDataset.bind(ds);
  ds.getDenaturalizedDataset = (writeOptions, nameMap) =>
    ds.getTransferSyntaxUid() === transferSyntaxUID ? raw : reencode(writeOptions, nameMap);
  return ds;
}

/**
 * Write a received dataset as a Part 10 file, atomically (temp file + rename): the bytes exactly as received when
 * we have them, else (should not happen) dcmjs-dimse's re-encoding.
 */
export async function writeDataset(ds: DimseDataset, dir: string, name: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, name);
  const tmp = path.join(dir, `.${name}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const raw = RAW_DATASETS.get(ds);
    if (raw) {
      const bytes = part10FromDatasetBytes(raw.bytes, {
        sopClassUID: String(ds.getElement('SOPClassUID') ?? ''),
        sopInstanceUID: String(ds.getElement('SOPInstanceUID') ?? ''),
        transferSyntaxUID: raw.transferSyntaxUID,
      });
      await writeFile(tmp, bytes);
    } else {
      await new Promise<void>((resolve, reject) => ds.toFile(tmp, (err) => (err ? reject(err) : resolve())));
    }
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return file;
}
