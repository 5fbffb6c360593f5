/**
 * `Custom::PacketGatewayListener`: stores a Listener record in the gateway's table, where running
 * tasks pick it up. Physical id: the Listener name (a new name replaces the resource).
 *
 * Ownership: a Listener name belongs to one stack. A resource of the same stack may take a name
 * over (a construct moved to a new logical id is created before the old one is deleted); the item
 * then remembers the previous state, which comes back if the new resource is rolled back and is
 * dropped when the old resource is deleted.
 */
import type { RegistrationContext } from './context';
import { RegistrationError } from './errors';
import { ownerOf, ResourceEvent, ResourceResponse } from './events';
import { describe } from './properties';
import type { Mutation, Owner, StoredItem, TableRef } from './record-store';
import { stackEnvironment } from '../../lib/private/arn';
import { deployedWireGuardKeyErrors } from '../../lib/private/deployed-wireguard-keys';
import { withListenerProtocol } from '../../lib/private/listener-protocol';
import { localOnlyDestinationErrors } from '../../lib/private/local-only-destinations';
import { LISTENER_KEY_PREFIX, LISTENER_KIND, ListenerRecord } from '../../lib/private/records';
import { ListenerAttribute, ListenerProperty } from '../../lib/private/resource-properties';
import { validateListenerRecord } from '../../lib/private/validate-records';

/** Partition key of a Listener's item. */
export function listenerKey(name: string): string {
  return `${LISTENER_KEY_PREFIX}${name}`;
}

/** The home region's table. */
export function homeTable(ctx: RegistrationContext): TableRef {
  return ctx.targets[0];
}

/** True when both name the same custom resource. */
export function sameOwner(a: Owner | undefined, b: Owner): boolean {
  return a !== undefined && a.StackId === b.StackId && a.LogicalResourceId === b.LogicalResourceId;
}

/**
 * Parses and validates the Listener record of a Create or Update request: a valid record that a
 * deployed gateway can run (no local-only destination types, no WireGuard key in plain text, a
 * private key source the fleet loads).
 */
export function parseListenerProperties(props: Record<string, unknown>): ListenerRecord {
  const name = props[ListenerProperty.ListenerName];
  const configuration = props[ListenerProperty.Configuration];
  let record: unknown = configuration;
  if (typeof configuration === 'string') {
    try {
      record = JSON.parse(configuration);
    } catch (err) {
      throw new RegistrationError(`Configuration is not valid JSON (${(err as Error).message}); it must be a Listener record`);
    }
  }
  const errors = validateListenerRecord(record, 'Configuration');
  if (errors.length === 0) {
    errors.push(...localOnlyDestinationErrors(record as ListenerRecord, 'Configuration'));
    errors.push(...deployedWireGuardKeyErrors(record as ListenerRecord, 'Configuration'));
  }
  if (typeof name !== 'string' || name.length === 0) {errors.unshift(`ListenerName must be the Listener name, got ${describe(name)}`);} else if (errors.length === 0 && (record as ListenerRecord).Name !== name) {
    errors.push(`Configuration.Name ${describe((record as ListenerRecord).Name)} differs from ListenerName ${describe(name)}`);
  }
  if (errors.length > 0) throw new RegistrationError(`Invalid Listener properties: ${errors.join('; ')}`);
  return withListenerProtocol(record as ListenerRecord);
}

/**
 * The record with every destination Role's ExternalId set to the registering stack's account id:
 * the gateway, not the template, decides the ExternalId, so a Listener of one account cannot act
 * as a role that trusts the gateway for another account. A record may name that value, no other.
 */
export function withDestinationExternalIds(record: ListenerRecord, stackId: string): ListenerRecord {
  if (!record.Destinations.some((d) => d.Role !== undefined)) return record;
  const { account } = stackEnvironment(stackId);
  const errors: string[] = [];
  const destinations = record.Destinations.map((d, i) => {
    if (d.Role === undefined) return d;
    if (d.Role.ExternalId !== undefined && d.Role.ExternalId !== account) {
      errors.push(`Configuration.Destinations[${i}].Role.ExternalId ${describe(d.Role.ExternalId)} is not this stack's account id `
        + `(allowed: ${account}, or leave it out: the gateway assumes destination roles with the registering account's id as ExternalId)`);
    }
    return { ...d, Role: { ...d.Role, ExternalId: account } };
  });
  if (errors.length > 0) throw new RegistrationError(`Invalid Listener properties: ${errors.join('; ')}`);
  return { ...record, Destinations: destinations };
}

export async function createListener(event: ResourceEvent, ctx: RegistrationContext): Promise<ResourceResponse> {
  const record = withDestinationExternalIds(parseListenerProperties(event.ResourceProperties), event.StackId);
  await writeListener(event, record, ctx);
  return { PhysicalResourceId: record.Name, Data: { [ListenerAttribute.ListenerName]: record.Name } };
}

/** Same name: rewritten in place. New name: written under the new name; CloudFormation then deletes the old one. */
export async function updateListener(event: ResourceEvent, ctx: RegistrationContext): Promise<ResourceResponse> {
  return createListener(event, ctx);
}

export async function deleteListener(event: ResourceEvent, ctx: RegistrationContext): Promise<ResourceResponse> {
  const physicalId = event.PhysicalResourceId ?? '';
  const me = ownerOf(event);
  await ctx.store.mutate<ListenerRecord>(homeTable(ctx), listenerKey(physicalId), LISTENER_KIND, (current): Mutation<ListenerRecord> => {
    if (!current) return { keep: true };
    if (sameOwner(current.owner, me)) {
      return current.previous ? { put: { record: current.previous.record, owner: current.previous.owner } } : { delete: true };
    }
    if (sameOwner(current.previous?.owner, me)) return { put: { record: current.record, owner: current.owner } };
    return { keep: true };
  });
  return { PhysicalResourceId: physicalId };
}

async function writeListener(event: ResourceEvent, record: ListenerRecord, ctx: RegistrationContext): Promise<void> {
  const me = ownerOf(event);
  const key = listenerKey(record.Name);
  await refuseSharedPort(record, me, ctx);
  let prior: StoredItem<ListenerRecord> | undefined;
  const table = homeTable(ctx);
  const written = await ctx.store.mutate<ListenerRecord>(table, key, LISTENER_KIND, (current): Mutation<ListenerRecord> => {
    prior = current;
    if (!current) return { put: { record, owner: me } };
    if (current.owner.StackId !== me.StackId) {
      throw new RegistrationError(`Listener ${record.Name} already exists in this gateway, defined by stack ${current.owner.StackId} `
        + `(resource ${current.owner.LogicalResourceId}). Listener names are unique in a gateway: choose another listenerName, or remove the Listener from that stack first.`);
    }
    if (sameOwner(current.owner, me)) return { put: { record, owner: me, ...(current.previous ? { previous: current.previous } : {}) } };
    return { put: { record, owner: me, previous: { record: current.record, owner: current.owner } } };
  });
  try {
    // Two registrations racing for one port both pass the first check; each then sees the other and withdraws.
    await refuseSharedPort(record, me, ctx);
  } catch (err) {
    await ctx.store.mutate<ListenerRecord>(table, key, LISTENER_KIND, (current): Mutation<ListenerRecord> => {
      if (!current || current.version !== written?.version) return { keep: true };
      if (!prior) return { delete: true };
      return { put: { record: prior.record, owner: prior.owner, ...(prior.previous ? { previous: prior.previous } : {}) } };
    });
    throw err;
  }
  ctx.logger.info('Listener record written', { listener: record.Name, port: record.Port, destinations: record.Destinations.length });
}

/**
 * Refuses a port another Listener of the gateway uses. The same resource may hold the port under
 * two names while CloudFormation replaces it (new name created before the old one is deleted).
 * The holder is named by its Listener name only.
 */
async function refuseSharedPort(record: ListenerRecord, me: Owner, ctx: RegistrationContext): Promise<void> {
  const listeners = await ctx.store.list<ListenerRecord>(homeTable(ctx), LISTENER_KIND);
  const holder = listeners.find((l) => l.record.Port === record.Port && l.record.Name !== record.Name && !sameOwner(l.owner, me));
  if (holder) {
    throw new RegistrationError(`Port ${record.Port} of Listener ${record.Name} is already used by Listener ${holder.record.Name} of this gateway. `
      + 'Two Listeners cannot share a port: choose another port, or remove that Listener first.');
  }
}
