import type { Destination, DeliveryResult } from '../../../service/destinations/destination';
import { BATCH_FAILED_LOG_MESSAGE, DestinationLane, QUEUE_FULL_LOG_MESSAGE, STOP_DEADLINE_LOG_MESSAGE } from '../../../service/destinations/destination-lane';
import type { QueuedPacket } from '../../../service/destinations/packet';
import { ReplyRouter } from '../../../service/replies/reply-router';
import { ReplyTagCodec } from '../../../service/replies/reply-tags';
import { capturingLogger, CapturingFailureReporter, CapturingMetrics } from '../helpers';

function packet(i: number): QueuedPacket {
  const json = JSON.stringify({ Tag: `t${i}` });
  return { json, bytes: json.length, tag: `t${i}`, remoteAddress: '198.51.100.1', remotePort: 1000 + i, data: '', receivedAt: 0 };
}

function lane(deliver: (batch: readonly QueuedPacket[]) => Promise<DeliveryResult>, extra: { MaxQueuedPackets?: number } = {}) {
  const failures = new CapturingFailureReporter();
  const metrics = new CapturingMetrics();
  const { logger, records } = capturingLogger();
  const destination: Destination = { name: 'd', type: 'sqs', deliver };
  const replies = new ReplyRouter({ listeners: { get: () => undefined, list: () => [] }, tags: new ReplyTagCodec(), failures, metrics });
  const l = new DestinationLane({
    listener: 'demo',
    record: { Name: 'd', Type: 'sqs', Batching: { Count: 3, TimeoutInSeconds: 0 }, MaxInFlightBatches: 1, ...extra },
    formatter: 'base64',
    destination,
    replies,
    failures,
    metrics,
    logger,
  });
  return { lane: l, failures, metrics, records };
}

describe('DestinationLane', () => {
  test('a batch error (which may quote payloads) is logged once per batch, truncated, never in the packet records', async () => {
    const secret = 'payload:' + 'x'.repeat(500);
    const { lane: l, failures, records } = lane(async () => { throw new Error(secret); });
    for (let i = 0; i < 3; i++) l.enqueue(packet(i));
    await l.drain();
    expect(failures.records).toHaveLength(3);
    for (const r of failures.records) expect(r.failure.reason).not.toContain('payload:');
    const logged = records.filter((r) => r.message === BATCH_FAILED_LOG_MESSAGE);
    expect(logged).toHaveLength(1);
    expect(logged[0].attributes).toMatchObject({ destination: 'd', batch: 1, packets: 3 });
    const error = String(logged[0].attributes.error);
    expect(error.startsWith('payload:xxx')).toBe(true);
    expect(error).toContain('(508 characters)');
    expect(error.length).toBeLessThan(240);
  });

  test('a failed batch reports DestinationFailed once per packet, naming the destination and the client', async () => {
    const { lane: l, failures, metrics } = lane(async () => { throw new Error('AccessDenied'); });
    for (let i = 0; i < 4; i++) l.enqueue(packet(i));
    await l.drain();
    expect(failures.records).toHaveLength(4);
    expect(failures.records[1]).toEqual({
      failure: { code: 'DestinationFailed', reason: 'sqs destination d: batch 1 of 3 packets failed (its error is logged once, as "destination batch failed")' },
      context: { listener: 'demo', destination: 'd', remote: '198.51.100.1:1001', tag: 't1' },
    });
    expect(metrics.observations.get('BatchSize')).toEqual([3, 1]);
    expect(metrics.observations.get('DestinationLatencyMs')).toHaveLength(2);
  });

  test('partial failures are reported for the failed packets only', async () => {
    const { lane: l, failures } = lane(async () => ({ failed: [{ index: 2, reason: 'too big' }] }));
    for (let i = 0; i < 3; i++) l.enqueue(packet(i));
    await l.drain();
    expect(failures.records.map((r) => [r.failure.reason, r.context.tag])).toEqual([['sqs destination d: too big', 't2']]);
  });

  test('an unreadable response is one ReplyInvalid record', async () => {
    const { lane: l, failures } = lane(async () => ({ responseError: 'not JSON' }));
    l.enqueue(packet(0));
    await l.drain();
    expect(failures.records).toEqual([{ failure: { code: 'ReplyInvalid', reason: 'not JSON' }, context: { listener: 'demo', destination: 'd' } }]);
  });

  test('a response with both readable replies and an unreadable part routes the replies and reports the rest once', async () => {
    const { lane: l, failures } = lane(async () => ({ responseError: 'execution 2 of 2: not JSON', response: { Replies: [{ Tag: 'not-a-tag', Data: 'aGk=' }] } }));
    l.enqueue(packet(0));
    await l.drain();
    expect(failures.records[0]).toEqual({ failure: { code: 'ReplyInvalid', reason: 'execution 2 of 2: not JSON' }, context: { listener: 'demo', destination: 'd' } });
    // the reply was routed: its tag is refused by the router
    expect(failures.records).toHaveLength(2);
    expect(failures.records[1].failure.reason).toMatch(/^Replies\[0\]\.Tag/);
  });

  test('a full queue drops packets, counts each, and logs a summary rather than a line per packet', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { lane: l, metrics, records } = lane(async () => { await gate; return {}; }, { MaxQueuedPackets: 3 });
    for (let i = 0; i < 50; i++) l.enqueue(packet(i));
    expect(metrics.count('PacketsDropped')).toBe(50 - 3 - 3);
    release();
    await l.drain();
    const drops = records.filter((r) => r.message === QUEUE_FULL_LOG_MESSAGE);
    expect(drops.length).toBeLessThanOrEqual(2);
    expect(drops.reduce((n, r) => n + (r.attributes.dropped as number), 0)).toBe(44);
    expect(drops[0].attributes).toMatchObject({ code: 'RateLimited', listener: 'demo', destination: 'd', maxQueuedPackets: 3 });
  });
});

describe('DestinationLane stop deadline', () => {
  test('a slow destination: close returns at the deadline and every undelivered packet gets one failure record', async () => {
    const pending: Array<() => void> = [];
    const { lane: l, failures, records } = lane(() => new Promise<DeliveryResult>((resolve) => pending.push(() => resolve({ failed: [{ index: 0, reason: 'late' }] }))));
    for (let i = 0; i < 8; i++) l.enqueue(packet(i));
    await new Promise((r) => setImmediate(r));
    expect(pending).toHaveLength(1);
    const started = Date.now();
    await l.close(100);
    expect(Date.now() - started).toBeLessThan(1000);
    const reasons = failures.records.map((r) => [r.context.tag, r.failure.reason]);
    expect(reasons).toHaveLength(8);
    expect(new Set(reasons.map(([tag]) => tag)).size).toBe(8);
    expect(reasons.filter(([, reason]) => String(reason).includes('outcome unknown')).map(([tag]) => tag)).toEqual(['t0', 't1', 't2']);
    expect(reasons.filter(([, reason]) => String(reason).includes('not delivered: the gateway stopped (stop deadline 100 ms)'))).toHaveLength(5);
    expect(failures.records.every((r) => r.failure.code === 'DestinationFailed' && r.context.destination === 'd' && r.context.listener === 'demo')).toBe(true);
    expect(records.some((r) => r.message === STOP_DEADLINE_LOG_MESSAGE)).toBe(true);
    // the late outcome of the abandoned delivery adds no second record
    pending[0]();
    await new Promise((r) => setTimeout(r, 10));
    expect(failures.records).toHaveLength(8);
  });

  test('a destination that finishes in time: close with a deadline delivers everything and records nothing', async () => {
    const delivered: string[] = [];
    const { lane: l, failures } = lane(async (batch) => {
      await new Promise((r) => setTimeout(r, 5));
      delivered.push(...batch.map((p) => p.tag));
      return {};
    });
    for (let i = 0; i < 7; i++) l.enqueue(packet(i));
    await l.close(5_000);
    expect(delivered).toHaveLength(7);
    expect(failures.records).toEqual([]);
  });
});

describe('DestinationLane: keyed packets, streamed replies, responses in parts', () => {
  function streamingLane(destination: Destination, metricsEnabled = false) {
    const failures = new CapturingFailureReporter();
    const metrics = new CapturingMetrics();
    const { logger } = capturingLogger();
    const tags = new ReplyTagCodec();
    const sent: Array<{ address: string; port: number; data: string }> = [];
    const handle = {
      name: 'demo',
      protocol: 'udp' as const,
      address: '127.0.0.1',
      port: 5555,
      send: (d: { data: Buffer; address: string; port: number }, done?: (f: undefined) => void) => {
        sent.push({ address: d.address, port: d.port, data: d.data.toString() });
        done?.(undefined);
      },
    };
    const replies = new ReplyRouter({ listeners: { get: () => handle, list: () => [handle] }, tags, failures, metrics });
    const l = new DestinationLane({
      listener: 'demo',
      record: { Name: destination.name, Type: 'lambda', Batching: { Count: 2, TimeoutInSeconds: 0 }, ...(metricsEnabled ? { MetricsEnabled: true } : {}) },
      formatter: 'utf8',
      destination,
      replies,
      failures,
      metrics,
      logger,
    });
    return { lane: l, failures, sent, tags, metrics };
  }

  test('a destination with a packet key gets each packet keyed from its payload; others get the packet as queued', async () => {
    const seen: Array<string | undefined> = [];
    const destination: Destination = {
      name: 'fn',
      type: 'lambda',
      packetKey: (payload) => (payload[0] === 0 ? undefined : Buffer.from(payload).toString('utf8', 0, 2)),
      deliver: async (batch) => { seen.push(...batch.map((p) => p.key)); return {}; },
    };
    const { lane: l } = streamingLane(destination);
    const p = packet(1);
    l.enqueue(p, Buffer.from('ab-rest'));
    l.enqueue(packet(2), Buffer.from([0, 1]));
    await l.drain();
    expect(seen).toEqual(['ab', undefined]);
    expect(p.key).toBeUndefined(); // the shared packet is not changed

    const plain: QueuedPacket[] = [];
    const { lane: other } = streamingLane({ name: 'q', type: 'sqs', deliver: async (batch) => { plain.push(...batch); return {}; } });
    other.enqueue(p, Buffer.from('ab'));
    await other.drain();
    expect(plain[0]).toBe(p);
  });

  test('replies a destination streams are sent while its delivery is still running; invalid ones are ReplyInvalid', async () => {
    let finish!: () => void;
    let tags!: ReplyTagCodec;
    const destination: Destination = {
      name: 'fn',
      type: 'lambda',
      deliver: async (_batch, sink) => {
        sink!.reply({ Tag: tags.mint('demo', '198.51.100.7', 4000, 60), Data: 'first' });
        sink!.reply(null);
        sink!.invalid('streamed value 3 is not JSON');
        sink!.reply({ Tag: 'forged', Data: 'x' });
        await new Promise<void>((resolve) => { finish = resolve; });
        return {};
      },
    };
    const setup = streamingLane(destination);
    tags = setup.tags;
    setup.lane.enqueue(packet(1));
    setup.lane.enqueue(packet(2));
    const drained = setup.lane.drain();
    await new Promise((resolve) => setImmediate(resolve));
    expect(setup.sent).toEqual([{ address: '198.51.100.7', port: 4000, data: 'first' }]);
    expect(setup.failures.records.map((r) => [r.failure.code, r.context.index])).toEqual([['ReplyInvalid', undefined], ['ReplyUnknownTag', 2]]);
    expect(setup.failures.records[0].failure.reason).toBe('lambda destination fn: streamed value 3 is not JSON');
    finish();
    await drained;
  });

  test('the responses of a batch delivered in parts are each routed', async () => {
    let tags!: ReplyTagCodec;
    const reply = (data: string) => ({ Replies: [{ Tag: tags.mint('demo', '198.51.100.7', 4000, 60), Data: data }] });
    const setup = streamingLane({ name: 'fn', type: 'lambda', deliver: async () => ({ responses: [reply('one'), reply('two')] }) });
    tags = setup.tags;
    setup.lane.enqueue(packet(1));
    await setup.lane.drain();
    expect(setup.sent.map((s) => s.data)).toEqual(['one', 'two']);
  });

  test('with MetricsEnabled, streamed replies and the responses of a batch in parts count as the destination\'s PacketsOut and BytesOut', async () => {
    let tags!: ReplyTagCodec;
    const reply = (data: string) => ({ Replies: [{ Tag: tags.mint('demo', '198.51.100.7', 4000, 60), Data: data }] });
    const streamed = streamingLane({
      name: 'fn',
      type: 'lambda',
      deliver: async (_batch, sink) => {
        sink!.reply({ Tag: tags.mint('demo', '198.51.100.7', 4000, 60), Data: 'first' });
        return {};
      },
    }, true);
    tags = streamed.tags;
    streamed.lane.enqueue(packet(1));
    await streamed.lane.drain();
    expect(streamed.sent.map((s) => s.data)).toEqual(['first']);
    expect(streamed.metrics.count('PacketsOut')).toBe(1);
    expect(streamed.metrics.count('BytesOut')).toBe(5);

    const parts = streamingLane({ name: 'fn', type: 'lambda', deliver: async () => ({ responses: [reply('one'), reply('three')] }) }, true);
    tags = parts.tags;
    parts.lane.enqueue(packet(1));
    await parts.lane.drain();
    expect(parts.sent.map((s) => s.data)).toEqual(['one', 'three']);
    expect(parts.metrics.count('PacketsOut')).toBe(2);
    expect(parts.metrics.count('BytesOut')).toBe(8);
  });
});
