/**
 * Proves that an SNS envelope read from the delivery queue was signed by Amazon SNS for the topic
 * it names: the signing certificate URL must be the SNS host of that topic's region, the
 * certificate must be a valid SNS certificate (sns-certificates.ts), and the RSA signature must
 * match the string SNS signs (sns-signature.ts). With the certificate cached, a verification is
 * one RSA public-key operation and no I/O.
 */
import { createVerify, KeyObject } from 'node:crypto';
import { SnsCertificateStore } from './sns-certificates';
import { SignedSnsEnvelope, signatureDigest, signingCertUrlProblem, stringToSign } from './sns-signature';

/** The outcome of a verification. */
export type SnsVerdict =
  | { readonly verdict: 'authentic' }
  /** Not signed by SNS for its TopicArn: never valid, however often it is received. */
  | { readonly verdict: 'forged'; readonly reason: string }
  /** The signing certificate could not be fetched now: verify the message again later. */
  | { readonly verdict: 'unverifiable'; readonly reason: string };

/**
 * The RSA operation of a check: whether `signature` (base64) is `key`'s PKCS#1 v1.5 signature of
 * `text`'s UTF-8 bytes under `digest` (`sha1`, `sha256`). Throws (or rejects) when the inputs
 * cannot be checked (forged), or with a {@link SignatureCheckUnavailable} when the check could not
 * be made now (unverifiable: the message is received again later).
 */
export type SignatureCheck = (digest: string, text: string, key: KeyObject, signature: string) => boolean | Promise<boolean>;

/**
 * The check on the calling thread. A Verify hashes the text as it is encoded: about half the CPU of
 * `crypto.verify` on a Buffer of it at 16 KB (bench/OPTIMIZATIONS.md, "SNS signature checks").
 */
export function checkSignature(digest: string, text: string, key: KeyObject, signature: string): boolean {
  return createVerify(digest).update(text, 'utf8').verify(key, signature, 'base64');
}

/** The check could not be made now (the thread making it stopped): neither verdict. */
export class SignatureCheckUnavailable extends Error {
  override readonly name = 'SignatureCheckUnavailable';
}

export interface SnsMessageVerifierOptions {
  /**
   * Makes the RSA operation of each check, everything else staying with the verifier (data-plane
   * workers make it on their threads). @default - {@link checkSignature}, on the calling thread
   */
  readonly check?: SignatureCheck;
}

const AUTHENTIC: SnsVerdict = Object.freeze({ verdict: 'authentic' });

/** Verifies SNS message signatures (SignatureVersion 1 and 2). */
export class SnsMessageVerifier {
  private readonly check: SignatureCheck;

  constructor(private readonly certificates: SnsCertificateStore = new SnsCertificateStore(), options: SnsMessageVerifierOptions = {}) {
    this.check = options.check ?? checkSignature;
  }

  /** The verdict on `envelope`; resolves without I/O when its certificate is cached. Never rejects. */
  async verify(envelope: SignedSnsEnvelope): Promise<SnsVerdict> {
    const signed = stringToSign(envelope);
    if ('problem' in signed) return forged(signed.problem);
    const digest = signatureDigest(envelope.SignatureVersion);
    if ('problem' in digest) return forged(digest.problem);
    if (typeof envelope.Signature !== 'string' || envelope.Signature.length === 0) {
      return forged('SNS envelope field Signature is missing (allowed: base64 of the RSA signature SNS computed)');
    }
    const topicArn = envelope.TopicArn as string; // a string: stringToSign required it
    const urlProblem = signingCertUrlProblem(envelope.SigningCertURL, topicArn);
    if (urlProblem) return forged(urlProblem);

    const found = await this.certificates.keyFor(envelope.SigningCertURL as string);
    if (found.kind === 'unavailable') return { verdict: 'unverifiable', reason: found.reason };
    if (found.kind === 'refused') return forged(found.reason);
    let valid: boolean;
    try {
      const checked = this.check(digest.digest, signed.text, found.key, envelope.Signature);
      valid = typeof checked === 'boolean' ? checked : await checked;
    } catch (err) {
      const reason = `SNS signature could not be checked: ${(err as Error)?.message ?? String(err)}`;
      return err instanceof SignatureCheckUnavailable ? { verdict: 'unverifiable', reason } : forged(reason);
    }
    return valid ? AUTHENTIC : forged(`SNS signature (SignatureVersion ${envelope.SignatureVersion as string}) does not match the signed fields of this ${envelope.Type as string} message`);
  }
}

function forged(reason: string): SnsVerdict {
  return { verdict: 'forged', reason };
}
