/**
 * Visibility of delivery-queue messages whose entries are still waiting, on a real SQS API
 * (fauxqs): a message held longer than its visibility timeout is not received again while in
 * progress, and a message still in progress past its entries' deadline is no longer extended.
 */
import { ChangeMessageVisibilityBatchCommand, CreateQueueCommand, GetQueueAttributesCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { CapturingFailures, CapturingMetrics, Registry, StaticBindings } from './support';
import type { EgressDatagram, ListenerHandle, SendCallback } from '../../../service/contracts';
import { ConsumerLogger, DeliveryQueueConsumer } from '../../../service/sourcing/delivery-queue-consumer';
import { SourcedPacketProcessor } from '../../../service/sourcing/sourced-packet-processor';
import { UNSIGNED_SNS_WARNING } from '../../../service/sourcing/unsigned-sns';
import { PAST_DEADLINE_LOG_MESSAGE, VisibilityExtender } from '../../../service/sourcing/visibility-extender';
import { LocalFauxqs } from '../../support/local-fauxqs';

jest.setTimeout(30_000);

const TOPIC = 'arn:aws:sns:us-east-1:111122223333:push';
const DLQ = 'arn:aws:sqs:us-east-1:111122223333:push-dlq';
/** Visibility timeout of the test queue (and of the consumers' receives), seconds. */
const VISIBILITY_SECONDS = 2;

let fauxqs: LocalFauxqs;
let clients: SQSClient[] = [];
let consumers: DeliveryQueueConsumer[] = [];
let logs: Array<[string, string, unknown]>;
let logger: ConsumerLogger;

beforeAll(async () => {
  fauxqs = await LocalFauxqs.start();
});

afterAll(async () => {
  await fauxqs.stop();
});

beforeEach(() => {
  logs = [];
  const log = (level: string) => (message: unknown, extra?: unknown) => void logs.push([level, String(message), extra]);
  logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') } as unknown as ConsumerLogger;
});

afterEach(async () => {
  await Promise.all(consumers.map((c) => c.stop(0)));
  consumers = [];
  for (const c of clients) c.destroy();
  clients = [];
});

/** A Listener that records each datagram and completes its send only when told. */
class HoldingListener implements ListenerHandle {
  readonly protocol = 'udp' as const;
  readonly address = '127.0.0.1';
  readonly port = 5555;
  readonly sends: EgressDatagram[] = [];
  readonly held: SendCallback[] = [];
  constructor(readonly name: string) {}
  send(d: EgressDatagram, done?: SendCallback): void {
    this.sends.push(d);
    if (done) this.held.push(done);
  }
}

async function newQueue(name: string): Promise<string> {
  const out = await fauxqs.sqs.send(new CreateQueueCommand({ QueueName: `${name}-${Date.now()}`, Attributes: { VisibilityTimeout: String(VISIBILITY_SECONDS) } }));
  return out.QueueUrl!;
}

/** Publishes one sourced packet as SNS delivers it to the queue (raw delivery off, unsigned: a local server). */
async function publish(queueUrl: string): Promise<void> {
  const envelope = {
    Type: 'Notification',
    MessageId: `sns-${Date.now()}`,
    TopicArn: TOPIC,
    Message: JSON.stringify({ Messages: [{ Data: 'aGk=', Remote: { Address: '127.0.0.1', Port: 4567 } }] }),
    Timestamp: new Date().toISOString(),
  };
  await fauxqs.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(envelope) }));
}

/** Messages in the queue, visible or in flight. */
async function messagesLeft(queueUrl: string): Promise<number> {
  const out = await fauxqs.sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
  return Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) + Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
}

type ProcessorOptions = Partial<ConstructorParameters<typeof SourcedPacketProcessor>[0]>;

/** A consumer of `queueUrl` (one gateway task) sending from `listener`. */
function consume(queueUrl: string, listener: ListenerHandle, processorOptions: ProcessorOptions = {}): DeliveryQueueConsumer {
  const sqs = fauxqs.sqsClient();
  clients.push(sqs);
  const bindings = new StaticBindings([{ TopicArn: TOPIC, ListenerName: listener.name, SubscriptionState: 'Confirmed', DeadLetterQueueArn: DLQ }]);
  const failures = new CapturingFailures();
  const listeners = new Registry().add(listener);
  const processor = new SourcedPacketProcessor({ listeners, bindings, failures, metrics: new CapturingMetrics(), region: 'us-east-1', ...processorOptions });
  const consumer = new DeliveryQueueConsumer({
    sqs,
    queueUrl,
    processor,
    bindings,
    failures,
    logger,
    acceptUnsignedSns: true,
    waitTimeSeconds: 1,
    concurrency: 2,
    visibilityTimeoutSeconds: VISIBILITY_SECONDS,
    // extended a quarter into its timeout: 1.5 s of slack for a busy machine before SQS would give it out again
    visibilityExtendAfter: 0.25,
  });
  consumer.start();
  consumers.push(consumer);
  return consumer;
}

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`never happened: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('a message whose send is held past its visibility timeout is not received again, by this task or another, and is deleted once sent', async () => {
  const queueUrl = await newQueue('held-send');
  const here = new HoldingListener('demo');
  const elsewhere = new HoldingListener('demo');
  consume(queueUrl, here);
  consume(queueUrl, elsewhere);
  await publish(queueUrl);
  await until(() => here.sends.length + elsewhere.sends.length === 1, 'the entry handed to a Listener');
  // Held for more than twice the visibility timeout: without extension the queue would deliver it again.
  await sleep(VISIBILITY_SECONDS * 1000 * 2 + 1000);
  expect(here.sends.length + elsewhere.sends.length).toBe(1);
  for (const done of [...here.held, ...elsewhere.held]) done(undefined);
  await until(async () => (await messagesLeft(queueUrl)) === 0, 'the message deleted');
  expect(here.sends.length + elsewhere.sends.length).toBe(1);
  expect(logs.filter(([, msg]) => msg === 'delivery queue message visibility extended').length).toBeGreaterThanOrEqual(2);
  expect(logs.filter(([level, msg]) => level === 'warn' && msg !== UNSIGNED_SNS_WARNING)).toEqual([]);
});

test('a message still in progress past its entries\' deadline is no longer extended: the queue delivers it again', async () => {
  const queueUrl = await newQueue('past-deadline');
  const listener = new HoldingListener('demo');
  // The send times out after one second; its failure record is never accepted, so the handling never ends.
  const stuck = { enqueue: (): Promise<boolean> => new Promise<boolean>(() => undefined), flush: async (): Promise<void> => undefined };
  consume(queueUrl, listener, { sendTimeoutMs: 1_000, deadLetters: stuck });
  await publish(queueUrl);
  await until(() => listener.sends.length === 2, 'the message received again after its deadline', 15_000);
  expect(logs.some(([level, msg]) => level === 'warn' && msg === PAST_DEADLINE_LOG_MESSAGE)).toBe(true);
});

test('messages due together are extended in batches of at most ten', async () => {
  const sqsMock = mockClient(SQSClient);
  try {
    sqsMock.on(ChangeMessageVisibilityBatchCommand).resolves({ Successful: [], Failed: [] });
    const extender = new VisibilityExtender({ sqs: new SQSClient({ region: 'us-east-1' }), queueUrl: 'http://127.0.0.1:1/000000000000/q', visibilityTimeoutSeconds: 1, logger });
    const receivedAt = Date.now();
    for (let i = 0; i < 12; i++) extender.hold(`rh-${i}`, `m-${i}`, receivedAt, receivedAt + 60_000);
    extender.release('rh-11');
    // The first round of extensions is two calls; on a slow machine a second round (every 0.5 s here) may follow before the check.
    await until(() => sqsMock.commandCalls(ChangeMessageVisibilityBatchCommand).length >= 2, 'two batch calls', 3_000);
    const batches = sqsMock.commandCalls(ChangeMessageVisibilityBatchCommand).slice(0, 2).map((c) => c.args[0].input.Entries!);
    expect(batches.map((b) => b.length)).toEqual([10, 1]);
    expect(batches.flat().every((e) => e.VisibilityTimeout === 1)).toBe(true);
    expect(batches.flat().map((e) => e.ReceiptHandle)).not.toContain('rh-11');
    await extender.stop();
    expect(extender.holding).toBe(0);
  } finally {
    sqsMock.restore();
  }
});

test('the extender refuses a visibility timeout or fraction out of range, naming the value and what is allowed', () => {
  const sqs = new SQSClient({ region: 'us-east-1' });
  expect(() => new VisibilityExtender({ sqs, queueUrl: 'q', visibilityTimeoutSeconds: 0, logger })).toThrow('visibilityTimeoutSeconds 0 is not a visibility timeout (allowed: integer 1–43200)');
  expect(() => new VisibilityExtender({ sqs, queueUrl: 'q', visibilityTimeoutSeconds: 30, extendAfter: 1, logger })).toThrow('extendAfter 1 is not a fraction');
  sqs.destroy();
});

test('a stopped extender holds no message handed to it afterwards (a message still being verified at stop returns to the queue)', async () => {
  const sqs = new SQSClient({ region: 'us-east-1' });
  const extender = new VisibilityExtender({ sqs, queueUrl: 'q', visibilityTimeoutSeconds: 30, logger });
  extender.hold('before', 'm1', Date.now(), Date.now() + 60_000);
  expect(extender.holding).toBe(1);
  await extender.stop();
  extender.hold('after', 'm2', Date.now(), Date.now() + 60_000);
  expect(extender.holding).toBe(0);
  sqs.destroy();
});

test('a message SQS refuses to extend (its receipt handle no longer valid) is released, not tried again every second', async () => {
  const sqsMock = mockClient(SQSClient);
  try {
    // SQS refuses the entry of receipt handle `gone` (whatever its Id in the batch) and extends the others
    sqsMock.on(ChangeMessageVisibilityBatchCommand).callsFake((input: { Entries?: Array<{ Id?: string; ReceiptHandle?: string }> }) => {
      const entries = input.Entries ?? [];
      return {
        Successful: entries.filter((e) => e.ReceiptHandle !== 'gone').map((e) => ({ Id: e.Id })),
        Failed: entries.filter((e) => e.ReceiptHandle === 'gone')
          .map((e) => ({ Id: e.Id, SenderFault: true, Code: 'ReceiptHandleIsInvalid', Message: 'The input receipt handle is invalid.' })),
      };
    });
    const extender = new VisibilityExtender({ sqs: new SQSClient({ region: 'us-east-1' }), queueUrl: 'http://127.0.0.1:1/000000000000/q', visibilityTimeoutSeconds: 1, logger });
    const receivedAt = Date.now();
    extender.hold('gone', 'm-0', receivedAt, receivedAt + 60_000);
    extender.hold('kept', 'm-1', receivedAt, receivedAt + 60_000);
    /** Batch calls so far that carried the receipt handle `handle` (the two may share a call or not). */
    const callsWith = (handle: string): number => sqsMock.commandCalls(ChangeMessageVisibilityBatchCommand)
      .filter((call) => (call.args[0].input.Entries ?? []).some((e) => e.ReceiptHandle === handle)).length;
    await until(() => extender.holding === 1, 'the refused message released', 5_000);
    expect(logs.some(([level, msg]) => level === 'warn' && msg.startsWith('ChangeMessageVisibility refused'))).toBe(true);
    // the kept message is extended again (every half timeout); the refused one is not tried again
    await until(() => callsWith('kept') >= 3, 'the kept message extended three times', 5_000);
    expect(callsWith('gone')).toBe(1);
    expect(extender.holding).toBe(1);
    await extender.stop();
  } finally {
    sqsMock.restore();
  }
});
