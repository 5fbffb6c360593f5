/**
 * SigV4 for the direct Lambda Invoke (lambda-invoker.ts): the same headers and signature as the
 * SDK's `SignatureV4` (`@smithy/signature-v4`) writes for the same request, credentials and date,
 * with less work per request. The SDK's signer clones the request, formats the date, normalizes
 * and escapes the path, lower-cases, filters, cleans and sorts every header, hashes through
 * `Checksum` objects and looks its signing key up by an HMAC of the credentials: ≈ 30 µs of CPU
 * per Invoke, a third of the gateway's work per round trip when a Lambda destination answers
 * one packet per Invoke (bench/OPTIMIZATIONS.md, "AWS-mode Lambda replies at Count 1"). Here:
 *
 * - the canonical path of a request path is computed once and remembered (an Invoke's path names
 *   its function, so a gateway sees a handful);
 * - the date strings are formatted once per second;
 * - the signing key is derived once per day, region, service and credentials (compared by value);
 * - the payload and the canonical request are each hashed with one `crypto.hash` call, the string
 *   to sign with one HMAC.
 *
 * It signs requests without a query string only (an Invoke has none; an endpoint that carries
 * one is signed by the SDK's signer, see {@link InvokeSigner.signs}). Tests sign the same
 * requests with both and compare every header.
 */
import * as crypto from 'node:crypto';

/** Credentials as the SDK's providers resolve them. */
export interface SigningCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** The request fields signing reads (an `HttpRequest` of the SDK, or a plain object of its shape). */
export interface SignableRequest {
  readonly method: string;
  readonly path: string;
  readonly query?: Record<string, unknown>;
  readonly headers: Record<string, string>;
  readonly body?: Uint8Array;
  readonly [field: string]: unknown;
}

/** Headers the SDK never signs (its `ALWAYS_UNSIGNABLE_HEADERS`), and its `proxy-` / `sec-` prefixes. */
const UNSIGNABLE = new Set([
  'authorization', 'cache-control', 'connection', 'expect', 'from', 'keep-alive', 'max-forwards', 'pragma', 'referer', 'te',
  'trailer', 'transfer-encoding', 'upgrade', 'user-agent', 'x-amzn-trace-id',
]);
/** Headers the signer writes (a request's own are replaced, as the SDK's `prepareRequest` does). */
const GENERATED = new Set(['authorization', 'x-amz-date', 'date']);
const ALGORITHM = 'AWS4-HMAC-SHA256';
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
/** Request paths whose canonical form is remembered, at most. */
const MAX_REMEMBERED_PATHS = 256;

/** `crypto.hash` (Node.js 20.12 and later), else undefined. */
const oneShotHash = (crypto as { hash?: (algorithm: string, data: string | Uint8Array, encoding: 'hex') => string }).hash;

function sha256Hex(data: string | Uint8Array): string {
  if (oneShotHash !== undefined) return oneShotHash('sha256', data, 'hex');
  return crypto.createHash('sha256').update(data).digest('hex');
}

export interface InvokeSignerOptions {
  /** Read on every signing, as the SDK does, so refreshed or replaced credentials are used. */
  readonly credentials: () => Promise<SigningCredentials>;
  readonly region: string;
  readonly service: string;
}

export class InvokeSigner {
  /** Whether this signer signs `request` as the SDK would: requests without a query string. */
  public static signs(query: Record<string, unknown> | undefined): boolean {
    return query === undefined || Object.keys(query).length === 0;
  }

  private readonly canonicalPaths = new Map<string, string>();
  private dateSecond = Number.NaN;
  private longDate = '';
  private shortDate = '';
  private keyDate = '';
  private keyCredentials?: SigningCredentials;
  private signingKey?: Buffer;

  public constructor(private readonly options: InvokeSignerOptions) {}

  /** The request with `x-amz-date`, `x-amz-security-token` (with a session token), `x-amz-content-sha256` and `authorization` set. */
  public async sign<T extends SignableRequest>(request: T, options: { readonly signingDate: Date }): Promise<T> {
    if (!InvokeSigner.signs(request.query)) throw new Error('InvokeSigner signs requests without a query string (allowed: an empty query)');
    const credentials = await this.options.credentials();
    if (typeof credentials?.accessKeyId !== 'string' || typeof credentials.secretAccessKey !== 'string') {
      throw new Error('Resolved credential object is not valid');
    }
    this.formatDate(options.signingDate);
    const headers: Record<string, string> = {};
    for (const name in request.headers) {
      if (!GENERATED.has(name.toLowerCase())) headers[name] = request.headers[name];
    }
    headers['x-amz-date'] = this.longDate;
    if (credentials.sessionToken) headers['x-amz-security-token'] = credentials.sessionToken;
    let payloadHash = headerValue(headers, 'x-amz-content-sha256');
    if (payloadHash === undefined) {
      payloadHash = request.body === undefined || request.body === null ? EMPTY_SHA256 : sha256Hex(request.body);
      headers['x-amz-content-sha256'] = payloadHash;
    }
    const { lines, names } = canonicalHeaders(headers);
    const scope = `${this.shortDate}/${this.options.region}/${this.options.service}/aws4_request`;
    const canonicalRequest = `${request.method}\n${this.canonicalPath(request.path)}\n\n${lines}\n\n${names}\n${payloadHash}`;
    const stringToSign = `${ALGORITHM}\n${this.longDate}\n${scope}\n${sha256Hex(canonicalRequest)}`;
    const signature = crypto.createHmac('sha256', this.keyFor(credentials)).update(stringToSign).digest('hex');
    headers.authorization = `${ALGORITHM} Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${names}, Signature=${signature}`;
    return { ...request, headers };
  }

  /** `x-amz-date` (`20261206T221500Z`) and the scope's day, formatted once per second. */
  private formatDate(date: Date): void {
    const second = Math.floor(date.getTime() / 1000);
    if (second === this.dateSecond) return;
    this.longDate = date.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
    this.shortDate = this.longDate.slice(0, 8);
    this.dateSecond = second;
  }

  /** The signing key of the current day for `credentials`, derived again when either changes. */
  private keyFor(credentials: SigningCredentials): Buffer {
    const known = this.keyCredentials;
    if (this.signingKey !== undefined && this.keyDate === this.shortDate && known !== undefined
      && known.accessKeyId === credentials.accessKeyId && known.secretAccessKey === credentials.secretAccessKey
      && known.sessionToken === credentials.sessionToken) {
      return this.signingKey;
    }
    let key: Buffer = crypto.createHmac('sha256', `AWS4${credentials.secretAccessKey}`).update(this.shortDate).digest();
    for (const part of [this.options.region, this.options.service, 'aws4_request']) {
      key = crypto.createHmac('sha256', key).update(part).digest();
    }
    this.signingKey = key;
    this.keyDate = this.shortDate;
    const { accessKeyId, secretAccessKey, sessionToken } = credentials;
    this.keyCredentials = { accessKeyId, secretAccessKey, sessionToken };
    return key;
  }

  /** The path with `.` and `..` segments resolved and escaped twice, as the SDK's signer writes it (remembered per path). */
  private canonicalPath(path: string): string {
    let canonical = this.canonicalPaths.get(path);
    if (canonical === undefined) {
      canonical = canonicalPathOf(path);
      if (this.canonicalPaths.size >= MAX_REMEMBERED_PATHS) this.canonicalPaths.clear();
      this.canonicalPaths.set(path, canonical);
    }
    return canonical;
  }
}

/** The SDK's `getCanonicalPath` with `uriEscapePath` (the default, and Lambda's). */
export function canonicalPathOf(path: string): string {
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment.length === 0 || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const normalized = `${path.startsWith('/') ? '/' : ''}${segments.join('/')}${segments.length > 0 && path.endsWith('/') ? '/' : ''}`;
  return escapeUri(normalized).replace(/%2F/g, '/');
}

function escapeUri(uri: string): string {
  return encodeURIComponent(uri).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Values that need the SDK's clean-up (line breaks, tabs, repeated or edge spaces). */
const NEEDS_CLEANING = /[\r\n\t]| {2}|^ | $/;

/** The signed headers' canonical lines and their names, sorted, as the SDK's `getCanonicalHeaders` selects and cleans them. */
function canonicalHeaders(headers: Record<string, string>): { lines: string; names: string } {
  const canonical = new Map<string, string>();
  // in sorted order, so that of two names differing in case the same one wins as in the SDK
  for (const name of Object.keys(headers).sort()) {
    const value = headers[name];
    if (value === undefined || value === null) continue;
    const lower = name.toLowerCase();
    if (UNSIGNABLE.has(lower) || lower.startsWith('proxy-') || lower.startsWith('sec-')) continue;
    canonical.set(lower, NEEDS_CLEANING.test(value) ? value.replace(/[\r\n]/g, ' ').replace(/[ \t]+/g, ' ').replace(/^ | $/g, '') : value);
  }
  const sorted = [...canonical.keys()].sort();
  let lines = '';
  for (let i = 0; i < sorted.length; i++) lines += `${i === 0 ? '' : '\n'}${sorted[i]}:${canonical.get(sorted[i])}`;
  return { lines, names: sorted.join(';') };
}

function headerValue(headers: Record<string, string>, lowerName: string): string | undefined {
  for (const name in headers) if (name.toLowerCase() === lowerName) return headers[name];
  return undefined;
}
