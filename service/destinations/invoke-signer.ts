/**
 * The SDK's SigV4 signer (`@smithy/signature-v4`) as the direct Lambda Invoke uses it. The signing
 * is the SDK's; two of its pure steps are done once rather than at every request:
 *
 * - the request date's SigV4 forms (`yyyyMMddTHHmmssZ` and `yyyyMMdd`, whole seconds) are
 *   remembered for the last second signed in (the SDK's `formatDate`, called through);
 * - {@link canonicalPathOf} gives the canonical form the signer makes of a request path, so a
 *   caller can sign, with `uriEscapePath: false`, a request carrying that form once computed.
 */
import { SignatureV4 } from '@smithy/signature-v4';

/** The SDK's signer, remembering the SigV4 forms of the last second it signed in. */
export class InvokeSigner extends SignatureV4 {
  private lastSecond = Number.NaN;
  private lastDates?: { longDate: string; shortDate: string };

  protected formatDate(now: Date | number | string): { longDate: string; shortDate: string } {
    if (!(now instanceof Date)) return super.formatDate(now);
    const second = Math.floor(now.getTime() / 1000);
    if (second !== this.lastSecond || this.lastDates === undefined) {
      this.lastDates = super.formatDate(now);
      this.lastSecond = second;
    }
    return this.lastDates;
  }
}

/**
 * The canonical form SigV4 gives `path`, computed by `signer` itself (its `getCanonicalPath`: dot
 * segments resolved, each segment escaped again), or undefined when this version of the SDK's
 * signer has no such method. A request signed with `uriEscapePath: false` over this form carries
 * the signature `signer` would write for `path`.
 */
export function canonicalPathOf(signer: SignatureV4, path: string): string | undefined {
  const canonicalize = (signer as unknown as { getCanonicalPath?: (request: { path: string }) => unknown }).getCanonicalPath;
  if (typeof canonicalize !== 'function') return undefined;
  const canonical = canonicalize.call(signer, { path });
  return typeof canonical === 'string' ? canonical : undefined;
}
