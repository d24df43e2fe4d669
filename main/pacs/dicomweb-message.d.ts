// dicomweb-client's multipart/related codec. The package's entry point only exports the XMLHttpRequest-based API
// (which Node lacks), so we import this one module directly; it is plain ESM with no browser dependencies.
declare module 'dicomweb-client/src/message.js' {
  /** Encode datasets as a multipart/related body (a preamble CRLF, one part per dataset). */
  export function multipartEncode(
    datasets: ArrayBuffer[],
    boundary?: string,
    contentType?: string,
  ): { data: ArrayBuffer; boundary: string };
  /** Split a multipart/related body (including its leading boundary line) into its parts. */
  export function multipartDecode(response: ArrayBuffer): ArrayBuffer[];
}
