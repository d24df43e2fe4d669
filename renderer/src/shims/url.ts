/** Minimal browser stand-in for Node's `url` (see events.ts for why). */
export function domainToASCII(domain: string): string {
  try {
    return new URL(`http://${domain}`).hostname;
  } catch {
    return '';
  }
}
export function domainToUnicode(domain: string): string {
  return domain;
}
export default { domainToASCII, domainToUnicode };
