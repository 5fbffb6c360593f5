import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { SubscribeCommand, UnsubscribeCommand } from '@aws-sdk/client-sns';
import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import {
  ACCESS_ROLE_ARN, ACCOUNT, DLQ_ARN, EXTERNAL_ID, FakeSns, FakeSts, homeRegionTables, listenerProps, OTHER_STACK_ID, OTHER_TOPIC_ARN,
  REGION, request, ROLE_ARN, sourceProps, STACK_ID, target, TENANT_ACCOUNT, testContext, TOPIC_ARN,
} from './support';
import { ASSUME_RETRY_DELAYS_MS } from '../../../lambda/registration/credentials';
import { CREATE_FAILED_PHYSICAL_ID, ResourceEvent, ResourceResponse } from '../../../lambda/registration/events';
import { handleCompletion, handleEvent } from '../../../lambda/registration/index';
import { RESEND_CONFIRMATION_AFTER_MS } from '../../../lambda/registration/packet-source-resource';
import type { PacketSourceRecord } from '../../../lib/private/records';
import { LISTENER_RESOURCE_TYPE, PACKET_SOURCE_RESOURCE_TYPE } from '../../../lib/private/resource-properties';

const PEER_REGION = 'eu-central-1';

const tables = homeRegionTables();
let sns: FakeSns;
let sts: FakeSts;

beforeEach(async () => {
  sns = new FakeSns();
  sts = new FakeSts();
  await handleEvent(request('Create', LISTENER_RESOURCE_TYPE, listenerProps('telemetry'), { LogicalResourceId: 'Telemetry' }), tables.ctx);
  await handleEvent(request('Create', LISTENER_RESOURCE_TYPE, listenerProps('control', 5556), { LogicalResourceId: 'Control' }), tables.ctx);
});

afterEach(() => {
  sns.restore();
  sts.restore();
});

function item(topicArn = TOPIC_ARN, tableName = tables.table): Promise<Record<string, any> | undefined> {
  return tables.item(`SOURCE#${topicArn}`, tableName);
}

async function record(topicArn = TOPIC_ARN, tableName = tables.table): Promise<PacketSourceRecord | undefined> {
  return (await item(topicArn, tableName))?.record as PacketSourceRecord | undefined;
}

/** onEvent, then isComplete as the provider framework would call it (once). */
async function deploy(event: ResourceEvent): Promise<ResourceResponse & { complete: boolean }> {
  const response = await handleEvent(event, tables.ctx);
  const completion = await handleCompletion({ ...event, PhysicalResourceId: response.PhysicalResourceId }, tables.ctx);
  return { ...response, Data: { ...response.Data, ...completion.Data }, complete: completion.IsComplete };
}

function create(props = sourceProps(), extra: Partial<ResourceEvent> = {}): ResourceEvent {
  return request('Create', PACKET_SOURCE_RESOURCE_TYPE, props, extra);
}

function update(physicalId: string, props: Record<string, unknown>, old: Record<string, unknown>, extra: Partial<ResourceEvent> = {}): ResourceEvent {
  return request('Update', PACKET_SOURCE_RESOURCE_TYPE, props, { PhysicalResourceId: physicalId, OldResourceProperties: old, ...extra });
}

function remove(physicalId: string, props = sourceProps(), extra: Partial<ResourceEvent> = {}): ResourceEvent {
  return request('Delete', PACKET_SOURCE_RESOURCE_TYPE, props, { PhysicalResourceId: physicalId, ...extra });
}

describe('Create', () => {
  test('writes a pending binding, subscribes the delivery queue as the PacketSource role, then confirms', async () => {
    const response = await handleEvent(create(), tables.ctx);

    expect(response.PhysicalResourceId).toMatch(/^pgw-[0-9a-f]{24}$/);
    expect(response.Data).toEqual({ BindingId: response.PhysicalResourceId, SubscriptionArns: `${TOPIC_ARN}:sub-1` });
    const stored = await item();
    expect(stored).toMatchObject({
      kind: 'PacketSource',
      owner: { StackId: expect.stringContaining(':stack/app/'), LogicalResourceId: 'Push' },
      version: 2,
      record: {
        TopicArn: TOPIC_ARN,
        ListenerName: 'telemetry',
        Enabled: true,
        DeadLetterQueueArn: DLQ_ARN,
        HomeRegion: REGION,
        BindingId: response.PhysicalResourceId,
        SubscriptionState: 'PendingConfirmation',
        SubscriptionArns: [`${TOPIC_ARN}:sub-1`],
        RoleArn: ROLE_ARN,
        ExternalId: EXTERNAL_ID,
        EgressRegions: [REGION],
      },
    });
    expect(typeof stored?.pendingSince).toBe('number');

    // Registration principal first (limited by a session policy), then the PacketSource role with its ExternalId.
    const assumed = sts.mock.commandCalls(AssumeRoleCommand).map((c) => c.args[0].input);
    expect(assumed).toHaveLength(2);
    expect(assumed[0]).toMatchObject({ RoleArn: ACCESS_ROLE_ARN, Policy: expect.stringContaining('role/packet-gateway/*') });
    expect(assumed[1]).toMatchObject({ RoleArn: ROLE_ARN, ExternalId: EXTERNAL_ID });
    const subscribe = sns.mock.commandCalls(SubscribeCommand);
    expect(subscribe).toHaveLength(1);
    expect(subscribe[0].args[0].input).toEqual({
      TopicArn: TOPIC_ARN,
      Protocol: 'sqs',
      Endpoint: `arn:aws:sqs:${REGION}:${ACCOUNT}:gateway-DeliveryQueue`,
      ReturnSubscriptionArn: true,
      Attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: DLQ_ARN }) },
    });
    const credentials = await (subscribe[0].thisValue as { config: { credentials: () => Promise<{ accessKeyId: string }> } }).config.credentials();
    expect(credentials.accessKeyId).toMatch(/SOURCE$/);

    const completion = await handleCompletion({ ...create(), PhysicalResourceId: response.PhysicalResourceId }, tables.ctx);
    expect(completion).toEqual({ IsComplete: true, Data: { BindingId: response.PhysicalResourceId, SubscriptionArns: `${TOPIC_ARN}:sub-1` } });
    expect((await record())?.SubscriptionState).toBe('Confirmed');
    expect((await item())?.pendingSince).toBeUndefined();
  });

  test('is idempotent: a retried request binds once and subscribes once', async () => {
    const event = create();
    const first = await deploy(event);
    const second = await deploy(event);

    expect(second.PhysicalResourceId).toBe(first.PhysicalResourceId);
    expect(sns.of(TOPIC_ARN)).toHaveLength(1);
    expect(sns.mock.commandCalls(SubscribeCommand)).toHaveLength(1);
    expect((await record())?.SubscriptionState).toBe('Confirmed');
  });

  test('parses the strings CloudFormation sends: Enabled "false" disables the binding', async () => {
    await deploy(create(sourceProps({ Enabled: 'false', Description: 'push to devices' })));
    expect(await record()).toMatchObject({ Enabled: false, Description: 'push to devices' });
  });

  test('waits while the subscription is pending confirmation and completes once the fleet confirms it', async () => {
    sns.autoConfirm = false;
    const event = create();
    const response = await handleEvent(event, tables.ctx);
    const waiting = { ...event, PhysicalResourceId: response.PhysicalResourceId };

    expect(await handleCompletion(waiting, tables.ctx)).toEqual({ IsComplete: false });
    expect((await record())?.SubscriptionState).toBe('PendingConfirmation');

    sns.confirmAll();
    const completion = await handleCompletion(waiting, tables.ctx);
    expect(completion.IsComplete).toBe(true);
    expect((await record())?.SubscriptionState).toBe('Confirmed');
  });

  test('sends Subscribe again for the subscriptions still pending after a while, so a lost confirmation is asked for again', async () => {
    const peerTable = await tables.dynamo.createTable('peer');
    await handleEvent(request('Create', LISTENER_RESOURCE_TYPE, listenerProps('telemetry'), { LogicalResourceId: 'Telemetry' }),
      testContext(tables.dynamo, [target(PEER_REGION, peerTable)]));
    tables.ctx = testContext(tables.dynamo, [target(REGION, tables.table), target(PEER_REGION, peerTable)]);
    sns.autoConfirm = false;
    const event = create();
    const response = await handleEvent(event, tables.ctx);
    const waiting = { ...event, PhysicalResourceId: response.PhysicalResourceId };
    const [home, peer] = sns.mock.commandCalls(SubscribeCommand).map((c) => c.args[0].input);
    sns.of(TOPIC_ARN).find((s) => s.endpoint === home.Endpoint)!.confirmed = true;

    // Early polls only wait: the first confirmation is probably on its way.
    tables.ctx.advance(RESEND_CONFIRMATION_AFTER_MS - 1);
    expect(await handleCompletion(waiting, tables.ctx)).toEqual({ IsComplete: false });
    expect(sns.mock.commandCalls(SubscribeCommand)).toHaveLength(2);

    tables.ctx.advance(1);
    expect(await handleCompletion(waiting, tables.ctx)).toEqual({ IsComplete: false });
    const calls = sns.mock.commandCalls(SubscribeCommand).map((c) => c.args[0].input);
    expect(calls).toHaveLength(3);
    expect(calls[2]).toEqual(peer);
    expect(sns.of(TOPIC_ARN)).toHaveLength(2);

    sns.confirmAll();
    expect((await handleCompletion(waiting, tables.ctx)).IsComplete).toBe(true);
  });

  test('keeps waiting when sending Subscribe again fails, with a warning', async () => {
    sns.autoConfirm = false;
    const event = create();
    const response = await handleEvent(event, tables.ctx);
    sns.mock.on(SubscribeCommand).rejects(Object.assign(new Error('throttled'), { name: 'ThrottledException' }));
    tables.ctx.advance(RESEND_CONFIRMATION_AFTER_MS);

    expect(await handleCompletion({ ...event, PhysicalResourceId: response.PhysicalResourceId }, tables.ctx)).toEqual({ IsComplete: false });
    expect(tables.ctx.warnings.map((w) => w.message)).toContain('Could not send Subscribe again for pending subscriptions; still waiting');
  });

  test('fails with a reason when the subscription stays pending beyond the confirmation timeout', async () => {
    sns.autoConfirm = false;
    const event = create();
    const response = await handleEvent(event, tables.ctx);
    tables.ctx.advance(tables.ctx.confirmationTimeoutMs + 1000);

    await expect(handleCompletion({ ...event, PhysicalResourceId: response.PhysicalResourceId }, tables.ctx))
      .rejects.toThrow(/still pending confirmation after 601 s.*fleet of that region is running.*allowedAccounts/);
  });

  test('subscribes every gateway region: peers filter on EgressRegion, the home region takes everything', async () => {
    const peerTable = await tables.dynamo.createTable('peer');
    tables.ctx = testContext(tables.dynamo, [target(REGION, tables.table), target(PEER_REGION, peerTable)]);
    await handleEvent(request('Create', LISTENER_RESOURCE_TYPE, listenerProps('telemetry'), { LogicalResourceId: 'Telemetry' }),
      testContext(tables.dynamo, [target(PEER_REGION, peerTable)]));

    const response = await deploy(create());

    const subscriptions = sns.mock.commandCalls(SubscribeCommand).map((c) => c.args[0].input);
    expect(subscriptions).toHaveLength(2);
    expect(subscriptions[0].Attributes?.FilterPolicy).toBeUndefined();
    expect(subscriptions[1]).toMatchObject({
      Endpoint: `arn:aws:sqs:${PEER_REGION}:${ACCOUNT}:gateway-DeliveryQueue`,
      Attributes: { FilterPolicy: JSON.stringify({ EgressRegion: [PEER_REGION] }) },
    });
    for (const tableName of [tables.table, peerTable]) {
      expect(await record(TOPIC_ARN, tableName)).toMatchObject({
        BindingId: response.PhysicalResourceId,
        HomeRegion: REGION,
        EgressRegions: [REGION, PEER_REGION],
        SubscriptionState: 'Confirmed',
        SubscriptionArns: [`${TOPIC_ARN}:sub-1`, `${TOPIC_ARN}:sub-2`],
      });
    }
  });

  test('fails if a peer region has no Listener of that name, and leaves nothing behind', async () => {
    const peerTable = await tables.dynamo.createTable('peer');
    tables.ctx = testContext(tables.dynamo, [target(REGION, tables.table), target(PEER_REGION, peerTable)]);

    await expect(handleEvent(create(), tables.ctx)).rejects.toThrow(`Listener telemetry does not exist in the gateway of ${PEER_REGION}`);
    expect(await item()).toBeUndefined();
    expect(sns.of(TOPIC_ARN)).toHaveLength(0);
  });

  test('fails if the Listener does not exist, naming it', async () => {
    await expect(handleEvent(create(sourceProps({ ListenerName: 'missing' })), tables.ctx))
      .rejects.toThrow(/Listener missing does not exist in the gateway of eu-west-1.*Check ListenerName/);
    expect(await item()).toBeUndefined();
    expect(sns.mock.commandCalls(SubscribeCommand)).toHaveLength(0);
  });

  test('refuses to take over a topic bound by another stack, changing nothing', async () => {
    const owner = await deploy(create());
    const before = await item();
    sns.mock.resetHistory();

    const failure = handleEvent(create(sourceProps({ ListenerName: 'control' }), { StackId: OTHER_STACK_ID }), tables.ctx);
    await expect(failure).rejects.toThrow(`Topic ${TOPIC_ARN} is already bound by another stack. A topic can be bound by one stack only`);
    const reason = await failure.catch((err: Error) => err.message);
    for (const secret of [STACK_ID, 'stack/app', 'Push', owner.PhysicalResourceId]) expect(reason).not.toContain(secret);
    expect(await item()).toEqual(before);
    expect(sns.mock.commandCalls(SubscribeCommand)).toHaveLength(0);
  });

  test('undoes its claim when subscribing fails, and says what the role lacks', async () => {
    sns.mock.on(SubscribeCommand).rejects(Object.assign(new Error('User is not authorized to perform: SNS:Subscribe'), { name: 'AuthorizationErrorException' }));

    await expect(handleEvent(create(), tables.ctx)).rejects.toThrow(/SnsTopicSource.Role may not subscribe the gateway delivery queue .* needs sns:Subscribe/);
    expect(await item()).toBeUndefined();
  });

  test('fails if the topic does not exist', async () => {
    sns.topics.delete(TOPIC_ARN);
    await expect(handleEvent(create(), tables.ctx)).rejects.toThrow(`Topic ${TOPIC_ARN} does not exist`);
    expect(await item()).toBeUndefined();
  });

  test('retries AccessDenied while IAM propagates a new role, then explains the trust policy', async () => {
    sts.mock.on(AssumeRoleCommand, { RoleArn: ROLE_ARN }).rejects(Object.assign(new Error('not authorized to perform sts:AssumeRole'), { name: 'AccessDenied' }));

    await expect(handleEvent(create(), tables.ctx)).rejects.toThrow(/could not assume SnsTopicSource.Role .*trust policy must allow sts:AssumeRole to the gateway's registration principal.*sts:ExternalId/);
    expect(tables.ctx.slept).toEqual(ASSUME_RETRY_DELAYS_MS);
    expect(await item()).toBeUndefined();
  });
});

describe('validation: fails with a reason naming the property', () => {
  const cases: Array<[string, Record<string, unknown>, Record<string, unknown>, RegExp]> = [
    ['the topic is in another region', {}, { TopicArn: `arn:aws:sns:us-east-1:${ACCOUNT}:push` }, /TopicArn .* is in region us-east-1, but the stack is in eu-west-1/],
    ['the topic is in another account', {}, { TopicArn: `arn:aws:sns:${REGION}:210987654321:push` }, /TopicArn .* belongs to account 210987654321, but the stack is in account 123456789012/],
    ['the role is in another account', {}, { Role: 'arn:aws:iam::210987654321:role/packet-gateway/x' }, /SnsTopicSource.Role .* belongs to account 210987654321/],
    ['the topic ARN is not an SNS ARN', {}, { TopicArn: 'push' }, /SnsTopicSource.TopicArn must be an SNS topic ARN.*got "push"/],
    ['the role is not a role ARN', {}, { Role: `arn:aws:iam::${ACCOUNT}:user/bob` }, /SnsTopicSource.Role must be an IAM role ARN/],
    ['the ExternalId is missing', {}, { ExternalId: undefined }, /SnsTopicSource.ExternalId must be 2–1224 characters.*got nothing/],
    ['Enabled is neither true nor false', { Enabled: 'maybe' }, {}, /Enabled must be true or false, got "maybe"/],
    ['the dead-letter queue is not an SQS ARN', { DeadLetterQueueArn: TOPIC_ARN }, {}, /DeadLetterQueueArn must be an SQS queue ARN/],
    ['the dead-letter queue is in another account', { DeadLetterQueueArn: `arn:aws:sqs:${REGION}:${TENANT_ACCOUNT}:their-dlq` }, {},
      /DeadLetterQueueArn arn:aws:sqs:eu-west-1:210987654321:their-dlq belongs to account 210987654321, but the stack is in account 123456789012: the dead-letter queue must be in the stack's account/],
    ['the dead-letter queue is a FIFO queue', { DeadLetterQueueArn: `arn:aws:sqs:${REGION}:${ACCOUNT}:failures.fifo` }, {},
      /DeadLetterQueueArn arn:aws:sqs:eu-west-1:123456789012:failures.fifo is a FIFO queue \(allowed: a standard queue: SNS moves a standard topic's undeliverable messages only to a standard queue/],
    ['the topic is a FIFO topic', {}, { TopicArn: `arn:aws:sns:${REGION}:${ACCOUNT}:push.fifo` },
      /SnsTopicSource.TopicArn arn:aws:sns:eu-west-1:123456789012:push.fifo is a FIFO topic, which can deliver to FIFO queues only; the gateway's delivery queue is a standard queue/],
    ['the log group ARN is not a log group', { DeliveryLogGroupArn: DLQ_ARN }, {}, /DeliveryLogGroupArn must be a CloudWatch Logs log group ARN/],
    ['the ListenerName is invalid', { ListenerName: 'no spaces' }, {}, /ListenerName must be a Listener name .*got "no spaces"/],
    // The same ARN patterns as the constructs (lib/private/arn.ts), not only the service and resource type.
    ['the topic name is not a topic name', {}, { TopicArn: `arn:aws:sns:${REGION}:${ACCOUNT}:no spaces` },
      /SnsTopicSource.TopicArn must be an SNS topic ARN \(arn:<partition>:sns:<region>:<account>:<topic>\), got "arn:aws:sns:eu-west-1:123456789012:no spaces"/],
    ['the role ARN has no 12-digit account', {}, { Role: 'arn:aws:iam::1234:role/packet-gateway/x' }, /SnsTopicSource.Role must be an IAM role ARN \(arn:<partition>:iam::<account>:role\/<name>\)/],
    ['the dead-letter queue ARN has no region', { DeadLetterQueueArn: `arn:aws:sqs::${ACCOUNT}:dlq` }, {},
      /DeadLetterQueueArn must be an SQS queue ARN \(arn:<partition>:sqs:<region>:<account>:<queue>\), got "arn:aws:sqs::123456789012:dlq"/],
    ['the log group name is not a log group name', { DeliveryLogGroupArn: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:a b` }, {},
      /DeliveryLogGroupArn must be a CloudWatch Logs log group ARN \(arn:<partition>:logs:<region>:<account>:log-group:<name>\)/],
    ['a property is unknown', { Listener: 'telemetry' }, {}, /unknown property Listener \(allowed: ServiceToken, ListenerName, SnsTopicSource/],
    ['the description is too long', { Description: 'x'.repeat(1025) }, {}, /Description must be text of at most 1024 characters, got 1025 characters/],
  ];
  test.each(cases)('fails if %s', async (_name, overrides, topic, reason) => {
    await expect(handleEvent(create(sourceProps(overrides, topic)), tables.ctx)).rejects.toThrow(reason);
    expect(await item()).toBeUndefined();
    expect(sns.mock.commandCalls(SubscribeCommand)).toHaveLength(0);
  });

  test('fails if the stack is in another region than the gateway', async () => {
    const stackId = `arn:aws:cloudformation:us-east-1:${ACCOUNT}:stack/app/1`;
    await expect(handleEvent(create(sourceProps({}, { TopicArn: `arn:aws:sns:us-east-1:${ACCOUNT}:push` }), { StackId: stackId }), tables.ctx))
      .rejects.toThrow('The stack is in us-east-1 but this gateway is in eu-west-1');
  });
});

describe('Update', () => {
  test('in place: new settings, same physical id, subscription redrive updated', async () => {
    const created = await deploy(create());
    const newDlq = `arn:aws:sqs:${REGION}:${ACCOUNT}:other-dlq`;
    const updated = await deploy(update(created.PhysicalResourceId, sourceProps({ Enabled: 'false', DeadLetterQueueArn: newDlq }), sourceProps()));

    expect(updated.PhysicalResourceId).toBe(created.PhysicalResourceId);
    expect(await record()).toMatchObject({ Enabled: false, DeadLetterQueueArn: newDlq, SubscriptionState: 'Confirmed' });
    expect(sns.of(TOPIC_ARN)).toHaveLength(1);
    expect(sns.of(TOPIC_ARN)[0].attributes).toEqual({ RedrivePolicy: JSON.stringify({ deadLetterTargetArn: newDlq }) });
  });

  test('a new topic moves the binding: the new topic is subscribed, the old one released', async () => {
    const created = await deploy(create());
    const moved = await deploy(update(created.PhysicalResourceId, sourceProps({}, { TopicArn: OTHER_TOPIC_ARN }), sourceProps()));

    expect(moved.PhysicalResourceId).toBe(created.PhysicalResourceId);
    expect(await item(TOPIC_ARN)).toBeUndefined();
    expect(sns.of(TOPIC_ARN)).toHaveLength(0);
    expect(await record(OTHER_TOPIC_ARN)).toMatchObject({ BindingId: created.PhysicalResourceId, SubscriptionState: 'Confirmed' });
    expect(sns.of(OTHER_TOPIC_ARN)).toHaveLength(1);
  });

  test('a new ListenerName replaces the resource; deleting the old resource afterwards keeps the new binding and its subscription', async () => {
    const created = await deploy(create());
    const replaced = await deploy(update(created.PhysicalResourceId, sourceProps({ ListenerName: 'control' }), sourceProps()));

    expect(replaced.PhysicalResourceId).not.toBe(created.PhysicalResourceId);
    expect(replaced.Data?.BindingId).toBe(replaced.PhysicalResourceId);
    const during = await item();
    expect(during?.record).toMatchObject({ BindingId: replaced.PhysicalResourceId, ListenerName: 'control' });
    expect(during?.previous.record.BindingId).toBe(created.PhysicalResourceId);

    // CloudFormation's cleanup phase deletes the old resource with its old properties.
    await handleEvent(remove(created.PhysicalResourceId, sourceProps()), tables.ctx);

    const after = await item();
    expect(after?.record).toMatchObject({ BindingId: replaced.PhysicalResourceId, ListenerName: 'control', SubscriptionState: 'Confirmed' });
    expect(after?.previous).toBeUndefined();
    expect(sns.of(TOPIC_ARN)).toHaveLength(1);
    expect(sns.mock.commandCalls(UnsubscribeCommand)).toHaveLength(0);
  });

  test('rollback of a replacement deletes the new resource and hands the binding back to the old one', async () => {
    const created = await deploy(create());
    const replaced = await deploy(update(created.PhysicalResourceId, sourceProps({ ListenerName: 'control' }), sourceProps()));

    // Another resource failed: CloudFormation deletes the replacement, the old resource stays.
    await handleEvent(remove(replaced.PhysicalResourceId, sourceProps({ ListenerName: 'control' })), tables.ctx);

    const after = await item();
    expect(after?.record).toMatchObject({ BindingId: created.PhysicalResourceId, ListenerName: 'telemetry' });
    expect(after?.previous).toBeUndefined();
    expect(sns.of(TOPIC_ARN)).toHaveLength(1);
  });

  test('rollback of an in-place update restores the old settings from the old property shape', async () => {
    // An older template: no log group, Enabled as a boolean, no description.
    const oldShape = { ListenerName: 'telemetry', SnsTopicSource: { TopicArn: TOPIC_ARN, Role: ROLE_ARN, ExternalId: EXTERNAL_ID }, Enabled: true };
    const created = await deploy(create(oldShape));
    const newShape = sourceProps({ Description: 'v2' });
    await deploy(update(created.PhysicalResourceId, newShape, oldShape));
    expect(await record()).toMatchObject({ Description: 'v2', DeliveryLogGroupArn: expect.any(String) });

    const rolledBack = await deploy(update(created.PhysicalResourceId, oldShape, newShape));

    expect(rolledBack.PhysicalResourceId).toBe(created.PhysicalResourceId);
    const restored = await record();
    expect(restored?.Description).toBeUndefined();
    expect(restored?.DeliveryLogGroupArn).toBeUndefined();
    expect(restored?.DeadLetterQueueArn).toBeUndefined();
    expect(sns.of(TOPIC_ARN)[0].attributes).toEqual({});
  });

  test('may change the ExternalId in place: the old value proves ownership', async () => {
    const created = await deploy(create());
    await deploy(update(created.PhysicalResourceId, sourceProps({}, { ExternalId: 'rotated-external-id' }), sourceProps()));

    expect(await record()).toMatchObject({ ExternalId: 'rotated-external-id', BindingId: created.PhysicalResourceId });
    // Its rollback carries the new value as the old one.
    await deploy(update(created.PhysicalResourceId, sourceProps(), sourceProps({}, { ExternalId: 'rotated-external-id' })));
    expect((await record())?.ExternalId).toBe(EXTERNAL_ID);
  });

  test('refuses an Update whose old and new ExternalId both differ from the binding, changing nothing', async () => {
    const created = await deploy(create());
    const before = await item();
    const forged = sourceProps({ Enabled: 'false' }, { ExternalId: 'guessed-external-id' });

    await expect(handleEvent(update(created.PhysicalResourceId, forged, forged), tables.ctx))
      .rejects.toThrow('SnsTopicSource.ExternalId of this request is not the ExternalId');
    expect(await item()).toEqual(before);
  });

  test("refuses another stack's Update naming the binding's physical id, without quoting that binding", async () => {
    const owner = await deploy(create());
    const before = await item();
    sns.mock.resetHistory();

    const failure = handleEvent(update(owner.PhysicalResourceId, sourceProps({ Enabled: 'false' }), sourceProps(), { StackId: OTHER_STACK_ID }), tables.ctx);
    await expect(failure).rejects.toThrow(`Topic ${TOPIC_ARN} is already bound by another stack`);
    const reason = await failure.catch((err: Error) => err.message);
    for (const secret of [STACK_ID, 'stack/app', 'Push', owner.PhysicalResourceId]) expect(reason).not.toContain(secret);
    expect(await item()).toEqual(before);
    expect(sns.mock.commandCalls(SubscribeCommand)).toHaveLength(0);
  });

  test("refuses another stack's topic move away from a binding it does not own, before binding anything", async () => {
    const owner = await deploy(create());
    const before = await item();
    sns.mock.resetHistory();

    // "Moving" from the victim's topic to the intruder's own releases the victim's binding unless ownership is proven.
    const moved = update(owner.PhysicalResourceId, sourceProps({}, { TopicArn: OTHER_TOPIC_ARN }), sourceProps(), { StackId: OTHER_STACK_ID });
    await expect(handleEvent(moved, tables.ctx)).rejects.toThrow(`The binding of topic ${TOPIC_ARN} that this request names belongs to another stack`);

    expect(await item()).toEqual(before);
    expect(await item(OTHER_TOPIC_ARN)).toBeUndefined();
    expect(sns.of(TOPIC_ARN)).toHaveLength(1);
    expect(sns.mock.commandCalls(SubscribeCommand)).toHaveLength(0);
    expect(sns.mock.commandCalls(UnsubscribeCommand)).toHaveLength(0);
  });

  test('rollback of a topic move binds the old topic again and releases the new one', async () => {
    const created = await deploy(create());
    const moved = sourceProps({}, { TopicArn: OTHER_TOPIC_ARN });
    await deploy(update(created.PhysicalResourceId, moved, sourceProps()));
    await deploy(update(created.PhysicalResourceId, sourceProps(), moved));

    expect(await record(TOPIC_ARN)).toMatchObject({ BindingId: created.PhysicalResourceId, SubscriptionState: 'Confirmed' });
    expect(await item(OTHER_TOPIC_ARN)).toBeUndefined();
    expect(sns.of(OTHER_TOPIC_ARN)).toHaveLength(0);
    expect(sns.of(TOPIC_ARN)).toHaveLength(1);
  });
});

describe('Delete', () => {
  test('unsubscribes and deletes the binding; deleting again succeeds', async () => {
    const created = await deploy(create());
    await expect(handleEvent(remove(created.PhysicalResourceId), tables.ctx)).resolves.toEqual({ PhysicalResourceId: created.PhysicalResourceId });

    expect(await item()).toBeUndefined();
    expect(sns.of(TOPIC_ARN)).toHaveLength(0);
    await expect(handleEvent(remove(created.PhysicalResourceId), tables.ctx)).resolves.toEqual({ PhysicalResourceId: created.PhysicalResourceId });
  });

  test('refuses a Delete without the ExternalId of the binding, never falling back to the stored one', async () => {
    const created = await deploy(create());
    const before = await item();
    sts.mock.resetHistory();

    await expect(handleEvent(remove(created.PhysicalResourceId, { SnsTopicSource: { TopicArn: TOPIC_ARN } }), tables.ctx))
      .rejects.toThrow(`SnsTopicSource.ExternalId of this request is not the ExternalId the binding of topic ${TOPIC_ARN} was registered with`);
    await expect(handleEvent(remove(created.PhysicalResourceId, sourceProps({}, { ExternalId: 'guessed-external-id' })), tables.ctx))
      .rejects.toThrow('SnsTopicSource.ExternalId of this request is not the ExternalId');

    expect(await item()).toEqual(before);
    expect(sns.of(TOPIC_ARN)).toHaveLength(1);
    expect(sts.mock.commandCalls(AssumeRoleCommand)).toHaveLength(0);
  });

  test('uses the role stored with its own binding when the properties name none', async () => {
    const created = await deploy(create());
    await handleEvent(remove(created.PhysicalResourceId, { SnsTopicSource: { TopicArn: TOPIC_ARN, ExternalId: EXTERNAL_ID } }), tables.ctx);

    expect(await item()).toBeUndefined();
    expect(sns.of(TOPIC_ARN)).toHaveLength(0);
    expect(sts.mock.commandCalls(AssumeRoleCommand).at(-1)?.args[0].input).toMatchObject({ RoleArn: ROLE_ARN, ExternalId: EXTERNAL_ID });
  });

  test("refuses another stack's Delete naming the binding's physical id, without quoting that binding", async () => {
    const owner = await deploy(create());
    const before = await item();
    sts.mock.resetHistory();

    const failure = handleEvent(remove(owner.PhysicalResourceId, sourceProps(), { StackId: OTHER_STACK_ID, LogicalResourceId: 'Intruder' }), tables.ctx);
    await expect(failure).rejects.toThrow(`The binding of topic ${TOPIC_ARN} that this request names belongs to another stack`);
    const reason = await failure.catch((err: Error) => err.message);
    for (const secret of [STACK_ID, 'stack/app', 'Push', owner.PhysicalResourceId]) expect(reason).not.toContain(secret);

    expect(await item()).toEqual(before);
    expect(sns.of(TOPIC_ARN)).toHaveLength(1);
    expect(sts.mock.commandCalls(AssumeRoleCommand)).toHaveLength(0);
  });

  test("the Delete after a Create that failed in onEvent (the provider's marker as physical id) touches nothing", async () => {
    const owner = await deploy(create());
    const before = await item();
    // Another stack's Create of the same topic failed; CloudFormation's rollback deletes it with the marker, and its own properties.
    await expect(handleEvent(create(sourceProps({ ListenerName: 'control' }), { StackId: OTHER_STACK_ID }), tables.ctx)).rejects.toThrow(/already bound/);
    for (const physicalId of [CREATE_FAILED_PHYSICAL_ID, 'not-a-binding-id']) {
      await expect(handleEvent(remove(physicalId, sourceProps({ ListenerName: 'control' }), { StackId: OTHER_STACK_ID }), tables.ctx))
        .resolves.toEqual({ PhysicalResourceId: physicalId });
    }

    expect(await item()).toEqual(before);
    expect((await record())?.BindingId).toBe(owner.PhysicalResourceId);
    expect(sns.of(TOPIC_ARN)).toHaveLength(1);
    expect(sns.mock.commandCalls(UnsubscribeCommand)).toHaveLength(0);
  });

  test('the Delete after a Create that failed while waiting for confirmation releases that binding', async () => {
    sns.autoConfirm = false;
    const event = create();
    const response = await handleEvent(event, tables.ctx);
    tables.ctx.advance(tables.ctx.confirmationTimeoutMs + 1000);
    await expect(handleCompletion({ ...event, PhysicalResourceId: response.PhysicalResourceId }, tables.ctx)).rejects.toThrow(/still pending confirmation/);

    // The provider reports the failure with the physical id onEvent returned: the BindingId.
    await handleEvent(remove(response.PhysicalResourceId), tables.ctx);

    expect(await item()).toBeUndefined();
    expect(sns.of(TOPIC_ARN)).toHaveLength(0);
  });

  test('never touches a binding held by another stack', async () => {
    const owner = await deploy(create());
    await handleEvent(remove('pgw-000000000000000000000000', sourceProps(), { StackId: OTHER_STACK_ID }), tables.ctx);

    expect((await record())?.BindingId).toBe(owner.PhysicalResourceId);
    expect(sns.of(TOPIC_ARN)).toHaveLength(1);
  });

  test('succeeds when the role can no longer unsubscribe, with a warning, and removes the binding', async () => {
    const created = await deploy(create());
    sns.mock.on(UnsubscribeCommand).rejects(Object.assign(new Error('not authorized'), { name: 'AuthorizationErrorException' }));

    await handleEvent(remove(created.PhysicalResourceId), tables.ctx);

    expect(await item()).toBeUndefined();
    expect(tables.ctx.warnings.map((w) => w.message)).toContain('Could not unsubscribe the delivery queues; delete the subscriptions or the topic by hand');
  });

  test('removes the binding from peer regions too', async () => {
    const peerTable = await tables.dynamo.createTable('peer');
    await handleEvent(request('Create', LISTENER_RESOURCE_TYPE, listenerProps('telemetry'), { LogicalResourceId: 'Telemetry' }),
      testContext(tables.dynamo, [target(PEER_REGION, peerTable)]));
    tables.ctx = testContext(tables.dynamo, [target(REGION, tables.table), target(PEER_REGION, peerTable)]);
    const created = await deploy(create());

    await handleEvent(remove(created.PhysicalResourceId), tables.ctx);

    expect(await item(TOPIC_ARN, tables.table)).toBeUndefined();
    expect(await item(TOPIC_ARN, peerTable)).toBeUndefined();
    expect(sns.of(TOPIC_ARN)).toHaveLength(0);
  });

  /** A PacketSource bound in the home region and a peer region, whose peer table (its gateway's stack) is then deleted. */
  async function boundWithDeletedPeer(): Promise<{ created: ResourceResponse; peerTable: string }> {
    const peerTable = await tables.dynamo.createTable('peer');
    await handleEvent(request('Create', LISTENER_RESOURCE_TYPE, listenerProps('telemetry'), { LogicalResourceId: 'Telemetry' }),
      testContext(tables.dynamo, [target(PEER_REGION, peerTable)]));
    tables.ctx = testContext(tables.dynamo, [target(REGION, tables.table), target(PEER_REGION, peerTable)]);
    const created = await deploy(create());
    expect(await item(TOPIC_ARN, peerTable)).toBeDefined();
    await tables.dynamo.raw.send(new DeleteTableCommand({ TableName: peerTable }));
    return { created, peerTable };
  }

  test('succeeds once a peer region\'s table is gone, with a warning, and removes the binding everywhere else', async () => {
    const { created, peerTable } = await boundWithDeletedPeer();

    await expect(handleEvent(remove(created.PhysicalResourceId), tables.ctx)).resolves.toEqual({ PhysicalResourceId: created.PhysicalResourceId });

    expect(await item(TOPIC_ARN, tables.table)).toBeUndefined();
    expect(sns.of(TOPIC_ARN)).toHaveLength(0);
    const warning = tables.ctx.warnings.find((w) => w.message.startsWith('PacketSource delete: the table of a gateway no longer exists'));
    expect(warning?.extra).toEqual([expect.objectContaining({ region: PEER_REGION, tableName: peerTable })]);
    // a retry (CloudFormation's, or a second delete) succeeds as well
    await expect(handleEvent(remove(created.PhysicalResourceId), tables.ctx)).resolves.toEqual({ PhysicalResourceId: created.PhysicalResourceId });
  });

  test('a Create or an Update while a peer region\'s table is gone fails naming the table and its region', async () => {
    const { created, peerTable } = await boundWithDeletedPeer();
    const reason = `Table ${peerTable} of the gateway in ${PEER_REGION} does not exist (ResourceNotFoundException): `
      + 'deploy that gateway, or remove its region from the peers of this gateway.';

    await expect(handleEvent(update(created.PhysicalResourceId, sourceProps({ Description: 'changed' }), sourceProps()), tables.ctx)).rejects.toThrow(reason);
    await expect(handleEvent(create(sourceProps({}, { TopicArn: OTHER_TOPIC_ARN }), { LogicalResourceId: 'Other' }), tables.ctx)).rejects.toThrow(reason);
    expect(await item(OTHER_TOPIC_ARN, tables.table)).toBeUndefined();
  });
});

test('a failed Create of another resource of the same stack restores the binding it had taken over', async () => {
  const created = await deploy(create());
  sns.mock.on(SubscribeCommand).rejects(Object.assign(new Error('throttled'), { name: 'ThrottledException' }));
  sns.of(TOPIC_ARN).forEach((s) => sns.subscriptions.delete(s.arn));

  await expect(handleEvent(create(sourceProps(), { LogicalResourceId: 'PushV2' }), tables.ctx)).rejects.toThrow('throttled');

  const after = await item();
  expect(after?.record.BindingId).toBe(created.PhysicalResourceId);
  expect(after?.owner.LogicalResourceId).toBe('Push');
});
