/**
 * The app's "Test connection": a PACS echo that does not double as a port scanner. The renderer can point a node at
 * any host and port; if the answer told "connection refused" from "no answer" (and came back after a different
 * time), a compromised page could map the network. So a failure to reach a DICOM/DICOMweb service is one message
 * after one fixed time; a service that answers (and then refuses us) is still reported as it is. The CLI keeps the
 * detailed reasons: its user typed the address.
 */
import { CancelledError } from '../errors';
import { PacsError } from './errors';
import type { EchoResult, PacsClient } from './types';

export async function echoWithoutProbing(client: PacsClient, windowMs = 10_000): Promise<EchoResult> {
  const t0 = Date.now();
  try {
    return await client.echo({ signal: AbortSignal.timeout(windowMs) });
  } catch (err) {
    const noService =
      err instanceof CancelledError || (err instanceof PacsError && (err.failure === 'unreachable' || err.failure === 'timeout'));
    if (!noService) throw err;
    await new Promise((r) => setTimeout(r, Math.max(0, windowMs - (Date.now() - t0))));
    throw new PacsError(
      'unreachable',
      client.label,
      `${client.label} did not answer within ${Math.round(windowMs / 1000)} s. Check the host, the port and that the PACS is running.`,
    );
  }
}
