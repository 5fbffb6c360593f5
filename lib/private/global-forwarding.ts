/**
 * The contract of forwarding a sourced message to the region that owns a client's flow
 * (docs/FLEET.md "Global"): the delivery-queue message attributes that mark a forwarded SNS
 * notification, and the list of peer delivery queues the construct gives the fleet. The forwarded
 * notification keeps its SNS signature: the receiving region verifies it like any other, so the
 * envelope needs no secret of its own. Pure: no CDK import.
 */
import { REGION } from './limits';

/** SQS message attribute (String): the indexes of the entries the receiving region sends, `"0,3,4"`. */
export const FORWARDED_ENTRIES_ATTRIBUTE = 'PacketGatewayForwardedEntries';

/** SQS message attribute (String): the region that forwarded the notification. */
export const FORWARDED_FROM_ATTRIBUTE = 'PacketGatewayForwardedFrom';

/** `[0, 3, 4]` → `"0,3,4"`. */
export function formatForwardedEntries(indexes: readonly number[]): string {
  return indexes.join(',');
}

/**
 * The entry indexes of a forwarded-entries attribute, each below `entryCount`; undefined when the
 * value is not a comma-separated list of such indexes.
 */
export function parseForwardedEntries(value: unknown, entryCount: number): Set<number> | undefined {
  if (typeof value !== 'string' || !/^\d{1,6}(,\d{1,6})*$/.test(value)) return undefined;
  const indexes = new Set<number>();
  for (const part of value.split(',')) {
    const index = Number(part);
    if (index >= entryCount) return undefined;
    indexes.add(index);
  }
  return indexes;
}

/** The peers' delivery queue ARNs as the fleet's environment carries them: comma-separated. */
export function formatPeerDeliveryQueues(queueArns: readonly string[]): string {
  return queueArns.join(',');
}

/** The queue ARNs of {@link formatPeerDeliveryQueues}; empty for an unset or empty value. */
export function parsePeerDeliveryQueues(value: string | undefined): string[] {
  return (value ?? '').split(',').map((v) => v.trim()).filter((v) => v.length > 0);
}

/** What {@link parsePeerSqsEndpoints} accepts, for error messages. */
export const PEER_SQS_ENDPOINTS_ALLOWED = 'comma-separated <region>=<http or https URL>, each region once';


/** `"eu-west-1=http://10.0.0.1:4566,…"` → region → endpoint URL (no trailing slash); empty for an unset or empty value. */
export function parsePeerSqsEndpoints(value: string | undefined): Map<string, string> {
  const endpoints = new Map<string, string>();
  for (const part of (value ?? '').split(',').map((v) => v.trim()).filter((v) => v.length > 0)) {
    const at = part.indexOf('=');
    const region = at > 0 ? part.slice(0, at) : '';
    const url = at > 0 ? part.slice(at + 1) : '';
    let valid = REGION.pattern.test(region) && !endpoints.has(region);
    try {
      valid &&= ['http:', 'https:'].includes(new URL(url).protocol);
    } catch {
      valid = false;
    }
    if (!valid) throw new Error(`peer SQS endpoint ${JSON.stringify(part)} is not valid (allowed: ${PEER_SQS_ENDPOINTS_ALLOWED})`);
    endpoints.set(region, url.replace(/\/+$/, ''));
  }
  return endpoints;
}
