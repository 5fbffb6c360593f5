/**
 * The lab setting that lets the delivery queue consumer act on unsigned SNS notifications (local
 * SNS/SQS servers do not sign): where it is refused, and what is logged while it is on.
 */
import { ServiceEnvironment } from '../../lib/private/service-environment';

/** Domains of AWS service endpoints (public, FIPS, dual-stack, VPC endpoints, China, European Sovereign Cloud). */
const AWS_ENDPOINT_DOMAINS = ['amazonaws.com', 'amazonaws.com.cn', 'api.aws', 'amazonaws.eu'] as const;

/** True when `host` is an AWS endpoint host name. */
export function isAwsEndpointHost(host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return AWS_ENDPOINT_DOMAINS.some((d) => h === d || h.endsWith(`.${d}`));
}

/**
 * Why unsigned notifications may not be accepted from the delivery queue at `queueUrl`, or
 * undefined when they may (a queue on a local or test server).
 */
export function unsignedSnsRefusal(queueUrl: string): string | undefined {
  let host: string;
  try {
    host = new URL(queueUrl).hostname;
  } catch {
    return `${ServiceEnvironment.AcceptUnsignedSns} is set, but the delivery queue URL ${JSON.stringify(queueUrl)} is not a URL, so it cannot be shown to be a local server`;
  }
  if (isAwsEndpointHost(host)) {
    return `${ServiceEnvironment.AcceptUnsignedSns} is set, but the delivery queue is on the AWS endpoint ${host}: ` +
      'notifications from AWS are always signed and must be verified (allowed only with a local SNS/SQS server, e.g. fauxqs)';
  }
  return undefined;
}

/** The WARN logged at start and periodically while unsigned notifications are accepted. */
export const UNSIGNED_SNS_WARNING =
  `${ServiceEnvironment.AcceptUnsignedSns} is on: delivery-queue notifications are NOT verified as coming from SNS; ` +
  'anyone who can write to the delivery queue can send packets as any PacketSource (labs and tests only)';
