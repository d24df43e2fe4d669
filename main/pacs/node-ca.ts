/**
 * A hospital's own CA for one DICOMweb node (`caFile` in pacs.json), trusted beside the system's CAs for that node
 * only. NODE_EXTRA_CA_CERTS does the same for every connection, but the packaged app ignores it (its nodeOptions
 * fuse is off), so a node's CA file is how the app trusts a hospital PACS.
 */
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { Agent, fetch as undiciFetch } from 'undici';
import { PacsError } from './errors';

/** fetch() that trusts the CA in `caFile` as well as the system's; a file that is not a PEM certificate is refused. */
export function fetchTrustingCa(caFile: string, label: string): typeof fetch {
  let pem: string;
  try {
    pem = readFileSync(caFile, 'utf8');
  } catch (err) {
    throw new PacsError('refused', label, `cannot read the CA file ${caFile} given for ${label}: ${(err as Error).message}. Fix caFile in the PACS settings.`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new PacsError('refused', label, `${caFile}, the CA file given for ${label}, holds no PEM certificate ("-----BEGIN CERTIFICATE-----"). Give the hospital CA's certificate in PEM form.`);
  }
  const dispatcher = new Agent({ connect: { ca: [...rootCertificates, pem] } });
  return ((input: string, init?: RequestInit) =>
    undiciFetch(input, { ...(init as Parameters<typeof undiciFetch>[1]), dispatcher })) as unknown as typeof fetch;
}
