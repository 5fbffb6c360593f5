/**
 * Signing certificates of Amazon SNS, by URL: fetched once (with a timeout, redirects refused),
 * checked (an X.509 certificate whose subject CN is an SNS host name), and kept in a bounded cache
 * so that verifying a message costs one RSA verification, never a request. Validity dates are
 * checked on every use. The caller validates the URL's shape first (sns-signature.ts); this module
 * never decides which hosts are trusted.
 */
import { KeyObject, X509Certificate } from 'node:crypto';
import { HOST_REGION_SOURCE } from '../../lib/private/limits';

/** Fetches a certificate's PEM text: resolves with the HTTP status and body, rejects on network errors and timeouts. */
export type CertificateFetcher = (url: string, signal: AbortSignal) => Promise<{ readonly status: number; readonly body: string }>;

export interface SnsCertificateStoreOptions {
  /** @default - HTTPS GET with the global fetch, redirects refused */
  fetcher?: CertificateFetcher;
  /** A fetch not answered within this many milliseconds fails (the message is retried later). @default 5000 */
  fetchTimeoutMs?: number;
  /** Most certificates (and refused URLs) kept. @default 32 */
  maxEntries?: number;
  /** How long a URL that answered with a refusal (4xx, not a certificate) stays refused, milliseconds. @default 600000 */
  refusedTtlMs?: number;
  /** Clock in epoch milliseconds (validity dates, refusal expiry). @default Date.now */
  now?: () => number;
}

/** A signing certificate's public key, or why none can be had for now or for good. */
export type SigningKey =
  | { readonly kind: 'key'; readonly key: KeyObject }
  /** The URL does not serve a usable SNS certificate: messages that name it are not authentic. */
  | { readonly kind: 'refused'; readonly reason: string }
  /** The certificate could not be fetched now (timeout, network, 5xx): try the message again later. */
  | { readonly kind: 'unavailable'; readonly reason: string };

interface Certificate {
  readonly kind: 'certificate';
  readonly key: KeyObject;
  readonly validFrom: number;
  readonly validTo: number;
  readonly subject: string;
}

interface Refusal {
  readonly kind: 'refused';
  readonly reason: string;
  readonly until: number;
}

/** Largest certificate body accepted, bytes (an SNS certificate is under 3 KB). */
const MAX_PEM_BYTES = 16 * 1024;

/** The certificate store of the delivery queue consumer. */
export class SnsCertificateStore {
  private readonly fetcher: CertificateFetcher;
  private readonly fetchTimeoutMs: number;
  private readonly maxEntries: number;
  private readonly refusedTtlMs: number;
  private readonly now: () => number;
  private readonly entries = new Map<string, Certificate | Refusal>();
  private readonly fetching = new Map<string, Promise<SigningKey>>();

  constructor(opts: SnsCertificateStoreOptions = {}) {
    this.fetcher = opts.fetcher ?? httpsFetcher;
    this.fetchTimeoutMs = opts.fetchTimeoutMs ?? 5000;
    this.maxEntries = Math.max(1, Math.floor(opts.maxEntries ?? 32));
    this.refusedTtlMs = opts.refusedTtlMs ?? 600_000;
    this.now = opts.now ?? Date.now;
  }

  /** The public key of the certificate at `url`, fetched at most once at a time and then cached. */
  keyFor(url: string): SigningKey | Promise<SigningKey> {
    const entry = this.entries.get(url);
    if (entry) {
      const usable = this.use(url, entry);
      if (usable) return usable;
    }
    let pending = this.fetching.get(url);
    if (!pending) {
      pending = this.load(url).finally(() => this.fetching.delete(url));
      this.fetching.set(url, pending);
    }
    return pending;
  }

  /** Number of cached certificates and refusals. */
  get size(): number {
    return this.entries.size;
  }

  /** The answer of a cached entry, or undefined when it has expired and must be fetched again. */
  private use(url: string, entry: Certificate | Refusal): SigningKey | undefined {
    const now = this.now();
    if (entry.kind === 'refused') {
      if (now < entry.until) return entry;
      this.entries.delete(url);
      return undefined;
    }
    if (now < entry.validFrom) return { kind: 'refused', reason: `signing certificate ${url} (${entry.subject}) is not valid before ${new Date(entry.validFrom).toISOString()}` };
    if (now > entry.validTo) {
      // SNS publishes a new certificate under a new URL; an expired one never becomes valid again.
      return { kind: 'refused', reason: `signing certificate ${url} (${entry.subject}) expired at ${new Date(entry.validTo).toISOString()}` };
    }
    return { kind: 'key', key: entry.key };
  }

  private async load(url: string): Promise<SigningKey> {
    let answer: { status: number; body: string };
    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        abort.abort();
        reject(Object.assign(new Error('timed out'), { name: 'TimeoutError' }));
      }, this.fetchTimeoutMs);
    });
    try {
      // The race keeps the timeout even for a fetcher that ignores its signal.
      answer = await Promise.race([this.fetcher(url, abort.signal), timedOut]);
    } catch (err) {
      const e = err as Error;
      const reason = e.name === 'TimeoutError' || abort.signal.aborted
        ? `signing certificate ${url} was not fetched within ${this.fetchTimeoutMs} ms`
        : `signing certificate ${url} could not be fetched: ${e.name}: ${e.message}`;
      return { kind: 'unavailable', reason };
    } finally {
      clearTimeout(timer);
    }
    if (answer.status >= 500 || answer.status === 429) {
      return { kind: 'unavailable', reason: `signing certificate ${url} could not be fetched: HTTP ${answer.status}` };
    }
    if (answer.status !== 200) return this.refuse(url, `signing certificate ${url} answered HTTP ${answer.status} (allowed: 200 with a PEM certificate)`);
    const parsed = parseCertificate(url, answer.body);
    if ('reason' in parsed) return this.refuse(url, parsed.reason);
    this.remember(url, parsed);
    return this.use(url, parsed)!;
  }

  private refuse(url: string, reason: string): SigningKey {
    this.remember(url, { kind: 'refused', reason, until: this.now() + this.refusedTtlMs });
    return { kind: 'refused', reason };
  }

  /** Caches `entry`, dropping the oldest entry when full. */
  private remember(url: string, entry: Certificate | Refusal): void {
    this.entries.delete(url);
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
    this.entries.set(url, entry);
  }
}

/**
 * Subject common names of SNS signing certificates, on the domain of the URL they were fetched
 * from: `sns.amazonaws.com` (most regions), `sns-<region>.<domain>` (China, GovCloud),
 * `sns-signing.<region>.<domain>` (opt-in regions, European Sovereign Cloud), `sns.<region>.<domain>`.
 */
function snsCertificateCn(domain: string): RegExp {
  const region = HOST_REGION_SOURCE;
  return new RegExp(`^(?:sns|sns-${region}|sns-signing\\.${region}|sns\\.${region})\\.${domain.replace(/\./g, '\\.')}$`);
}

/** The domain of an SNS certificate URL's host (`sns.<region>.<domain>`). */
function domainOf(url: string): string {
  try {
    return new URL(url).hostname.split('.').slice(2).join('.');
  } catch {
    return '';
  }
}

/** A parsed SNS certificate, or why the body is not one. */
export function parseCertificate(url: string, pem: string): Certificate | { readonly reason: string } {
  if (typeof pem !== 'string' || Buffer.byteLength(pem) > MAX_PEM_BYTES || !pem.includes('-----BEGIN CERTIFICATE-----')) {
    return { reason: `signing certificate ${url} is not a PEM certificate of at most ${MAX_PEM_BYTES} bytes` };
  }
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch (err) {
    return { reason: `signing certificate ${url} is not a valid X.509 certificate: ${(err as Error).message}` };
  }
  const cn = commonName(cert.subject);
  const domain = domainOf(url);
  if (!cn || !domain || !snsCertificateCn(domain).test(cn)) {
    return {
      reason: `signing certificate ${url} has subject CN ${JSON.stringify(cn ?? '')} ` +
        `(allowed: sns.${domain}, sns-<region>.${domain}, sns-signing.<region>.${domain} or sns.<region>.${domain})`,
    };
  }
  if (cert.publicKey.asymmetricKeyType !== 'rsa') {
    return { reason: `signing certificate ${url} has a ${cert.publicKey.asymmetricKeyType} key (allowed: rsa)` };
  }
  const validFrom = Date.parse(cert.validFrom);
  const validTo = Date.parse(cert.validTo);
  if (!Number.isFinite(validFrom) || !Number.isFinite(validTo)) {
    return { reason: `signing certificate ${url} has unreadable validity dates (${cert.validFrom} – ${cert.validTo})` };
  }
  return { kind: 'certificate', key: cert.publicKey, validFrom, validTo, subject: `CN=${cn}` };
}

/** The CN of an X.509 subject as Node prints it (`C=US\nO=…\nCN=sns.amazonaws.com`). */
function commonName(subject: string): string | undefined {
  const cns = subject.split('\n').filter((line) => line.startsWith('CN='));
  return cns.length === 1 ? cns[0].slice(3) : undefined;
}

/** HTTPS GET of a certificate with the global fetch: no redirects, no cookies, the body bounded. */
const httpsFetcher: CertificateFetcher = async (url, signal) => {
  const response = await fetch(url, { signal, redirect: 'error', headers: { accept: 'application/x-pem-file, */*' } });
  const length = Number(response.headers.get('content-length') ?? '0');
  if (length > MAX_PEM_BYTES) {
    await response.body?.cancel();
    return { status: response.status, body: '' };
  }
  return { status: response.status, body: await response.text() };
};
