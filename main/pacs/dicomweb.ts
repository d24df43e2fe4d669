/**
 * DICOMweb client: QIDO-RS (find), WADO-RS (retrieve), STOW-RS (store).
 *
 * Why not dicomweb-client's DICOMwebClient: it does every request through XMLHttpRequest, which Node (and so the
 * Electron main process) does not have. We use Node's fetch for HTTP and take the multipart/related codec
 * (multipartEncode / multipartDecode) from dicomweb-client's own message module, and dcmjs (via main/dicom) for
 * the DICOM files, so no multipart or DICOM parsing is hand-written here.
 */
import { mkdir } from 'node:fs/promises';
import { multipartDecode, multipartEncode } from 'dicomweb-client/src/message.js';
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../io/atomic';
import { hasPart10Preamble } from '../dicom/dcmjs';
import { CancelledError } from '../errors';
import { fetchTrustingCa } from './node-ca';
import { describeEndpoint, type DicomWebEndpoint } from './config';
import {
  assertUid,
  instanceIdsOf,
  jsonItems,
  jsonNumber,
  jsonString,
  jsonValues,
  pathInside,
  remoteUidName,
  TAG,
  type DicomJson,
} from './dicom';
import { describeCertificateError, describeNetworkError, PacsError } from './errors';
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

const DICOM_JSON = 'application/dicom+json';
const MULTIPART_DICOM_ANY_TS = 'multipart/related; type="application/dicom"; transfer-syntax=*';
const MULTIPART_DICOM = 'multipart/related; type="application/dicom"';

export interface DicomWebClientOptions {
  /** Timeout for one QIDO request (ms). Default 30 s. */
  queryTimeoutMs?: number;
  /** Timeout for one instance transfer (WADO-RS / STOW-RS), ms. Default 5 min. */
  transferTimeoutMs?: number;
  /** Parallel WADO-RS instance downloads. Default 4. */
  concurrency?: number;
  /** Largest QIDO-RS / STOW-RS answer read (bytes). Default 64 MiB. */
  maxAnswerBytes?: number;
  /** Largest WADO-RS answer for one instance (bytes). Default 1 GiB, the size of Halo's largest input volume. */
  maxInstanceBytes?: number;
}

interface RequestOptions {
  method?: 'GET' | 'POST';
  accept?: string;
  contentType?: string;
  body?: ArrayBuffer;
  signal?: AbortSignal;
  timeoutMs: number;
  /** HTTP statuses that are returned instead of thrown. */
  allow?: number[];
}

export class DicomWebClient implements PacsClient {
  readonly label: string;
  private readonly queryTimeoutMs: number;
  private readonly transferTimeoutMs: number;
  private readonly concurrency: number;
  private readonly maxAnswerBytes: number;
  private readonly maxInstanceBytes: number;
  /** Set once the server refused `transfer-syntax=*` (406), so we stop asking for it. */
  private anyTransferSyntaxRefused = false;

  /** fetch, trusting the node's own CA when it has one. */
  private readonly fetch: typeof fetch;

  constructor(
    readonly endpoint: DicomWebEndpoint,
    opts: DicomWebClientOptions = {},
  ) {
    this.label = describeEndpoint(endpoint);
    this.fetch = endpoint.caFile ? fetchTrustingCa(endpoint.caFile, this.label) : fetch;
    this.queryTimeoutMs = opts.queryTimeoutMs ?? 30_000;
    this.transferTimeoutMs = opts.transferTimeoutMs ?? 300_000;
    this.concurrency = Math.max(1, opts.concurrency ?? 4);
    this.maxAnswerBytes = opts.maxAnswerBytes ?? 64 * 2 ** 20;
    this.maxInstanceBytes = opts.maxInstanceBytes ?? 2 ** 30;
  }

  async echo(opts: { signal?: AbortSignal } = {}): Promise<EchoResult> {
    const t0 = performance.now();
    await this.qido('/studies?limit=1', opts.signal);
    return { ms: Math.round(performance.now() - t0) };
  }

  async findStudies(query: StudyQuery, opts: { signal?: AbortSignal } = {}): Promise<StudySummary[]> {
    const params = new URLSearchParams();
    if (query.patientName) params.set('PatientName', query.patientName);
    if (query.patientId) params.set('PatientID', query.patientId);
    if (query.studyDate) params.set('StudyDate', query.studyDate);
    if (query.accessionNumber) params.set('AccessionNumber', query.accessionNumber);
    if (query.studyInstanceUID) params.set('StudyInstanceUID', query.studyInstanceUID);
    if (query.limit) params.set('limit', String(query.limit));
    for (const tag of [
      TAG.StudyDescription,
      TAG.ModalitiesInStudy,
      TAG.NumberOfStudyRelatedSeries,
      TAG.NumberOfStudyRelatedInstances,
    ]) {
      params.append('includefield', tag);
    }
    const rows = await this.qido(`/studies?${params}`, opts.signal);
    return rows.map((ds) => ({
      studyInstanceUID: jsonString(ds, TAG.StudyInstanceUID),
      patientName: jsonString(ds, TAG.PatientName),
      patientId: jsonString(ds, TAG.PatientID),
      studyDate: jsonString(ds, TAG.StudyDate),
      studyTime: jsonString(ds, TAG.StudyTime),
      studyDescription: jsonString(ds, TAG.StudyDescription),
      accessionNumber: jsonString(ds, TAG.AccessionNumber),
      modalities: jsonValues(ds, TAG.ModalitiesInStudy).filter(Boolean),
      numberOfSeries: jsonNumber(ds, TAG.NumberOfStudyRelatedSeries),
      numberOfInstances: jsonNumber(ds, TAG.NumberOfStudyRelatedInstances),
    }));
  }

  async findSeries(studyInstanceUID: string, opts: { signal?: AbortSignal } = {}): Promise<SeriesSummary[]> {
    assertUid(studyInstanceUID, 'Study Instance UID');
    const params = new URLSearchParams();
    for (const tag of [TAG.SeriesDescription, TAG.NumberOfSeriesRelatedInstances]) params.append('includefield', tag);
    const rows = await this.qido(`/studies/${studyInstanceUID}/series?${params}`, opts.signal, { notFoundIsEmpty: true });
    return rows.map((ds) => ({
      studyInstanceUID,
      seriesInstanceUID: jsonString(ds, TAG.SeriesInstanceUID),
      modality: jsonString(ds, TAG.Modality),
      seriesNumber: jsonNumber(ds, TAG.SeriesNumber),
      seriesDescription: jsonString(ds, TAG.SeriesDescription),
      numberOfInstances: jsonNumber(ds, TAG.NumberOfSeriesRelatedInstances),
    }));
  }

  async hasInstance(
    studyInstanceUID: string,
    seriesInstanceUID: string,
    sopInstanceUID: string,
    opts: { signal?: AbortSignal } = {},
  ): Promise<boolean> {
    const params = new URLSearchParams({
      StudyInstanceUID: studyInstanceUID,
      SeriesInstanceUID: seriesInstanceUID,
      SOPInstanceUID: sopInstanceUID,
    });
    const rows = await this.qido(`/instances?${params}`, opts.signal, { notFoundIsEmpty: true });
    return rows.some((ds) => jsonString(ds, TAG.SOPInstanceUID) === sopInstanceUID);
  }

  async retrieveStudy(studyInstanceUID: string, outDir: string, opts: RetrieveOptions = {}): Promise<RetrieveResult> {
    assertUid(studyInstanceUID, 'Study Instance UID');
    const { signal, onProgress } = opts;
    const rows = await this.qido(`/studies/${studyInstanceUID}/instances?includefield=${TAG.SeriesInstanceUID}`, signal, {
      notFoundIsEmpty: true,
    });
    // Every UID the server lists becomes part of a path: check them all before downloading anything.
    const instances = rows
      .map((ds) => ({ series: jsonString(ds, TAG.SeriesInstanceUID), sop: jsonString(ds, TAG.SOPInstanceUID) }))
      .filter((i) => i.series && i.sop)
      .map((i) => ({
        series: remoteUidName(i.series, 'a Series Instance UID', this.label),
        sop: remoteUidName(i.sop, 'a SOP Instance UID', this.label),
      }));
    if (instances.length === 0) {
      throw new PacsError(
        'not-found',
        this.label,
        `study ${studyInstanceUID} was not found on ${this.label} (QIDO lists no instances). Check the UID with \`halo pacs find\`.`,
      );
    }
    const total = instances.length;
    const files: string[] = [];
    let next = 0;
    const inner = new AbortController();
    const onAbort = () => inner.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    const worker = async () => {
      while (next < instances.length) {
        const { series, sop } = instances[next++];
        const file = await this.retrieveInstance(studyInstanceUID, series, sop, outDir, inner.signal);
        files.push(file);
        onProgress?.({ done: files.length, total, file });
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(this.concurrency, total) }, worker));
    } catch (err) {
      inner.abort(err); // stop the other workers
      throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    return { files };
  }

  async store(file: string, opts: { signal?: AbortSignal } = {}): Promise<StoreResult> {
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (err) {
      throw new PacsError('protocol', this.label, `cannot read ${file}: ${(err as Error).message}`);
    }
    const ids = instanceIdsOf(bytes, file);
    const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    const { data, boundary } = multipartEncode([ab], undefined, 'application/dicom');
    const res = await this.request('/studies', {
      method: 'POST',
      accept: DICOM_JSON,
      contentType: `multipart/related; type="application/dicom"; boundary=${boundary}`,
      body: data,
      signal: opts.signal,
      timeoutMs: this.transferTimeoutMs,
      allow: [409], // 409: STOW-RS "none stored"; the body says why
    });
    const text = await this.readText(res, 'as its STOW-RS answer', opts.signal);
    let answer: DicomJson | undefined;
    if (text.trim()) {
      try {
        const json = JSON.parse(text) as DicomJson | DicomJson[];
        answer = Array.isArray(json) ? json[0] : json;
      } catch {
        // some servers answer STOW with XML or nothing useful; the read-back verifies the store anyway
      }
    }
    const failed = answer ? jsonItems(answer, TAG.FailedSOPSequence) : [];
    const mine = failed.find((it) => jsonString(it, TAG.ReferencedSOPInstanceUID) === ids.sopInstanceUID);
    if (mine || res.status === 409) {
      const reason = mine ? jsonNumber(mine, TAG.FailureReason) : undefined;
      throw new PacsError(
        'refused',
        this.label,
        `${this.label} refused to store ${file} (STOW-RS HTTP ${res.status}` +
          (reason !== undefined ? `, failure reason 0x${reason.toString(16).toUpperCase().padStart(4, '0')}` : '') +
          '). Check the PACS log; the file may be invalid for that PACS.',
        res.status,
      );
    }
    const stored = answer ? jsonItems(answer, TAG.ReferencedSOPSequence) : [];
    const ref = stored.find((it) => jsonString(it, TAG.ReferencedSOPInstanceUID) === ids.sopInstanceUID);
    const warn = ref ? jsonNumber(ref, TAG.WarningReason) : undefined;
    return {
      sopInstanceUID: ids.sopInstanceUID,
      warning:
        warn !== undefined
          ? `stored with warning 0x${warn.toString(16).toUpperCase().padStart(4, '0')}`
          : res.status === 202
            ? 'STOW-RS answered 202 (accepted with warnings)'
            : undefined,
    };
  }

  // ---------------------------------------------------------------------------------------------------------------

  private async retrieveInstance(
    study: string,
    series: string,
    sop: string,
    outDir: string,
    signal: AbortSignal,
  ): Promise<string> {
    const p = `/studies/${study}/series/${series}/instances/${sop}`;
    let res: Response;
    if (!this.anyTransferSyntaxRefused) {
      res = await this.request(p, {
        accept: MULTIPART_DICOM_ANY_TS,
        signal,
        timeoutMs: this.transferTimeoutMs,
        allow: [406],
      });
      if (res.status === 406) {
        await res.arrayBuffer();
        this.anyTransferSyntaxRefused = true;
        res = await this.request(p, { accept: MULTIPART_DICOM, signal, timeoutMs: this.transferTimeoutMs });
      }
    } else {
      res = await this.request(p, { accept: MULTIPART_DICOM, signal, timeoutMs: this.transferTimeoutMs });
    }
    const body = await this.readBody(res, signal);
    let parts: ArrayBuffer[];
    try {
      parts = multipartDecode(body);
    } catch (err) {
      throw new PacsError(
        'protocol',
        this.label,
        `${this.label} sent an unreadable WADO-RS answer for instance ${sop} (${(err as Error).message}; ` +
          `content-type ${res.headers.get('content-type') ?? 'none'}).`,
      );
    }
    const part = parts.find((pt) => hasPart10Preamble(new Uint8Array(pt)));
    if (!part) {
      throw new PacsError(
        'protocol',
        this.label,
        `${this.label} sent no DICOM file for instance ${sop} in its WADO-RS answer (${parts.length} part(s)).`,
      );
    }
    // The part must be the instance we asked for: its UIDs name the file, and a server must not swap instances.
    const got = instanceIdsOf(new Uint8Array(part), `the WADO-RS answer for instance ${sop}`);
    if (got.sopInstanceUID !== sop || got.seriesInstanceUID !== series || got.studyInstanceUID !== study) {
      throw new PacsError(
        'protocol',
        this.label,
        `${this.label} answered the WADO-RS request for instance ${sop} with another instance ` +
          `(SOP ${JSON.stringify(got.sopInstanceUID)}); nothing was written for it. Check the server.`,
      );
    }
    const dir = pathInside(outDir, remoteUidName(series, 'a Series Instance UID', this.label));
    await mkdir(dir, { recursive: true });
    const file = pathInside(dir, `${remoteUidName(sop, 'a SOP Instance UID', this.label)}.dcm`);
    await writeFileAtomic(file, new Uint8Array(part));
    return file;
  }

  private async readBody(res: Response, signal: AbortSignal): Promise<ArrayBuffer> {
    const bytes = await this.readLimited(res, this.maxInstanceBytes, 'for one instance (WADO-RS)', signal);
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }

  private async readText(res: Response, what: string, signal?: AbortSignal): Promise<string> {
    return new TextDecoder().decode(await this.readLimited(res, this.maxAnswerBytes, what, signal));
  }

  /**
   * A response body, read only up to `limit` bytes: a server (broken or hostile) that sends without end must not
   * fill the workstation's memory. Refused from Content-Length when it says so, else as soon as the count passes.
   */
  private async readLimited(res: Response, limit: number, what: string, signal?: AbortSignal): Promise<Uint8Array> {
    const tooLarge = () =>
      new PacsError(
        'protocol',
        this.label,
        `${this.label} sent more than ${limit >= 2 ** 20 ? `${Math.round(limit / 2 ** 20)} MiB` : `${Math.round(limit / 1024)} KiB`} ${what}; Halo stopped reading there, since no answer it ` +
          'asked for is that large. Narrow the query, or check the server with its administrator.',
      );
    if (Number(res.headers.get('content-length')) > limit) {
      await res.body?.cancel().catch(() => undefined);
      throw tooLarge();
    }
    const chunks: Uint8Array[] = [];
    let total = 0;
    try {
      if (res.body) {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          total += chunk.byteLength;
          if (total > limit) {
            await res.body.cancel().catch(() => undefined);
            throw tooLarge();
          }
          chunks.push(chunk);
        }
      }
    } catch (err) {
      throw err instanceof PacsError ? err : this.networkError(err, signal, 'while receiving data');
    }
    return Buffer.concat(chunks, total);
  }

  /** A QIDO-RS query; returns the DICOM JSON datasets (empty for 204 No Content). */
  private async qido(
    pathAndQuery: string,
    signal?: AbortSignal,
    opts: { notFoundIsEmpty?: boolean } = {},
  ): Promise<DicomJson[]> {
    const res = await this.request(pathAndQuery, {
      accept: DICOM_JSON,
      signal,
      timeoutMs: this.queryTimeoutMs,
      allow: opts.notFoundIsEmpty ? [404] : [],
    });
    const text = await this.readText(res, 'as a QIDO-RS answer', signal);
    if (res.status === 404 || res.status === 204 || !text.trim()) return [];
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new PacsError(
        'protocol',
        this.label,
        `${this.label} answered a QIDO-RS query with something that is not DICOM JSON ` +
          `(content-type ${res.headers.get('content-type') ?? 'none'}). Is ${this.endpoint.url} the DICOMweb base URL?`,
      );
    }
    if (!Array.isArray(json)) {
      throw new PacsError('protocol', this.label, `${this.label} answered a QIDO-RS query with JSON that is not an array.`);
    }
    return json as DicomJson[];
  }

  private async request(pathAndQuery: string, o: RequestOptions): Promise<Response> {
    const url = `${this.endpoint.url}${pathAndQuery}`;
    const headers: Record<string, string> = {};
    if (o.accept) headers.accept = o.accept;
    if (o.contentType) headers['content-type'] = o.contentType;
    if (this.endpoint.authHeader) headers.authorization = this.endpoint.authHeader;
    if (o.signal?.aborted) throw new CancelledError();
    const timeout = AbortSignal.timeout(o.timeoutMs);
    const signal = o.signal ? AbortSignal.any([o.signal, timeout]) : timeout;
    let res: Response;
    try {
      res = await this.fetch(url, { method: o.method ?? 'GET', headers, body: o.body, signal });
    } catch (err) {
      throw this.networkError(err, o.signal, `for ${o.method ?? 'GET'} ${url}`, timeout, o.timeoutMs);
    }
    if (res.ok || o.allow?.includes(res.status)) return res;
    let detail = '';
    try {
      detail = (await this.readText(res, 'as an error page')).replace(/\s+/g, ' ').trim().slice(0, 300);
    } catch {
      // ignore: the status says enough
    }
    throw new PacsError(
      'http',
      this.label,
      `${this.label} answered HTTP ${res.status} ${res.statusText} to ${o.method ?? 'GET'} ${url}` +
        (detail ? ` (${detail})` : '') +
        `. ${httpHint(res.status)}`,
      res.status,
    );
  }

  private networkError(
    err: unknown,
    userSignal: AbortSignal | undefined,
    what: string,
    timeout?: AbortSignal,
    timeoutMs?: number,
  ): Error {
    if (err instanceof PacsError || err instanceof CancelledError) return err;
    if (userSignal?.aborted) return new CancelledError();
    if (timeout?.aborted) {
      return new PacsError(
        'timeout',
        this.label,
        `${this.label} did not answer within ${Math.round((timeoutMs ?? 0) / 1000)} s ${what}. Is the server overloaded or the URL wrong?`,
      );
    }
    const certificate = describeCertificateError(err);
    if (certificate) {
      return new PacsError(
        'unreachable',
        this.label,
        `${this.label} was not trusted ${what}: ${certificate}. If it is your hospital's own CA, give its PEM file as the node's ` +
          '"caFile" in the PACS settings, or start Halo with NODE_EXTRA_CA_CERTS=/path/to/hospital-ca.pem (see the README, PACS); ' +
          'if the host name is wrong, use the one the certificate is for.',
      );
    }
    const why = describeNetworkError(err) ?? (err as Error).message;
    return new PacsError(
      'unreachable',
      this.label,
      `cannot reach DICOMweb server ${this.label} ${what}: ${why}. Check the URL and that the server is running.`,
    );
  }
}

function httpHint(status: number): string {
  if (status === 401 || status === 403) {
    return 'Check the credentials: --auth or $HALO_PACS_AUTHORIZATION on the command line, authHeader in the PACS settings, or user:password in the URL.';
  }
  if (status === 404) return 'Check the base URL: it must be the DICOMweb root, e.g. http://host:8042/dicom-web.';
  if (status === 413) return 'The file is larger than the server accepts.';
  if (status >= 500) return 'The server had an internal error; check its log and try again later.';
  return 'Check the endpoint settings.';
}
