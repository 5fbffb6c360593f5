/**
 * `Local.IpAddress` in AWS: the Listener's public address, as Proxylity reports it. Clients reach a
 * deployed gateway at the load balancer's Elastic IPs, one per Availability Zone; the construct
 * passes them as PACKET_GATEWAY_PUBLIC_ADDRESSES (`zone=address,…`), and each task reports the
 * address of its own zone, read from the ECS task metadata (`/task` `AvailabilityZone`).
 *
 * Which address a client used cannot be seen from the task (the load balancer rewrites the
 * destination to the task's private address, and with cross-zone balancing a datagram sent to one
 * zone's address may reach a task in another). The task's own zone is the address a client that
 * resolves the load balancer's DNS name from that zone uses, and it is stable for the task's life.
 * A task in a zone without an address reports the address of the first zone by name; without
 * Elastic IPs (or with your own allocation ids, whose addresses the template does not know) no
 * public address is known and `Local.IpAddress` stays the Listener's `PublicAddress`, else its
 * bound address.
 */
import { isIP } from 'node:net';
import { ECS_METADATA_URI_VARIABLE, readTaskMetadata } from './fleet/member';
import { ServiceEnvironment } from '../lib/private/service-environment';

/** The public address of each zone in `text` (`zone=address,…`); throws naming the bad entry. */
export function parsePublicAddresses(text: string): ReadonlyMap<string, string> {
  const addresses = new Map<string, string>();
  for (const entry of text.split(',').map((e) => e.trim()).filter((e) => e.length > 0)) {
    const at = entry.indexOf('=');
    const zone = at > 0 ? entry.slice(0, at) : '';
    const address = at > 0 ? entry.slice(at + 1) : '';
    if (!/^[a-z0-9-]+$/.test(zone) || isIP(address) === 0) {
      throw new Error(`${ServiceEnvironment.PublicAddresses}: ${JSON.stringify(entry)} is not a zone's address (allowed: zone=address entries separated by commas, e.g. us-east-1a=203.0.113.10)`);
    }
    addresses.set(zone, address);
  }
  return addresses;
}

/** The address of `zone`; else the address of the first zone by name; undefined when there is none. */
export function publicAddressOfZone(addresses: ReadonlyMap<string, string>, zone: string | undefined): string | undefined {
  if (zone !== undefined && addresses.has(zone)) return addresses.get(zone);
  const [first] = [...addresses.keys()].sort();
  return first === undefined ? undefined : addresses.get(first);
}

/** The Availability Zone of this task from the ECS task metadata endpoint; undefined outside ECS. Rejects when the endpoint fails. */
export async function taskAvailabilityZone(env: NodeJS.ProcessEnv, fetchImpl: typeof fetch = fetch): Promise<string | undefined> {
  const uri = env[ECS_METADATA_URI_VARIABLE];
  if (uri === undefined) return undefined;
  const task = await readTaskMetadata(uri, fetchImpl);
  const zone = typeof task === 'object' && task !== null ? (task as { AvailabilityZone?: unknown }).AvailabilityZone : undefined;
  if (typeof zone !== 'string' || zone.length === 0) throw new Error(`task metadata has no AvailabilityZone (got ${JSON.stringify(zone)})`);
  return zone;
}
