/**
 * `Local.IpAddress` in AWS: the load balancer's public address of the task's Availability Zone,
 * the zone read from a task metadata endpoint served on loopback.
 */
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CapturingFailureReporter, CapturingMetrics, eventually, silentLogger, UdpClient } from './helpers';
import type { ListenerRecord } from '../../lib/private/records';
import type { DeliveryResult, Destination } from '../../service/destinations/destination';
import { DestinationLane } from '../../service/destinations/destination-lane';
import type { InboundPacket, QueuedPacket } from '../../service/destinations/packet';
import { EgressPolicy } from '../../service/egress/egress-policy';
import { IngressPipeline } from '../../service/ingress/ingress-pipeline';
import { UdpListener } from '../../service/listeners/udp-listener';
import { parsePublicAddresses, publicAddressOfZone, taskAvailabilityZone } from '../../service/public-address';
import { ReplyRouter } from '../../service/replies/reply-router';
import { ReplyTagCodec } from '../../service/replies/reply-tags';

const ADDRESSES = 'eu-west-1a=203.0.113.10,eu-west-1b=203.0.113.20,eu-west-1c=203.0.113.30';

/** A task metadata endpoint on loopback answering `/task` with `document` (or `status`). */
async function metadataServer(document: unknown, status = 200): Promise<{ server: Server; uri: string; paths: string[] }> {
  const paths: string[] = [];
  const server = createServer((req, res) => {
    paths.push(req.url ?? '');
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(document));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { server, uri: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v4/container-id`, paths };
}

describe('public addresses per zone', () => {
  test('parses zone=address entries', () => {
    expect([...parsePublicAddresses(ADDRESSES)]).toEqual([['eu-west-1a', '203.0.113.10'], ['eu-west-1b', '203.0.113.20'], ['eu-west-1c', '203.0.113.30']]);
  });

  test.each(['eu-west-1a', 'eu-west-1a=not-an-ip', '=203.0.113.10'])('fails if an entry is %s, naming it and what is allowed', (entry) => {
    expect(() => parsePublicAddresses(entry)).toThrow(`PACKET_GATEWAY_PUBLIC_ADDRESSES: ${JSON.stringify(entry)} is not a zone's address (allowed: zone=address entries`);
  });

  test('the task\'s zone gives its address; a zone without one, or an unknown zone, the first zone\'s by name', () => {
    const addresses = parsePublicAddresses('eu-west-1b=203.0.113.20,eu-west-1a=203.0.113.10');
    expect(publicAddressOfZone(addresses, 'eu-west-1b')).toBe('203.0.113.20');
    expect(publicAddressOfZone(addresses, 'eu-west-1c')).toBe('203.0.113.10');
    expect(publicAddressOfZone(addresses, undefined)).toBe('203.0.113.10');
    expect(publicAddressOfZone(new Map(), 'eu-west-1a')).toBeUndefined();
  });

  test('the zone comes from the task metadata endpoint\'s /task document', async () => {
    const { server, uri, paths } = await metadataServer({ TaskARN: 'arn:aws:ecs:eu-west-1:123456789012:task/c/abc', AvailabilityZone: 'eu-west-1b' });
    try {
      expect(await taskAvailabilityZone({ ECS_CONTAINER_METADATA_URI_V4: uri })).toBe('eu-west-1b');
      expect(paths).toEqual(['/v4/container-id/task']);
    } finally {
      server.close();
    }
  });

  test('outside ECS there is no zone; a metadata document without one is an error naming the field', async () => {
    expect(await taskAvailabilityZone({})).toBeUndefined();
    const { server, uri } = await metadataServer({ TaskARN: 'arn:aws:ecs:eu-west-1:123456789012:task/c/abc' });
    try {
      await expect(taskAvailabilityZone({ ECS_CONTAINER_METADATA_URI_V4: uri })).rejects.toThrow('task metadata has no AvailabilityZone (got undefined)');
    } finally {
      server.close();
    }
  });

  test('a Listener without PublicAddress reports the public address in Local.IpAddress; PublicAddress still wins', async () => {
    const { server, uri } = await metadataServer({ AvailabilityZone: 'eu-west-1c' });
    const publicAddress = publicAddressOfZone(parsePublicAddresses(ADDRESSES), await taskAvailabilityZone({ ECS_CONTAINER_METADATA_URI_V4: uri }));
    server.close();
    expect(publicAddress).toBe('203.0.113.30');
    for (const [record, expected] of [
      [{ Name: 'plain', Protocol: 'udp', Port: 0, Destinations: [{ Name: 'rec', Type: 'log', Batching: { Count: 1 } }] }, '203.0.113.30'],
      [{ Name: 'own', Protocol: 'udp', Port: 0, PublicAddress: '198.51.100.9', Destinations: [{ Name: 'rec', Type: 'log', Batching: { Count: 1 } }] }, '198.51.100.9'],
    ] as Array<[ListenerRecord, string]>) {
      expect((await firstPacket(record, publicAddress)).Local.IpAddress).toBe(expected);
    }
  });
});

/** The first packet a destination gets from a Listener of `record` fed by one datagram. */
async function firstPacket(record: ListenerRecord, publicAddress: string | undefined): Promise<InboundPacket> {
  const got: InboundPacket[] = [];
  const destination: Destination = {
    name: 'rec',
    type: 'log',
    deliver: async (batch: readonly QueuedPacket[]): Promise<DeliveryResult> => {
      got.push(...batch.map((p) => JSON.parse(p.json) as InboundPacket));
      return {};
    },
  };
  const failures = new CapturingFailureReporter();
  const metrics = new CapturingMetrics();
  const tags = new ReplyTagCodec();
  let listener!: UdpListener;
  const replies = new ReplyRouter({ listeners: { get: () => listener, list: () => [listener] }, tags, failures, metrics });
  const lane = new DestinationLane({ listener: record.Name, record: record.Destinations[0], formatter: 'base64', destination, replies, failures, metrics, logger: silentLogger });
  const pipeline = new IngressPipeline({ record, region: 'eu-west-1', tags, lanes: [lane], failures, metrics, publicAddress });
  listener = new UdpListener({ record, sink: pipeline, logger: silentLogger, defaultBindAddress: '127.0.0.1', egress: new EgressPolicy({ allowLoopback: true }) });
  await listener.start();
  const client = await UdpClient.open();
  try {
    await client.send(Buffer.from('x'), listener.port);
    await eventually(() => got.length === 1, 5000, 'a packet');
    return got[0];
  } finally {
    await client.close();
    await pipeline.close();
    await listener.close();
  }
}
