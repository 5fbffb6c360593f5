/** Sourced packets through the real plain-UDP Listener: egress safety, payload limit and flow ownership apply. */
import { Logger } from '@aws-lambda-powertools/logger';
import { CapturingFailures, CapturingMetrics, Receiver, Registry, StaticBindings } from './support';
import type { ListenerRecord } from '../../../lib/private/records';
import type { IngressSink } from '../../../service/contracts';
import { EgressPolicy } from '../../../service/egress/egress-policy';
import { FlowTable } from '../../../service/egress/flow-table';
import { UdpListener } from '../../../service/listeners/udp-listener';
import { SnsNotification, SourcedPacketProcessor } from '../../../service/sourcing/sourced-packet-processor';

const TOPIC = 'arn:aws:sns:us-east-1:111122223333:push';
const logger = new Logger({ logLevel: 'SILENT' });
const sink: IngressSink = { accept: () => undefined };

let seq = 0;
function notification(message: unknown): SnsNotification {
  return { Type: 'Notification', MessageId: `m-${++seq}`, TopicArn: TOPIC, Message: JSON.stringify(message), Timestamp: new Date().toISOString() };
}

async function setup(options: { bind?: string; allowLoopback?: boolean; denied?: string[]; flows?: FlowTable; maxPayload?: number } = {}): Promise<{
  listener: UdpListener;
  processor: SourcedPacketProcessor;
  failures: CapturingFailures;
}> {
  const record: ListenerRecord = { Name: 'demo', Protocol: 'udp', Port: 0, BindAddress: options.bind ?? '127.0.0.1', Destinations: [], MaxPayloadBytes: options.maxPayload };
  const listener = new UdpListener({
    record,
    sink,
    logger,
    defaultBindAddress: '127.0.0.1',
    egress: new EgressPolicy({ allowLoopback: options.allowLoopback ?? true, deniedNetworks: options.denied }),
    flows: options.flows,
    requireActiveFlow: options.flows !== undefined,
  });
  await listener.start();
  const failures = new CapturingFailures();
  const processor = new SourcedPacketProcessor({
    listeners: new Registry().add(listener),
    bindings: new StaticBindings([{ TopicArn: TOPIC, ListenerName: 'demo' }]),
    failures,
    metrics: new CapturingMetrics(),
    region: 'us-east-1',
  });
  return { listener, processor, failures };
}

let receiver: Receiver;
beforeEach(async () => {
  receiver = await Receiver.open();
});
afterEach(async () => {
  await receiver.close();
});

test('both formats leave from the Listener address and port', async () => {
  const { listener, processor } = await setup();
  try {
    await processor.handle(notification({ Messages: [{ Data: 'b25l', Remote: { Address: '127.0.0.1', Port: receiver.port } }] }));
    await processor.handle(notification({ Data: '74776f', Formatter: 'hex', Remote: { IP: '127.0.0.1', Port: receiver.port } }));
    const got = await receiver.waitFor(2);
    expect(got.map((g) => g.data.toString()).sort()).toEqual(['one', 'two']);
    for (const g of got) expect([g.from.address, g.from.port]).toEqual(['127.0.0.1', listener.port]);
  } finally {
    await listener.close();
  }
});

test('an empty Remote.PeerKey is ignored on a plain Listener: the packet is sent', async () => {
  const { listener, processor, failures } = await setup();
  try {
    expect(await processor.handle(notification({ Messages: [{ Data: 'b25l', Remote: { Address: '127.0.0.1', Port: receiver.port, PeerKey: '' } }] })))
      .toEqual({ sent: 1, failed: 0 });
    const [got] = await receiver.waitFor(1);
    expect(got.data.toString()).toBe('one');
    expect(failures.records).toEqual([]);
  } finally {
    await listener.close();
  }
});

test('IPv6 Listener sends to an IPv6 remote', async () => {
  const v6 = await Receiver.open('::1');
  const { listener, processor } = await setup({ bind: '::1' });
  try {
    expect(await processor.handle(notification({ Messages: [{ Data: 'djY=', Remote: { Address: '::1', Port: v6.port } }] }))).toEqual({ sent: 1, failed: 0 });
    const [got] = await v6.waitFor(1);
    expect(got.data.toString()).toBe('v6');
    expect(got.from.port).toBe(listener.port);
  } finally {
    await listener.close();
    await v6.close();
  }
});

test.each([
  ['127.0.0.1', ['169.254.169.254', '224.0.0.1', '255.255.255.255', '0.0.0.0', '127.0.0.1', '10.0.0.1']],
  ['::1', ['fe80::1', 'ff02::1', '::1', '::ffff:169.254.169.254', '::']],
])('egress safety on a Listener bound to %s: metadata, link-local, multicast, VPC and (outside local mode) loopback are DestinationDenied', async (bind, addresses) => {
  const { listener, processor, failures } = await setup({ bind, allowLoopback: false, denied: ['10.0.0.0/16'] });
  try {
    const result = await processor.handle(notification({ Messages: addresses.map((a) => ({ Data: 'aGk=', Remote: { Address: a, Port: 80 } })) }));
    expect(result).toEqual({ sent: 0, failed: addresses.length });
    expect(failures.codes()).toEqual(addresses.map(() => 'DestinationDenied'));
    expect(failures.records.map((r) => r.index)).toEqual(addresses.map((_a, i) => i));
  } finally {
    await listener.close();
  }
});

test("the Listener's own payload limit applies", async () => {
  const { listener, processor, failures } = await setup({ maxPayload: 4 });
  try {
    const result = await processor.handle(
      notification({ Messages: [{ Data: Buffer.from('too long').toString('base64'), Remote: { Address: '127.0.0.1', Port: receiver.port } }, { Data: 'aGk=', Remote: { Address: '127.0.0.1', Port: receiver.port } }] }),
    );
    expect(result).toEqual({ sent: 1, failed: 1 });
    expect(failures.records[0]).toMatchObject({ code: 'PayloadTooLarge', index: 0 });
    expect((await receiver.waitFor(1))[0].data.toString()).toBe('hi');
  } finally {
    await listener.close();
  }
});

test('without a live flow to the client: NoActiveFlow; with one: sent', async () => {
  const flows = new FlowTable();
  const { listener, processor, failures } = await setup({ flows });
  try {
    const message = { Messages: [{ Data: 'aGk=', Remote: { Address: '127.0.0.1', Port: receiver.port } }] };
    expect(await processor.handle(notification(message))).toEqual({ sent: 0, failed: 1 });
    expect(failures.records[0]).toMatchObject({ code: 'NoActiveFlow', remote: `127.0.0.1:${receiver.port}` });
    flows.touch('demo', '127.0.0.1', receiver.port);
    expect(await processor.handle(notification(message))).toEqual({ sent: 1, failed: 0 });
    await receiver.waitFor(1);
  } finally {
    await listener.close();
  }
});
