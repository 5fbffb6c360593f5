import type { ListenerRecord } from '../../../lib/private/records';
import type { Destination, DeliveryResult } from '../../../service/destinations/destination';
import { DestinationLane } from '../../../service/destinations/destination-lane';
import type { InboundPacket, QueuedPacket } from '../../../service/destinations/packet';
import { EgressPolicy } from '../../../service/egress/egress-policy';
import { FlowTable } from '../../../service/egress/flow-table';
import { IngressPipeline } from '../../../service/ingress/ingress-pipeline';
import { UdpListener } from '../../../service/listeners/udp-listener';
import { ReplyRouter } from '../../../service/replies/reply-router';
import { ReplyTagCodec } from '../../../service/replies/reply-tags';
import { CapturingFailureReporter, CapturingMetrics, eventually, silentLogger, UdpClient } from '../helpers';

/** A destination that records what it receives. */
class RecordingDestination implements Destination {
  public readonly type = 'log' as const;
  public readonly batches: InboundPacket[][] = [];
  public constructor(public readonly name: string, private readonly respond: (batch: InboundPacket[]) => DeliveryResult = () => ({})) {}
  public async deliver(batch: readonly QueuedPacket[]): Promise<DeliveryResult> {
    const packets = batch.map((p) => JSON.parse(p.json) as InboundPacket);
    this.batches.push(packets);
    return this.respond(packets);
  }
}

async function startListener(record: ListenerRecord, destinations: RecordingDestination[]) {
  const failures = new CapturingFailureReporter();
  const metrics = new CapturingMetrics();
  const tags = new ReplyTagCodec();
  const flows = new FlowTable();
  let listener!: UdpListener;
  const registry = { get: (n: string) => (n === record.Name ? listener : undefined), list: () => [listener] };
  const replies = new ReplyRouter({ listeners: registry, tags, failures, metrics });
  const lanes = destinations.map((destination, i) => new DestinationLane({
    listener: record.Name,
    record: record.Destinations[i],
    formatter: record.Destinations[i].Formatter ?? record.Formatter ?? 'base64',
    destination,
    replies,
    failures,
    metrics,
    logger: silentLogger,
  }));
  const pipeline = new IngressPipeline({ record, region: 'eu-west-1', tags, lanes, failures, metrics, flows });
  listener = new UdpListener({ record, sink: pipeline, logger: silentLogger, defaultBindAddress: '127.0.0.1', egress: new EgressPolicy({ allowLoopback: true }), flows });
  await listener.start();
  return { listener, pipeline, failures, metrics, tags, flows };
}

const fast = { Count: 50, TimeoutInSeconds: 0.01 };

describe('IngressPipeline over a real UDP socket', () => {
  test('each datagram becomes exactly the DESIGN.md packet', async () => {
    const dest = new RecordingDestination('rec');
    const record: ListenerRecord = { Name: 'telemetry', Protocol: 'udp', Port: 0, Domain: 'telemetry.example.com', Destinations: [{ Name: 'rec', Type: 'log', Batching: fast }] };
    const { listener, pipeline, tags } = await startListener(record, [dest]);
    const client = await UdpClient.open();
    try {
      const before = Date.now();
      await client.send(Buffer.from([1, 2, 3, 4]), listener.port);
      await eventually(() => dest.batches.length === 1, 5000, 'a batch');
      const packet = dest.batches[0][0];
      expect(Object.keys(packet)).toEqual(['Tag', 'Remote', 'Local', 'ReceivedAt', 'IngressRegion', 'Formatter', 'Data']);
      expect(packet.Remote).toEqual({ IpAddress: '127.0.0.1', Port: client.port });
      expect(packet.Local).toEqual({ Domain: 'telemetry.example.com', Port: listener.port, IpAddress: '127.0.0.1', Protocol: 'udp' });
      expect(packet.IngressRegion).toBe('eu-west-1');
      expect(packet.Formatter).toBe('base64');
      expect(packet.Data).toBe('AQIDBA==');
      expect(packet.ReceivedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(Date.parse(packet.ReceivedAt)).toBeGreaterThanOrEqual(before - 1);
      expect(tags.decode(packet.Tag)).toMatchObject({ listener: 'telemetry', address: '127.0.0.1', port: client.port });
    } finally {
      await client.close();
      await pipeline.close();
      await listener.close();
    }
  });

  test.each<[string, number | undefined, number]>([
    ['15 minutes by default (the longest Lambda run)', undefined, 900],
    ['ReplyTagTtlSeconds when the Listener sets it', 3600, 3600],
  ])('a reply Tag stays valid %s', async (_name, ttl, seconds) => {
    const dest = new RecordingDestination('rec');
    const record: ListenerRecord = {
      Name: 'ttl',
      Protocol: 'udp',
      Port: 0,
      Destinations: [{ Name: 'rec', Type: 'log', Batching: fast }],
      ...(ttl !== undefined ? { ReplyTagTtlSeconds: ttl } : {}),
    };
    const { listener, pipeline, tags } = await startListener(record, [dest]);
    const client = await UdpClient.open();
    try {
      const before = Date.now();
      await client.send(Buffer.from('x'), listener.port);
      await eventually(() => dest.batches.length === 1, 5000, 'a batch');
      const target = tags.decode(dest.batches[0][0].Tag) as { expiresAt: number };
      expect(target.expiresAt).toBeGreaterThanOrEqual(before + (seconds - 1) * 1000);
      expect(target.expiresAt).toBeLessThanOrEqual(Date.now() + seconds * 1000 + 1000);
    } finally {
      await client.close();
      await pipeline.close();
      await listener.close();
    }
  });

  test('a reply Tag\'s lifetime starts at the datagram\'s receive time, the time its packet carries', async () => {
    const dest = new RecordingDestination('rec');
    const record: ListenerRecord = { Name: 'received', Protocol: 'udp', Port: 0, ReplyTagTtlSeconds: 60, Destinations: [{ Name: 'rec', Type: 'log', Batching: fast }] };
    const { listener, pipeline, tags } = await startListener(record, [dest]);
    try {
      // a receive time an hour ahead of the clock: the tag's expiry follows it, not the clock
      const receivedAt = Date.now() + 3_600_000;
      pipeline.accept(listener, { data: Buffer.from('x'), remoteAddress: '127.0.0.1', remotePort: 40000, receivedAt });
      await eventually(() => dest.batches.length === 1, 5000, 'a batch');
      const packet = dest.batches[0][0];
      expect(Date.parse(packet.ReceivedAt)).toBe(receivedAt);
      expect((tags.decode(packet.Tag) as { expiresAt: number }).expiresAt).toBe((Math.floor(receivedAt / 1000) + 60) * 1000);
    } finally {
      await pipeline.close();
      await listener.close();
    }
  });

  test('a payload a destination\'s Formatter cannot represent is an InvalidData failure there, delivered elsewhere', async () => {
    const ascii = new RecordingDestination('ascii');
    const raw = new RecordingDestination('raw');
    const record: ListenerRecord = {
      Name: 'text',
      Protocol: 'udp',
      Port: 0,
      Destinations: [{ Name: 'ascii', Type: 'log', Formatter: 'ascii', Batching: fast }, { Name: 'raw', Type: 'log', Formatter: 'hex', Batching: fast }],
    };
    const { listener, pipeline, failures } = await startListener(record, [ascii, raw]);
    const client = await UdpClient.open();
    try {
      await client.send(Buffer.from('caf\u00e9', 'utf8'), listener.port);
      await eventually(() => raw.batches.length === 1, 5000, 'the hex batch');
      await failures.waitFor(1);
      expect(raw.batches[0][0].Data).toBe('636166C3A9'); // hex is written upper-case (Proxylity's rule)
      expect(ascii.batches).toEqual([]);
      expect(failures.records).toHaveLength(1);
      expect(failures.records[0].failure).toEqual({
        code: 'InvalidData',
        reason: 'Data: payload is not ascii: byte 0xC3 at offset 3 (allowed: bytes 0x00 to 0x7F; use Formatter base64 or hex for binary payloads)',
      });
      expect(failures.records[0].context).toMatchObject({ listener: 'text', destination: 'ascii', remote: `127.0.0.1:${client.port}` });
    } finally {
      await client.close();
      await pipeline.close();
      await listener.close();
    }
  });

  test('every destination gets every packet, each in its own Formatter, with the same Tag', async () => {
    const a = new RecordingDestination('a');
    const b = new RecordingDestination('b');
    const record: ListenerRecord = {
      Name: 'multi',
      Protocol: 'udp',
      Port: 0,
      Formatter: 'hex',
      PublicAddress: '198.51.100.7',
      Destinations: [{ Name: 'a', Type: 'log', Batching: fast }, { Name: 'b', Type: 'log', Formatter: 'utf8', Batching: fast }],
    };
    const { listener, pipeline, metrics } = await startListener(record, [a, b]);
    const client = await UdpClient.open();
    try {
      await client.send('héllo', listener.port);
      await client.send('second', listener.port);
      await eventually(() => a.batches.flat().length === 2 && b.batches.flat().length === 2, 5000, 'both destinations');
      const [pa, pb] = [a.batches.flat()[0], b.batches.flat()[0]];
      expect(pa.Data).toBe(Buffer.from('héllo').toString('hex').toUpperCase());
      expect(pa.Formatter).toBe('hex');
      expect(pb.Data).toBe('héllo');
      expect(pb.Formatter).toBe('utf8');
      expect(pa.Tag).toBe(pb.Tag);
      expect(pa.Local.IpAddress).toBe('198.51.100.7');
      expect(a.batches.flat()[1].Tag).not.toBe(pa.Tag);
      expect(metrics.count('DatagramsIn')).toBe(2);
    } finally {
      await client.close();
      await pipeline.close();
      await listener.close();
    }
  });

  test('ClientRestrictions: datagrams from other networks fail with ClientRestricted and reach no destination', async () => {
    const allowed = new RecordingDestination('rec');
    const record: ListenerRecord = {
      Name: 'restricted',
      Protocol: 'udp',
      Port: 0,
      ClientRestrictions: { Networks: ['10.0.0.0/8', '2001:db8::/32'] },
      Destinations: [{ Name: 'rec', Type: 'log', Batching: fast }],
    };
    const { listener, pipeline, failures, flows } = await startListener(record, [allowed]);
    const client = await UdpClient.open();
    try {
      await client.send('x', listener.port);
      await failures.waitFor(1);
      expect(failures.records[0]).toEqual({
        failure: { code: 'ClientRestricted', reason: "client 127.0.0.1 is not in the Listener's ClientRestrictions.Networks" },
        context: { listener: 'restricted', remote: `127.0.0.1:${client.port}` },
      });
      await pipeline.drain();
      expect(allowed.batches).toEqual([]);
      expect(flows.isActive('restricted', '127.0.0.1', client.port)).toBe(false);
    } finally {
      await client.close();
      await pipeline.close();
      await listener.close();
    }
  });

  test('ClientRestrictions admits clients inside the networks (IPv4 and IPv6 loopback)', async () => {
    const rec = new RecordingDestination('rec');
    const record: ListenerRecord = {
      Name: 'v6',
      Protocol: 'udp',
      Port: 0,
      BindAddress: '::',
      ClientRestrictions: { Networks: ['127.0.0.0/8', '::1/128'] },
      Destinations: [{ Name: 'rec', Type: 'log', Batching: fast }],
    };
    const { listener, pipeline, failures } = await startListener(record, [rec]);
    const v4 = await UdpClient.open('127.0.0.1');
    const v6 = await UdpClient.open('::1');
    try {
      await v4.send('four', listener.port, '127.0.0.1');
      await v6.send('six', listener.port, '::1');
      await eventually(() => rec.batches.flat().length === 2, 5000, 'two packets');
      const remotes = rec.batches.flat().map((p) => p.Remote.IpAddress).sort();
      // IPv4 clients of a dual-stack socket are reported by their IPv4 address, not ::ffff:…
      expect(remotes).toEqual(['127.0.0.1', '::1']);
      expect(failures.records).toEqual([]);
    } finally {
      await v4.close();
      await v6.close();
      await pipeline.close();
      await listener.close();
    }
  });

  test('replies return from the Listener address and port to the sender', async () => {
    const echo = new RecordingDestination('echo', (batch) => ({
      response: { Replies: batch.map((p) => ({ Tag: p.Tag, Data: Buffer.from(`re:${Buffer.from(p.Data, 'base64')}`).toString('base64') })) },
    }));
    const record: ListenerRecord = { Name: 'echo', Protocol: 'udp', Port: 0, Destinations: [{ Name: 'echo', Type: 'log', Batching: fast }] };
    const { listener, pipeline, metrics } = await startListener(record, [echo]);
    const client = await UdpClient.open();
    try {
      await client.send('ping', listener.port);
      await client.waitFor(1);
      expect(client.received[0].data.toString()).toBe('re:ping');
      expect(client.received[0].from).toMatchObject({ address: '127.0.0.1', port: listener.port });
      await eventually(() => metrics.count('RepliesOut') === 1, 2000, 'RepliesOut');
    } finally {
      await client.close();
      await pipeline.close();
      await listener.close();
    }
  });
});
