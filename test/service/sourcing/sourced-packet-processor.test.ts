import type { Logger } from '@aws-lambda-powertools/logger';
import { CapturingDeadLetters, CapturingFailures, CapturingMetrics, LoopbackListener, Receiver, Registry, StaticBindings } from './support';
import type { PacketSourceRecord } from '../../../lib/private/records';
import type { EgressDatagram, ListenerHandle, SendCallback } from '../../../service/contracts';
import { SnsNotification, SourcedPacketProcessor } from '../../../service/sourcing/sourced-packet-processor';

const REGION = 'us-east-1';
const TOPIC = 'arn:aws:sns:us-east-1:111122223333:push';
const DLQ = 'arn:aws:sqs:us-east-1:111122223333:push-dlq';
const NOW = Date.parse('2026-03-11T14:23:01.000Z');
const PEER_KEY = Buffer.alloc(32, 7).toString('base64');

let listener: LoopbackListener;
let receiver: Receiver;
let failures: CapturingFailures;
let metrics: CapturingMetrics;
let deadLetters: CapturingDeadLetters;
let sources: PacketSourceRecord[];
let registry: Registry;

function processor(extra: Partial<ConstructorParameters<typeof SourcedPacketProcessor>[0]> = {}): SourcedPacketProcessor {
  return new SourcedPacketProcessor({
    listeners: registry,
    bindings: new StaticBindings(sources),
    failures,
    metrics,
    deadLetters,
    region: REGION,
    now: () => NOW,
    ...extra,
  });
}

let seq = 0;
function notification(message: unknown, extra: Partial<SnsNotification> = {}): SnsNotification {
  return {
    Type: 'Notification',
    MessageId: `msg-${++seq}`,
    TopicArn: TOPIC,
    Message: typeof message === 'string' ? message : JSON.stringify(message),
    Timestamp: new Date(NOW - 1000).toISOString(),
    ...extra,
  };
}

function to(port: number, data = 'b2s=' /* "ok" */, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { Data: data, Remote: { Address: '127.0.0.1', Port: port }, ...extra };
}

beforeEach(async () => {
  listener = new LoopbackListener('demo');
  await listener.start();
  registry = new Registry().add(listener);
  receiver = await Receiver.open();
  failures = new CapturingFailures();
  metrics = new CapturingMetrics();
  deadLetters = new CapturingDeadLetters();
  sources = [{ TopicArn: TOPIC, ListenerName: 'demo', DeadLetterQueueArn: DLQ }];
});

afterEach(async () => {
  await listener.close();
  await receiver.close();
});

describe('sourced formats', () => {
  test('Messages array: every entry leaves from the Listener socket', async () => {
    const other = await Receiver.open();
    try {
      const result = await processor().handle(notification({ Messages: [to(receiver.port, 'aGk='), to(other.port, 'AQID')] }));
      expect(result).toEqual({ sent: 2, failed: 0 });
      const [a] = await receiver.waitFor(1);
      const [b] = await other.waitFor(1);
      expect(a.data.toString()).toBe('hi');
      expect(b.data).toEqual(Buffer.from([1, 2, 3]));
      expect(a.from.port).toBe(listener.port);
      expect(b.from.port).toBe(listener.port);
      expect(metrics.get('SourcedSent')).toBe(2);
      expect(failures.records).toEqual([]);
    } finally {
      await other.close();
    }
  });

  test('single packet with Remote.IP (first published format)', async () => {
    const result = await processor().handle(notification({ Data: 'aGk=', Remote: { IP: '127.0.0.1', Port: receiver.port } }));
    expect(result).toEqual({ sent: 1, failed: 0 });
    const [got] = await receiver.waitFor(1);
    expect(got.data.toString()).toBe('hi');
    expect(got.from.port).toBe(listener.port);
  });

  test.each([
    ['base64', '/wAB', Buffer.from([0xff, 0, 1])],
    ['hex', 'ff0001', Buffer.from([0xff, 0, 1])],
    ['ascii', 'PING 1', Buffer.from('PING 1')],
    ['utf8', 'héllo ✓', Buffer.from('héllo ✓', 'utf8')],
  ])('Formatter %s', async (formatter, data, bytes) => {
    await processor().handle(notification({ Messages: [to(receiver.port, data, { Formatter: formatter })] }));
    const [got] = await receiver.waitFor(1);
    expect(got.data).toEqual(bytes);
  });

  test('IPv6 remote (::1) leaves from the IPv6 socket', async () => {
    const v6 = await Receiver.open('::1');
    try {
      const result = await processor().handle(notification({ Messages: [{ Data: 'djY=', Remote: { Address: '::1', Port: v6.port } }] }));
      expect(result).toEqual({ sent: 1, failed: 0 });
      const [got] = await v6.waitFor(1);
      expect(got.data.toString()).toBe('v6');
      expect(got.from.port).toBe(listener.port6);
    } finally {
      await v6.close();
    }
  });

  test('PeerKey and Inner are handed to the Listener', async () => {
    const inner = { SourceAddress: '10.10.10.1', SourcePort: 5683, DestinationAddress: '10.10.10.20', DestinationPort: 5683 };
    await processor().handle(notification({ Messages: [{ ...to(receiver.port), Remote: { Address: '127.0.0.1', Port: receiver.port, PeerKey: PEER_KEY }, Inner: inner }] }));
    await receiver.waitFor(1);
    expect(listener.sent[0].peerKey).toBe(PEER_KEY);
    expect(listener.sent[0].inner).toEqual({ ...inner, Version: 4, Protocol: 17 });
  });

  test('TtlSeconds not yet elapsed: sent', async () => {
    const result = await processor().handle(notification({ Messages: [to(receiver.port, 'aGk=', { TtlSeconds: 5 })] }));
    expect(result).toEqual({ sent: 1, failed: 0 });
  });

  test('an empty Messages array sends nothing and reports nothing', async () => {
    expect(await processor().handle(notification({ Messages: [] }))).toEqual({ sent: 0, failed: 0 });
    expect(failures.records).toEqual([]);
  });
});

describe('EgressRegion', () => {
  const attr = (region: string): SnsNotification['MessageAttributes'] => ({ EgressRegion: { Type: 'String', Value: region } });

  test('another region: skipped silently and counted', async () => {
    const result = await processor().handle(notification({ Messages: [to(receiver.port)] }, { MessageAttributes: attr('eu-west-1') }));
    expect(result).toEqual({ sent: 0, failed: 0 });
    expect(metrics.get('SourcedSkipped')).toBe(1);
    expect(failures.records).toEqual([]);
    expect(listener.sent).toEqual([]);
  });

  test('this region: sent even when the binding has another home region', async () => {
    sources[0] = { ...sources[0], HomeRegion: 'eu-west-1' };
    const result = await processor().handle(notification({ Messages: [to(receiver.port)] }, { MessageAttributes: attr(REGION) }));
    expect(result).toEqual({ sent: 1, failed: 0 });
  });

  test('absent: only the home region sends', async () => {
    sources[0] = { ...sources[0], HomeRegion: 'eu-west-1' };
    expect(await processor().handle(notification({ Messages: [to(receiver.port)] }))).toEqual({ sent: 0, failed: 0 });
    expect(metrics.get('SourcedSkipped')).toBe(1);
    sources[0] = { ...sources[0], HomeRegion: REGION };
    expect(await processor().handle(notification({ Messages: [to(receiver.port)] }))).toEqual({ sent: 1, failed: 0 });
  });

  test('a peer region of the binding: skipped by the home region, which leaves it to the peer', async () => {
    sources[0] = { ...sources[0], HomeRegion: REGION, EgressRegions: [REGION, 'eu-west-1'] };
    expect(await processor().handle(notification({ Messages: [to(receiver.port)] }, { MessageAttributes: attr('eu-west-1') }))).toEqual({ sent: 0, failed: 0 });
    expect(metrics.get('SourcedSkipped')).toBe(1);
    expect(failures.records).toEqual([]);
  });

  test('a region without a gateway: the home region records UnknownRegion, in its log and dead-letter queue', async () => {
    sources[0] = { ...sources[0], HomeRegion: REGION, EgressRegions: [REGION, 'eu-west-1'] };
    const n = notification({ Messages: [to(receiver.port)] }, { MessageAttributes: attr('ap-south-2') });
    expect(await processor().handle(n)).toEqual({ sent: 0, failed: 1 });
    expect(failures.records).toEqual([expect.objectContaining({
      code: 'UnknownRegion',
      reason: `MessageAttributes.EgressRegion "ap-south-2" names a region without a gateway for this PacketSource (allowed: ${REGION}, eu-west-1)`,
      messageId: n.MessageId,
    })]);
    expect(deadLetters.records.map((r) => r.record.code)).toEqual(['UnknownRegion']);
    expect(listener.sent).toEqual([]);
  });

  test('a region without a gateway, seen by a peer: left to the home region (one failure record, not one per region)', async () => {
    sources[0] = { ...sources[0], HomeRegion: 'eu-west-1', EgressRegions: ['eu-west-1', REGION] };
    expect(await processor().handle(notification({ Messages: [to(receiver.port)] }, { MessageAttributes: attr('ap-south-2') }))).toEqual({ sent: 0, failed: 0 });
    expect(failures.records).toEqual([]);
  });

  test('absent and no home region: this region sends', async () => {
    expect(await processor().handle(notification({ Messages: [to(receiver.port)] }))).toEqual({ sent: 1, failed: 0 });
  });
});

describe('malformed and hostile entries: one failure each, the valid entry still leaves', () => {
  const bigPayload = Buffer.alloc(65_508, 1).toString('base64');
  const remote = (r: Record<string, unknown>): Record<string, unknown> => ({ Data: 'aGk=', Remote: r });
  const cases: Array<[string, unknown, string]> = [
    ['entry is a number', 42, 'InvalidMessage'],
    ['entry is null', null, 'InvalidMessage'],
    ['entry is an array', [to(9)], 'InvalidMessage'],
    ['Remote missing', { Data: 'aGk=' }, 'InvalidMessage'],
    ['Remote is a string', { Data: 'aGk=', Remote: '127.0.0.1:9' }, 'InvalidMessage'],
    ['Remote.Address missing', remote({ Port: 9 }), 'InvalidMessage'],
    ['Remote.Address not an IP', remote({ Address: '999.1.1.1', Port: 9 }), 'InvalidAddress'],
    ['Remote.Address a host name', remote({ Address: 'example.com', Port: 9 }), 'InvalidAddress'],
    ['Remote.Address a number', remote({ Address: 2130706433, Port: 9 }), 'InvalidAddress'],
    ['Remote.Address with zone', remote({ Address: 'fe80::1%eth0', Port: 9 }), 'InvalidAddress'],
    ['Remote.IP empty', remote({ IP: '', Port: 9 }), 'InvalidAddress'],
    ['Remote.Port missing', remote({ Address: '127.0.0.1' }), 'InvalidMessage'],
    ['Remote.Port 0', remote({ Address: '127.0.0.1', Port: 0 }), 'InvalidPort'],
    ['Remote.Port 70000', remote({ Address: '127.0.0.1', Port: 70000 }), 'InvalidPort'],
    ['Remote.Port "80"', remote({ Address: '127.0.0.1', Port: '80' }), 'InvalidPort'],
    ['Remote.Port 1.5', remote({ Address: '127.0.0.1', Port: 1.5 }), 'InvalidPort'],
    ['Remote.Port -1', remote({ Address: '127.0.0.1', Port: -1 }), 'InvalidPort'],
    ['bad base64', to(9, '@@@@'), 'InvalidData'],
    ['base64 with a space', to(9, 'aGk= '), 'InvalidData'],
    ['bad hex', to(9, 'zz', { Formatter: 'hex' }), 'InvalidData'],
    ['odd-length hex', to(9, 'abc', { Formatter: 'hex' }), 'InvalidData'],
    ['non-ASCII in ascii', to(9, 'héllo', { Formatter: 'ascii' }), 'InvalidData'],
    ['lone surrogate in utf8', to(9, 'a\ud800b', { Formatter: 'utf8' }), 'InvalidData'],
    ['Data a number', to(9, 42 as unknown as string), 'InvalidData'],
    ['Data missing', { Remote: { Address: '127.0.0.1', Port: 9 } }, 'InvalidMessage'],
    ['unknown Formatter', to(9, 'aGk=', { Formatter: 'rot13' }), 'InvalidMessage'],
    ['Formatter a number', to(9, 'aGk=', { Formatter: 7 }), 'InvalidMessage'],
    ['payload over 65507 bytes', to(9, bigPayload), 'PayloadTooLarge'],
    ['TtlSeconds elapsed', to(9, 'aGk=', { TtlSeconds: 0.5 }), 'Expired'],
    ['TtlSeconds negative', to(9, 'aGk=', { TtlSeconds: -5 }), 'InvalidMessage'],
    ['TtlSeconds a string', to(9, 'aGk=', { TtlSeconds: '5' }), 'InvalidMessage'],
    ['PeerKey not base64 of 32 bytes', remote({ Address: '127.0.0.1', Port: 9, PeerKey: 'abc' }), 'InvalidMessage'],
    ['PeerKey of 33 bytes', remote({ Address: '127.0.0.1', Port: 9, PeerKey: Buffer.alloc(33).toString('base64') }), 'InvalidMessage'],
    ['Inner not an object', to(9, 'aGk=', { Inner: 'x' }), 'InvalidMessage'],
    ['Inner bad address', to(9, 'aGk=', { Inner: { SourceAddress: 'x', SourcePort: 1, DestinationAddress: '10.0.0.1', DestinationPort: 1 } }), 'InvalidAddress'],
    ['Inner mixed IP versions', to(9, 'aGk=', { Inner: { SourceAddress: '10.0.0.1', SourcePort: 1, DestinationAddress: 'fd00::1', DestinationPort: 1 } }), 'InvalidAddress'],
    ['Inner port 0', to(9, 'aGk=', { Inner: { SourceAddress: '10.0.0.1', SourcePort: 0, DestinationAddress: '10.0.0.2', DestinationPort: 1 } }), 'InvalidPort'],
    ['Inner Protocol TCP', to(9, 'aGk=', { Inner: { SourceAddress: '10.0.0.1', SourcePort: 1, DestinationAddress: '10.0.0.2', DestinationPort: 1, Protocol: 6 } }), 'InvalidMessage'],
    ['destination denied by the Listener', remote({ Address: '127.0.0.9', Port: 9 }), 'DestinationDenied'],
  ];

  test.each(cases)('%s', async (_name, bad, code) => {
    listener.denied.add('127.0.0.9');
    const n = notification({ Messages: [bad, to(receiver.port, 'aGk=')] });
    const result = await processor().handle(n);
    expect(result).toEqual({ sent: 1, failed: 1 });
    expect(failures.records).toHaveLength(1);
    const f = failures.records[0];
    expect(f).toMatchObject({ code, listener: 'demo', topicArn: TOPIC, messageId: n.MessageId, index: 0 });
    expect(f.reason).toMatch(/Messages\[0\]|denied/);
    expect(JSON.stringify(f)).not.toContain(bigPayload.slice(0, 100));
    const [got] = await receiver.waitFor(1);
    expect(got.data.toString()).toBe('hi');
    expect(deadLetters.records).toHaveLength(1);
    expect(deadLetters.records[0].record).toMatchObject({ code, index: 0, messageId: n.MessageId });
  });

  test('reasons name the bad value and what is allowed', async () => {
    await processor().handle(
      notification({
        Messages: [
          { Data: 'aGk=', Remote: { Address: '127.0.0.1', Port: 70000 } },
          { Data: 'aGk=', Remote: { Address: 'not-an-ip', Port: 9 } },
          to(9, 'aGk=', { Formatter: 'rot13' }),
        ],
      }),
    );
    const [port, address, formatter] = failures.records.map((r) => r.reason);
    expect(port).toBe('Messages[0].Remote.Port: 70000 is not a port (allowed: integer 1–65535)');
    expect(address).toContain('"not-an-ip"');
    expect(address).toContain('IPv4 or IPv6');
    expect(formatter).toContain('rot13');
    expect(formatter).toContain('base64, hex, ascii, utf8');
  });

  test('the remote is identified as far as it is valid', async () => {
    await processor().handle(notification({ Messages: [to(4567, '@@'), { Data: 'aGk=', Remote: { Address: '::1', Port: 70000 } }] }));
    expect(failures.records.map((r) => r.remote)).toEqual(['127.0.0.1:4567', '::1']);
  });
});

describe('malformed and hostile notifications: one failure each, the next notification still leaves', () => {
  const cases: Array<[string, () => SnsNotification, string]> = [
    ['not JSON', () => notification('{"Messages": [ {'), 'InvalidJson'],
    ['empty message', () => notification(''), 'InvalidJson'],
    ['JSON array at the top', () => notification([to(9)]), 'InvalidMessage'],
    ['JSON string', () => notification('"hello"'), 'InvalidMessage'],
    ['JSON null', () => notification('null'), 'InvalidMessage'],
    ['Messages not an array', () => notification({ Messages: { Data: 'aGk=' } }), 'InvalidMessage'],
    ['Messages a string', () => notification({ Messages: 'aGk=' }), 'InvalidMessage'],
    ['huge Messages array', () => notification({ Messages: Array.from({ length: 1001 }, () => to(9)) }), 'InvalidMessage'],
    ['unknown topic', () => notification({ Messages: [to(9)] }, { TopicArn: 'arn:aws:sns:us-east-1:111122223333:nobody' }), 'UnknownTopic'],
    ['EgressRegion not a string', () => notification({ Messages: [to(9)] }, { MessageAttributes: { EgressRegion: { Type: 'Number', Value: 5 as unknown as string } } }), 'InvalidMessage'],
    ['envelope without a Message', () => ({ MessageId: 'x', TopicArn: TOPIC, Timestamp: '' }) as unknown as SnsNotification, 'InvalidJson'],
  ];

  test.each(cases)('%s', async (_name, make, code) => {
    const p = processor();
    const n = make();
    expect(await p.handle(n)).toEqual({ sent: 0, failed: 1 });
    expect(failures.codes()).toEqual([code]);
    expect(failures.records[0]).toMatchObject({ topicArn: n.TopicArn, messageId: n.MessageId });
    expect(await p.handle(notification({ Messages: [to(receiver.port, 'aGk=')] }))).toEqual({ sent: 1, failed: 0 });
    await receiver.waitFor(1);
  });

  test('disabled source: SourceDisabled, dead-lettered with the message', async () => {
    sources[0] = { ...sources[0], Enabled: false };
    const n = notification({ Messages: [to(receiver.port)] });
    expect(await processor().handle(n)).toEqual({ sent: 0, failed: 1 });
    expect(failures.records[0]).toMatchObject({ code: 'SourceDisabled', listener: 'demo' });
    expect(deadLetters.records[0].record).toMatchObject({ code: 'SourceDisabled', message: n.Message, topicArn: TOPIC });
    expect(listener.sent).toEqual([]);
  });

  test('a JSON parse error reason does not echo the message', async () => {
    await processor().handle(notification('{"Data":"c2VjcmV0LXBheWxvYWQ=" oops'));
    expect(failures.records[0].code).toBe('InvalidJson');
    expect(failures.records[0].reason).not.toContain('c2VjcmV0');
  });
});

describe('dead-letter records', () => {
  test('carry code, reason, identifiers, time and the original entry', async () => {
    const bad = { Data: 'aGk=', Remote: { Address: '127.0.0.1', Port: 0 } };
    const n = notification({ Messages: [to(receiver.port), bad] });
    await processor().handle(n);
    expect(deadLetters.records).toEqual([
      {
        queueArn: DLQ,
        record: {
          code: 'InvalidPort',
          reason: 'Messages[1].Remote.Port: 0 is not a port (allowed: integer 1–65535)',
          topicArn: TOPIC,
          messageId: n.MessageId,
          index: 1,
          listener: 'demo',
          remote: '127.0.0.1',
          failedAt: new Date(NOW).toISOString(),
          entry: bad,
        },
      },
    ]);
  });

  test('none without a DeadLetterQueueArn', async () => {
    sources[0] = { TopicArn: TOPIC, ListenerName: 'demo' };
    await processor().handle(notification({ Messages: [to(0)] }));
    expect(failures.records).toHaveLength(1);
    expect(deadLetters.records).toEqual([]);
  });

  test('notification-level failures carry the original message', async () => {
    const n = notification('not json');
    await processor().handle(n);
    expect(deadLetters.records[0].record).toMatchObject({ code: 'InvalidJson', message: 'not json', messageId: n.MessageId });
  });
});

describe('delivery-log records', () => {
  const LOG_GROUP = 'arn:aws:logs:us-east-1:111122223333:log-group:push-delivery';
  const ROLE = 'arn:aws:iam::111122223333:role/packet-gateway/push-role';
  const written: Array<{ target: unknown; record: Record<string, unknown> }> = [];
  const deliveryLog = { write: (target: unknown, record: Record<string, unknown>) => void written.push({ target, record }), flush: async () => {} };
  beforeEach(() => {
    written.length = 0;
  });

  test('go to the binding\'s log group, written as its role, with the same record as the dead-letter queue', async () => {
    sources[0] = { TopicArn: TOPIC, ListenerName: 'demo', DeadLetterQueueArn: DLQ, DeliveryLogGroupArn: LOG_GROUP, RoleArn: ROLE, ExternalId: 'ext-1' };
    const n = notification({ Messages: [to(receiver.port), to(0)] });
    await processor({ deliveryLog }).handle(n);
    expect(written).toEqual([{ target: { logGroupArn: LOG_GROUP, roleArn: ROLE, externalId: 'ext-1' }, record: deadLetters.records[0].record }]);
    expect(written[0].record).toMatchObject({ code: 'InvalidPort', index: 1, messageId: n.MessageId });
  });

  test('go to the binding\'s dead-letter queue as its role, not as the fleet', async () => {
    sources[0] = { TopicArn: TOPIC, ListenerName: 'demo', DeadLetterQueueArn: DLQ, RoleArn: ROLE, ExternalId: 'ext-1' };
    await processor().handle(notification({ Messages: [to(0)] }));
    expect(deadLetters.records.map((r) => r.queueArn)).toEqual([DLQ]);
    expect(deadLetters.senders).toEqual([{ roleArn: ROLE, externalId: 'ext-1' }]);
  });

  test('notification-level failures too; none without a DeliveryLogGroupArn', async () => {
    sources[0] = { TopicArn: TOPIC, ListenerName: 'demo', DeliveryLogGroupArn: LOG_GROUP };
    await processor({ deliveryLog }).handle(notification('not json'));
    expect(written.map((w) => [w.target, w.record.code])).toEqual([[{ logGroupArn: LOG_GROUP, roleArn: undefined, externalId: undefined }, 'InvalidJson']]);
    sources[0] = { TopicArn: TOPIC, ListenerName: 'demo' };
    await processor({ deliveryLog }).handle(notification('not json'));
    expect(written).toHaveLength(1);
  });
});

describe('send outcomes', () => {
  class ScriptedListener implements ListenerHandle {
    readonly protocol = 'udp' as const;
    readonly address = '127.0.0.1';
    readonly port = 5555;
    readonly callbacks: Array<SendCallback | undefined> = [];
    constructor(
      readonly name: string,
      private readonly behaviour: (d: EgressDatagram, done?: SendCallback) => void,
    ) {}
    send(d: EgressDatagram, done?: SendCallback): void {
      this.callbacks.push(done);
      this.behaviour(d, done);
    }
  }

  test('failures from the Listener are reported with their code; a double callback counts once', async () => {
    const codes = ['NoActiveFlow', 'UnknownPeer', 'NoSession', 'SendFailed'] as const;
    let i = 0;
    registry.add(
      new ScriptedListener('demo', (_d, done) => {
        const code = codes[i++];
        setImmediate(() => {
          done?.({ code, reason: `${code} for this remote` });
          done?.(undefined);
        });
      }),
    );
    const result = await processor().handle(notification({ Messages: codes.map((_c, k) => to(1000 + k)) }));
    expect(result).toEqual({ sent: 0, failed: 4 });
    expect(failures.records.map((r) => [r.code, r.index, r.remote])).toEqual(codes.map((c, k) => [c, k, `127.0.0.1:${1000 + k}`]));
  });

  test('a Listener that throws fails that entry with SendFailed only', async () => {
    let first = true;
    registry.add(
      new ScriptedListener('demo', (_d, done) => {
        if (first) {
          first = false;
          throw new Error('socket is closed');
        }
        done?.(undefined);
      }),
    );
    expect(await processor().handle(notification({ Messages: [to(1), to(2)] }))).toEqual({ sent: 1, failed: 1 });
    expect(failures.records[0]).toMatchObject({ code: 'SendFailed', index: 0 });
    expect(failures.records[0].reason).toContain('socket is closed');
  });

  test('a send that never completes fails with SendFailed after the send timeout', async () => {
    registry.add(new ScriptedListener('demo', (d, done) => (d.port === 2 ? undefined : done?.(undefined))));
    expect(await processor({ sendTimeoutMs: 20 }).handle(notification({ Messages: [to(1), to(2)] }))).toEqual({ sent: 1, failed: 1 });
    expect(failures.records[0]).toMatchObject({ code: 'SendFailed', index: 1 });
  });

  test('the send timeouts of many messages in progress share one timer; each message fails its pending sends one timeout after its own start', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate'] });
    try {
      registry.add(new ScriptedListener('demo', (d, done) => (d.port === 2 ? undefined : done?.(undefined))));
      const p = processor({ sendTimeoutMs: 1_000 });
      const settledAt: number[] = [];
      const timersBefore = jest.getTimerCount();
      const started = performance.now();
      for (let i = 0; i < 5; i++) {
        p.handleThen(notification({ Messages: [to(1), to(2)] }), undefined, () => void settledAt.push(Math.round(performance.now() - started)));
        await jest.advanceTimersByTimeAsync(100);
      }
      expect(jest.getTimerCount() - timersBefore).toBe(1);
      jest.advanceTimersByTime(399);
      expect(settledAt).toEqual([]);
      await jest.advanceTimersByTimeAsync(1_000);
      expect(settledAt).toEqual([1_000, 1_100, 1_200, 1_300, 1_400]);
      expect(failures.codes()).toEqual(['SendFailed', 'SendFailed', 'SendFailed', 'SendFailed', 'SendFailed']);
      expect(failures.records.map((r) => r.index)).toEqual([1, 1, 1, 1, 1]);
      expect(failures.records[0].reason).toBe('send did not complete within 1000 ms');
    } finally {
      jest.useRealTimers();
    }
  });

  test('a Listener that is not running: SendFailed per valid entry, validation codes for the others', async () => {
    sources[0] = { ...sources[0], ListenerName: 'gone' };
    expect(await processor().handle(notification({ Messages: [to(1), to(0)] }))).toEqual({ sent: 0, failed: 2 });
    expect(failures.codes()).toEqual(['SendFailed', 'InvalidPort']);
    expect(failures.records[0].reason).toContain("'gone'");
  });

  test('50 entries to 50 ports: 50 datagrams, one per port', async () => {
    const receivers = await Promise.all(Array.from({ length: 50 }, () => Receiver.open()));
    try {
      const result = await processor().handle(notification({ Messages: receivers.map((r, k) => to(r.port, Buffer.from(`n${k}`).toString('base64'))) }));
      expect(result).toEqual({ sent: 50, failed: 0 });
      const got = await Promise.all(receivers.map((r) => r.waitFor(1)));
      expect(got.map(([d]) => d.data.toString())).toEqual(receivers.map((_r, k) => `n${k}`));
    } finally {
      await Promise.all(receivers.map((r) => r.close()));
    }
  });
});

describe('crafted messages cannot crash the task', () => {
  /** 5,000 levels of nesting: JSON.parse accepts it, JSON.stringify of the parsed value throws RangeError. */
  function deeplyNested(depth = 5000): string {
    return `${'['.repeat(depth)}${']'.repeat(depth)}`;
  }

  /** A dead-letter sink that serializes each record as the SQS sink does. */
  class SerializingDeadLetters extends CapturingDeadLetters {
    readonly bodies: string[] = [];
    override enqueue(queueArn: string, record: Record<string, unknown>): Promise<boolean> {
      this.bodies.push(JSON.stringify(record));
      return super.enqueue(queueArn, record);
    }
  }

  test('a 5,000-deep entry fails alone with a bounded record; the entries after it are still sent', async () => {
    const sink = new SerializingDeadLetters();
    const message = `{"Messages":[{"Data":"aGk=","Remote":{"Address":"127.0.0.1","Port":${receiver.port}},"Inner":${deeplyNested()}},`
      + `{"Data":"b2s=","Remote":{"Address":"127.0.0.1","Port":${receiver.port}}}]}`;
    expect(() => JSON.stringify(JSON.parse(message))).toThrow(RangeError);
    const result = await processor({ deadLetters: sink }).handle(notification(message));
    expect(result).toMatchObject({ sent: 1, failed: 1 });
    const [got] = await receiver.waitFor(1);
    expect(got.data.toString()).toBe('ok');
    expect(failures.codes()).toEqual(['InvalidMessage']);
    expect(sink.bodies).toHaveLength(1);
    expect(JSON.parse(sink.bodies[0])).toMatchObject({ code: 'InvalidMessage', index: 0, entry: { Data: 'aGk=', Remote: { Address: '127.0.0.1', Port: receiver.port }, Inner: 'array' } });
  });

  test('a deep value in any field of an entry is recorded by its type, never copied', async () => {
    const sink = new SerializingDeadLetters();
    const deep = deeplyNested();
    const message = `{"Messages":[{"Data":${deep},"Remote":{"Address":${deep},"Port":${deep},"PeerKey":${deep}},"Formatter":${deep},"TtlSeconds":${deep},"Extra":${deep}},${deep}]}`;
    const result = await processor({ deadLetters: sink }).handle(notification(message));
    expect(result).toMatchObject({ sent: 0, failed: 2 });
    expect(sink.bodies.map((b) => JSON.parse(b).entry)).toEqual([
      { Data: 'array', Remote: { Address: 'array', Port: 'array', PeerKey: 'array' }, Formatter: 'array', TtlSeconds: 'array' },
      'array',
    ]);
  });

  test('a failure that surfaces in the Listener\'s send callback with a deep entry does not throw out of the callback', async () => {
    const sink = new SerializingDeadLetters();
    listener.denied.add('127.0.0.2');
    const deferred: SendCallback[] = [];
    const later: ListenerHandle = {
      name: 'demo',
      protocol: 'udp',
      address: '127.0.0.1',
      port: 1,
      send: (_d: EgressDatagram, done?: SendCallback) => void deferred.push(done!),
    };
    registry = new Registry().add(later);
    const message = `{"Messages":[{"Data":"aGk=","Remote":{"Address":"127.0.0.1","Port":9},"Inner":null,"Extra":${deeplyNested()}}]}`;
    const handled = processor({ deadLetters: sink }).handle(notification(message));
    expect(() => deferred[0]({ code: 'DestinationDenied', reason: 'denied' })).not.toThrow();
    expect(await handled).toMatchObject({ sent: 0, failed: 1 });
    expect(sink.bodies).toHaveLength(1);
  });

  test('a failure reporter or sink that throws never stops the other entries', async () => {
    const throwing = { enqueue: (): Promise<boolean> => { throw new Error('sink broke'); }, flush: async () => undefined };
    const failing = { report: (): void => { throw new Error('reporter broke'); } };
    const result = await processor({ deadLetters: throwing, failures: failing }).handle(notification({ Messages: [to(0), to(receiver.port)] }));
    expect(result).toMatchObject({ sent: 1, failed: 1 });
    await receiver.waitFor(1);
  });
});

describe('failure logs are rate-limited, counts and dead letters are not', () => {
  test('1,000 invalid entries: at most the per-second limit is logged, every one is counted and dead-lettered, one summary', async () => {
    const warnings: Array<[string, unknown]> = [];
    const logger = { warn: (message: string, ...extra: unknown[]) => void warnings.push([message, extra[0]]) } as unknown as Pick<Logger, 'warn'>;
    const p = processor({ failureLog: { logger, perSecond: 20 } });
    const entries = Array.from({ length: 1000 }, () => to(0));
    const result = await p.handle(notification({ Messages: entries }));
    expect(result).toMatchObject({ sent: 0, failed: 1000 });
    expect(failures.records).toHaveLength(20);
    expect(metrics.get('Failures')).toBe(980);
    expect(deadLetters.records).toHaveLength(1000);
    await new Promise((r) => setTimeout(r, 1100));
    expect(warnings).toEqual([['packet failure records suppressed (rate limit)', { listener: 'demo', suppressed: 980, byCode: { InvalidPort: 980 } }]]);
  });
});

describe('notifications forwarded from another region', () => {
  test('only the listed entries are sent, though the message names another home region', async () => {
    sources[0] = { ...sources[0], HomeRegion: 'eu-west-1' };
    const other = await Receiver.open();
    try {
      const n = notification({ Messages: [to(other.port, 'AQID'), to(receiver.port, 'aGk='), to(other.port, 'BAUG')] });
      const result = await processor().handle(n, '1');
      expect(result).toEqual({ sent: 1, failed: 0 });
      const [a] = await receiver.waitFor(1);
      expect(a.data.toString()).toBe('hi');
      await new Promise((r) => setTimeout(r, 50));
      expect(other.received).toEqual([]);
      expect(metrics.get('SourcedSkipped') ?? 0).toBe(0);
      expect(failures.records).toEqual([]);
    } finally {
      await other.close();
    }
  });

  test('a forwarded notification reaches the router without its envelope: it is never forwarded again', async () => {
    const routed: Array<{ index: number; notification?: object }> = [];
    const router = {
      send: (l: ListenerHandle, d: EgressDatagram, entry: { index: number; notification?: object }, done: SendCallback) => {
        routed.push({ index: entry.index, notification: entry.notification });
        l.send(d, done);
      },
    };
    const n = notification({ Messages: [to(receiver.port), to(receiver.port)] });
    await processor({ router }).handle(n, '0,1');
    expect(routed).toEqual([{ index: 0, notification: undefined }, { index: 1, notification: undefined }]);
    routed.length = 0;
    await processor({ router }).handle(n);
    expect(routed.map((r) => r.notification)).toEqual([n, n]);
    routed.length = 0;
    await processor({ router }).handle(notification({ Messages: [to(receiver.port)] }, { MessageAttributes: { EgressRegion: { Type: 'String', Value: REGION } } }));
    expect(routed).toEqual([{ index: 0, notification: undefined }]);
  });

  test('a malformed list of entries is InvalidMessage naming it, and nothing is sent', async () => {
    const n = notification({ Messages: [to(receiver.port)] });
    for (const bad of ['', '1', 'a,b', '0,-1']) {
      failures.records.length = 0;
      expect(await processor().handle(n, bad)).toEqual({ sent: 0, failed: 1 });
      expect(failures.records[0]).toMatchObject({ code: 'InvalidMessage', reason: expect.stringMatching(/PacketGatewayForwardedEntries must list entry indexes below 1/) });
    }
    expect(listener.sent).toEqual([]);
  });
});

describe('handleThen: the outcome without a promise', () => {
  /** A Listener whose every send fails on the socket, completed later, like a dgram send error. */
  class FailingListener implements ListenerHandle {
    public readonly name = 'demo';
    public readonly protocol = 'udp' as const;
    public readonly address = '127.0.0.1';
    public readonly port = 5555;
    public send(d: EgressDatagram, done?: SendCallback): void {
      setImmediate(() => done?.({ code: 'SendFailed', reason: `send to ${d.address}:${d.port} failed: EPERM` }));
    }
  }

  test('a notification refused whole calls back at once, before handleThen returns, when no record is awaited', async () => {
    sources = [{ TopicArn: TOPIC, ListenerName: 'demo' }];
    const outcomes: unknown[] = [];
    processor().handleThen(notification('not json'), undefined, (r) => outcomes.push(r));
    expect(outcomes).toEqual([{ sent: 0, failed: 1 }]);
    expect(failures.records.map((r) => r.code)).toEqual(['InvalidJson']);
    // with a dead-letter queue, the outcome waits for the queue's answer
    sources = [{ TopicArn: TOPIC, ListenerName: 'demo', DeadLetterQueueArn: DLQ }];
    const answered = new Promise((resolve) => processor().handleThen(notification('not json'), undefined, resolve));
    expect(deadLetters.records).toHaveLength(1);
    expect(await answered).toEqual({ sent: 0, failed: 1 });
  });

  test('sends that fail after handing over still produce their SendFailed record, and the outcome comes once, after the records', async () => {
    const failing = new FailingListener();
    const outcomes: unknown[] = [];
    const done = new Promise<void>((resolve) => {
      processor({ listeners: new Registry().add(failing) }).handleThen(notification({ Messages: [to(7001), to(7002)] }), undefined, (r) => {
        outcomes.push(r);
        resolve();
      });
    });
    expect(outcomes).toEqual([]);
    await done;
    await new Promise((r) => setTimeout(r, 20));
    expect(outcomes).toEqual([{ sent: 0, failed: 2 }]);
    expect(failures.records.map((r) => [r.code, r.index, r.remote])).toEqual([['SendFailed', 0, '127.0.0.1:7001'], ['SendFailed', 1, '127.0.0.1:7002']]);
    expect(deadLetters.records.map((r) => [r.record.code, r.record.index])).toEqual([['SendFailed', 0], ['SendFailed', 1]]);
    expect(metrics.get('SourcedSent')).toBe(0);
  });

  test('a dead-letter queue that does not accept a record shows in the outcome (the message stays for redelivery)', async () => {
    deadLetters.enqueue = () => Promise.resolve(false);
    const outcome = await new Promise((resolve) => processor().handleThen(notification({ Messages: [to(receiver.port, 'b2s=', { Remote: 'nope' })] }), undefined, resolve));
    expect(outcome).toEqual({ sent: 0, failed: 1, unrecorded: 1 });
  });

  test('a callback that throws does not escape, and the other messages go on', async () => {
    const p = processor();
    expect(() => p.handleThen(notification('not json'), undefined, () => { throw new Error('receiver broke'); })).not.toThrow();
    expect(await p.handle(notification({ Messages: [to(receiver.port)] }))).toEqual({ sent: 1, failed: 0 });
  });
});
