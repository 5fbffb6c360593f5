import { ConfirmSubscriptionCommand, SNSClient } from '@aws-sdk/client-sns';
import { DeleteMessageBatchCommand, Message, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { CapturingFailures, CapturingMetrics, LoopbackListener, Receiver, Registry, StaticBindings } from './support';
import type { PacketSourceRecord } from '../../../lib/private/records';
import type { EgressDatagram, ListenerHandle, SendCallback } from '../../../service/contracts';
import { ConsumerLogger, DeliveryQueueConsumer } from '../../../service/sourcing/delivery-queue-consumer';
import { SourcedPacketProcessor } from '../../../service/sourcing/sourced-packet-processor';

const sqsMock = mockClient(SQSClient);
const snsMock = mockClient(SNSClient);
const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/999988887777/packet-gateway-delivery';
const TOPIC = 'arn:aws:sns:us-east-1:111122223333:push';
const PENDING_TOPIC = 'arn:aws:sns:eu-west-1:111122223333:new-push';

let listener: LoopbackListener;
let receiver: Receiver;
let registry: Registry;
let failures: CapturingFailures;
let sources: PacketSourceRecord[];
let logs: Array<[string, string, unknown]>;
let logger: ConsumerLogger;
let inbox: Message[][];
let consumer: DeliveryQueueConsumer | undefined;
let snsRegions: string[];

let seq = 0;
function sqsMessage(body: unknown): Message {
  seq++;
  return { MessageId: `sqs-${seq}`, ReceiptHandle: `rh-${seq}`, Body: typeof body === 'string' ? body : JSON.stringify(body) };
}

function envelope(message: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    Type: 'Notification',
    MessageId: `sns-${++seq}`,
    TopicArn: TOPIC,
    Message: JSON.stringify(message),
    Timestamp: new Date().toISOString(),
    SignatureVersion: '1',
    ...extra,
  };
}

function confirmation(topicArn: string): Record<string, unknown> {
  return {
    Type: 'SubscriptionConfirmation',
    MessageId: `sns-${++seq}`,
    Token: `token-${seq}`,
    TopicArn: topicArn,
    Message: `You have chosen to subscribe to the topic ${topicArn}.`,
    SubscribeURL: 'https://sns.example.invalid/confirm',
    Timestamp: new Date().toISOString(),
  };
}

function deletedHandles(): string[] {
  return sqsMock.commandCalls(DeleteMessageBatchCommand).flatMap((c) => c.args[0].input.Entries!.map((e) => e.ReceiptHandle!));
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!check()) throw new Error(`never happened: ${what}`);
}

function start(processorListeners = registry, extra: Partial<ConstructorParameters<typeof DeliveryQueueConsumer>[0]> = {}): DeliveryQueueConsumer {
  const bindings = new StaticBindings(sources);
  const processor = new SourcedPacketProcessor({ listeners: processorListeners, bindings, failures, metrics: new CapturingMetrics(), region: 'us-east-1' });
  consumer = new DeliveryQueueConsumer({
    sqs: new SQSClient({ region: 'us-east-1' }),
    queueUrl: QUEUE_URL,
    processor,
    bindings,
    failures,
    logger,
    sns: (region) => {
      snsRegions.push(region);
      return new SNSClient({ region });
    },
    initialBackoffMs: 5,
    concurrency: 2,
    ...extra,
  });
  consumer.start();
  return consumer;
}

beforeEach(async () => {
  sqsMock.reset();
  snsMock.reset();
  listener = new LoopbackListener('demo');
  await listener.start();
  registry = new Registry().add(listener);
  receiver = await Receiver.open();
  failures = new CapturingFailures();
  sources = [
    { TopicArn: TOPIC, ListenerName: 'demo', SubscriptionState: 'Confirmed' },
    { TopicArn: PENDING_TOPIC, ListenerName: 'demo', SubscriptionState: 'PendingConfirmation' },
  ];
  logs = [];
  const log = (level: string) => (message: unknown, extra?: unknown) => void logs.push([level, String(message), extra]);
  logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') } as unknown as ConsumerLogger;
  inbox = [];
  snsRegions = [];
  // Long-poll stand-in: a queued batch at once, otherwise an empty answer a little later.
  sqsMock.on(ReceiveMessageCommand).callsFake(async () => {
    const next = inbox.shift();
    if (next) return { Messages: next };
    await new Promise((r) => setTimeout(r, 5));
    return {};
  });
  sqsMock.on(DeleteMessageBatchCommand).resolves({ Successful: [], Failed: [] });
  snsMock.on(ConfirmSubscriptionCommand).resolves({ SubscriptionArn: `${PENDING_TOPIC}:sub-1` });
});

afterEach(async () => {
  await consumer?.stop();
  consumer = undefined;
  await listener.close();
  await receiver.close();
});

test('a notification is sent from the Listener and its message deleted', async () => {
  const m = sqsMessage(envelope({ Messages: [{ Data: 'aGk=', Remote: { Address: '127.0.0.1', Port: receiver.port } }] }));
  inbox.push([m]);
  start();
  const [got] = await receiver.waitFor(1);
  expect(got.data.toString()).toBe('hi');
  expect(got.from.port).toBe(listener.port);
  await until(() => deletedHandles().includes(m.ReceiptHandle!), 'delete');
  const receive = sqsMock.commandCalls(ReceiveMessageCommand)[0].args[0].input;
  expect(receive).toMatchObject({ QueueUrl: QUEUE_URL, WaitTimeSeconds: 20, MaxNumberOfMessages: 10 });
  expect(sqsMock.commandCalls(DeleteMessageBatchCommand)[0].args[0].input.QueueUrl).toBe(QUEUE_URL);
  expect(failures.records).toEqual([]);
});

test('a full receive batch is deleted in one DeleteMessageBatch', async () => {
  const batch = Array.from({ length: 10 }, (_x, i) => sqsMessage(envelope({ Data: Buffer.from(`p${i}`).toString('base64'), Remote: { IP: '127.0.0.1', Port: receiver.port } })));
  inbox.push(batch);
  start();
  await receiver.waitFor(10);
  await until(() => deletedHandles().length === 10, '10 deletes');
  const calls = sqsMock.commandCalls(DeleteMessageBatchCommand);
  expect(calls).toHaveLength(1);
  expect(calls[0].args[0].input.Entries!.map((e) => e.ReceiptHandle).sort()).toEqual(batch.map((m) => m.ReceiptHandle).sort());
});

test('failed entries are reported and the message is still deleted (no redelivery loop)', async () => {
  const m = sqsMessage(envelope({ Messages: [{ Data: 'aGk=', Remote: { Address: '127.0.0.1', Port: 0 } }] }));
  inbox.push([m]);
  start();
  await until(() => deletedHandles().includes(m.ReceiptHandle!), 'delete');
  expect(failures.codes()).toEqual(['InvalidPort']);
});

test('confirms a subscription only for a binding pending confirmation, in the topic region', async () => {
  const pending = sqsMessage(confirmation(PENDING_TOPIC));
  const confirmed = sqsMessage(confirmation(TOPIC));
  const unknown = sqsMessage(confirmation('arn:aws:sns:us-east-1:444455556666:stranger'));
  inbox.push([pending, confirmed, unknown]);
  start();
  await until(() => deletedHandles().length === 3, '3 deletes');
  const confirms = snsMock.commandCalls(ConfirmSubscriptionCommand).map((c) => c.args[0].input);
  expect(confirms).toEqual([{ TopicArn: PENDING_TOPIC, Token: JSON.parse(pending.Body!).Token }]);
  expect(snsRegions).toEqual(['eu-west-1']);
  const ignored = logs.filter(([level, msg]) => level === 'warn' && msg.startsWith('subscription confirmation ignored'));
  expect(ignored.map(([, , extra]) => (extra as { topicArn: string }).topicArn).sort()).toEqual([TOPIC, 'arn:aws:sns:us-east-1:444455556666:stranger']);
});

test('a failed confirmation leaves the message for a retry', async () => {
  snsMock.on(ConfirmSubscriptionCommand).rejects(Object.assign(new Error('Invalid token'), { name: 'InvalidParameterException' }));
  const pending = sqsMessage(confirmation(PENDING_TOPIC));
  const other = sqsMessage(envelope({ Data: 'aGk=', Remote: { IP: '127.0.0.1', Port: receiver.port } }));
  inbox.push([pending, other]);
  start();
  await until(() => deletedHandles().includes(other.ReceiptHandle!), 'delete of the notification');
  await consumer!.stop();
  expect(deletedHandles()).not.toContain(pending.ReceiptHandle);
  expect(logs.some(([level, msg]) => level === 'warn' && msg.startsWith('subscription confirmation failed'))).toBe(true);
});

test('bodies that are not SNS envelopes are reported and deleted', async () => {
  const garbage = sqsMessage('}{ not json');
  const raw = sqsMessage({ Messages: [{ Data: 'aGk=', Remote: { Address: '127.0.0.1', Port: 9 } }] });
  const array = sqsMessage([1, 2]);
  const unknownType = sqsMessage(envelope({}, { Type: 'SomethingElse' }));
  inbox.push([garbage, raw, array, unknownType]);
  start();
  await until(() => deletedHandles().length === 4, '4 deletes');
  expect(failures.records.map((r) => [r.code, r.messageId])).toEqual([
    ['InvalidJson', garbage.MessageId],
    ['InvalidMessage', raw.MessageId],
    ['InvalidMessage', array.MessageId],
  ]);
  expect(failures.records[1].reason).toContain('raw message delivery');
});

test('SQS errors back off and retry without crashing', async () => {
  let calls = 0;
  const m = sqsMessage(envelope({ Data: 'aGk=', Remote: { IP: '127.0.0.1', Port: receiver.port } }));
  sqsMock.on(ReceiveMessageCommand).callsFake(async () => {
    calls++;
    if (calls <= 3) throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    if (calls === 4) return { Messages: [m] };
    await new Promise((r) => setTimeout(r, 5));
    return {};
  });
  sqsMock.on(DeleteMessageBatchCommand).rejectsOnce(new Error('connection reset')).resolves({ Successful: [], Failed: [] });
  start(registry, { concurrency: 1 });
  await receiver.waitFor(1);
  await until(() => sqsMock.commandCalls(DeleteMessageBatchCommand).length >= 1, 'delete attempt');
  const warnings = logs.filter(([level, msg]) => level === 'warn' && msg.startsWith('delivery queue receive failed'));
  expect(warnings).toHaveLength(3);
  expect((warnings[2][2] as { retryInMs: number }).retryInMs).toBe(20);
  expect(warnings[0][2]).toMatchObject({ error: 'ThrottlingException: Rate exceeded' });
  await until(() => logs.some(([, msg]) => msg.startsWith('DeleteMessageBatch failed')), 'delete failure logged');
});

test('stop() waits for sends in progress, then flushes the deletes', async () => {
  const held: SendCallback[] = [];
  const slow: ListenerHandle = {
    name: 'demo',
    protocol: 'udp',
    address: '127.0.0.1',
    port: 5555,
    send: (_d: EgressDatagram, done?: SendCallback) => void held.push(done!),
  };
  const m = sqsMessage(envelope({ Data: 'aGk=', Remote: { IP: '127.0.0.1', Port: 4000 } }));
  inbox.push([m]);
  const c = start(new Registry().add(slow), { deleteFlushMs: 60_000 });
  await until(() => held.length === 1, 'send handed to the Listener');
  let stopped = false;
  const stopping = c.stop().then(() => (stopped = true));
  await new Promise((r) => setTimeout(r, 20));
  expect(stopped).toBe(false);
  expect(deletedHandles()).toEqual([]);
  held[0](undefined);
  await stopping;
  expect(deletedHandles()).toEqual([m.ReceiptHandle]);
  const receivesAtStop = sqsMock.commandCalls(ReceiveMessageCommand).length;
  await new Promise((r) => setTimeout(r, 20));
  expect(sqsMock.commandCalls(ReceiveMessageCommand)).toHaveLength(receivesAtStop);
});

test('stop() returns while a long poll is still open', async () => {
  sqsMock.on(ReceiveMessageCommand).callsFake(() => new Promise(() => undefined));
  const c = start();
  await until(() => sqsMock.commandCalls(ReceiveMessageCommand).length === 2, 'both pollers waiting');
  await c.stop();
});

test('one slow message does not hold the others: each poller receives again while it is in progress', async () => {
  const held: SendCallback[] = [];
  const slowRemote = 4000;
  const mixed: ListenerHandle = {
    name: 'demo',
    protocol: 'udp',
    address: '127.0.0.1',
    port: listener.port,
    send: (d: EgressDatagram, done?: SendCallback) => (d.port === slowRemote ? void held.push(done!) : listener.send(d, done)),
  };
  const slow = sqsMessage(envelope({ Data: 'aGk=', Remote: { IP: '127.0.0.1', Port: slowRemote } }));
  inbox.push([slow]);
  start(new Registry().add(mixed), { concurrency: 1, maxMessages: 1, maxInFlightMessages: 4 });
  await until(() => held.length === 1, 'the slow send handed to the Listener');
  const fast = sqsMessage(envelope({ Data: 'b2s=', Remote: { IP: '127.0.0.1', Port: receiver.port } }));
  inbox.push([fast]);
  const [got] = await receiver.waitFor(1);
  expect(got.data.toString()).toBe('ok');
  await until(() => deletedHandles().includes(fast.ReceiptHandle!), 'delete of the fast message');
  expect(deletedHandles()).not.toContain(slow.ReceiptHandle);
  expect(consumer!.handling).toBe(1);
  held[0](undefined);
  await until(() => deletedHandles().includes(slow.ReceiptHandle!), 'delete of the slow message');
});

test('messages in progress are bounded: at the limit no further message is received', async () => {
  const held: SendCallback[] = [];
  const holding: ListenerHandle = { name: 'demo', protocol: 'udp', address: '127.0.0.1', port: 1, send: (_d, done) => void held.push(done!) };
  inbox.push([sqsMessage(envelope({ Data: 'aGk=', Remote: { IP: '127.0.0.1', Port: 4000 } }))]);
  inbox.push([sqsMessage(envelope({ Data: 'aGk=', Remote: { IP: '127.0.0.1', Port: 4001 } }))]);
  inbox.push([sqsMessage(envelope({ Data: 'aGk=', Remote: { IP: '127.0.0.1', Port: 4002 } }))]);
  start(new Registry().add(holding), { concurrency: 2, maxMessages: 1, maxInFlightMessages: 2 });
  await until(() => held.length === 2, 'two sends held');
  await new Promise((r) => setTimeout(r, 30));
  expect(held).toHaveLength(2);
  expect(inbox).toHaveLength(1);
  held[0](undefined);
  await until(() => held.length === 3, 'the third message received once there was room');
  held[1](undefined);
  held[2](undefined);
});

test('a message whose dead-letter record was not accepted stays in the queue; one whose records were is deleted', async () => {
  const DLQ = 'arn:aws:sqs:us-east-1:111122223333:push-dlq';
  sources[0] = { ...sources[0], DeadLetterQueueArn: DLQ };
  let accept = false;
  const deadLetters = { enqueue: async (): Promise<boolean> => accept, flush: async (): Promise<void> => undefined };
  const bindings = new StaticBindings(sources);
  const processor = new SourcedPacketProcessor({ listeners: registry, bindings, failures, metrics: new CapturingMetrics(), region: 'us-east-1', deadLetters });
  consumer = new DeliveryQueueConsumer({ sqs: new SQSClient({ region: 'us-east-1' }), queueUrl: QUEUE_URL, processor, bindings, failures, logger, concurrency: 1 });
  const lost = sqsMessage(envelope({ Messages: [{ Data: 'aGk=', Remote: { Address: '127.0.0.1', Port: 0 } }] }));
  inbox.push([lost]);
  consumer.start();
  await until(() => logs.some(([, msg]) => msg.startsWith('delivery queue message kept for redelivery')), 'kept for redelivery');
  accept = true;
  const recorded = sqsMessage(envelope({ Messages: [{ Data: 'aGk=', Remote: { Address: '127.0.0.1', Port: 0 } }] }));
  inbox.push([recorded]);
  await until(() => deletedHandles().includes(recorded.ReceiptHandle!), 'delete of the recorded message');
  await consumer.stop();
  expect(deletedHandles()).not.toContain(lost.ReceiptHandle);
  expect(failures.codes()).toEqual(['InvalidPort', 'InvalidPort']);
});
