import type { FormatterName } from '../../../lib/private/records';
import type { InboundDatagram } from '../../../service/contracts';
import {
  InboundPacket, isoTime, isQueuedPacket, messagesPayload, messagesPayloadBuffer, PacketLocal, packetTemplate, PacketTemplate, QueuedPacket,
  queueDatagram as queueOrFail,
} from '../../../service/destinations/packet';
import { packetBytes } from '../../../service/destinations/packet-bytes';
import { encodeData } from '../../../service/formatter';

/** queueDatagram for payloads the Formatter can represent. */
function queueDatagram(datagram: InboundDatagram, tag: string, template: PacketTemplate): QueuedPacket {
  const queued = queueOrFail(datagram, tag, template);
  if (!isQueuedPacket(queued)) throw new Error(`unexpected failure: ${queued.reason}`);
  return queued;
}

/** The Data of a payload the Formatter can represent. */
function encoded(data: Buffer, formatter: FormatterName): string {
  const text = encodeData(data, formatter);
  if (typeof text !== 'string') throw new Error(`unexpected failure: ${text.reason}`);
  return text;
}

/** The packet object of DESIGN.md "Inbound packet", built field by field: the oracle for the serializer. */
function buildPacket(datagram: InboundDatagram, tag: string, local: PacketLocal, region: string, formatter: FormatterName): InboundPacket {
  return {
    Tag: tag,
    Remote: datagram.peerKey === undefined
      ? { IpAddress: datagram.remoteAddress, Port: datagram.remotePort }
      : { IpAddress: datagram.remoteAddress, Port: datagram.remotePort, PeerKey: datagram.peerKey },
    Local: local,
    ReceivedAt: new Date(datagram.receivedAt).toISOString(),
    IngressRegion: region,
    Formatter: formatter,
    ...(datagram.inner === undefined ? {} : { Inner: datagram.inner }),
    Data: encoded(datagram.data, formatter),
  };
}

describe('isoTime', () => {
  test('gives toISOString for every millisecond, also when times repeat, jump and go back', () => {
    const times = [
      0, 1_700_000_000_000, 1_700_000_000_000, 1_700_000_000_001, 1_700_000_000_999, 1_600_000_000_123, 1_700_000_000_000, 253_402_300_799_999,
    ];
    for (const ms of times) expect(isoTime(ms)).toBe(new Date(ms).toISOString());
  });

  test('packets carry their own receive time', () => {
    const local = { Domain: 'demo', Port: 5000, IpAddress: '198.51.100.1', Protocol: 'udp' as const };
    const template = packetTemplate(local, 'us-east-1', 'base64');
    const at = (ms: number): string =>
      (JSON.parse(queueDatagram({ data: Buffer.from('x'), remoteAddress: '203.0.113.5', remotePort: 4000, receivedAt: ms }, 't', template).json) as InboundPacket).ReceivedAt;
    expect(at(1_700_000_000_000)).toBe('2023-11-14T22:13:20.000Z');
    expect(at(1_700_000_000_000)).toBe('2023-11-14T22:13:20.000Z');
    expect(at(1_700_000_000_250)).toBe('2023-11-14T22:13:20.250Z');
    expect(at(1_700_000_000_000)).toBe('2023-11-14T22:13:20.000Z');
  });
});

describe('queueDatagram', () => {
  const local = { Domain: 'demo', Port: 5000, IpAddress: '198.51.100.1', Protocol: 'udp' as const };
  const inner = { SourceAddress: '10.99.0.2', SourcePort: 41000, DestinationAddress: '10.99.0.1', DestinationPort: 5683, Version: 4 as const, Protocol: 17 };
  const datagrams = [
    { data: Buffer.from([0, 1, 2, 250, 255]), remoteAddress: '203.0.113.5', remotePort: 4000, receivedAt: 1_700_000_000_123 },
    { data: Buffer.from('quote " backslash \\ newline \n tab \t nul \u0000 é ✓', 'utf8'), remoteAddress: '2001:db8::5', remotePort: 1, receivedAt: 1_700_000_000_124 },
    { data: Buffer.alloc(0), remoteAddress: '203.0.113.5', remotePort: 65535, receivedAt: 0, peerKey: Buffer.alloc(32, 9).toString('base64') },
    { data: Buffer.from('payload'), remoteAddress: '203.0.113.5', remotePort: 51820, receivedAt: 5, peerKey: Buffer.alloc(32, 9).toString('base64'), inner },
  ];

  test.each(['base64', 'hex', 'utf8', 'ascii'] as const)('writes exactly the JSON of the packet object (%s)', (formatter) => {
    const template = packetTemplate({ ...local, Domain: 'udp.example.com' }, 'eu-west-1', formatter);
    for (const d of datagrams) {
      if (typeof encodeData(d.data, formatter) !== 'string') continue; // refused: see 'payloads the Formatter cannot represent'
      const queued = queueDatagram(d, 'AQID-_', template);
      const expected = JSON.stringify(buildPacket(d, 'AQID-_', { ...local, Domain: 'udp.example.com' }, 'eu-west-1', formatter));
      expect(queued.json).toBe(expected);
      expect(JSON.parse(queued.json)).toEqual(JSON.parse(expected));
      expect(queued.bytes).toBe(Buffer.byteLength(expected));
      expect(queued).toMatchObject({ tag: 'AQID-_', remoteAddress: d.remoteAddress, remotePort: d.remotePort });
      // raw deliveries (SQS SendRaw, CloudWatch Logs) send Data alone; log events are stamped with the receive time
      expect(queued).toMatchObject({ data: (JSON.parse(expected) as InboundPacket).Data, receivedAt: d.receivedAt });
    }
  });

  test.each(['base64', 'hex', 'utf8'] as const)('one template serves runs and interleavings of clients, peer keys, Inner and times (%s)', (formatter) => {
    const template = packetTemplate(local, 'eu-west-1', formatter);
    const key = Buffer.alloc(32, 9).toString('base64');
    const variants: InboundDatagram[] = [];
    for (const remoteAddress of ['203.0.113.5', '203.0.113.6', 'fe80::1%eth"0', 'fe80::2%é']) {
      for (const remotePort of [4000, 4001]) {
        for (const peerKey of [undefined, key]) {
          for (const receivedAt of [1_700_000_000_123, 1_700_000_000_124]) {
            variants.push({ data: Buffer.from('run'), remoteAddress, remotePort, receivedAt, ...(peerKey ? { peerKey } : {}) });
            variants.push({ data: Buffer.from('run'), remoteAddress, remotePort, receivedAt, ...(peerKey ? { peerKey, inner } : {}) });
          }
        }
      }
    }
    // each variant twice in a row (a run), then in a shuffled order (interleaved clients and times)
    const order = [...variants.flatMap((d) => [d, d]), ...variants.map((_, i) => variants[(i * 7) % variants.length])];
    for (const d of order) {
      const queued = queueDatagram(d, 'AQID-_', template);
      expect(queued.json).toBe(JSON.stringify(buildPacket(d, 'AQID-_', local, 'eu-west-1', formatter)));
      expect(queued.bytes).toBe(Buffer.byteLength(queued.json));
    }
  });
});

describe('payloads the Formatter cannot represent', () => {
  const local = { Domain: 'demo', Port: 5000, IpAddress: '198.51.100.1', Protocol: 'udp' as const };
  const datagram = (data: Buffer) => ({ data, remoteAddress: '203.0.113.5', remotePort: 4000, receivedAt: 0 });

  test.each<[FormatterName, Buffer, string]>([
    ['ascii', Buffer.from('caf\u00e9', 'utf8'), 'Data: payload is not ascii: byte 0xC3 at offset 3'],
    ['utf8', Buffer.from([0x61, 0xff]), 'Data: payload is not valid utf8: byte 0xFF at offset 1'],
  ])('%s refuses them with InvalidData instead of substituting', (formatter, data, reason) => {
    const result = queueOrFail(datagram(data), 't', packetTemplate(local, 'us-east-1', formatter));
    expect(isQueuedPacket(result)).toBe(false);
    expect(result).toMatchObject({ code: 'InvalidData' });
    expect((result as { reason: string }).reason).toContain(reason);
  });

  test.each(['base64', 'hex'] as const)('%s takes any bytes', (formatter) => {
    expect(isQueuedPacket(queueOrFail(datagram(Buffer.from([0xff, 0xc3])), 't', packetTemplate(local, 'us-east-1', formatter)))).toBe(true);
  });
});

describe('messagesPayloadBuffer', () => {
  const local = { Domain: 'demo', Port: 5000, IpAddress: '198.51.100.1', Protocol: 'udp' as const };
  const datagram = (text: string, port: number) => ({ data: Buffer.from(text, 'utf8'), remoteAddress: '203.0.113.5', remotePort: port, receivedAt: 1_700_000_000_000 });

  test.each([0, 1, 3])('is the UTF-8 of messagesPayload for %i ASCII packets', (count) => {
    const template = packetTemplate(local, 'us-east-1', 'base64');
    const batch = Array.from({ length: count }, (_, i) => queueDatagram(datagram(`packet ${i}`, 4000 + i), `t${i}`, template));
    const buf = messagesPayloadBuffer(batch);
    expect(buf.toString('utf8')).toBe(messagesPayload(batch));
    expect(buf.length).toBe(Buffer.byteLength(messagesPayload(batch)));
    expect(JSON.parse(buf.toString('utf8')).Messages).toHaveLength(count);
  });

  test.each([
    ['short packets (joined, one copy)', 64, 100],
    ['long packets (copied one by one)', 1200, 100],
    ['a mix around the threshold', 300, 7],
  ])('gives the same bytes for %s', (_label, size, count) => {
    const template = packetTemplate(local, 'us-east-1', 'base64');
    const batch = Array.from({ length: count }, (_, i) => queueDatagram(
      { data: Buffer.alloc(i % 2 === 0 ? size : Math.floor(size / 4), i), remoteAddress: '203.0.113.5', remotePort: 4000 + i, receivedAt: 1_700_000_000_000 + i },
      `tag${i}`, template));
    const buf = messagesPayloadBuffer(batch);
    expect(buf.equals(Buffer.from(messagesPayload(batch), 'utf8'))).toBe(true);
    expect(JSON.parse(buf.toString('utf8')).Messages.map((m: InboundPacket) => m.Tag)).toEqual(batch.map((p) => p.tag));
  });

  test('encodes non-ASCII utf8 Data as UTF-8', () => {
    const template = packetTemplate(local, 'us-east-1', 'utf8');
    const batch = [queueDatagram(datagram('plain', 1), 'a', template), queueDatagram(datagram('é ✓ 😀', 2), 'b', template)];
    const buf = messagesPayloadBuffer(batch);
    expect(buf.equals(Buffer.from(messagesPayload(batch), 'utf8'))).toBe(true);
    expect(JSON.parse(buf.toString('utf8')).Messages[1].Data).toBe('é ✓ 😀');
  });
});

describe('queueDatagram with unusual fields', () => {
  const local = { Domain: 'demo', Port: 5000, IpAddress: '198.51.100.1', Protocol: 'udp' as const };

  test('an IPv6 address with a zone is escaped and its bytes counted', () => {
    const d = { data: Buffer.from('x'), remoteAddress: 'fe80::1%we"ird\\é', remotePort: 1, receivedAt: 0 };
    const queued = queueDatagram(d, 't', packetTemplate(local, 'us-east-1', 'base64'));
    expect(queued.json).toBe(JSON.stringify(buildPacket(d, 't', local, 'us-east-1', 'base64')));
    expect(queued.bytes).toBe(Buffer.byteLength(queued.json));
    expect(messagesPayloadBuffer([queued]).toString('utf8')).toBe(messagesPayload([queued]));
  });

  test('coap Data with a non-ASCII Uri-Path is counted in UTF-8 bytes and written as UTF-8', () => {
    // CON GET, message id 1, Uri-Path "café" (5 UTF-8 bytes)
    const d = { data: Buffer.from('40010001b5636166c3a9', 'hex'), remoteAddress: '203.0.113.5', remotePort: 1, receivedAt: 0 };
    const queued = queueDatagram(d, 't', packetTemplate(local, 'us-east-1', 'coap'));
    expect(queued.json).toBe(JSON.stringify(buildPacket(d, 't', local, 'us-east-1', 'coap')));
    expect(queued.json).toContain('café');
    expect(queued.bytes).toBe(Buffer.byteLength(queued.json));
    const payload = messagesPayloadBuffer([queued, queueDatagram(d, 'u', packetTemplate(local, 'us-east-1', 'coap'))]);
    expect(payload.equals(Buffer.from(messagesPayload([queued, queueDatagram(d, 'u', packetTemplate(local, 'us-east-1', 'coap'))]), 'utf8'))).toBe(true);
    expect(Buffer.from(packetBytes([queued], '\n')[0]).toString('utf8')).toBe(queued.json + '\n');
  });

  test('a non-ASCII region is counted in UTF-8 bytes and written as UTF-8', () => {
    const d = { data: Buffer.from('x'), remoteAddress: '203.0.113.5', remotePort: 1, receivedAt: 0 };
    const queued = queueDatagram(d, 't', packetTemplate(local, 'région', 'hex'));
    expect(queued.json).toBe(JSON.stringify(buildPacket(d, 't', local, 'région', 'hex')));
    expect(queued.bytes).toBe(Buffer.byteLength(queued.json));
    expect(messagesPayloadBuffer([queued]).toString('utf8')).toBe(messagesPayload([queued]));
  });
});
