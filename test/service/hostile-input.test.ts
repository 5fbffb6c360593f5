import { join } from 'node:path';
import { CapturingFailureReporter, CapturingMetrics, eventually, freePort, MemoryConfigSource, silentLogger, UdpClient } from './helpers';
import type { FailureCode } from '../../service/contracts';
import { Gateway } from '../../service/gateway';
import { LOCAL_DESTINATION_FACTORIES } from '../../service/local/local-destination-factories';

const HOSTILE = join(__dirname, 'fixtures', 'hostile-handler.cjs');

/** Each inbound payload makes the destination answer in one hostile way; the expected failure code, or a reply. */
// Every row has three entries: jest reads a test function with more parameters than the row as one waiting for done().
const cases: Array<[string, FailureCode | 'reply' | 'none', string]> = [
  ['echo', 'reply', 'echo'],
  ['nothing', 'none', ''],
  ['null', 'none', ''],
  ['empty-replies', 'none', ''],
  ['null-entries', 'reply', 'after-nulls'],
  ['string-response', 'ReplyInvalid', ''],
  ['array-response', 'ReplyInvalid', ''],
  ['replies-object', 'ReplyInvalid', ''],
  ['entry-number', 'ReplyInvalid', ''],
  ['no-tag', 'ReplyInvalid', ''],
  ['tag-number', 'ReplyInvalid', ''],
  ['no-data', 'ReplyInvalid', ''],
  ['data-number', 'ReplyInvalid', ''],
  ['garbage-tag', 'ReplyUnknownTag', ''],
  ['forged-tag', 'ReplyUnknownTag', ''],
  ['truncated-tag', 'ReplyUnknownTag', ''],
  ['lone-surrogate', 'InvalidData', ''],
  ['too-large', 'PayloadTooLarge', ''],
  ['throw', 'DestinationFailed', ''],
  ['reject', 'DestinationFailed', ''],
  ['circular', 'ReplyInvalid', ''],
];

describe('hostile datagrams and replies', () => {
  let gateway: Gateway;
  let client: UdpClient;
  let failures: CapturingFailureReporter;
  let metrics: CapturingMetrics;
  let port: number;
  let restrictedPort: number;

  beforeAll(async () => {
    [port, restrictedPort] = [await freePort(), await freePort()];
    failures = new CapturingFailureReporter();
    metrics = new CapturingMetrics();
    gateway = new Gateway({
      destinationFactories: LOCAL_DESTINATION_FACTORIES,
      config: new MemoryConfigSource({
        Listeners: [
          {
            Name: 'target',
            Protocol: 'udp',
            Port: port,
            Formatter: 'utf8',
            MaxPayloadBytes: 1000,
            Destinations: [{ Name: 'hostile', Type: 'local', Module: HOSTILE, Batching: { Count: 1 } }],
          },
          {
            Name: 'restricted',
            Protocol: 'udp',
            Port: restrictedPort,
            ClientRestrictions: { Networks: ['192.0.2.0/24', '2001:db8::/32'] },
            Destinations: [{ Name: 'hostile', Type: 'local', Module: HOSTILE, Batching: { Count: 1 } }],
          },
        ],
      }),
      region: 'us-east-1',
      logger: silentLogger,
      metrics,
      failures,
      local: true,
    });
    await gateway.start();
    client = await UdpClient.open();
  });

  afterAll(async () => {
    await client.close();
    await gateway.stop();
  });

  test.each(cases)('%s → %s', async (command, expected, replyText) => {
    const failuresBefore = failures.records.length;
    const repliesBefore = client.received.length;
    await client.send(command, port);
    if (expected === 'reply') {
      await client.waitFor(repliesBefore + 1);
      expect(client.received[repliesBefore].data.toString()).toBe(replyText);
      expect(client.received[repliesBefore].from.port).toBe(port);
    } else if (expected === 'none') {
      // The next (valid) request's reply proves the previous one was fully handled without a failure.
      await client.send('echo', port);
      await client.waitFor(repliesBefore + 1);
      expect(client.received.slice(repliesBefore).map((r) => r.data.toString())).toEqual(['echo']);
    } else {
      await failures.waitFor(failuresBefore + 1);
      const record = failures.records[failuresBefore];
      expect(record.failure.code).toBe(expected);
      expect(record.context.listener).toBe('target');
      expect(record.failure.reason.length).toBeGreaterThan(10);
      expect(client.received.length).toBe(repliesBefore);
    }
    expect(failures.records.length).toBe(expected === 'reply' || expected === 'none' ? failuresBefore : failuresBefore + 1);
  });

  test('a client outside ClientRestrictions → ClientRestricted, its datagram goes nowhere', async () => {
    const before = failures.records.length;
    await client.send('echo', restrictedPort);
    await failures.waitFor(before + 1);
    expect(failures.records[before]).toMatchObject({ failure: { code: 'ClientRestricted' }, context: { listener: 'restricted', remote: `127.0.0.1:${client.port}` } });
  });

  test('empty and maximum-size datagrams are accepted', async () => {
    const before = client.received.length;
    await client.send(Buffer.alloc(0), port);
    await client.send(Buffer.alloc(65507, 0x61), port);
    await client.waitFor(before + 2);
    expect(client.received.slice(before).map((r) => r.data.toString().slice(0, 16)).sort()).toEqual(['unknown command ', 'unknown command ']);
  });

  test('after all of it, the gateway still serves and reports healthy', async () => {
    const before = client.received.length;
    await client.send('echo', port);
    await client.waitFor(before + 1);
    expect(client.received[before].data.toString()).toBe('echo');
    expect(gateway.status().healthy).toBe(true);
    expect(metrics.count('DatagramsIn')).toBeGreaterThan(cases.length);
    expect(failures.codes().filter((c) => c === 'DestinationFailed')).toHaveLength(2);
  });
});

describe('overload', () => {
  test('a flood beyond MaxQueuedPackets is dropped and counted; memory stays bounded; service continues', async () => {
    const port = await freePort();
    const metrics = new CapturingMetrics();
    const gateway = new Gateway({
      destinationFactories: LOCAL_DESTINATION_FACTORIES,
      config: new MemoryConfigSource({
        Listeners: [{
          Name: 'flood',
          Protocol: 'udp',
          Port: port,
          Formatter: 'utf8',
          Destinations: [{ Name: 'h', Type: 'local', Module: HOSTILE, MaxQueuedPackets: 20, MaxInFlightBatches: 1, Batching: { Count: 5, TimeoutInSeconds: 0.5 } }],
        }],
      }),
      region: 'us-east-1',
      logger: silentLogger,
      metrics,
      failures: new CapturingFailureReporter(),
      local: true,
    });
    await gateway.start();
    const client = await UdpClient.open();
    try {
      // Each batch of 5 takes 300 ms, one at a time: 5 in flight + 20 queued, the rest must be dropped.
      for (let i = 0; i < 100; i++) await client.send('slow', port);
      await eventually(() => metrics.count('DatagramsIn') === 100, 5000, 'datagrams to arrive');
      expect(metrics.count('PacketsDropped')).toBe(75);
      const before = client.received.length;
      const delivered = (): number => (metrics.observations.get('BatchSize') ?? []).reduce((a, b) => a + b, 0);
      await eventually(() => delivered() === 25, 5000, 'the queued packets to be delivered');
      await client.send('echo', port);
      await client.waitFor(before + 1);
    } finally {
      await client.close();
      await gateway.stop();
    }
  });
});

describe('AWS-mode egress rules apply to replies', () => {
  test('a reply to a loopback client is DestinationDenied outside local mode', async () => {
    const port = await freePort();
    const failures = new CapturingFailureReporter();
    const gateway = new Gateway({
      destinationFactories: LOCAL_DESTINATION_FACTORIES,
      config: new MemoryConfigSource({
        Listeners: [{ Name: 'aws', Protocol: 'udp', Port: port, BindAddress: '127.0.0.1', Formatter: 'utf8', Destinations: [{ Name: 'h', Type: 'local', Module: HOSTILE, Batching: { Count: 1 } }] }],
      }),
      region: 'us-east-1',
      logger: silentLogger,
      metrics: new CapturingMetrics(),
      failures,
      local: false,
    });
    await gateway.start();
    const client = await UdpClient.open();
    try {
      await client.send('echo', port);
      await failures.waitFor(1);
      expect(failures.records[0].failure.code).toBe('DestinationDenied');
      expect(failures.records[0].failure.reason).toBe("127.0.0.1 is loopback (127.0.0.0/8, ::1/128); egress there is denied unless the Listener's EgressAllowedNetworks covers it");
      expect(client.received).toHaveLength(0);
    } finally {
      await client.close();
      await gateway.stop();
    }
  });
});
