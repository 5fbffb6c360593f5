/**
 * AWS Signature Version 4 for one request with a body of bytes, in header form: the same
 * `Authorization`, `x-amz-date`, `x-amz-security-token` and `x-amz-content-sha256` headers as
 * `@smithy/signature-v4`'s `SignatureV4.sign` (its canonical path, query and header rules), for the
 * direct Invoke path of the ingress (lambda-invoker.ts). The SDK's signer is general (event
 * streams, presigning, any body, any hash implementation) and costs ≈ 45 µs of CPU per request
 * beyond hashing the payload, ≈ 0.45 µs per packet in a batch of 100; here the signing key is
 * derived once per day and credentials, the canonical path once per path, and a request costs
 * the payload hash and two HMACs.
 */
import { createHash, createHmac } from 'node:crypto';

/** Credentials as the SDK's providers resolve them. */
export interface SigningCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** The request fields the signature covers (the shape of the SDK's `HttpRequest`). */
export interface SignableRequest {
  readonly method: string;
  readonly protocol: string;
  readonly hostname: string;
  readonly port?: number;
  readonly path: string;
  readonly query: Readonly<Record<string, string | string[] | null | undefined>>;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: Uint8Array;
}

/** A signed copy of a request: its headers with the signature's own added. */
export type SignedRequest<R extends SignableRequest> = Omit<R, 'headers'> & { readonly headers: Record<string, string> };

export interface SigV4SignerOptions {
  /** Resolves the credentials for each signature (the SDK client's provider caches and refreshes them). */
  readonly credentials: () => Promise<SigningCredentials>;
  readonly region: string;
  /** Signing name of the service, e.g. `lambda`. */
  readonly service: string;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';
const KEY_TYPE = 'aws4_request';
const SHA256_HEADER = 'x-amz-content-sha256';
/** Headers the signature leaves out (as `@smithy/signature-v4`'s ALWAYS_UNSIGNABLE_HEADERS). */
const UNSIGNABLE = new Set([
  'authorization', 'cache-control', 'connection', 'expect', 'from', 'keep-alive', 'max-forwards', 'pragma', 'referer', 'te',
  'trailer', 'transfer-encoding', 'upgrade', 'user-agent', 'x-amzn-trace-id',
]);
/** Headers the signer sets itself; a request's own are replaced. */
const GENERATED = new Set(['authorization', 'x-amz-date', 'date']);
/** Canonical paths remembered (one per function name on the Invoke path). */
const MAX_CACHED_PATHS = 256;

/** Signs requests in header form with SigV4 (see the module comment). */
export class SigV4Signer {
  private readonly paths = new Map<string, string>();
  private signingKey?: { readonly id: string; readonly key: Buffer };

  public constructor(private readonly options: SigV4SignerOptions) {}

  /** The request with its signature headers; rejects when the credentials cannot be resolved or are not valid. */
  public async sign<R extends SignableRequest>(request: R, signingDate: Date): Promise<SignedRequest<R>> {
    const credentials = await this.options.credentials();
    if (typeof credentials !== 'object' || credentials === null
      || typeof credentials.accessKeyId !== 'string' || typeof credentials.secretAccessKey !== 'string') {
      throw new Error('Resolved credential object is not valid');
    }
    const iso = signingDate.toISOString();
    const longDate = iso.slice(0, 4) + iso.slice(5, 7) + iso.slice(8, 13) + iso.slice(14, 16) + iso.slice(17, 19) + 'Z';
    const shortDate = longDate.slice(0, 8);
    const scope = `${shortDate}/${this.options.region}/${this.options.service}/${KEY_TYPE}`;
    const headers: Record<string, string> = {};
    let payloadHash: string | undefined;
    for (const name in request.headers) {
      const value = request.headers[name];
      const lower = name.toLowerCase();
      if (GENERATED.has(lower)) continue;
      if (value === undefined) continue;
      headers[name] = value;
      if (lower === SHA256_HEADER) payloadHash = value;
    }
    headers['x-amz-date'] = longDate;
    if (credentials.sessionToken) headers['x-amz-security-token'] = credentials.sessionToken;
    if (payloadHash === undefined) {
      payloadHash = createHash('sha256').update(request.body).digest('hex');
      headers[SHA256_HEADER] = payloadHash;
    }
    const signed: Array<[string, string]> = [];
    for (const name in headers) {
      const lower = name.toLowerCase();
      if (UNSIGNABLE.has(lower) || lower.startsWith('proxy-') || lower.startsWith('sec-')) continue;
      signed.push([lower, headers[name].trim().replace(/\s+/g, ' ')]);
    }
    signed.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    let canonicalHeaders = '';
    let signedHeaders = '';
    for (let i = 0; i < signed.length; i++) {
      canonicalHeaders += signed[i][0] + ':' + signed[i][1] + '\n';
      signedHeaders += (i > 0 ? ';' : '') + signed[i][0];
    }
    const canonicalRequest = request.method + '\n' + this.canonicalPath(request.path) + '\n' + canonicalQuery(request.query) + '\n'
      + canonicalHeaders + '\n' + signedHeaders + '\n' + payloadHash;
    const stringToSign = ALGORITHM + '\n' + longDate + '\n' + scope + '\n' + createHash('sha256').update(canonicalRequest, 'utf8').digest('hex');
    const signature = createHmac('sha256', this.keyFor(credentials, shortDate)).update(stringToSign, 'utf8').digest('hex');
    headers.authorization = `${ALGORITHM} Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
    return { ...request, headers };
  }

  /** The signing key of the day, derived again when the date or the credentials change. */
  private keyFor(credentials: SigningCredentials, shortDate: string): Buffer {
    const id = shortDate + '\n' + credentials.accessKeyId + '\n' + credentials.secretAccessKey + '\n' + (credentials.sessionToken ?? '');
    if (this.signingKey?.id === id) return this.signingKey.key;
    let key = hmac(Buffer.from('AWS4' + credentials.secretAccessKey, 'utf8'), shortDate);
    key = hmac(key, this.options.region);
    key = hmac(key, this.options.service);
    key = hmac(key, KEY_TYPE);
    this.signingKey = { id, key };
    return key;
  }

  private canonicalPath(path: string): string {
    let canonical = this.paths.get(path);
    if (canonical === undefined) {
      canonical = canonicalPathOf(path);
      if (this.paths.size >= MAX_CACHED_PATHS) this.paths.clear();
      this.paths.set(path, canonical);
    }
    return canonical;
  }
}

function hmac(key: Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** RFC 3986 escaping as the SDK signs it: encodeURIComponent plus `! ' ( ) *`. */
function escapeUri(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The path with `.`/`..` and empty segments resolved, escaped once more (SigV4 for every service but S3). */
function canonicalPathOf(path: string): string {
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment.length === 0 || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const normalized = `${path.startsWith('/') ? '/' : ''}${segments.join('/')}${segments.length > 0 && path.endsWith('/') ? '/' : ''}`;
  return escapeUri(normalized).replace(/%2F/g, '/');
}

/** Query parameters sorted by escaped name, each value escaped (repeated values sorted). */
function canonicalQuery(query: SignableRequest['query']): string {
  const keys: string[] = [];
  const serialized: Record<string, string> = {};
  for (const key in query) {
    if (key.toLowerCase() === 'x-amz-signature') continue;
    const encodedKey = escapeUri(key);
    keys.push(encodedKey);
    const value = query[key];
    if (typeof value === 'string') {
      serialized[encodedKey] = `${encodedKey}=${escapeUri(value)}`;
    } else if (Array.isArray(value)) {
      serialized[encodedKey] = value.map((v) => `${encodedKey}=${escapeUri(v)}`).sort().join('&');
    }
  }
  if (keys.length === 0) return '';
  return keys.sort().map((key) => serialized[key]).filter((s) => s).join('&');
}
