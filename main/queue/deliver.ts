/**
 * A job's DICOM results to its PACS node, through the worker's outbox (as `halo send` does): kept until the PACS
 * confirmed them. A PACS that is down does not fail the job (re-running it would make new SOP Instances, i.e.
 * duplicates in the PACS): the files wait in the outbox and go with the worker's next delivery, or `halo send --retry`.
 */
import { connectPacs } from '../pacs/client';
import { loadPacsSettings } from '../pacs/config';
import { Outbox } from '../pacs/outbox';

export interface DeliveryOptions {
  /** pacs.json to read the node from (default: $HALO_PACS_CONFIG or ~/.config/halo/pacs.json). */
  config?: string;
  /** Outbox root (default: $HALO_OUTBOX_DIR, outboxDir in the settings, ~/.local/share/halo/outbox). */
  outbox?: string;
}

export interface Delivery {
  to: string;
  verified: number;
  /** Confirmed by the PACS, not read back (with why). */
  stored: number;
  /** Still in the worker's outbox (with the first reason). */
  waiting: number;
  reason?: string;
  outbox: string;
}

export async function deliver(files: string[], to: string, opts: DeliveryOptions): Promise<Delivery> {
  const { settings } = await loadPacsSettings({ configPath: opts.config });
  const { client, endpoint } = await connectPacs(to, { settings, configPath: opts.config });
  const outbox = Outbox.forEndpoint(endpoint, opts.outbox ?? (process.env.HALO_OUTBOX_DIR || undefined) ?? settings.outboxDir);
  await outbox.enqueue(files);
  // The flush also sends what earlier jobs left waiting for this node. It fails as a whole when another worker on
  // this machine is flushing the same outbox (that one sends these files too) or the PACS cannot be reached.
  let result;
  try {
    result = await outbox.flush(client, { verification: endpoint.verification });
  } catch (err) {
    return { to, verified: 0, stored: 0, waiting: files.length, reason: (err as Error).message, outbox: outbox.dir };
  }
  return {
    to,
    verified: result.verified.length,
    stored: result.stored.length,
    waiting: result.failed.length,
    reason: result.failed[0]?.reason ?? result.stored[0]?.reason,
    outbox: outbox.dir,
  };
}
