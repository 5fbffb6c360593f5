/**
 * `Custom::PacketGatewayPacketSource`: binds a user's topic to a Listener.
 *
 * A binding is one item per gateway region (`SOURCE#<topicArn>`), written before the topic is
 * subscribed (state `PendingConfirmation`, so the fleet confirms the subscription SNS announces)
 * and marked `Confirmed` by the completion check once SNS reports every subscription confirmed.
 *
 * Physical id: the BindingId, derived from the stack, the logical id, the Listener name and the
 * request. A new ListenerName replaces the resource (new BindingId); any other change updates it
 * in place, moving the binding when the topic changes.
 *
 * Ownership: a topic is bound by one stack; another stack's Create fails and changes nothing.
 * Within a stack a newer resource may take the binding over (replacement creates the new resource
 * before deleting the old); the item keeps the previous binding, restored if the newer resource
 * is rolled back and dropped when the old one is deleted.
 *
 * Update and Delete prove ownership of the binding they change: the request's StackId is the
 * binding's owner (and its `OwnerStackId`), and the request carries the ExternalId the binding was
 * registered with (an Update: its old or its new ExternalId). Otherwise they fail and change
 * nothing; they never act with the role or ExternalId stored with another stack's binding.
 * Failure reasons never quote another stack's StackId, logical id or BindingId.
 *
 * Delete of a binding that is gone, or that another resource holds, succeeds without touching it.
 * That is also what the Delete after a failed Create needs: a Create that failed in onEvent has
 * the provider framework's marker as physical id (no BindingId, so nothing is looked up), and
 * one that failed while waiting for confirmation has its own BindingId, which it releases like any
 * other Delete.
 */
import { createHash } from 'node:crypto';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { RegistrationContext } from './context';
import { messageOf, RegistrationError } from './errors';
import { CompletionResponse, ownerOf, ResourceEvent, ResourceResponse } from './events';
import { homeTable, listenerKey } from './listener-resource';
import { OldPacketSourceProperties, PacketSourceProperties, parsePacketSourceProperties, readOldPacketSourceProperties } from './properties';
import type { Mutation, Owner, PreviousState, StoredItem } from './record-store';
import { confirmationState, ensureSubscriptions, PENDING_CONFIRMATION, RegionSubscription, resendConfirmations, unsubscribe } from './subscriptions';
import { stackEnvironment } from '../../lib/private/arn';
import { PacketSourceRecord, SOURCE_KEY_PREFIX, SOURCE_KIND } from '../../lib/private/records';
import { DeliveryTarget, PacketSourceAttribute } from '../../lib/private/resource-properties';
import { validatePacketSourceRecord } from '../../lib/private/validate-records';

type SourceItem = StoredItem<PacketSourceRecord>;
/** A binding as held by one resource: the current state of an item, or its previous state. */
type HeldBinding = PreviousState<PacketSourceRecord>;

/** How long a subscription stays pending before the completion check sends `Subscribe` again on every poll. */
export const RESEND_CONFIRMATION_AFTER_MS = 30_000;

const BINDING_ID_PATTERN = /^pgw-[0-9a-f]{24}$/;

/** Partition key of a topic's binding. */
export function sourceKey(topicArn: string): string {
  return `${SOURCE_KEY_PREFIX}${topicArn}`;
}

/** The BindingId of a request: stable for retries of the same request, new for every replacement. */
export function bindingIdFor(event: Pick<ResourceEvent, 'StackId' | 'LogicalResourceId' | 'RequestId'>, listenerName: string): string {
  const hash = createHash('sha256').update([event.StackId, event.LogicalResourceId, listenerName, event.RequestId].join('\n')).digest('hex');
  return `pgw-${hash.slice(0, 24)}`;
}

/** True when `value` has the form of a BindingId ({@link bindingIdFor}). */
export function isBindingId(value: string | undefined): boolean {
  return value !== undefined && BINDING_ID_PATTERN.test(value);
}

export async function createPacketSource(event: ResourceEvent, ctx: RegistrationContext): Promise<ResourceResponse> {
  const props = parse(event, ctx);
  return bind(event, props, bindingIdFor(event, props.ListenerName), ctx);
}

export async function updatePacketSource(event: ResourceEvent, ctx: RegistrationContext): Promise<ResourceResponse> {
  const props = parse(event, ctx);
  const old = readOldPacketSourceProperties(event.OldResourceProperties);
  if (old.ListenerName !== undefined && old.ListenerName !== props.ListenerName) {
    // Replacement: a new binding; CloudFormation deletes the old resource once the update succeeded.
    return bind(event, props, bindingIdFor(event, props.ListenerName), ctx);
  }
  const bindingId = event.PhysicalResourceId ?? bindingIdFor(event, props.ListenerName);
  const externalIds = [props.ExternalId, old.ExternalId];
  const moved = old.TopicArn !== undefined && old.TopicArn !== props.TopicArn ? old.TopicArn : undefined;
  // Proven before anything changes, so a request that may not release the old topic binds nothing either.
  if (moved !== undefined) await requireReleasable(event, moved, bindingId, externalIds, ctx);
  const response = await bind(event, props, bindingId, ctx, externalIds);
  if (moved !== undefined) await release(event, old, moved, bindingId, externalIds, ctx);
  return response;
}

export async function deletePacketSource(event: ResourceEvent, ctx: RegistrationContext): Promise<ResourceResponse> {
  const physicalId = event.PhysicalResourceId ?? '';
  const props = readOldPacketSourceProperties(event.ResourceProperties);
  if (!isBindingId(physicalId)) {
    // Not a BindingId this handler returned (a failed Create's marker): this resource never held anything.
    ctx.logger.info('PacketSource delete of a resource that holds no binding: nothing to release', { physicalResourceId: physicalId });
  } else if (props.TopicArn === undefined) {
    ctx.logger.warn('PacketSource delete without SnsTopicSource.TopicArn: nothing to release', { bindingId: physicalId });
  } else {
    // A region whose gateway (and table) was deleted took this binding's record with it: nothing is left to release there.
    const store = ctx.store.missingTablesAsEmpty((table) => ctx.logger.warn(
      'PacketSource delete: the table of a gateway no longer exists; its copy of the binding went with it',
      { topicArn: props.TopicArn, bindingId: physicalId, region: table.Region, tableName: table.TableName },
    ));
    await release(event, props, props.TopicArn, physicalId, [props.ExternalId], { ...ctx, store });
  }
  return { PhysicalResourceId: physicalId };
}

/** Completion check: done once SNS reports every subscription of the binding confirmed. */
export async function packetSourceComplete(event: ResourceEvent, ctx: RegistrationContext): Promise<CompletionResponse> {
  if (event.RequestType === 'Delete') return { IsComplete: true };
  const props = parse(event, ctx);
  const bindingId = event.PhysicalResourceId ?? '';
  const pk = sourceKey(props.TopicArn);
  const item = await ctx.store.get<PacketSourceRecord>(homeTable(ctx), pk);
  if (!item || item.record.BindingId !== bindingId) {
    throw new RegistrationError(`The binding of topic ${props.TopicArn} was removed or taken over by another resource `
      + 'while its subscriptions awaited confirmation; deploy again once the other deployment has finished.');
  }
  const done = (arns: readonly string[]): CompletionResponse => ({
    IsComplete: true,
    Data: { [PacketSourceAttribute.BindingId]: bindingId, [PacketSourceAttribute.SubscriptionArns]: arns.join(',') },
  });
  if (item.record.SubscriptionState === 'Confirmed') return done(item.record.SubscriptionArns ?? []);

  const sns = await ctx.snsAs(props.RoleArn, props.ExternalId, ctx.targets[0].Region);
  const states = await confirmationState(sns, props.TopicArn, ctx.targets);
  const missing = states.filter((s) => s.arn === undefined);
  if (missing.length > 0) {
    throw new RegistrationError(`The subscription of ${missing.map((m) => `${m.target.QueueArn} (${m.target.Region})`).join(', ')} to topic ${props.TopicArn} `
      + 'disappeared before it was confirmed (deleted by hand, or rejected by SNS). Deploy again to re-create it.');
  }
  const pending = states.filter((s) => s.arn === PENDING_CONFIRMATION);
  if (pending.length === 0) {
    const arns = states.map((s) => s.arn as string);
    for (const target of ctx.targets) {
      await ctx.store.mutate<PacketSourceRecord>(target, pk, SOURCE_KIND, (current): Mutation<PacketSourceRecord> => {
        if (!current || current.record.BindingId !== bindingId) return { keep: true };
        return { put: { record: { ...current.record, SubscriptionState: 'Confirmed', SubscriptionArns: arns }, owner: current.owner, ...previousOf(current) } };
      });
    }
    ctx.logger.info('PacketSource subscriptions confirmed', { topicArn: props.TopicArn, bindingId, subscriptionArns: arns });
    return done(arns);
  }
  const since = item.pendingSince ?? ctx.now();
  const waitedMs = ctx.now() - since;
  if (waitedMs > ctx.confirmationTimeoutMs) {
    const waiting = pending.map((p) => `${p.target.QueueArn} (${p.target.Region})`).join(', ');
    throw new RegistrationError(`The subscription of ${waiting} to topic ${props.TopicArn} is still pending confirmation after `
      + `${Math.round((ctx.now() - since) / 1000)} s. The gateway fleet confirms it when SNS's SubscriptionConfirmation reaches its delivery queue: `
      + `check that the fleet of that region is running and that the gateway lists account ${stackEnvironment(event.StackId).account} in allowedAccounts.`);
  }
  if (waitedMs >= RESEND_CONFIRMATION_AFTER_MS) {
    // The SubscriptionConfirmation may have been lost (a fleet restarting, a queue purged): ask SNS for another one.
    try {
      await resendConfirmations(sns, props.TopicArn, pending.map((p) => p.target), ctx.targets[0].Region, props.DeadLetterQueueArn);
      ctx.logger.info('Subscriptions still pending confirmation; Subscribe sent again', { topicArn: props.TopicArn, bindingId, waitedMs });
    } catch (err) {
      ctx.logger.warn('Could not send Subscribe again for pending subscriptions; still waiting', { topicArn: props.TopicArn, bindingId, error: messageOf(err) });
    }
  }
  return { IsComplete: false };
}

function parse(event: ResourceEvent, ctx: RegistrationContext): PacketSourceProperties {
  const stack = stackEnvironment(event.StackId);
  const home = ctx.targets[0].Region;
  if (stack.region !== home) {
    throw new RegistrationError(`The stack is in ${stack.region} but this gateway is in ${home}: a PacketSource registers with the gateway of its own region`);
  }
  return parsePacketSourceProperties(event.ResourceProperties, stack);
}

function previousOf(item: SourceItem): { previous?: SourceItem['previous'] } {
  return item.previous ? { previous: item.previous } : {};
}

function recordFor(
  event: ResourceEvent, props: PacketSourceProperties, bindingId: string, regions: readonly DeliveryTarget[], arns: readonly string[],
): PacketSourceRecord {
  const record: PacketSourceRecord = {
    TopicArn: props.TopicArn,
    ListenerName: props.ListenerName,
    Enabled: props.Enabled,
    ...(props.DeadLetterQueueArn !== undefined ? { DeadLetterQueueArn: props.DeadLetterQueueArn } : {}),
    ...(props.DeliveryLogGroupArn !== undefined ? { DeliveryLogGroupArn: props.DeliveryLogGroupArn } : {}),
    HomeRegion: regions[0].Region,
    BindingId: bindingId,
    OwnerStackId: event.StackId,
    SubscriptionState: 'PendingConfirmation',
    SubscriptionArns: [...arns],
    ...(props.Description !== undefined ? { Description: props.Description } : {}),
    RoleArn: props.RoleArn,
    ExternalId: props.ExternalId,
    EgressRegions: regions.map((r) => r.Region),
  };
  const errors = validatePacketSourceRecord(record, 'PacketSource');
  if (errors.length > 0) throw new RegistrationError(`Invalid PacketSource: ${errors.join('; ')}`);
  return record;
}

async function requireListener(name: string, ctx: RegistrationContext): Promise<void> {
  for (const [i, target] of ctx.targets.entries()) {
    const listener = await ctx.store.get(target, listenerKey(name));
    if (!listener) {
      throw new RegistrationError(`Listener ${name} does not exist in the gateway of ${target.Region} (table ${target.TableName}). `
        + (i === 0 ? 'Check ListenerName, and deploy the Listener before the PacketSource.' : 'Each peer region needs a Listener of the same name.'));
    }
  }
}

/**
 * Claims the topic for `bindingId` in every region, subscribes the delivery queues and records
 * the subscriptions. Undoes its own changes when it fails part-way.
 */
async function bind(
  event: ResourceEvent, props: PacketSourceProperties, bindingId: string, ctx: RegistrationContext,
  externalIds: ReadonlyArray<string | undefined> = [props.ExternalId],
): Promise<ResourceResponse> {
  const me = ownerOf(event);
  const pk = sourceKey(props.TopicArn);
  await requireListener(props.ListenerName, ctx);

  const priors: Array<{ target: DeliveryTarget; prior: SourceItem | undefined }> = [];
  let subscriptions: RegionSubscription[] = [];
  let sns: SNSClient | undefined;
  try {
    for (const target of ctx.targets) {
      let prior: SourceItem | undefined;
      await ctx.store.mutate<PacketSourceRecord>(target, pk, SOURCE_KIND, (current): Mutation<PacketSourceRecord> => {
        prior = current;
        refuseTakeover(current, me, props.TopicArn);
        const sameBinding = current?.record.BindingId === bindingId;
        if (current && sameBinding) requireOwnership(current, event, externalIds, props.TopicArn);
        const record = recordFor(event, props, bindingId, ctx.targets, sameBinding ? current?.record.SubscriptionArns ?? [] : []);
        if (!current) return { put: { record, owner: me } };
        if (sameBinding) {
          const pending = current.pendingSince !== undefined ? { pendingSince: current.pendingSince } : {};
          return { put: { record, owner: me, ...previousOf(current), ...pending } };
        }
        return { put: { record, owner: me, previous: { record: current.record, owner: current.owner } } };
      });
      priors.push({ target, prior });
    }

    sns = await ctx.snsAs(props.RoleArn, props.ExternalId, ctx.targets[0].Region);
    subscriptions = await ensureSubscriptions(sns, props.TopicArn, ctx.targets, ctx.targets[0].Region, props.DeadLetterQueueArn);
    const arns = subscriptions.map((s) => s.subscriptionArn);
    const before = priors[0].prior?.record.BindingId === bindingId ? priors[0].prior.record.SubscriptionArns ?? [] : [];
    await unsubscribe(sns, props.TopicArn, before.filter((arn) => !arns.includes(arn)));

    const pendingSince = ctx.now();
    for (const target of ctx.targets) {
      await ctx.store.mutate<PacketSourceRecord>(target, pk, SOURCE_KIND, (current): Mutation<PacketSourceRecord> => {
        if (!current || current.record.BindingId !== bindingId) {
          throw new RegistrationError(`The binding of topic ${props.TopicArn} was changed by another deployment while this one registered it; deploy again`);
        }
        return { put: { record: { ...current.record, SubscriptionArns: arns }, owner: current.owner, ...previousOf(current), pendingSince } };
      });
    }
    ctx.logger.info('PacketSource bound', { topicArn: props.TopicArn, listener: props.ListenerName, bindingId, subscriptionArns: arns });
    return {
      PhysicalResourceId: bindingId,
      Data: { [PacketSourceAttribute.BindingId]: bindingId, [PacketSourceAttribute.SubscriptionArns]: arns.join(',') },
    };
  } catch (err) {
    await undoBind(props.TopicArn, bindingId, priors, subscriptions, sns, ctx);
    throw err;
  }
}

function refuseTakeover(current: SourceItem | undefined, me: Owner, topicArn: string): void {
  if (current && (current.owner.StackId !== me.StackId || current.record.OwnerStackId !== me.StackId)) {
    throw new RegistrationError(`Topic ${topicArn} is already bound by another stack. `
      + 'A topic can be bound by one stack only: remove that PacketSource first, or use another topic.');
  }
}

/**
 * Throws unless `event` proves it owns `held`: its stack owns the binding (item owner and
 * `OwnerStackId`) and one of `externalIds` is the ExternalId the binding was registered with.
 * The reason quotes nothing of the binding but the request's own topic.
 */
function requireOwnership(held: HeldBinding, event: ResourceEvent, externalIds: ReadonlyArray<string | undefined>, topicArn: string): void {
  if (!ownedByStack(held, event)) {
    throw new RegistrationError(`The binding of topic ${topicArn} that this request names belongs to another stack: `
      + 'a PacketSource is updated and deleted only by the stack that created it.');
  }
  if (!externalIds.some((id) => id !== undefined && id === held.record.ExternalId)) {
    throw new RegistrationError(`SnsTopicSource.ExternalId of this request is not the ExternalId the binding of topic ${topicArn} was registered with: `
      + 'an Update or Delete must carry the ExternalId of the binding it changes (an Update its old or its new value).');
  }
}

function ownedByStack(held: HeldBinding, event: ResourceEvent): boolean {
  return held.owner.StackId === event.StackId && held.record.OwnerStackId === event.StackId;
}

/** True when `item` (or its previous state, with `previous`) is `bindingId` held by the request's stack with one of `externalIds`. */
function provenHolder(
  held: HeldBinding | undefined, bindingId: string, event: ResourceEvent, externalIds: ReadonlyArray<string | undefined>,
): boolean {
  return held !== undefined && held.record.BindingId === bindingId && ownedByStack(held, event)
    && externalIds.some((id) => id !== undefined && id === held.record.ExternalId);
}

/** Best effort: puts back what a failed bind changed (items it created or took over, subscriptions it created). */
async function undoBind(
  topicArn: string, bindingId: string, priors: ReadonlyArray<{ target: DeliveryTarget; prior: SourceItem | undefined }>,
  subscriptions: readonly RegionSubscription[], sns: SNSClient | undefined, ctx: RegistrationContext,
): Promise<void> {
  try {
    const created = subscriptions.filter((s) => s.created).map((s) => s.subscriptionArn);
    if (sns && created.length > 0) await unsubscribe(sns, topicArn, created);
    for (const { target, prior } of priors) {
      if (prior?.record.BindingId === bindingId) continue; // an in-place update: CloudFormation's rollback update restores it
      await ctx.store.mutate<PacketSourceRecord>(target, sourceKey(topicArn), SOURCE_KIND, (current): Mutation<PacketSourceRecord> => {
        if (!current || current.record.BindingId !== bindingId) return { keep: true };
        if (!prior) return { delete: true };
        return {
          put: {
            record: prior.record,
            owner: prior.owner,
            ...previousOf(prior),
            ...(prior.pendingSince !== undefined ? { pendingSince: prior.pendingSince } : {}),
          },
        };
      });
    }
  } catch (err) {
    ctx.logger.warn('Could not undo a failed PacketSource registration', { topicArn, bindingId, error: messageOf(err) });
  }
}

/** Throws unless `event` may release `bindingId`'s hold on `topicArn` (see {@link requireOwnership}); a binding it does not hold needs no proof. */
async function requireReleasable(
  event: ResourceEvent, topicArn: string, bindingId: string, externalIds: ReadonlyArray<string | undefined>, ctx: RegistrationContext,
): Promise<void> {
  const current = await ctx.store.get<PacketSourceRecord>(homeTable(ctx), sourceKey(topicArn));
  const held = heldBy(current, bindingId);
  if (held) requireOwnership(held, event, externalIds, topicArn);
}

/** The state of `item` that `bindingId` holds: the current one, or the previous one when a newer resource took it over. */
function heldBy(item: SourceItem | undefined, bindingId: string): HeldBinding | undefined {
  if (item?.record.BindingId === bindingId) return item;
  if (item?.previous?.record.BindingId === bindingId) return item.previous;
  return undefined;
}

/**
 * Gives up `bindingId`'s hold on `topicArn`, once the request proved it owns it: its own binding
 * is deleted (and unsubscribed) or, if it had taken the binding over, the previous binding is
 * restored; a binding it lost to a newer resource only forgets it. Anything else is left alone.
 */
async function release(
  event: ResourceEvent, props: OldPacketSourceProperties, topicArn: string, bindingId: string,
  externalIds: ReadonlyArray<string | undefined>, ctx: RegistrationContext,
): Promise<void> {
  const pk = sourceKey(topicArn);
  const current = await ctx.store.get<PacketSourceRecord>(homeTable(ctx), pk);
  const held = heldBy(current, bindingId);
  if (held) requireOwnership(held, event, externalIds, topicArn);
  const mine = (state: HeldBinding | undefined) => provenHolder(state, bindingId, event, externalIds);

  if (current && mine(current) && current.previous) {
    const previous = current.previous;
    await eachRegion(ctx, pk, (item) => (item && mine(item) && item.previous
      ? { put: { record: item.previous.record, owner: item.previous.owner } }
      : { keep: true }));
    const prev = previous.record;
    // The previous binding was taken over within this stack; its role is this stack's.
    if (prev.RoleArn && prev.ExternalId && ownedByStack(previous, event)) {
      try {
        const sns = await ctx.snsAs(prev.RoleArn, prev.ExternalId, ctx.targets[0].Region);
        await ensureSubscriptions(sns, topicArn, ctx.targets, ctx.targets[0].Region, prev.DeadLetterQueueArn);
      } catch (err) {
        ctx.logger.warn('Restored the previous binding but could not re-apply its subscription settings', { topicArn, error: messageOf(err) });
      }
    }
    ctx.logger.info('PacketSource binding handed back to the resource it was taken from', { topicArn, bindingId, restored: prev.BindingId });
    return;
  }

  if (current && mine(current)) {
    const arns = current.record.SubscriptionArns ?? [];
    // Ownership is proven: the ExternalId is the request's, the role the request's or, if it names none, the one this binding was registered with.
    const roleArn = props.RoleArn ?? current.record.RoleArn;
    const externalId = current.record.ExternalId;
    if (arns.length > 0 && roleArn && externalId) {
      try {
        const sns = await ctx.snsAs(roleArn, externalId, ctx.targets[0].Region);
        await unsubscribe(sns, topicArn, arns);
      } catch (err) {
        // Never block a stack deletion: an orphaned subscription only delivers messages the fleet rejects as UnknownTopic.
        ctx.logger.warn('Could not unsubscribe the delivery queues; delete the subscriptions or the topic by hand', { topicArn, subscriptionArns: arns, error: messageOf(err) });
      }
    }
    await eachRegion(ctx, pk, (item) => (mine(item) ? { delete: true } : { keep: true }));
    ctx.logger.info('PacketSource binding deleted', { topicArn, bindingId });
    return;
  }

  if (current && mine(current.previous)) {
    await eachRegion(ctx, pk, (item) => (item && mine(item.previous)
      ? { put: { record: item.record, owner: item.owner, ...(item.pendingSince !== undefined ? { pendingSince: item.pendingSince } : {}) } }
      : { keep: true }));
    ctx.logger.info('PacketSource replaced by a newer resource; its subscriptions stay with it', { topicArn, bindingId, holder: current.record.BindingId });
    return;
  }

  // Not held by this resource (already deleted, or bound by another); peers may still hold a stray copy of its own.
  await eachRegion(ctx, pk, (item) => (mine(item) ? { delete: true } : { keep: true }), 1);
  ctx.logger.info('PacketSource binding not held by this resource; nothing to release', { topicArn, bindingId });
}

async function eachRegion(
  ctx: RegistrationContext, pk: string, decide: (item: SourceItem | undefined) => Mutation<PacketSourceRecord>, from = 0,
): Promise<void> {
  for (const target of ctx.targets.slice(from)) {
    await ctx.store.mutate<PacketSourceRecord>(target, pk, SOURCE_KIND, decide);
  }
}
