import { InputError } from '../errors';

/**
 * Why a PACS operation failed, coarse enough for the outbox and the UI to act on:
 * - unreachable: DNS failure, connection refused, connect timeout, connection dropped (PACS down or wrong host/port)
 * - timeout: connected, but the answer did not come in time (slow is not down: other files may still go through)
 * - rejected: the DICOM association was rejected (A-ASSOCIATE-RJ: wrong AE titles, not allowed)
 * - aborted: the PACS aborted the association (A-ABORT), e.g. an operation it does not allow for our AE title
 * - http: the DICOMweb server answered with an HTTP error status
 * - refused: the PACS answered but refused the operation (C-STORE failure status, STOW FailedSOPSequence)
 * - not-found: a read-back did not find what we expected
 * - protocol: the answer was not what the protocol says it should be
 */
export type PacsFailure = 'unreachable' | 'timeout' | 'rejected' | 'aborted' | 'http' | 'refused' | 'not-found' | 'protocol';

/**
 * A PACS endpoint problem. It is an InputError (the CLI prints the message and exits 2): the message names the
 * endpoint, says what went wrong and what to check.
 */
export class PacsError extends InputError {
  override name = 'PacsError';
  constructor(
    readonly failure: PacsFailure,
    /** The endpoint as the user would recognise it, e.g. `orthanc (http://pacs:8042/dicom-web)`. */
    readonly endpoint: string,
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** Node's socket error codes that mean "cannot talk to that host/port at all". */
const UNREACHABLE_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused (nothing listens on that port: is the PACS running, is the port right?)',
  ENOTFOUND: 'host name not found (check the host name / DNS)',
  EAI_AGAIN: 'host name lookup failed temporarily (check DNS / network)',
  EHOSTUNREACH: 'host unreachable (check the network / VPN)',
  ENETUNREACH: 'network unreachable (check the network / VPN)',
  ETIMEDOUT: 'connection timed out (host down or a firewall drops the traffic)',
  ECONNRESET: 'connection reset by the server',
  EPIPE: 'connection closed by the server while sending',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out (host down or a firewall drops the traffic)',
  UND_ERR_SOCKET: 'connection closed by the server',
  UND_ERR_HEADERS_TIMEOUT: 'the server accepted the connection but did not answer in time',
  UND_ERR_BODY_TIMEOUT: 'the server stopped sending in the middle of the answer',
};

/** OpenSSL's / Node's codes for a server certificate Halo does not trust, in words. */
const CERTIFICATE_CODES: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'is self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'is signed by a CA this computer does not trust (a self-signed root in the chain)',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'is signed by a CA this computer does not trust',
  UNABLE_TO_GET_ISSUER_CERT: 'is signed by a CA this computer does not trust',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'is signed by a CA this computer does not trust',
  CERT_HAS_EXPIRED: 'has expired',
  CERT_NOT_YET_VALID: 'is not valid yet (check this computer\'s clock)',
  CERT_REVOKED: 'has been revoked',
  ERR_TLS_CERT_ALTNAME_INVALID: 'is not for this host name',
};

/**
 * Why the server's TLS certificate was refused, in words (with the host names it is for, when that is the
 * problem), or undefined when the error is not about the certificate.
 */
export function describeCertificateError(err: unknown): string | undefined {
  let e = err as { code?: string; cause?: unknown; host?: string; cert?: { subjectaltname?: string } } | undefined;
  for (let depth = 0; e && depth < 4; depth++) {
    const what = e.code ? CERTIFICATE_CODES[e.code] : undefined;
    const names = e.code === 'ERR_TLS_CERT_ALTNAME_INVALID' && e.cert?.subjectaltname;
    if (what) return `its TLS certificate ${what}${names ? ` (it is for ${names}, the URL names ${e.host})` : ''} [${e.code}]`;
    e = e.cause as typeof e;
  }
  return undefined;
}

/** Human text for a Node network error (fetch's `cause` or a socket error), or undefined if it is not one. */
export function describeNetworkError(err: unknown): string | undefined {
  let e = err as { code?: string; cause?: unknown; message?: string } | undefined;
  for (let depth = 0; e && depth < 4; depth++) {
    if (e.code && UNREACHABLE_CODES[e.code]) return UNREACHABLE_CODES[e.code];
    if (e.code && /^E[A-Z]+$/.test(e.code)) return `${e.code}: ${e.message ?? 'network error'}`;
    const inText = /\b(E[A-Z]{4,}|UND_ERR_[A-Z_]+)\b/.exec(e.message ?? '')?.[1];
    if (inText && UNREACHABLE_CODES[inText]) return UNREACHABLE_CODES[inText];
    e = e.cause as typeof e;
  }
  return undefined;
}

/** A failure that will be the same for every file sent to that PACS now (it is down, or refuses us outright). */
export function failsWholeQueue(err: unknown): boolean {
  return err instanceof PacsError && (err.failure === 'unreachable' || err.failure === 'rejected');
}
