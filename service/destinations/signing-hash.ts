/**
 * The SHA-256 the direct Lambda Invoke gives the SDK's SigV4 signer (`@smithy/signature-v4`'s
 * `sha256` option: any constructor of the SDK's `Checksum`). The signing itself stays the SDK's;
 * this only does its hashing with fewer node:crypto objects per request than the SDK's default
 * (which creates a `Hash` and digests a copy of it, so two objects per plain hash):
 *
 * - a plain hash (the payload, the canonical request) is one `crypto.hash` call over the data;
 * - an HMAC is `createHmac`, except that the last HMAC keyed with text over at most
 *   {@link REMEMBERED_DATA_BYTES} bytes is remembered: the signer computes HMAC(secret access
 *   key, access key id) on every request only to find its cached signing key, always over the same
 *   bytes. A different key or different data is computed afresh.
 *
 * Digests are the same bytes as the SDK's (tests sign with both and compare).
 */
import * as crypto from 'node:crypto';

/** What the signer hashes or keys with (`SourceData` of the SDK). */
type SourceData = string | ArrayBuffer | ArrayBufferView;

/** Longest data whose HMAC under a text key is remembered (an access key id is 16–128 characters). */
export const REMEMBERED_DATA_BYTES = 128;

/** `crypto.hash` (Node.js 20.12 and later), else undefined. */
const oneShotHash = (crypto as { hash?: (algorithm: string, data: Uint8Array, encoding: 'buffer') => Buffer }).hash;
const oneShotHex = oneShotHash as ((algorithm: string, data: Uint8Array, encoding: 'hex') => string) | undefined;

/**
 * SHA-256 of `data` in lower-case hex: a request's payload hash as SigV4 writes it (the
 * `x-amz-content-sha256` header, which the SDK's signer takes as the payload hash when present).
 */
export function sha256Hex(data: Uint8Array): string {
  return oneShotHex !== undefined ? oneShotHex('sha256', data, 'hex') : crypto.createHash('sha256').update(data).digest('hex');
}

/** The last remembered HMAC: its text key, its data and its digest. */
let rememberedKey: string | undefined;
let rememberedData: Buffer | undefined;
let rememberedDigest: Buffer | undefined;

/** SHA-256 or, with a secret, HMAC-SHA256, for the SDK's SigV4 signer. */
export class SigningSha256 {
  public readonly digestLength = 32;
  private chunks: Buffer[] = [];

  public constructor(private readonly secret?: SourceData) {}

  public update(data: Uint8Array): void {
    this.chunks.push(bytesOf(data));
  }

  public digest(): Promise<Uint8Array> {
    return Promise.resolve(this.secret === undefined ? this.hash() : this.hmac(this.secret));
  }

  public reset(): void {
    this.chunks = [];
  }

  private hash(): Buffer {
    if (this.chunks.length === 1 && oneShotHash !== undefined) return oneShotHash('sha256', this.chunks[0], 'buffer');
    const hash = crypto.createHash('sha256');
    for (const chunk of this.chunks) hash.update(chunk);
    return hash.digest();
  }

  private hmac(secret: SourceData): Buffer {
    const data = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    const remember = typeof secret === 'string' && data.length <= REMEMBERED_DATA_BYTES;
    if (remember && secret === rememberedKey && rememberedData !== undefined && rememberedData.equals(data)) return Buffer.from(rememberedDigest!);
    const digest = crypto.createHmac('sha256', typeof secret === 'string' ? secret : bytesOf(secret)).update(data).digest();
    if (remember) {
      rememberedKey = secret;
      rememberedData = Buffer.from(data);
      rememberedDigest = Buffer.from(digest);
    }
    return digest;
  }
}

function bytesOf(data: SourceData): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}
