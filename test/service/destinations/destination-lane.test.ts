import type { Destination, DeliveryResult } from '../../../service/destinations/destination';
import { DestinationLane } from '../../../service/destinations/destination-lane';
import type { QueuedPacket } from '../../../service/destinations/packet';
import { ReplyRouter } from '../../../service/replies/reply-router';
import { ReplyTagCodec } from '../../../service/replies/reply-tags';
import { capturingLogger, CapturingFailureReporter, CapturingMetrics } from '../helpers';

function packet(i: number): QueuedPacket {
  const json = JSON.stringify({ Tag: `t${i}` });
  return { json, bytes: json.length, tag: `t${i}`, remoteAddress: '198.51.100.1', remotePort: 1000 + i };
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
    const logged = records.filter((r) => r.message === 'destination batch failed');
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
    const drops = records.filter((r) => r.message === 'packets dropped: destination queue full');
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
    expect(records.some((r) => r.message === 'packets not delivered before the stop deadline')).toBe(true);
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
