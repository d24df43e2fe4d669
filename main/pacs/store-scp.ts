/**
 * A DICOM Storage SCP that collects studies: C-STORE in (C-ECHO answered) from the AE titles on an allow-list,
 * each instance written atomically as <dir>/<StudyInstanceUID>/<SOPInstanceUID>.dcm with the bytes as received.
 * A study is complete when no instance of it has arrived for `idleSeconds` (DICOM has no "end of study" message:
 * this is how routers and AI nodes decide it); more instances after that start it again.
 */
import { join } from 'node:path';
import dimse from 'dcmjs-dimse';
import { isValidUid } from './dicom';
import { writeDataset } from './dimse';

const { Server, Scp } = dimse;
const { CEchoResponse, CStoreResponse } = dimse.responses;
const { Status, PresentationContextResult, RejectResult, RejectSource, RejectReason, TransferSyntax, SopClass, StorageClass } = dimse.constants;

type ScpT = InstanceType<typeof Scp>;

export interface ReceivedStudy {
  studyInstanceUID: string;
  folder: string;
  /** Instances received since the study was last complete. */
  instances: number;
  callingAets: string[];
}

export interface StoreScpOptions {
  port: number;
  /** Our AE title: associations called to another are rejected. */
  aet: string;
  /** Calling AE titles that may send to us (e.g. the PACS's or the router's). */
  allow: string[];
  /** Where the studies are collected. */
  dir: string;
  idleSeconds: number;
  onStudyComplete: (study: ReceivedStudy) => void;
  log: (line: string) => void;
}

const ACCEPTED = new Set<string>([SopClass.Verification, ...Object.values(StorageClass as unknown as Record<string, string>)]);
/** C-STORE status A700, "Refused: Out of Resources" (PS3.4 B.2.3): the sender may try again later. */
const OUT_OF_RESOURCES = 0xa700;
const PREFERRED_SYNTAXES: string[] = [TransferSyntax.ExplicitVRLittleEndian, TransferSyntax.ImplicitVRLittleEndian];

export class StoreScp {
  private server: InstanceType<typeof Server> | undefined;
  private readonly pending = new Map<string, { timer: NodeJS.Timeout; instances: Set<string>; callingAets: Set<string> }>();

  constructor(private readonly opts: StoreScpOptions) {}

  /** Resolves once listening; rejects with the socket error (e.g. EADDRINUSE). */
  start(): Promise<void> {
    const { aet, allow, dir, log } = this.opts;
    const received = (study: string, sop: string, callingAet: string) => this.received(study, sop, callingAet);
    class CollectingScp extends Scp {
      private callingAet = '';
      override associationRequested(association: Parameters<ScpT['associationRequested']>[0]) {
        const called = association.getCalledAeTitle().trim();
        const calling = association.getCallingAeTitle().trim();
        if (called !== aet) {
          log(`rejected an association from ${calling} called to "${called}", not to us (${aet})`);
          this.sendAssociationReject(RejectResult.Permanent, RejectSource.ServiceUser, RejectReason.CalledAeNotRecognized);
          return;
        }
        if (!allow.includes(calling)) {
          log(`rejected an association from ${calling}: not in --allow (${allow.join(', ')})`);
          this.sendAssociationReject(RejectResult.Permanent, RejectSource.ServiceUser, RejectReason.CallingAeNotRecognized);
          return;
        }
        this.callingAet = calling;
        for (const c of association.getPresentationContexts()) {
          const ctx = association.getPresentationContext(c.id);
          const offered: string[] = ctx.getTransferSyntaxUids();
          // Stored as received, so any transfer syntax will do; the uncompressed ones first.
          const ts = PREFERRED_SYNTAXES.find((t) => offered.includes(t)) ?? offered[0];
          if (!ACCEPTED.has(ctx.getAbstractSyntaxUid())) ctx.setResult(PresentationContextResult.RejectAbstractSyntaxNotSupported);
          else if (ts) ctx.setResult(PresentationContextResult.Accept, ts);
          else ctx.setResult(PresentationContextResult.RejectTransferSyntaxesNotSupported);
        }
        this.sendAssociationAccept();
      }
      override cEchoRequest(request: Parameters<ScpT['cEchoRequest']>[0], callback: Parameters<ScpT['cEchoRequest']>[1]) {
        const response = CEchoResponse.fromRequest(request);
        response.setStatus(Status.Success);
        callback(response);
      }
      override cStoreRequest(request: Parameters<ScpT['cStoreRequest']>[0], callback: Parameters<ScpT['cStoreRequest']>[1]) {
        const response = CStoreResponse.fromRequest(request);
        const ds = request.getDataset();
        const study = String(ds?.getElement('StudyInstanceUID') ?? '');
        const sop = String(ds?.getElement('SOPInstanceUID') ?? '');
        if (!ds || !isValidUid(study) || !isValidUid(sop)) {
          // UIDs name our files and folders: a malformed one is refused, never written.
          log(`refused an instance from ${this.callingAet}: its Study/SOP Instance UID is missing or not a DICOM UID`);
          response.setStatus(Status.ProcessingFailure);
          callback(response);
          return;
        }
        const callingAet = this.callingAet;
        writeDataset(ds, join(dir, study), `${sop}.dcm`).then(
          () => {
            response.setStatus(Status.Success);
            callback(response);
            received(study, sop, callingAet);
          },
          (err: Error) => {
            log(`could not store ${sop} of study ${study}: ${err.message}`);
            response.setStatus(OUT_OF_RESOURCES);
            callback(response);
          },
        );
      }
      override associationReleaseRequested() {
        this.sendAssociationReleaseResponse();
      }
    }
    const server = new Server(CollectingScp);
    this.server = server;
    return new Promise<void>((resolve, reject) => {
      server.once('listening', () => resolve());
      server.once('networkError', (e: Error) => reject(e));
      server.listen(this.opts.port);
    });
  }

  /** Stops listening; returns the studies still arriving (not complete, so never handed on). */
  stop(): string[] {
    const unfinished = [...this.pending.keys()];
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
    this.server?.close();
    return unfinished;
  }

  private received(study: string, sop: string, callingAet: string): void {
    const entry = this.pending.get(study) ?? { timer: undefined as unknown as NodeJS.Timeout, instances: new Set<string>(), callingAets: new Set<string>() };
    clearTimeout(entry.timer);
    entry.instances.add(sop);
    entry.callingAets.add(callingAet);
    entry.timer = setTimeout(() => {
      this.pending.delete(study);
      this.opts.onStudyComplete({ studyInstanceUID: study, folder: join(this.opts.dir, study), instances: entry.instances.size, callingAets: [...entry.callingAets] });
    }, this.opts.idleSeconds * 1000);
    this.pending.set(study, entry);
  }
}
