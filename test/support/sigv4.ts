/**
 * Checks a SigV4-signed request as AWS does: recomputes its signature from what arrived (the
 * headers it names as signed, the path, the body) with the same credentials, and compares.
 */
import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';

/** A request as a server received it. */
export interface ReceivedRequest {
  readonly method: string;
  /** Path as sent (no query string in these tests). */
  readonly path: string;
  /** Lower-case header names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

export interface SigningExpectation {
  readonly region: string;
  readonly service: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string };
}

function binary(data: string | ArrayBuffer | ArrayBufferView): string | Buffer {
  if (typeof data === 'string') return data;
  return data instanceof ArrayBuffer ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** SHA-256 (and HMAC-SHA-256 with a secret) in the shape SignatureV4 takes. */
export class Sha256 {
  private readonly h;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.h = secret ? createHmac('sha256', binary(secret)) : createHash('sha256');
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.h.update(binary(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
}

/** True when `r`'s Authorization header is the SigV4 signature of `r` for `expected`, and its body is the signed one. */
export async function signatureMatches(r: ReceivedRequest, expected: SigningExpectation): Promise<boolean> {
  const bodyHash = r.headers['x-amz-content-sha256'];
  if (bodyHash !== undefined && createHash('sha256').update(r.body).digest('hex') !== bodyHash) return false;
  const auth = r.headers.authorization ?? '';
  const scope = new RegExp(`^AWS4-HMAC-SHA256 Credential=${expected.credentials.accessKeyId}/\\d{8}/${expected.region}/${expected.service}/aws4_request, `);
  if (!scope.test(auth)) return false;
  const signedNames = /SignedHeaders=([^,]+)/.exec(auth)?.[1].split(';') ?? [];
  const headers: Record<string, string> = {};
  for (const name of signedNames) headers[name] = r.headers[name];
  const [hostname, port] = (r.headers.host ?? '').split(':');
  const amzDate = r.headers['x-amz-date'] ?? '';
  const signingDate = new Date(`${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13)}`);
  const signer = new SignatureV4({ credentials: expected.credentials, region: expected.region, service: expected.service, sha256: Sha256 });
  const again = await signer.sign(
    { method: r.method, protocol: 'https:', hostname, port: port === undefined ? undefined : Number(port), path: r.path, query: {}, headers, body: r.body },
    { signingDate },
  );
  return again.headers.authorization === auth;
}
