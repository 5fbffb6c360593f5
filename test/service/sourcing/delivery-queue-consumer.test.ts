import { ConfirmSubscriptionCommand, SNSClient } from '@aws-sdk/client-sns';
import { ChangeMessageVisibilityCommand, DeleteMessageBatchCommand, Message, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { certUrl, FakeCertificateHost, makeSigningIdentity, signEnvelope, SigningIdentity } from './sns-signing';
import { CapturingDeadLetters, CapturingFailures, CapturingMetrics, LoopbackListener, Receiver, Registry, StaticBindings } from './support';
import type { PacketSourceRecord } from '../../../lib/private/records';
import { ServiceEnvironment } from '../../../lib/private/service-environment';
import type { EgressDatagram, ListenerHandle, SendCallback } from '../../../service/contracts';
import { ConsumerLogger, DeliveryQueueConsumer, inFlightMessagesFor } from '../../../service/sourcing/delivery-queue-consumer';
import { CertificateFetcher, SnsCertificateStore } from '../../../service/sourcing/sns-certificates';
import { SnsMessageVerifier } from '../../../service/sourcing/sns-message-verifier';
import { SourcedPacketProcessor } from '../../../service/sourcing/sourced-packet-processor';
import { UNSIGNED_SNS_WARNING } from '../../../service/sourcing/unsigned-sns';

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
let certificates: FakeCertificateHost;
let deadLetters: CapturingDeadLetters;
let sns: SigningIdentity;

beforeAll(() => {
  sns = makeSigningIdentity();
});

/** `body` signed as SNS signs it, with a certificate of the SNS host of its topic's region. */
function signed(body: Record<string, unknown>, version: '1' | '2' = '1'): Record<string, unknown> {
  return signEnvelope(body, sns, certUrl(String(body.TopicArn).split(':')[3]), version);
}

let seq = 0;
function sqsMessage(body: unknown): Message {
  seq++;
  return { MessageId: `sqs-${seq}`, ReceiptHandle: `rh-${seq}`, Body: typeof body === 'string' ? body : JSON.stringify(body) };
}

function unsignedEnvelope(message: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    Type: 'Notification',
    MessageId: `sns-${++seq}`,
    TopicArn: TOPIC,
    Message: JSON.stringify(message),
    Timestamp: new Date().toISOString(),
    ...extra,
  };
}

function envelope(message: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return signed(unsignedEnvelope(message, extra));
}

function confirmation(topicArn: string): Record<string, unknown> {
  return signed({
    Type: 'SubscriptionConfirmation',
    MessageId: `sns-${++seq}`,
    Token: `token-${seq}`,
    TopicArn: topicArn,
    Message: `You have chosen to subscribe to the topic ${topicArn}.`,
    SubscribeURL: 'https://sns.example.invalid/confirm',
    Timestamp: new Date().toISOString(),
  });
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
  const processor = new SourcedPacketProcessor({ listeners: processorListeners, bindings, failures, deadLetters, metrics: new CapturingMetrics(), region: 'us-east-1' });
  consumer = new DeliveryQueueConsumer({
    sqs: new SQSClient({ region: 'us-east-1' }),
    queueUrl: QUEUE_URL,
    processor,
    bindings,
    failures,
    logger,
    verifier: new SnsMessageVerifier(new SnsCertificateStore({ fetcher: certificates.fetcher })),
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
  deadLetters = new CapturingDeadLetters();
  certificates = new FakeCertificateHost();
  for (const region of ['us-east-1', 'eu-west-1']) certificates.serve(certUrl(region), sns.certificatePem);
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
  await until(() => deletedHandles().length === 2, '2 deletes');
  await until(() => sqsMock.commandCalls(ChangeMessageVisibilityCommand).length === 1, 'the unknown confirmation kept');
  await consumer!.stop();
  expect(deletedHandles().sort()).toEqual([pending.ReceiptHandle, confirmed.ReceiptHandle].sort());
  const confirms = snsMock.commandCalls(ConfirmSubscriptionCommand).map((c) => c.args[0].input);
  expect(confirms).toEqual([{ TopicArn: PENDING_TOPIC, Token: JSON.parse(pending.Body!).Token }]);
  expect(snsRegions).toEqual(['eu-west-1']);
  const ignored = logs.filter(([level, msg]) => level === 'warn' && msg.startsWith('subscription confirmation ignored'));
  expect(ignored.map(([, , extra]) => (extra as { topicArn: string }).topicArn)).toEqual([TOPIC]);
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
  expect(failures.records.map((r) => [r.code, r.messageId]).sort()).toEqual([
    ['InvalidJson', garbage.MessageId],
    ['InvalidMessage', raw.MessageId],
    ['InvalidMessage', array.MessageId],
    ['InvalidMessage', unknownType.MessageId],
  ].sort());
  const rawReason = failures.records.find((r) => r.messageId === raw.MessageId)!.reason;
  expect(rawReason).toContain('raw message delivery');
  expect(rawReason).toContain('not a signed SNS notification');
  expect(failures.records.find((r) => r.messageId === unknownType.MessageId)!.reason).toContain('"SomethingElse" is not a signed SNS message type');
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

describe('only notifications signed by SNS for their topic are acted on', () => {
  const VICTIM = 'arn:aws:sns:us-east-1:444455556666:victim';

  beforeEach(() => {
    sources.push({ TopicArn: VICTIM, ListenerName: 'demo', SubscriptionState: 'Confirmed', DeadLetterQueueArn: 'arn:aws:sqs:us-east-1:444455556666:victim-dlq' });
  });

  test('a SignatureVersion 2 notification is sent', async () => {
    const m = sqsMessage(signed(unsignedEnvelope({ Messages: [{ Data: 'aGk=', Remote: { Address: '127.0.0.1', Port: receiver.port } }] }), '2'));
    inbox.push([m]);
    start();
    await receiver.waitFor(1);
    await until(() => deletedHandles().includes(m.ReceiptHandle!), 'delete');
    expect(failures.records).toEqual([]);
  });

  test('a forged body naming another tenant\'s topic is refused and deleted, never sent, never recorded for that tenant', async () => {
    const packets = { Messages: [{ Data: 'aGk=', Remote: { Address: '127.0.0.1', Port: receiver.port } }] };
    // a tenant's raw-delivery subscription writes any body it likes: here a copy of its own signed envelope with the victim's TopicArn
    const retargeted = sqsMessage({ ...envelope(packets), TopicArn: VICTIM });
    const unsigned = sqsMessage(unsignedEnvelope(packets, { TopicArn: VICTIM }));
    const attacker = makeSigningIdentity();
    const selfSigned = sqsMessage(signEnvelope(unsignedEnvelope(packets, { TopicArn: VICTIM }), attacker, 'https://evil.example/SimpleNotificationService-1.pem'));
    inbox.push([retargeted, unsigned, selfSigned]);
    start();
    await until(() => deletedHandles().length === 3, '3 deletes');
    expect(failures.records.map((r) => [r.code, r.messageId]).sort()).toEqual([
      ['InvalidMessage', retargeted.MessageId],
      ['InvalidMessage', unsigned.MessageId],
      ['InvalidMessage', selfSigned.MessageId],
    ].sort());
    for (const r of failures.records) {
      expect(r.reason).toMatch(/^delivery queue message is not a signed SNS notification: /);
      expect(r.reason).toContain(`claimed TopicArn "${VICTIM}"`);
      expect(r.topicArn).toBeUndefined();
    }
    const unsignedReason = failures.records.find((r) => r.messageId === unsigned.MessageId)!.reason;
    expect(unsignedReason).toContain('SignatureVersion missing is not supported');
    expect(deadLetters.records).toEqual([]);
    expect(certificates.requests).toEqual([certUrl('us-east-1')]);
    await new Promise((r) => setTimeout(r, 50));
    expect(receiver.received).toEqual([]);
  });

  test('a notification whose certificate cannot be fetched now is kept for a retry, then sent', async () => {
    let reachable = false;
    const fetcher: CertificateFetcher = async (url, signal) => {
      if (!reachable) throw Object.assign(new Error('connect ETIMEDOUT'), { name: 'Error' });
      return certificates.fetcher(url, signal);
    };
    const m = sqsMessage(envelope({ Messages: [{ Data: 'aGk=', Remote: { Address: '127.0.0.1', Port: receiver.port } }] }));
    inbox.push([m]);
    start(registry, { verifier: new SnsMessageVerifier(new SnsCertificateStore({ fetcher })) });
    await until(() => logs.some(([, msg]) => msg.startsWith('delivery queue message kept for a retry')), 'kept');
    expect(deletedHandles()).toEqual([]);
    expect(failures.records).toEqual([]);
    reachable = true;
    inbox.push([m]); // the visibility timeout brings it back
    await receiver.waitFor(1);
    await until(() => deletedHandles().includes(m.ReceiptHandle!), 'delete');
  });
});

describe('a notification forwarded by another region', () => {
  test('keeps its SNS signature; only the entries its attribute lists are sent, though its home region is another', async () => {
    sources[0] = { ...sources[0], HomeRegion: 'eu-west-1' };
    const other = await Receiver.open();
    try {
      const body = envelope({
        Messages: [
          { Data: 'AQID', Remote: { Address: '127.0.0.1', Port: other.port } },
          { Data: 'aGk=', Remote: { Address: '127.0.0.1', Port: receiver.port } },
        ],
      });
      const m: Message = {
        ...sqsMessage(JSON.stringify(JSON.parse(JSON.stringify(body)))),
        MessageAttributes: {
          PacketGatewayForwardedEntries: { DataType: 'String', StringValue: '1' },
          PacketGatewayForwardedFrom: { DataType: 'String', StringValue: 'eu-west-1' },
        },
      };
      inbox.push([m]);
      start();
      const [got] = await receiver.waitFor(1);
      expect(got.data.toString()).toBe('hi');
      await until(() => deletedHandles().includes(m.ReceiptHandle!), 'delete');
      expect(other.received).toEqual([]);
      expect(failures.records).toEqual([]);
      expect(sqsMock.commandCalls(ReceiveMessageCommand)[0].args[0].input.MessageAttributeNames)
        .toEqual(['PacketGatewayForwardedEntries', 'PacketGatewayForwardedFrom']);
    } finally {
      await other.close();
    }
  });

  test('without the attribute the same notification is left to its home region', async () => {
    sources[0] = { ...sources[0], HomeRegion: 'eu-west-1' };
    const m = sqsMessage(envelope({ Messages: [{ Data: 'aGk=', Remote: { Address: '127.0.0.1', Port: receiver.port } }] }));
    inbox.push([m]);
    start();
    await until(() => deletedHandles().includes(m.ReceiptHandle!), 'delete');
    expect(receiver.received).toEqual([]);
  });
});

describe('a subscription confirmation that arrives before its binding is loaded', () => {
  const NEW_TOPIC = 'arn:aws:sns:us-east-1:444455556666:cross-account';

  test('is kept, made visible again soon, and confirmed once the binding is loaded', async () => {
    const m = sqsMessage(confirmation(NEW_TOPIC));
    inbox.push([m]);
    start(registry, { unknownConfirmationRetrySeconds: 12 });
    await until(() => sqsMock.commandCalls(ChangeMessageVisibilityCommand).length === 1, 'visibility changed');
    const visibility = sqsMock.commandCalls(ChangeMessageVisibilityCommand)[0].args[0].input;
    expect(visibility).toEqual({ QueueUrl: QUEUE_URL, ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 12 });
    expect(snsMock.commandCalls(ConfirmSubscriptionCommand)).toHaveLength(0);
    expect(deletedHandles()).toEqual([]);
    // the task reloads its configuration and sees the pending binding; SQS delivers the message again
    sources.push({ TopicArn: NEW_TOPIC, ListenerName: 'demo', SubscriptionState: 'PendingConfirmation' });
    inbox.push([m]);
    await until(() => deletedHandles().includes(m.ReceiptHandle!), 'delete after confirmation');
    const confirms = snsMock.commandCalls(ConfirmSubscriptionCommand).map((c) => c.args[0].input);
    expect(confirms).toEqual([{ TopicArn: NEW_TOPIC, Token: JSON.parse(m.Body!).Token }]);
  });

  test('a failed ChangeMessageVisibility still keeps it (the queue visibility timeout brings it back)', async () => {
    sqsMock.on(ChangeMessageVisibilityCommand).rejects(new Error('AccessDenied'));
    const m = sqsMessage(confirmation(NEW_TOPIC));
    inbox.push([m]);
    start();
    await until(() => logs.some(([, msg]) => msg.startsWith('ChangeMessageVisibility failed')), 'failure logged');
    await consumer!.stop();
    expect(deletedHandles()).toEqual([]);
  });
});

describe(`unsigned notifications (${ServiceEnvironment.AcceptUnsignedSns})`, () => {
  const LOCAL_QUEUE_URL = 'http://127.0.0.1:3000/000000000000/packet-gateway-delivery';

  test.each([
    QUEUE_URL,
    'https://sqs.cn-north-1.amazonaws.com.cn/123456789012/delivery',
    'https://sqs.us-east-1.api.aws/123456789012/delivery',
    'https://vpce-0123-abcd.sqs.us-east-1.vpce.amazonaws.com/123456789012/delivery',
    'https://SQS.US-EAST-1.AMAZONAWS.COM./123456789012/delivery',
    'not a url',
  ])('are refused for the delivery queue %s', (queueUrl) => {
    expect(() => start(registry, { acceptUnsignedSns: true, queueUrl })).toThrow(ServiceEnvironment.AcceptUnsignedSns);
  });

  test('are accepted from a local queue, with a WARN at start and periodically until stopped', async () => {
    const m = sqsMessage(unsignedEnvelope({ Messages: [{ Data: 'aGk=', Remote: { Address: '127.0.0.1', Port: receiver.port } }] }));
    inbox.push([m]);
    const warnings = (): number => logs.filter(([level, msg]) => level === 'warn' && msg === UNSIGNED_SNS_WARNING).length;
    const c = start(registry, { acceptUnsignedSns: true, queueUrl: LOCAL_QUEUE_URL, unsignedWarningIntervalMs: 20 });
    expect(warnings()).toBe(1);
    await receiver.waitFor(1);
    await until(() => deletedHandles().includes(m.ReceiptHandle!), 'delete');
    await until(() => warnings() >= 3, 'periodic warnings');
    await c.stop();
    const atStop = warnings();
    await new Promise((r) => setTimeout(r, 60));
    expect(warnings()).toBe(atStop);
    expect(failures.records).toEqual([]);
    expect(certificates.requests).toEqual([]);
  });

  test('without Type (or with Type null) they are notifications, and without Timestamp a TtlSeconds cannot be applied', async () => {
    const to = { Address: '127.0.0.1', Port: receiver.port };
    const noType = sqsMessage({ ...unsignedEnvelope({ Messages: [{ Data: 'aGk=', Remote: to }] }), Type: undefined });
    const nullType = sqsMessage({ ...unsignedEnvelope({ Messages: [{ Data: 'aGk=', Remote: to }] }), Type: null });
    const noTimestamp = sqsMessage({ ...unsignedEnvelope({ Messages: [{ Data: 'aGk=', Remote: to }, { Data: 'aGk=', Remote: to, TtlSeconds: 5 }] }), Timestamp: undefined });
    inbox.push([noType, nullType, noTimestamp]);
    const c = start(registry, { acceptUnsignedSns: true, queueUrl: LOCAL_QUEUE_URL });
    await receiver.waitFor(3);
    await until(() => [noType, nullType, noTimestamp].every((m) => deletedHandles().includes(m.ReceiptHandle!)), 'deletes');
    await c.stop();
    expect(failures.records.map((r) => [r.code, r.index, r.reason])).toEqual([
      ['InvalidMessage', 1, 'Messages[1].TtlSeconds cannot be applied: the notification has no valid publish Timestamp'],
    ]);
  });

  test('a send still in progress holds its slot until it completes; stop() waits for it, then deletes the message', async () => {
    const held: SendCallback[] = [];
    const holding: ListenerHandle = { name: 'demo', protocol: 'udp', address: '127.0.0.1', port: 1, send: (_d, done) => void held.push(done!) };
    const m = sqsMessage(unsignedEnvelope({ Messages: [{ Data: 'aGk=', Remote: { Address: '127.0.0.1', Port: 4000 } }] }));
    inbox.push([m]);
    const c = start(new Registry().add(holding), { acceptUnsignedSns: true, queueUrl: LOCAL_QUEUE_URL });
    await until(() => held.length === 1, 'the send handed to the Listener');
    expect(c.handling).toBe(1);
    let stopped = false;
    const stopping = c.stop().then(() => (stopped = true));
    await new Promise((r) => setTimeout(r, 30));
    expect(stopped).toBe(false);
    expect(deletedHandles()).toEqual([]);
    held[0]({ code: 'SendFailed', reason: 'send to 127.0.0.1:4000 failed: EPERM' });
    await stopping;
    expect(c.handling).toBe(0);
    expect(deletedHandles()).toEqual([m.ReceiptHandle]);
    expect(failures.records).toEqual([expect.objectContaining({ code: 'SendFailed', index: 0, remote: '127.0.0.1:4000', reason: 'send to 127.0.0.1:4000 failed: EPERM' })]);
  });

  test('a completion that throws (the log of a refused dead-letter record) is handled as a defect: logged, the message deleted, its slot freed', async () => {
    sources[0] = { ...sources[0], DeadLetterQueueArn: 'arn:aws:sqs:us-east-1:111122223333:push-dlq' };
    deadLetters.enqueue = async () => false;
    let warned = 0;
    logger.warn = ((message: string) => {
      if (message.startsWith('delivery queue message kept for redelivery')) {
        warned++;
        throw new Error('log stream closed');
      }
    }) as ConsumerLogger['warn'];
    const m = sqsMessage(unsignedEnvelope({ Messages: [{ Data: 'aGk=', Remote: { Address: '127.0.0.1', Port: 0 } }] }));
    inbox.push([m]);
    const c = start(registry, { acceptUnsignedSns: true, queueUrl: LOCAL_QUEUE_URL });
    await until(() => warned === 1 && c.handling === 0, 'the message finished');
    await c.stop();
    expect(failures.codes()).toEqual(['InvalidPort']);
    expect(deletedHandles()).toEqual([m.ReceiptHandle]);
    expect(logs.filter(([level]) => level === 'error').map(([, msg]) => msg)).toEqual(['delivery queue message could not be handled']);
  });

  test('without the setting, the same unsigned notification is refused', async () => {
    const m = sqsMessage(unsignedEnvelope({ Messages: [{ Data: 'aGk=', Remote: { Address: '127.0.0.1', Port: receiver.port } }] }));
    inbox.push([m]);
    start(registry, { queueUrl: LOCAL_QUEUE_URL });
    await until(() => deletedHandles().includes(m.ReceiptHandle!), 'delete');
    expect(failures.codes()).toEqual(['InvalidMessage']);
    expect(receiver.received).toEqual([]);
  });
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

test('with data-plane workers the window is one per worker: 30 messages each, 60 in progress for two', async () => {
  expect([inFlightMessagesFor(1), inFlightMessagesFor(2), inFlightMessagesFor(16), inFlightMessagesFor(0)]).toEqual([30, 60, 480, 30]);
  const held: SendCallback[] = [];
  const holding: ListenerHandle = { name: 'demo', protocol: 'udp', address: '127.0.0.1', port: 1, send: (_d, done) => void held.push(done!) };
  for (let r = 0; r < 7; r++) {
    inbox.push(Array.from({ length: 10 }, (_, i) => sqsMessage(envelope({ Data: 'aGk=', Remote: { IP: '127.0.0.1', Port: 4000 + r * 10 + i } }))));
  }
  start(new Registry().add(holding), { maxInFlightMessages: inFlightMessagesFor(2) });
  await until(() => held.length === 60, 'sixty sends held');
  await new Promise((r) => setTimeout(r, 30));
  expect(held).toHaveLength(60);
  expect(inbox).toHaveLength(1);
  for (const done of held.splice(0, 10)) done(undefined);
  await until(() => held.length === 60, 'the seventh receive once there was room');
  expect(inbox).toHaveLength(0);
  for (const done of held.splice(0)) done(undefined);
});

test('a message whose dead-letter record was not accepted stays in the queue; one whose records were is deleted', async () => {
  const DLQ = 'arn:aws:sqs:us-east-1:111122223333:push-dlq';
  sources[0] = { ...sources[0], DeadLetterQueueArn: DLQ };
  let accept = false;
  const refusing = { enqueue: async (): Promise<boolean> => accept, flush: async (): Promise<void> => undefined };
  const bindings = new StaticBindings(sources);
  const processor = new SourcedPacketProcessor({ listeners: registry, bindings, failures, metrics: new CapturingMetrics(), region: 'us-east-1', deadLetters: refusing });
  consumer = new DeliveryQueueConsumer({
    sqs: new SQSClient({ region: 'us-east-1' }),
    queueUrl: QUEUE_URL,
    processor,
    bindings,
    failures,
    logger,
    concurrency: 1,
    verifier: new SnsMessageVerifier(new SnsCertificateStore({ fetcher: certificates.fetcher })),
  });
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
