/**
 * Visibility of delivery-queue messages whose entries are still waiting, on a real SQS API
 * (fauxqs): a message held longer than its visibility timeout is not received again while in
 * progress, and a message still in progress past its entries' deadline is no longer extended.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ChangeMessageVisibilityBatchCommand, CreateQueueCommand, GetQueueAttributesCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { CapturingFailures, CapturingMetrics, Registry, StaticBindings } from './support';
import type { EgressDatagram, ListenerHandle, SendCallback } from '../../../service/contracts';
import { ConsumerLogger, DeliveryQueueConsumer } from '../../../service/sourcing/delivery-queue-consumer';
import { SourcedPacketProcessor } from '../../../service/sourcing/sourced-packet-processor';
import { UNSIGNED_SNS_WARNING } from '../../../service/sourcing/unsigned-sns';
import { PAST_DEADLINE_LOG_MESSAGE, VisibilityExtender, VisibilityHold } from '../../../service/sourcing/visibility-extender';
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
    const holds = Array.from({ length: 12 }, (_, i) => extender.hold(`rh-${i}`, `m-${i}`, receivedAt, receivedAt + 60_000));
    extender.release(holds[11]);
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

describe('the extender\'s one timer over the held messages by due time', () => {
  /** Epoch ms the fake clock starts at. */
  const T0 = 1_800_000_000_000;

  /** An SQS client that records each ChangeMessageVisibilityBatch call (ms after T0, receipt handles) and fails the calls `fail` picks. */
  function recordingSqs(fail: (call: number) => boolean = () => false): { sqs: SQSClient; calls: Array<[number, string[]]> } {
    const calls: Array<[number, string[]]> = [];
    const send = async (command: ChangeMessageVisibilityBatchCommand): Promise<object> => {
      calls.push([Date.now() - T0, (command.input.Entries ?? []).map((e) => e.ReceiptHandle!)]);
      if (fail(calls.length)) throw Object.assign(new Error('service unavailable'), { name: 'ServiceUnavailable' });
      return { Successful: (command.input.Entries ?? []).map((e) => ({ Id: e.Id })), Failed: [] };
    };
    return { sqs: { send } as unknown as SQSClient, calls };
  }

  beforeEach(() => {
    jest.useFakeTimers({ now: T0 });
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  test('messages held at different times, one of them late after its signature check, are each extended when due and again one period later', async () => {
    const { sqs, calls } = recordingSqs();
    const extender = new VisibilityExtender({ sqs, queueUrl: 'q', visibilityTimeoutSeconds: 30, logger });
    extender.hold('a', 'm-a', T0, T0 + 120_000);
    await jest.advanceTimersByTimeAsync(4_000);
    extender.hold('b', 'm-b', T0 + 4_000, T0 + 120_000);
    // received at 2 s, held only now: due before b
    extender.hold('c', 'm-c', T0 + 2_000, T0 + 120_000);
    await jest.advanceTimersByTimeAsync(3_000);
    extender.hold('d', 'm-d', T0 + 7_000, T0 + 120_000);
    const released = extender.hold('e', 'm-e', T0 + 7_000, T0 + 120_000);
    await jest.advanceTimersByTimeAsync(1_000);
    extender.release(released);
    await jest.advanceTimersByTimeAsync(38_000 - 8_000);
    expect(calls).toEqual([
      [15_000, ['a']], [17_000, ['c']], [19_000, ['b']], [22_000, ['d']],
      [30_000, ['a']], [32_000, ['c']], [34_000, ['b']], [37_000, ['d']],
    ]);
    expect(extender.holding).toBe(4);
    await extender.stop();
    expect(extender.holding).toBe(0);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(calls).toHaveLength(8);
  });

  test('a failed extension is tried again a second later, ahead of messages due sooner than its next period; past its deadline a message is dropped', async () => {
    const { sqs, calls } = recordingSqs((call) => call === 1);
    const extender = new VisibilityExtender({ sqs, queueUrl: 'q', visibilityTimeoutSeconds: 30, logger });
    extender.hold('a', 'm-a', T0, T0 + 120_000);
    // its entries' deadline is 20 s after receipt: extended once, then dropped
    extender.hold('e', 'm-e', T0 + 800, T0 + 20_000);
    extender.hold('b', 'm-b', T0 + 10_000, T0 + 120_000);
    await jest.advanceTimersByTimeAsync(32_000);
    expect(calls).toEqual([
      [15_000, ['a']], [15_800, ['e']], [16_000, ['a']], [25_000, ['b']], [31_000, ['a']],
    ]);
    expect(logs.filter(([level, msg]) => level === 'warn' && msg.startsWith('ChangeMessageVisibility failed'))).toHaveLength(1);
    expect(logs.filter(([level, msg]) => level === 'warn' && msg === PAST_DEADLINE_LOG_MESSAGE).map(([, , extra]) => extra))
      .toEqual([{ messageId: 'm-e', holdUntil: new Date(T0 + 20_000).toISOString() }]);
    expect(extender.holding).toBe(2);
    await extender.stop();
  });

  test('messages released while their extension call is in progress are not listed again, and stop() releases them', async () => {
    let answer: (() => void) | undefined;
    const calls: string[][] = [];
    const send = (command: ChangeMessageVisibilityBatchCommand): Promise<object> => {
      calls.push((command.input.Entries ?? []).map((e) => e.ReceiptHandle!));
      return new Promise((resolve) => (answer = () => resolve({ Successful: [], Failed: [] })));
    };
    const extender = new VisibilityExtender({ sqs: { send } as unknown as SQSClient, queueUrl: 'q', visibilityTimeoutSeconds: 2, logger });
    const a = extender.hold('a', 'm-a', T0, T0 + 60_000);
    extender.hold('b', 'm-b', T0, T0 + 60_000);
    await jest.advanceTimersByTimeAsync(1_000);
    expect(calls).toEqual([['a', 'b']]);
    extender.release(a);
    expect(extender.holding).toBe(1);
    answer!();
    await jest.advanceTimersByTimeAsync(1_000);
    expect(calls).toEqual([['a', 'b'], ['b']]);
    const stopped = extender.stop();
    expect(extender.holding).toBe(0);
    answer!();
    await stopped;
    await jest.advanceTimersByTimeAsync(5_000);
    expect(calls).toHaveLength(2);
  });
});

test('a released message is not kept by the extender: of many held and released, only the one still held remains', async () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const sqs = new SQSClient({ region: 'us-east-1' });
  const extender = new VisibilityExtender({ sqs, queueUrl: 'q', visibilityTimeoutSeconds: 30, logger });
  const receivedAt = Date.now();
  const kept = extender.hold('kept', 'm-kept', receivedAt, receivedAt + 60_000);
  const released: Array<WeakRef<object>> = [];
  (() => {
    const later: Array<VisibilityHold | undefined> = [];
    for (let i = 0; i < 1_000; i++) {
      // received out of order (due times interleave), some released at once, the others later from the middle and the tail
      const hold = extender.hold(`rh-${i}`, `m-${i}`, receivedAt + (i % 7) * 10, receivedAt + 60_000);
      released.push(new WeakRef(hold!));
      if (i % 3 === 0) extender.release(hold);
      else later.push(hold);
    }
    expect(extender.holding).toBe(1 + later.length);
    for (let i = later.length - 1; i >= 0; i -= 2) extender.release(later[i]);
    for (const hold of later) extender.release(hold);
  })();
  expect(extender.holding).toBe(1);
  // a WeakRef holds its target until the current job ends
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  expect(released.filter((r) => r.deref() !== undefined)).toHaveLength(0);
  extender.release(kept);
  expect(extender.holding).toBe(0);
  await extender.stop();
  sqs.destroy();
});
