/**
 * A scripted HTTP server on 127.0.0.1 that plays a DICOMweb server (or a proxy in front of one) for tests that need
 * a hostile, broken or slow server: the test answers each request itself. Every request is recorded (method, URL,
 * headers) so a test can also check what Halo sent, e.g. that no credentials went to the wrong host.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { multipartEncode } from 'dicomweb-client/src/message.js';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

export interface FakeAnswer {
  status?: number;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
}

export type FakeHandler = (req: RecordedRequest, body: Buffer) => FakeAnswer | Promise<FakeAnswer>;

export class FakeDicomWeb {
  readonly requests: RecordedRequest[] = [];
  private server: Server | undefined;
  port = 0;

  constructor(private handler: FakeHandler) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/dicom-web`;
  }

  setHandler(handler: FakeHandler): void {
    this.handler = handler;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const rec = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers };
        this.requests.push(rec);
        Promise.resolve(this.handler(rec, Buffer.concat(chunks))).then(
          (a) => {
            if (res.destroyed) return;
            res.writeHead(a.status ?? 200, a.headers ?? {});
            res.end(a.body ?? '');
          },
          (err: Error) => {
            if (res.destroyed) return;
            res.writeHead(500, { 'content-type': 'text/plain' });
            res.end(err.message);
          },
        );
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

/** DICOM JSON answer (QIDO-RS). */
export function dicomJson(rows: Record<string, { vr: string; Value: unknown[] }>[]): FakeAnswer {
  return { status: 200, headers: { 'content-type': 'application/dicom+json' }, body: JSON.stringify(rows) };
}

/** A WADO-RS multipart/related answer holding these Part 10 files, encoded by dicomweb-client's own codec. */
export function multipartDicom(files: Uint8Array[]): FakeAnswer {
  const parts = files.map((f) => f.buffer.slice(f.byteOffset, f.byteOffset + f.byteLength) as ArrayBuffer);
  const { data, boundary } = multipartEncode(parts, undefined, 'application/dicom');
  return {
    status: 200,
    headers: { 'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}` },
    body: new Uint8Array(data),
  };
}
