/**
 * Inner addressing: received inner packets opened for delivery and payloads framed as inner
 * IPv4/IPv6 UDP packets, through InnerPacketFramer on its own and between two devices.
 */
import { CLIENT_TO_GATEWAY, devicePair, DevicePair, sendProbe, standalonePeer } from './helpers';
import { parseIpAddress } from '../../../lib/private/network';
import type { Failure } from '../../../service/contracts';
import { InnerPacket, parseInnerPacket, writeUdpPacket } from '../../../service/wireguard/inner-packet';
import { InnerPacketFramer, MAX_INNER_PACKET_LENGTH } from '../../../service/wireguard/inner-packet-framer';
import { publicKeyOf } from '../../../service/wireguard/keys';

/** The client (b) sends one UDP datagram to the gateway (a) and the link delivers everything. */
function clientSends(pair: DevicePair, text: string): void {
  pair.b.send(pair.aKey, Buffer.from(text), CLIENT_TO_GATEWAY);
  pair.pump();
}

const framer = (decapsulated = true): InnerPacketFramer => new InnerPacketFramer({ decapsulated, tunnelAddresses: ['10.99.0.1', 'fd99::1'], tunnelPort: 51820 });

/** An inner IPv4 UDP packet from the client (10.99.0.2:5683) to the gateway (10.99.0.1:9000). */
function clientPacket(payload: string, source = '10.99.0.2'): Buffer {
  const buffer = Buffer.alloc(MAX_INNER_PACKET_LENGTH);
  const length = writeUdpPacket(buffer, 0, { source: parseIpAddress(source)!, destination: parseIpAddress('10.99.0.1')!, sourcePort: 5683, destinationPort: 9000 }, Buffer.from(payload));
  return buffer.subarray(0, length);
}

describe('InnerPacketFramer on its own', () => {
  test('open gives the UDP payload and Inner addressing; a reply without Inner answers that flow', () => {
    const f = framer();
    const peer = standalonePeer({ allowedIps: ['10.99.0.2/32'] });
    expect(f.open(peer, clientPacket('request'))).toBeUndefined();
    expect(f.payload.toString()).toBe('request');
    expect(f.inner).toEqual(CLIENT_TO_GATEWAY);
    const into = Buffer.alloc(MAX_INNER_PACKET_LENGTH);
    const length = f.frame(peer, Buffer.from('reply'), undefined, into);
    expect(typeof length).toBe('number');
    const reply = parseInnerPacket(into.subarray(0, length as number)) as InnerPacket;
    expect(reply).toMatchObject({ sourceAddress: '10.99.0.1', sourcePort: 9000, destinationAddress: '10.99.0.2', destinationPort: 5683 });
    expect(reply.payload.toString()).toBe('reply');
  });

  test('open refuses an inner source outside the AllowedIPs, naming it', () => {
    const f = framer();
    const peer = standalonePeer({ allowedIps: ['10.99.0.2/32'] });
    expect(f.open(peer, clientPacket('spoofed', '10.99.0.99'))).toEqual({ code: 'AllowedIpsViolation', reason: expect.stringContaining('10.99.0.99') });
  });

  test.each([
    ['a bad IPv4 total length', (p: Buffer) => p.writeUInt16BE(p.length + 40, 2)],
    ['an IPv4 IHL below 5', (p: Buffer) => { p[0] = 0x44; }],
    ['an IPv4 IHL of 0', (p: Buffer) => { p[0] = 0x40; }],
  ])('open refuses an inner packet from outside the AllowedIPs with %s as InvalidData, never as raw data', (_name, damage) => {
    const f = framer();
    const peer = standalonePeer({ allowedIps: ['10.99.0.2/32'] });
    const packet = Buffer.from(clientPacket('spoofed', '10.99.0.99'));
    damage(packet);
    expect(f.open(peer, packet)).toEqual({ code: 'InvalidData', reason: expect.stringContaining('IPv4') });
    expect(peer.lastInner).not.toBeNull();
  });

  test('frame refuses a payload that starts like an IP packet but does not parse, for raw peers and without decapsulation', () => {
    const peer = standalonePeer({ allowedIps: ['10.99.0.2/32'] });
    const packet = Buffer.from(clientPacket('to elsewhere', '10.99.0.1'));
    packet.writeUInt16BE(packet.length + 40, 2);
    const into = Buffer.alloc(MAX_INNER_PACKET_LENGTH);
    expect(framer(false).frame(peer, packet, undefined, into)).toEqual({ code: 'InvalidData', reason: expect.stringContaining('total length') });
    expect(framer(false).frame(peer, Buffer.from('hello'), undefined, into)).toEqual({ code: 'InvalidData', reason: expect.stringContaining('IPv6') });
  });

  test('a peer that sent raw data gets raw data back; without decapsulation the whole packet is delivered', () => {
    const f = framer();
    const peer = standalonePeer({ allowedIps: ['10.99.0.2/32'] });
    expect(f.open(peer, Buffer.from('Raw datagram'))).toBeUndefined();
    expect(f.inner).toBeUndefined();
    const into = Buffer.alloc(MAX_INNER_PACKET_LENGTH);
    expect(f.frame(peer, Buffer.from('Raw reply!'), undefined, into)).toBe(10);
    expect(into.subarray(0, 10).toString()).toBe('Raw reply!');
    const whole = framer(false);
    const packet = clientPacket('whole');
    expect(whole.open(peer, packet)).toBeUndefined();
    expect(whole.payload).toEqual(packet);
    expect(whole.inner).toBeUndefined();
  });

  test('tunnel addresses: a bad one is named; without an address of the family a send fails with InvalidAddress', () => {
    expect(() => new InnerPacketFramer({ decapsulated: true, tunnelAddresses: ['10.0.0.300'], tunnelPort: 51820 })).toThrow(/TunnelAddresses: '10\.0\.0\.300'/);
    const f = new InnerPacketFramer({ decapsulated: true, tunnelAddresses: ['10.99.0.1'], tunnelPort: 51820 });
    const peer = standalonePeer({ allowedIps: ['fd99::2/128'] });
    const result = f.frame(peer, Buffer.from('x'), { DestinationPort: 9 }, Buffer.alloc(MAX_INNER_PACKET_LENGTH)) as Failure;
    expect(result).toMatchObject({ code: 'InvalidAddress', reason: expect.stringContaining('IPv6 TunnelAddress') });
    f.setTunnelAddresses(['fd99::1']);
    expect(typeof f.frame(peer, Buffer.from('x'), { DestinationPort: 9 }, Buffer.alloc(MAX_INNER_PACKET_LENGTH))).toBe('number');
  });
});

describe('inner addressing between two devices', () => {
  let pair: DevicePair;
  afterEach(() => {
    pair.a.close();
    pair.b.close();
  });

  test('a reply without Inner answers the client flow (addresses and ports swapped)', () => {
    pair = devicePair();
    clientSends(pair, 'request');
    const done = jest.fn();
    pair.a.send(pair.bKey, Buffer.from('reply'), undefined, done);
    pair.pump();
    expect(done).toHaveBeenCalledWith(undefined);
    expect(pair.bOut.delivered).toHaveLength(1);
    expect(pair.bOut.delivered[0].data.toString()).toBe('reply');
    expect(pair.bOut.delivered[0].inner).toEqual({
      SourceAddress: '10.99.0.1', SourcePort: 9000, DestinationAddress: '10.99.0.2', DestinationPort: 5683, Version: 4, Protocol: 17,
    });
  });

  test('IPv6 inner packets in both directions', () => {
    pair = devicePair();
    const inner = { SourceAddress: 'fd99::2', SourcePort: 1234, DestinationAddress: 'fd99::1', DestinationPort: 9000, Version: 6 as const, Protocol: 17 };
    pair.b.send(pair.aKey, Buffer.from('v6 up'), inner);
    pair.pump();
    expect(pair.aOut.delivered[0].inner).toEqual(inner);
    pair.a.send(pair.bKey, Buffer.from('v6 down'));
    pair.pump();
    expect(pair.bOut.delivered[0].inner).toMatchObject({ SourceAddress: 'fd99::1', DestinationAddress: 'fd99::2', DestinationPort: 1234, Version: 6 });
  });

  test('a packet from an inner source outside the peer AllowedIPs is an AllowedIpsViolation', () => {
    pair = devicePair();
    clientSends(pair, 'ok');
    pair.b.send(pair.aKey, Buffer.from('spoofed'), { ...CLIENT_TO_GATEWAY, SourceAddress: '10.99.0.99' });
    pair.pump();
    expect(pair.aOut.delivered.map((d) => d.data.toString())).toEqual(['ok']);
    expect(pair.aOut.failures).toEqual([{ failure: expect.objectContaining({ code: 'AllowedIpsViolation' }), peerKey: pair.bKey }]);
    expect(pair.aOut.failures[0].failure.reason).toContain('10.99.0.99');
  });

  test('an outbound inner destination outside the peer AllowedIPs is refused', () => {
    pair = devicePair();
    clientSends(pair, 'ok');
    const done = jest.fn();
    pair.a.send(pair.bKey, Buffer.from('x'), { DestinationAddress: '10.1.2.3', DestinationPort: 9 }, done);
    expect(done).toHaveBeenCalledWith(expect.objectContaining({ code: 'AllowedIpsViolation' }));
  });

  test('payloads that are not IP packets pass through raw, and replies to such a peer are raw too', () => {
    pair = devicePair({ bOptions: { decapsulatedDelivery: false } });
    // b without decapsulation sends its payload as is: a bare datagram.
    pair.b.send(pair.aKey, Buffer.from('Raw datagram'));
    pair.pump();
    expect(pair.aOut.delivered[0].data.toString('utf8').replace(/\0+$/, '')).toBe('Raw datagram');
    expect(pair.aOut.delivered[0].inner).toBeUndefined();
    pair.a.send(pair.bKey, Buffer.from('Raw reply'));
    pair.pump();
    expect(pair.bOut.delivered[0].data.toString('utf8').replace(/\0+$/, '')).toBe('Raw reply');
  });

  test('without decapsulated delivery the whole inner IP packet is delivered, padding removed', () => {
    pair = devicePair({ aOptions: { decapsulatedDelivery: false } });
    clientSends(pair, 'whole');
    const data = pair.aOut.delivered[0].data;
    expect(pair.aOut.delivered[0].inner).toBeUndefined();
    expect(data).toHaveLength(20 + 8 + 5);
    const parsed = parseInnerPacket(data) as InnerPacket;
    expect(parsed.payload.toString()).toBe('whole');
    expect(parsed.sourceAddress).toBe('10.99.0.2');
  });
});

describe('inner addressing failures of sends', () => {
  const { device, peerPrivate, sendResult } = sendProbe();
  afterAll(() => device.close());

  test('bad Inner fields are named in the failure', () => {
    const key = publicKeyOf(peerPrivate);
    expect(sendResult(key, { DestinationAddress: 'not-an-ip' })).toMatchObject({ code: 'InvalidAddress', reason: expect.stringContaining('not-an-ip') });
    expect(sendResult(key, { DestinationPort: 70000 })).toMatchObject({ code: 'InvalidPort', reason: expect.stringContaining('70000') });
    expect(sendResult(key, { Protocol: 6 })).toMatchObject({ code: 'InvalidMessage' });
    expect(sendResult(key, { SourceAddress: 'fd00::1' })).toMatchObject({ code: 'InvalidAddress' });
    expect(sendResult(key, { Version: 6 })).toMatchObject({ code: 'InvalidAddress' });
  });

  test('a bad inner address stays refused however often it is sent (parsed addresses are cached)', () => {
    const key = publicKeyOf(peerPrivate);
    for (let i = 0; i < 3; i++) {
      expect(sendResult(key, { DestinationAddress: 'not-an-ip' })).toMatchObject({ code: 'InvalidAddress', reason: expect.stringContaining('not-an-ip') });
      expect(sendResult(key, { DestinationAddress: '10.99.0.2', SourceAddress: 'fd00::1' })).toMatchObject({ code: 'InvalidAddress', reason: expect.stringContaining('fd00::1') });
    }
  });

  test('a payload too large for one datagram is PayloadTooLarge', () => {
    expect(sendResult(publicKeyOf(peerPrivate), undefined, Buffer.alloc(65_500))).toMatchObject({ code: 'PayloadTooLarge' });
  });
});
