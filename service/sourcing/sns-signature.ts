/**
 * The signing contract of Amazon SNS messages ("Verifying the signatures of Amazon SNS messages"):
 * the string SNS signs for each message type, the digest of each `SignatureVersion`, and the only
 * shape of `SigningCertURL` the gateway fetches a certificate from (the SNS host of the topic's
 * own region). Pure: no I/O.
 */
import { parseArn, topicRegion } from '../../lib/private/arn';
import { HOST_REGION_SOURCE } from '../../lib/private/limits';

/** The fields of an SNS envelope that take part in its signature (all optional here: checked by {@link stringToSign}). */
export interface SignedSnsEnvelope {
  readonly Type?: unknown;
  readonly MessageId?: unknown;
  readonly TopicArn?: unknown;
  readonly Message?: unknown;
  readonly Subject?: unknown;
  readonly Timestamp?: unknown;
  readonly Token?: unknown;
  readonly SubscribeURL?: unknown;
  readonly SignatureVersion?: unknown;
  readonly Signature?: unknown;
  readonly SigningCertURL?: unknown;
}

/** Fields signed for a `Notification`, in signing order; `Subject` only when the message has one. */
const NOTIFICATION_FIELDS = ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'] as const;
/** Fields signed for a `SubscriptionConfirmation` or `UnsubscribeConfirmation`, in signing order. */
const CONFIRMATION_FIELDS = ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'] as const;
const OPTIONAL_FIELDS: ReadonlySet<string> = new Set(['Subject']);

/** Message types SNS signs, and how. */
export const SIGNED_MESSAGE_TYPES = ['Notification', 'SubscriptionConfirmation', 'UnsubscribeConfirmation'] as const;

/** Digest of each SignatureVersion (both RSA PKCS#1 v1.5: SHA1withRSA, SHA256withRSA). */
const DIGEST_OF_VERSION: Readonly<Record<string, string>> = { 1: 'sha1', 2: 'sha256' };

/** A string to verify, or why the envelope cannot carry a valid signature. */
export type StringToSign = { readonly text: string } | { readonly problem: string };

/**
 * The string SNS signs for `envelope`: each signed field's name and value, each followed by a
 * newline, in the documented order. A missing required field is a problem, not an empty value.
 */
export function stringToSign(envelope: SignedSnsEnvelope): StringToSign {
  const type = envelope.Type;
  let fields: readonly string[];
  if (type === 'Notification') fields = NOTIFICATION_FIELDS;
  else if (type === 'SubscriptionConfirmation' || type === 'UnsubscribeConfirmation') fields = CONFIRMATION_FIELDS;
  else return { problem: `SNS envelope Type ${describe(type)} is not a signed SNS message type (allowed: ${SIGNED_MESSAGE_TYPES.join(', ')})` };
  const values = envelope as unknown as Record<string, unknown>;
  let text = '';
  for (const field of fields) {
    const value = values[field];
    if (value === undefined || value === null) {
      if (OPTIONAL_FIELDS.has(field)) continue;
      return { problem: `SNS envelope field ${field} is missing; SNS signs it for ${type} messages` };
    }
    if (typeof value !== 'string') return { problem: `SNS envelope field ${field} must be a string, got ${describe(value)}` };
    text += `${field}\n${value}\n`;
  }
  return { text };
}

/** Node digest name of a SignatureVersion, or why it is not one. */
export function signatureDigest(version: unknown): { readonly digest: string } | { readonly problem: string } {
  const digest = typeof version === 'string' ? DIGEST_OF_VERSION[version] : undefined;
  if (!digest) return { problem: `SNS envelope SignatureVersion ${describe(version)} is not supported (allowed: "1" SHA1withRSA, "2" SHA256withRSA)` };
  return { digest };
}

/** `https://sns.<region>.<domain>/SimpleNotificationService-<id>.pem`, nothing else (no port, query, fragment or user). */
const SIGNING_CERT_URL = new RegExp(
  `^https://sns\\.(${HOST_REGION_SOURCE})\\.(amazonaws\\.com(?:\\.cn)?|amazonaws\\.eu)/SimpleNotificationService-[A-Za-z0-9_-]{1,128}\\.pem$`,
);

/** The SNS certificate host domain of a partition; undefined for partitions whose SNS host the gateway does not know. */
function snsDomainOf(partition: string): string | undefined {
  if (partition === 'aws-cn') return 'amazonaws.com.cn';
  if (partition === 'aws' || partition === 'aws-us-gov') return 'amazonaws.com';
  if (partition === 'aws-eusc') return 'amazonaws.eu';
  return undefined;
}

/**
 * Undefined when `url` is a certificate URL of the SNS host of `topicArn`'s region (and partition),
 * otherwise why it is refused.
 */
export function signingCertUrlProblem(url: unknown, topicArn: string): string | undefined {
  const region = topicRegion(topicArn);
  const partition = parseArn(topicArn)?.partition;
  if (!region || !partition) return `TopicArn ${describe(topicArn)} is not an SNS topic ARN (allowed: arn:<partition>:sns:<region>:<account>:<topic>)`;
  const domain = snsDomainOf(partition);
  if (!domain) return `TopicArn ${describe(topicArn)} is in partition ${partition}, whose SNS certificate host is not known (allowed: aws, aws-us-gov, aws-cn, aws-eusc)`;
  const expected = `https://sns.${region}.${domain}/SimpleNotificationService-<id>.pem`;
  if (typeof url !== 'string') return `SNS envelope field SigningCertURL is ${url === undefined ? 'missing' : 'not a string'} (allowed: ${expected})`;
  const match = SIGNING_CERT_URL.exec(url);
  if (!match) return `SigningCertURL ${describe(url)} is not an SNS certificate URL (allowed: ${expected})`;
  if (match[1] !== region || match[2] !== domain) {
    return `SigningCertURL ${describe(url)} is not on the SNS host of the topic's region (allowed: ${expected})`;
  }
  return undefined;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 120 ? `${value.slice(0, 120)}…` : value);
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  return typeof value;
}
