/**
 * Proves that an SNS envelope read from the delivery queue was signed by Amazon SNS for the topic
 * it names: the signing certificate URL must be the SNS host of that topic's region, the
 * certificate must be a valid SNS certificate (sns-certificates.ts), and the RSA signature must
 * match the string SNS signs (sns-signature.ts). With the certificate cached, a verification is
 * one RSA public-key operation and no I/O.
 */
import { createVerify } from 'node:crypto';
import { SnsCertificateStore } from './sns-certificates';
import { SignedSnsEnvelope, signatureDigest, signingCertUrlProblem, stringToSign } from './sns-signature';

/** The outcome of a verification. */
export type SnsVerdict =
  | { readonly verdict: 'authentic' }
  /** Not signed by SNS for its TopicArn: never valid, however often it is received. */
  | { readonly verdict: 'forged'; readonly reason: string }
  /** The signing certificate could not be fetched now: verify the message again later. */
  | { readonly verdict: 'unverifiable'; readonly reason: string };

const AUTHENTIC: SnsVerdict = Object.freeze({ verdict: 'authentic' });

/** Verifies SNS message signatures (SignatureVersion 1 and 2). */
export class SnsMessageVerifier {
  constructor(private readonly certificates: SnsCertificateStore = new SnsCertificateStore()) {}

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
      // A Verify hashes the text as it is encoded: about half the CPU of `crypto.verify` on a
      // Buffer of it at 16 KB (bench/OPTIMIZATIONS.md, "SNS signature checks").
      valid = createVerify(digest.digest).update(signed.text, 'utf8').verify(found.key, envelope.Signature, 'base64');
    } catch (err) {
      return forged(`SNS signature could not be checked: ${(err as Error).message}`);
    }
    return valid ? AUTHENTIC : forged(`SNS signature (SignatureVersion ${envelope.SignatureVersion as string}) does not match the signed fields of this ${envelope.Type as string} message`);
  }
}

function forged(reason: string): SnsVerdict {
  return { verdict: 'forged', reason };
}
