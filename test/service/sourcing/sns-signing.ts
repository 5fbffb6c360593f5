/**
 * Signs SNS envelopes the way Amazon SNS does, with a real RSA key and a self-signed X.509
 * certificate made by the openssl CLI for the test, and serves that certificate from an in-memory
 * fetcher (never the network). The string to sign is written out here independently of the code
 * under test, from the AWS documentation ("Verifying the signatures of Amazon SNS messages").
 */
import { execFileSync } from 'node:child_process';
import { sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CertificateFetcher } from '../../../service/sourcing/sns-certificates';

/** A key pair and its certificate (PEM). */
export interface SigningIdentity {
  readonly privateKeyPem: string;
  readonly certificatePem: string;
}

/** A new RSA-2048 key and a certificate for `subject` valid for `days` days from now. */
export function makeSigningIdentity(subject = '/C=US/O=Amazon.com, Inc./CN=sns.amazonaws.com', days = 2): SigningIdentity {
  const dir = mkdtempSync(join(tmpdir(), 'sns-cert-'));
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
      '-subj', subject, '-days', String(days),
    ], { stdio: 'pipe' });
    return { privateKeyPem: readFileSync(join(dir, 'key.pem'), 'utf8'), certificatePem: readFileSync(join(dir, 'cert.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The documented string to sign: name and value of each field, newline after each, in this order. */
export function documentedStringToSign(e: Record<string, unknown>): string {
  const fields = e.Type === 'Notification'
    ? ['Message', 'MessageId', ...(e.Subject !== undefined ? ['Subject'] : []), 'Timestamp', 'TopicArn', 'Type']
    : ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];
  return fields.map((f) => `${f}\n${e[f] as string}\n`).join('');
}

/** `envelope` with SignatureVersion, Signature and SigningCertURL set as SNS sets them. */
export function signEnvelope(
  envelope: Record<string, unknown>,
  identity: SigningIdentity,
  signingCertUrl: string,
  version: '1' | '2' = '1',
): Record<string, unknown> {
  const signature = sign(version === '1' ? 'sha1' : 'sha256', Buffer.from(documentedStringToSign(envelope), 'utf8'), identity.privateKeyPem);
  return { ...envelope, SignatureVersion: version, Signature: signature.toString('base64'), SigningCertURL: signingCertUrl };
}

/** A certificate fetcher answering from `certificates` by URL (404 otherwise), counting requests. */
export class FakeCertificateHost {
  readonly requests: string[] = [];
  private readonly certificates = new Map<string, string>();

  serve(url: string, pem: string): this {
    this.certificates.set(url, pem);
    return this;
  }

  readonly fetcher: CertificateFetcher = async (url) => {
    this.requests.push(url);
    const pem = this.certificates.get(url);
    return pem === undefined ? { status: 404, body: '<Error><Code>NoSuchKey</Code></Error>' } : { status: 200, body: pem };
  };
}

/** A certificate URL of the SNS host of `region`. */
export function certUrl(region: string, id = 'f3ecfb7224c7233fe7bb5f59f96de52f', domain = 'amazonaws.com'): string {
  return `https://sns.${region}.${domain}/SimpleNotificationService-${id}.pem`;
}
