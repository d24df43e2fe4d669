/**
 * A scripted DICOM C-GET SCP on 127.0.0.1 (dcmjs-dimse's own Server/Scp) for hostile-PACS tests: it accepts any
 * association and answers every C-GET by sending the datasets the test gives it as C-STORE sub-operations.
 */
import dimse from 'dcmjs-dimse';

const { Server, Scp } = dimse;
const { CStoreRequest } = dimse.requests;
const { CEchoResponse, CGetResponse } = dimse.responses;
const { Status, PresentationContextResult, TransferSyntax } = dimse.constants;

type DimseDataset = InstanceType<typeof dimse.Dataset>;
type ScpT = InstanceType<typeof Scp>;

export class FakeCGetScp {
  port = 0;
  private server: InstanceType<typeof Server> | undefined;

  constructor(readonly datasets: () => DimseDataset[]) {}

  async start(port: number): Promise<void> {
    const datasets = this.datasets;
    class Hostile extends Scp {
      override associationRequested(association: Parameters<ScpT['associationRequested']>[0]) {
        for (const c of association.getPresentationContexts()) {
          const ctx = association.getPresentationContext(c.id);
          const ts = ctx.getTransferSyntaxUids().find((t: string) => t === TransferSyntax.ExplicitVRLittleEndian || t === TransferSyntax.ImplicitVRLittleEndian);
          if (ts) ctx.setResult(PresentationContextResult.Accept, ts);
          else ctx.setResult(PresentationContextResult.RejectTransferSyntaxesNotSupported);
        }
        this.sendAssociationAccept();
      }
      override cEchoRequest(request: Parameters<ScpT['cEchoRequest']>[0], callback: Parameters<ScpT['cEchoRequest']>[1]) {
        const r = CEchoResponse.fromRequest(request);
        r.setStatus(Status.Success);
        callback(r);
      }
      override cGetRequest(request: Parameters<ScpT['cGetRequest']>[0], callback: Parameters<ScpT['cGetRequest']>[1]) {
        const all = datasets();
        let left = all.length;
        let failed = 0;
        for (const ds of all) {
          const store = new CStoreRequest(ds);
          store.on('response', (r: InstanceType<typeof dimse.responses.CStoreResponse>) => {
            if (r.getStatus() !== Status.Success) failed++;
            if (--left === 0) {
              const final = CGetResponse.fromRequest(request);
              final.setStatus(failed ? 0xb000 : Status.Success);
              final.setFailures(failed);
              final.setCompleted(all.length - failed);
              callback([final]);
            }
          });
          this.sendRequests(store);
        }
      }
      override associationReleaseRequested() {
        this.sendAssociationReleaseResponse();
      }
    }
    this.server = new Server(Hostile);
    this.server.listen(port);
    this.port = port;
  }

  stop(): void {
    this.server?.close();
  }
}
