/**
 * The SNS subscriptions of a PacketSource: one per gateway region, from the user's topic to that
 * region's delivery queue.
 *
 * Filtering on `EgressRegion`: a peer region's subscription carries
 * `{"EgressRegion":["<region>"]}`. The home region's subscription has no filter policy: it must
 * also receive messages published without the attribute, and SNS never matches a message that has
 * no message attributes at all against a filter policy (`{"exists": false}` matches only when the
 * message has other attributes). The data plane skips messages whose `EgressRegion` names another
 * region, so the home region sends exactly the messages for it and those without the attribute.
 */
import {
  ListSubscriptionsByTopicCommand,
  SetSubscriptionAttributesCommand,
  SNSClient,
  Subscription,
  SubscribeCommand,
  UnsubscribeCommand,
} from '@aws-sdk/client-sns';
import { awsErrorName, messageOf, RegistrationError } from './errors';
import type { DeliveryTarget } from '../../lib/private/resource-properties';

/** `SubscriptionArn` that ListSubscriptionsByTopic reports for a subscription awaiting confirmation. */
export const PENDING_CONFIRMATION = 'PendingConfirmation';

/** The subscription of one gateway region. */
export interface RegionSubscription {
  readonly region: string;
  readonly queueArn: string;
  readonly subscriptionArn: string;
  /** True when this call created it (false: it existed and was updated). */
  readonly created: boolean;
}

/** The filter policy of the subscription of `region` (undefined: no filter, see the module comment). */
export function filterPolicyFor(region: string, homeRegion: string): string | undefined {
  return region === homeRegion ? undefined : JSON.stringify({ EgressRegion: [region] });
}

/** The redrive policy pointing at `deadLetterQueueArn`. */
export function redrivePolicyFor(deadLetterQueueArn: string | undefined): string | undefined {
  return deadLetterQueueArn ? JSON.stringify({ deadLetterTargetArn: deadLetterQueueArn }) : undefined;
}

/** Every subscription of the topic. */
export async function listSubscriptions(sns: SNSClient, topicArn: string): Promise<Subscription[]> {
  const all: Subscription[] = [];
  let next: string | undefined;
  do {
    const out = await call(() => sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: topicArn, NextToken: next })), topicArn, 'list the subscriptions of');
    all.push(...(out.Subscriptions ?? []));
    next = out.NextToken;
  } while (next);
  return all;
}

/**
 * Makes sure each target's delivery queue is subscribed to the topic with the right filter and
 * redrive policies: creates missing subscriptions, updates existing ones. Idempotent.
 */
export async function ensureSubscriptions(
  sns: SNSClient, topicArn: string, targets: readonly DeliveryTarget[], homeRegion: string, deadLetterQueueArn: string | undefined,
): Promise<RegionSubscription[]> {
  const existing = await listSubscriptions(sns, topicArn);
  const result: RegionSubscription[] = [];
  for (const target of targets) {
    const filterPolicy = filterPolicyFor(target.Region, homeRegion);
    const redrivePolicy = redrivePolicyFor(deadLetterQueueArn);
    const found = existing.find((s) => s.Protocol === 'sqs' && s.Endpoint === target.QueueArn);
    if (found?.SubscriptionArn && found.SubscriptionArn.startsWith('arn:')) {
      const arn = found.SubscriptionArn;
      await call(() => sns.send(new SetSubscriptionAttributesCommand({ SubscriptionArn: arn, AttributeName: 'FilterPolicy', AttributeValue: filterPolicy ?? '{}' })),
        topicArn, 'set the filter policy of a subscription of');
      await call(() => sns.send(new SetSubscriptionAttributesCommand({ SubscriptionArn: arn, AttributeName: 'RedrivePolicy', AttributeValue: redrivePolicy ?? '' })),
        topicArn, 'set the redrive policy of a subscription of');
      result.push({ region: target.Region, queueArn: target.QueueArn, subscriptionArn: arn, created: false });
      continue;
    }
    const subscriptionArn = await subscribe(sns, topicArn, target, homeRegion, deadLetterQueueArn);
    result.push({ region: target.Region, queueArn: target.QueueArn, subscriptionArn, created: found === undefined });
  }
  return result;
}

/**
 * Sends `Subscribe` again for subscriptions still pending confirmation, with the attributes they
 * were created with: SNS answers with the same subscription and sends a new
 * SubscriptionConfirmation, so one that was lost does not strand the registration.
 */
export async function resendConfirmations(
  sns: SNSClient, topicArn: string, pending: readonly DeliveryTarget[], homeRegion: string, deadLetterQueueArn: string | undefined,
): Promise<void> {
  for (const target of pending) await subscribe(sns, topicArn, target, homeRegion, deadLetterQueueArn);
}

/** Subscribes one target's delivery queue; returns the subscription ARN SNS reports. */
async function subscribe(
  sns: SNSClient, topicArn: string, target: DeliveryTarget, homeRegion: string, deadLetterQueueArn: string | undefined,
): Promise<string> {
  const filterPolicy = filterPolicyFor(target.Region, homeRegion);
  const redrivePolicy = redrivePolicyFor(deadLetterQueueArn);
  const attributes: Record<string, string> = {};
  if (filterPolicy) attributes.FilterPolicy = filterPolicy;
  if (redrivePolicy) attributes.RedrivePolicy = redrivePolicy;
  const out = await call(() => sns.send(new SubscribeCommand({
    TopicArn: topicArn,
    Protocol: 'sqs',
    Endpoint: target.QueueArn,
    ReturnSubscriptionArn: true,
    ...(Object.keys(attributes).length > 0 ? { Attributes: attributes } : {}),
  })), topicArn, `subscribe the gateway delivery queue ${target.QueueArn} (${target.Region}) to`);
  if (!out.SubscriptionArn) throw new RegistrationError(`SNS returned no subscription ARN when subscribing ${target.QueueArn} to ${topicArn}`);
  return out.SubscriptionArn;
}

/** Confirmation state of each target's subscription: its ARN once confirmed, `PendingConfirmation`, or undefined when missing. */
export async function confirmationState(
  sns: SNSClient, topicArn: string, targets: readonly DeliveryTarget[],
): Promise<Array<{ target: DeliveryTarget; arn?: string }>> {
  const existing = await listSubscriptions(sns, topicArn);
  return targets.map((target) => ({
    target,
    arn: existing.find((s) => s.Protocol === 'sqs' && s.Endpoint === target.QueueArn)?.SubscriptionArn,
  }));
}

/** Deletes subscriptions; those already gone are fine. */
export async function unsubscribe(sns: SNSClient, topicArn: string, subscriptionArns: readonly string[]): Promise<void> {
  for (const arn of subscriptionArns) {
    if (!arn.startsWith('arn:')) continue;
    try {
      await sns.send(new UnsubscribeCommand({ SubscriptionArn: arn }));
    } catch (err) {
      if (awsErrorName(err) === 'NotFoundException' || awsErrorName(err) === 'NotFound') continue;
      throw explain(err, topicArn, `unsubscribe ${arn} from`);
    }
  }
}

async function call<T>(fn: () => Promise<T>, topicArn: string, action: string): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw explain(err, topicArn, action);
  }
}

/** Turns an SNS error into a reason that says what to fix. */
function explain(err: unknown, topicArn: string, action: string): Error {
  const name = awsErrorName(err);
  if (name === 'NotFoundException' || name === 'NotFound') {
    return new RegistrationError(`Topic ${topicArn} does not exist (the gateway tried to ${action} it)`);
  }
  if (name === 'AuthorizationErrorException' || name === 'AuthorizationError' || name === 'AccessDenied' || name === 'AccessDeniedException') {
    return new RegistrationError(`SnsTopicSource.Role may not ${action} topic ${topicArn}: the role needs sns:Subscribe (protocol sqs, endpoint the gateway `
      + `delivery queues), sns:ListSubscriptionsByTopic, sns:Unsubscribe and sns:SetSubscriptionAttributes on the topic, and the topic policy must not deny them (AWS said: ${messageOf(err)})`);
  }
  if (name === 'InvalidParameterException' || name === 'InvalidParameter') {
    return new RegistrationError(`SNS rejected the request to ${action} topic ${topicArn}: ${messageOf(err)}`);
  }
  return err instanceof Error ? err : new Error(String(err));
}
