/**
 * DICOM Storage Commitment Push Model (PS3.4 Annex J) as SCU: the N-ACTION request naming the stored instances, and
 * the listener that receives the PACS's N-EVENT-REPORT on the association the PACS opens back to us (to the host and
 * port the PACS has registered for our AE title).
 */
import dimse from 'dcmjs-dimse';
import { randomBytes } from 'node:crypto';

const { Server, Scp, Dataset } = dimse;
const { NActionRequest } = dimse.requests;
const { NEventReportResponse } = dimse.responses;
const { Status, PresentationContextResult, RejectResult, RejectSource, RejectReason, TransferSyntax } = dimse.constants;

type ScpT = InstanceType<typeof Scp>;
type NEventReportReq = Parameters<ScpT['nEventReportRequest']>[0];

/** Storage Commitment Push Model SOP Class and its well-known instance (PS3.4 J.3). */
export const STORAGE_COMMITMENT_SOP_CLASS = '1.2.840.10008.1.20.1';
const STORAGE_COMMITMENT_SOP_INSTANCE = '1.2.840.10008.1.20.1.1';

export interface CommittedInstance {
  sopClassUID: string;
  sopInstanceUID: string;
}

export interface CommitmentReport {
  transactionUID: string;
  committed: string[];
  /** SOP Instances the PACS does not commit, with its Failure Reason (PS3.4 J.3.3.1.2, e.g. 0x0112). */
  failed: { sopInstanceUID: string; reason: number }[];
}

/** PS3.4 Table J.3-2 (Failure Reason). */
export function failureReasonText(reason: number): string {
  const known: Record<number, string> = {
    0x0110: 'processing failure',
    0x0112: 'no such object instance',
    0x0213: 'resource limitation',
    0x0122: 'referenced SOP class not supported',
    0x0119: 'class / instance conflict',
    0x0131: 'duplicate transaction UID',
  };
  return `0x${reason.toString(16).toUpperCase().padStart(4, '0')}${known[reason] ? ` (${known[reason]})` : ''}`;
}

/** The N-ACTION-RQ (Request Storage Commitment, action type 1) for `instances`, under a fresh Transaction UID. */
export function commitmentRequest(instances: CommittedInstance[]): { request: InstanceType<typeof NActionRequest>; transactionUID: string } {
  const transactionUID = `2.25.${BigInt(`0x${randomBytes(16).toString('hex')}`).toString()}`;
  const request = new NActionRequest(STORAGE_COMMITMENT_SOP_CLASS, STORAGE_COMMITMENT_SOP_INSTANCE, 1);
  request.setDataset(
    new Dataset({
      TransactionUID: transactionUID,
      ReferencedSOPSequence: instances.map((i) => ({ ReferencedSOPClassUID: i.sopClassUID, ReferencedSOPInstanceUID: i.sopInstanceUID })),
    }),
  );
  return { request, transactionUID };
}

export interface ListenerOptions {
  port: number;
  /** Our AE title: the called AE of the report association. */
  ourAet: string;
  /** The PACS's AE title: only it may send us reports. */
  pacsAet: string;
}

/**
 * Listens for Storage Commitment N-EVENT-REPORTs. Only associations from the PACS's AE title to ours, proposing the
 * Storage Commitment SOP class, are accepted (anyone else could otherwise "commit" our files).
 */
export class CommitmentListener {
  private server: InstanceType<typeof Server> | undefined;
  private readonly reports = new Map<string, CommitmentReport>();
  private readonly waiters = new Map<string, (r: CommitmentReport) => void>();

  constructor(private readonly opts: ListenerOptions) {}

  /** Resolves once listening; rejects with the socket error (e.g. EADDRINUSE). */
  start(): Promise<void> {
    const { ourAet, pacsAet } = this.opts;
    const deliver = (report: CommitmentReport) => {
      const waiter = this.waiters.get(report.transactionUID);
      if (waiter) waiter(report);
      else this.reports.set(report.transactionUID, report);
    };
    class ReportScp extends Scp {
      override associationRequested(association: Parameters<ScpT['associationRequested']>[0]) {
        if (association.getCalledAeTitle().trim() !== ourAet) {
          this.sendAssociationReject(RejectResult.Permanent, RejectSource.ServiceUser, RejectReason.CalledAeNotRecognized);
          return;
        }
        if (association.getCallingAeTitle().trim() !== pacsAet) {
          this.sendAssociationReject(RejectResult.Permanent, RejectSource.ServiceUser, RejectReason.CallingAeNotRecognized);
          return;
        }
        for (const c of association.getPresentationContexts()) {
          const ctx = association.getPresentationContext(c.id);
          const ts = ctx
            .getTransferSyntaxUids()
            .find((t: string) => t === TransferSyntax.ExplicitVRLittleEndian || t === TransferSyntax.ImplicitVRLittleEndian);
          if (ctx.getAbstractSyntaxUid() !== STORAGE_COMMITMENT_SOP_CLASS) ctx.setResult(PresentationContextResult.RejectAbstractSyntaxNotSupported);
          else if (ts) ctx.setResult(PresentationContextResult.Accept, ts);
          else ctx.setResult(PresentationContextResult.RejectTransferSyntaxesNotSupported);
        }
        this.sendAssociationAccept();
      }
      override nEventReportRequest(request: NEventReportReq, callback: Parameters<ScpT['nEventReportRequest']>[1]) {
        const response = NEventReportResponse.fromRequest(request);
        const report = parseReport(request);
        response.setStatus(report ? Status.Success : Status.ProcessingFailure);
        callback(response);
        if (report) deliver(report);
      }
      override associationReleaseRequested() {
        this.sendAssociationReleaseResponse();
      }
    }
    const server = new Server(ReportScp);
    this.server = server;
    return new Promise<void>((resolve, reject) => {
      server.once('listening', () => resolve());
      server.once('networkError', (e: Error) => reject(e));
      server.listen(this.opts.port);
    });
  }

  /** The report for `transactionUID`, or undefined after `ms`. */
  waitFor(transactionUID: string, ms: number, signal?: AbortSignal): Promise<CommitmentReport | undefined> {
    const early = this.reports.get(transactionUID);
    if (early) return Promise.resolve(early);
    return new Promise((resolve) => {
      const done = (r: CommitmentReport | undefined) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.waiters.delete(transactionUID);
        resolve(r);
      };
      const onAbort = () => done(undefined);
      const timer = setTimeout(() => done(undefined), ms);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.set(transactionUID, done);
    });
  }

  stop(): void {
    this.server?.close();
    this.server = undefined;
  }
}

function parseReport(request: NEventReportReq): CommitmentReport | undefined {
  const ds = request.getDataset();
  if (!ds) return undefined;
  const transactionUID = String(ds.getElement('TransactionUID') ?? '').replace(/\0/g, '').trim();
  if (!transactionUID) return undefined;
  const items = (v: unknown): Record<string, unknown>[] => (Array.isArray(v) ? v : v && typeof v === 'object' ? [v as Record<string, unknown>] : []);
  const uid = (v: unknown) => String(v ?? '').replace(/\0/g, '').trim();
  return {
    transactionUID,
    committed: items(ds.getElement('ReferencedSOPSequence')).map((i) => uid(i.ReferencedSOPInstanceUID)),
    failed: items(ds.getElement('FailedSOPSequence')).map((i) => ({
      sopInstanceUID: uid(i.ReferencedSOPInstanceUID),
      reason: Number(i.FailureReason ?? 0x0110),
    })),
  };
}
