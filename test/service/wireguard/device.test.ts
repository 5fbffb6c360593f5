import { A_ADDRESS, A_PORT, B_ADDRESS, B_PORT, CLIENT_TO_GATEWAY, devicePair, DevicePair, ManualClock, RecordingOutput, sendProbe } from './helpers';
import { WireGuardDevice } from '../../../service/wireguard/device';
import { generatePrivateKey, publicKeyOf } from '../../../service/wireguard/keys';
import { decodeTransport, messageType, MESSAGE_INITIATION, MESSAGE_RESPONSE, MESSAGE_TRANSPORT } from '../../../service/wireguard/messages';

const types = (wires: { data: Buffer }[]): number[] => wires.map((w) => messageType(w.data));

/** The client (b) sends one UDP datagram to the gateway (a) and the link delivers everything. */
function clientSends(pair: DevicePair, text: string): void {
  pair.b.send(pair.aKey, Buffer.from(text), CLIENT_TO_GATEWAY);
  pair.pump();
}

describe('handshake and transport between two devices', () => {
  let pair: DevicePair;
  afterEach(() => {
    pair.a.close();
    pair.b.close();
  });

  test('client initiates; its datagram reaches the gateway with PeerKey, Inner and the outer address', () => {
    pair = devicePair();
    clientSends(pair, 'hello gateway');
    expect(types(pair.bOut.sent)).toEqual([MESSAGE_INITIATION, MESSAGE_TRANSPORT]);
    expect(types(pair.aOut.sent)).toEqual([MESSAGE_RESPONSE]);
    expect(pair.aOut.delivered).toHaveLength(1);
    const got = pair.aOut.delivered[0];
    expect(got.peerKey).toBe(pair.bKey);
    expect(got.data.toString()).toBe('hello gateway');
    expect(got.inner).toEqual(CLIENT_TO_GATEWAY);
    expect(got).toMatchObject({ remoteAddress: B_ADDRESS, remotePort: B_PORT });
    expect(pair.aOut.handshakes).toEqual([{ peerKey: pair.bKey, initiator: false }]);
    expect(pair.bOut.handshakes).toEqual([{ peerKey: pair.aKey, initiator: true }]);
    expect(pair.aOut.failures).toEqual([]);
    expect(pair.bOut.failures).toEqual([]);
  });

  test('the gateway initiates for a packet to a peer with a known endpoint, and sends it once the handshake completes', () => {
    pair = devicePair({ aKnowsEndpoint: true });
    const done = jest.fn();
    pair.a.send(pair.bKey, Buffer.from('pushed'), { DestinationAddress: '10.99.0.2', DestinationPort: 7000 }, done);
    expect(done).not.toHaveBeenCalled();
    expect(pair.a.peerStatus(pair.bKey)).toMatchObject({ queued: 1, hasSession: false });
    pair.pump();
    expect(done).toHaveBeenCalledWith(undefined);
    expect(types(pair.aOut.sent)).toEqual([MESSAGE_INITIATION, MESSAGE_TRANSPORT]);
    expect(pair.bOut.delivered.map((d) => d.data.toString())).toEqual(['pushed']);
    expect(pair.bOut.delivered[0].inner).toEqual({
      SourceAddress: '10.99.0.1', SourcePort: 51820, DestinationAddress: '10.99.0.2', DestinationPort: 7000, Version: 4, Protocol: 17,
    });
    // b (responder) confirmed the session with a's first data packet and can now send too.
    expect(pair.b.peerStatus(pair.aKey)).toMatchObject({ hasSession: true });
    expect(pair.a.peerStatus(pair.bKey)).toMatchObject({ hasSession: true, queued: 0 });
  });

  test('with nothing queued, the initiator confirms a new session with a keepalive', () => {
    pair = devicePair();
    clientSends(pair, 'one');
    pair.clock.advance(121_000);
    const before = pair.bOut.sent.length;
    const keepalivesBefore = pair.a.counters.keepalivesReceived;
    // 'two' goes out on the old keys, which are past Rekey-After-Time: b starts a handshake.
    clientSends(pair, 'two');
    const after = pair.bOut.sent.slice(before);
    expect(types(after)).toEqual([MESSAGE_TRANSPORT, MESSAGE_INITIATION, MESSAGE_TRANSPORT]);
    expect(after[2].data).toHaveLength(32); // header + tag of an empty payload
    expect(pair.a.counters.keepalivesReceived).toBe(keepalivesBefore + 1);
    // The keepalive moved a's new keys from `next` to current.
    expect(pair.a.peerStatus(pair.bKey)?.sessionCreatedAt).toBe(pair.clock.now());
  });

  test.each([
    ['with', generatePrivateKey()],
    ['without', undefined],
  ])('%s a preshared key, data flows both ways', (_label, psk) => {
    pair = devicePair({ presharedKey: psk });
    clientSends(pair, 'up');
    pair.a.send(pair.bKey, Buffer.from('down'));
    pair.pump();
    expect(pair.aOut.delivered.map((d) => d.data.toString())).toEqual(['up']);
    expect(pair.bOut.delivered.map((d) => d.data.toString())).toEqual(['down']);
  });

  test('transport packets are padded to a multiple of 16', () => {
    pair = devicePair();
    clientSends(pair, 'x');
    const transport = pair.bOut.sent.find((w) => messageType(w.data) === MESSAGE_TRANSPORT)!;
    // 20 IPv4 + 8 UDP + 1 payload = 29 → padded to 32, plus 16 header and 16 tag.
    expect(transport.data).toHaveLength(16 + 32 + 16);
  });

  test('the endpoint follows the peer when its authenticated packets come from a new address (roaming)', () => {
    pair = devicePair();
    clientSends(pair, 'first');
    pair.b.send(pair.aKey, Buffer.from('moved'), CLIENT_TO_GATEWAY);
    const wire = pair.bOut.sent[pair.bOut.sent.length - 1];
    pair.pump(); // delivered from the old address by the link
    pair.link.bToA = false;
    pair.b.send(pair.aKey, Buffer.from('moved again'), CLIENT_TO_GATEWAY);
    const moved = pair.bOut.sent[pair.bOut.sent.length - 1];
    expect(pair.a.receive(moved.data, '203.0.113.77', 6000)).toBe('data');
    expect(pair.a.peerStatus(pair.bKey)?.endpoint).toEqual({ address: '203.0.113.77', port: 6000 });
    // A replayed old packet from yet another address is rejected and does not move the endpoint.
    expect(pair.a.receive(wire.data, '203.0.113.99', 7000)).toBe('dropped');
    expect(pair.a.peerStatus(pair.bKey)?.endpoint).toEqual({ address: '203.0.113.77', port: 6000 });
    // A forged packet does not move it either.
    const forged = Buffer.from(moved.data);
    forged.writeUInt32LE(9999, 8);
    expect(pair.a.receive(forged, '203.0.113.98', 7001)).toBe('dropped');
    expect(pair.a.peerStatus(pair.bKey)?.endpoint).toEqual({ address: '203.0.113.77', port: 6000 });
    expect(pair.a.peerEndpointAddress(pair.bKey)).toBe('203.0.113.77');
    expect(pair.a.peerEndpointPort(pair.bKey)).toBe(6000);
    expect(pair.a.peerEndpointAddress('unknown')).toBeUndefined();
    expect(pair.a.peerEndpointPort('unknown')).toBe(0);
    pair.a.send(pair.bKey, Buffer.from('to new address'));
    expect(pair.aOut.sent[pair.aOut.sent.length - 1]).toMatchObject({ address: '203.0.113.77', port: 6000 });
  });

  test('after a new handshake, packets still in flight on the previous session are accepted', () => {
    pair = devicePair();
    clientSends(pair, 'one');
    pair.link.bToA = false;
    pair.b.send(pair.aKey, Buffer.from('late'), CLIENT_TO_GATEWAY);
    const late = pair.bOut.sent[pair.bOut.sent.length - 1];
    pair.link.bToA = true;
    // b rekeys (its keys are older than Rekey-After-Time) with its next packet.
    pair.clock.advance(121_000);
    clientSends(pair, 'two');
    clientSends(pair, 'three');
    expect(pair.bOut.handshakes).toHaveLength(2);
    expect(pair.a.receive(late.data, B_ADDRESS, B_PORT)).toBe('data');
    expect(pair.aOut.delivered.map((d) => d.data.toString())).toEqual(['one', 'two', 'three', 'late']);
  });

  test('a duplicated transport packet is a Replay', () => {
    pair = devicePair();
    clientSends(pair, 'once');
    const transport = pair.bOut.sent.find((w) => messageType(w.data) === MESSAGE_TRANSPORT)!;
    expect(pair.a.receive(transport.data, B_ADDRESS, B_PORT)).toBe('dropped');
    expect(pair.aOut.codes()).toEqual(['Replay']);
    expect(pair.aOut.delivered).toHaveLength(1);
  });

  test('counters carried by transport messages increase from zero', () => {
    pair = devicePair();
    clientSends(pair, 'a');
    clientSends(pair, 'b');
    clientSends(pair, 'c');
    const counters = pair.bOut.sent.filter((w) => messageType(w.data) === MESSAGE_TRANSPORT).map((w) => {
      const t = decodeTransport(w.data);
      if (typeof t === 'string') throw new Error(t);
      return t.counter;
    });
    expect(counters).toEqual([0, 1, 2]);
  });
});

describe('send failures', () => {
  const { device, clock, output, peerPrivate, sendResult } = sendProbe();
  afterAll(() => device.close());

  test('an unknown PeerKey is UnknownPeer', () => {
    expect(sendResult(publicKeyOf(generatePrivateKey()))).toMatchObject({ code: 'UnknownPeer' });
  });

  test('a known peer that never spoke and has no configured endpoint is NoSession', () => {
    expect(sendResult(publicKeyOf(peerPrivate), { DestinationPort: 9 })).toMatchObject({ code: 'NoSession', reason: expect.stringContaining('no known endpoint') });
  });

  test('without a callback, send failures go to reportFailure', () => {
    device.send(publicKeyOf(generatePrivateKey()), Buffer.from('x'));
    expect(output.codes()).toContain('UnknownPeer');
  });

  test('invalid peer configuration is rejected with the field named', () => {
    expect(() => new WireGuardDevice({ privateKey: 'nope', clock, output })).toThrow(/WireGuard private key must be a WireGuard key/);
    expect(() => new WireGuardDevice({ privateKey: generatePrivateKey(), peers: [{ publicKey: 'x' }], clock, output })).toThrow(/Peers\[0\]\.PublicKey/);
    expect(() => new WireGuardDevice({ privateKey: generatePrivateKey(), peers: [{ publicKey: publicKeyOf(peerPrivate), allowedIps: ['10.0.0.0/33'] }], clock, output }))
      .toThrow(/Peers\[0\]\.AllowedIPs: '10\.0\.0\.0\/33'/);
    expect(() => new WireGuardDevice({ privateKey: generatePrivateKey(), peers: [{ publicKey: publicKeyOf(peerPrivate), endpoint: 'host:1' }], clock, output }))
      .toThrow(/Peers\[0\]\.Endpoint: 'host:1'/);
  });
});

describe('peer configuration changes', () => {
  test('removing a peer ends its sessions and fails its queued packets with UnknownPeer', () => {
    const pair = devicePair({ aKnowsEndpoint: true });
    pair.link.aToB = false;
    const done = jest.fn();
    pair.a.send(pair.bKey, Buffer.from('x'), { DestinationPort: 9 }, done);
    pair.a.setPeers([]);
    expect(done).toHaveBeenCalledWith(expect.objectContaining({ code: 'UnknownPeer' }));
    expect(pair.a.hasPeer(pair.bKey)).toBe(false);
    pair.a.close();
    pair.b.close();
  });

  test('an unchanged configured endpoint leaves a peer where it roamed to; a changed one moves it', () => {
    const pair = devicePair({ aKnowsEndpoint: true });
    const config = (endpoint: string): Parameters<WireGuardDevice['setPeers']>[0] => [{ publicKey: pair.bKey, allowedIps: ['10.99.0.2/32', 'fd99::2/128'], endpoint }];
    clientSends(pair, 'first');
    pair.link.bToA = false;
    pair.b.send(pair.aKey, Buffer.from('roamed'), CLIENT_TO_GATEWAY);
    expect(pair.a.receive(pair.bOut.sent[pair.bOut.sent.length - 1].data, '203.0.113.77', 6000)).toBe('data');
    expect(pair.a.peerStatus(pair.bKey)?.endpoint).toEqual({ address: '203.0.113.77', port: 6000 });

    pair.a.setPeers(config(`${B_ADDRESS}:${B_PORT}`));
    expect(pair.a.peerStatus(pair.bKey)).toMatchObject({ endpoint: { address: '203.0.113.77', port: 6000 }, hasSession: true });
    pair.a.send(pair.bKey, Buffer.from('to the roamed endpoint'));
    expect(pair.aOut.sent[pair.aOut.sent.length - 1]).toMatchObject({ address: '203.0.113.77', port: 6000 });

    pair.a.setPeers(config('198.51.100.3:40001'));
    expect(pair.a.peerStatus(pair.bKey)).toMatchObject({ endpoint: { address: '198.51.100.3', port: 40001 }, hasSession: true });
    // the same configured endpoint again, after the peer roamed once more: it stays
    pair.b.send(pair.aKey, Buffer.from('again'), CLIENT_TO_GATEWAY);
    expect(pair.a.receive(pair.bOut.sent[pair.bOut.sent.length - 1].data, '203.0.113.78', 6001)).toBe('data');
    pair.a.setPeers(config('198.51.100.3:40001'));
    expect(pair.a.peerStatus(pair.bKey)?.endpoint).toEqual({ address: '203.0.113.78', port: 6001 });
    pair.a.close();
    pair.b.close();
  });

  test('unknown peers are accepted only while AllowUnknownPeers is on', () => {
    const pair = devicePair({ aOptions: { allowUnknownPeers: true, peers: [] } });
    clientSends(pair, 'from anyone');
    expect(pair.aOut.delivered[0]).toMatchObject({ peerKey: pair.bKey });
    expect(pair.a.peerStatus(pair.bKey)).toMatchObject({ dynamic: true, endpoint: { address: B_ADDRESS, port: B_PORT } });
    pair.a.setAllowUnknownPeers(false);
    expect(pair.a.hasPeer(pair.bKey)).toBe(false);
    pair.a.close();
    pair.b.close();
  });

  test('the unknown-peer limit turns further strangers away with RateLimited once every slot holds a peer that sent transport data', () => {
    const gatewayPrivate = generatePrivateKey();
    const clock = new ManualClock();
    const aOut = new RecordingOutput();
    const a = new WireGuardDevice({ privateKey: gatewayPrivate, allowUnknownPeers: true, maxUnknownPeers: 1, clock, output: aOut });
    const clients = [0, 1].map(() => {
      const out = new RecordingOutput();
      const device = new WireGuardDevice({
        privateKey: generatePrivateKey(),
        peers: [{ publicKey: a.publicKey, allowedIps: ['0.0.0.0/0'], endpoint: `${A_ADDRESS}:${A_PORT}` }],
        clock,
        output: out,
      });
      out.onTransmit = (wire) => a.receive(wire.data, B_ADDRESS, B_PORT);
      return device;
    });
    // The gateway answers only the first client: it completes its handshake and sends its packet.
    aOut.onTransmit = (wire) => clients[0].receive(wire.data, A_ADDRESS, A_PORT);
    clients[0].send(a.publicKey, Buffer.from('1'), CLIENT_TO_GATEWAY);
    expect(aOut.delivered).toHaveLength(1);
    aOut.onTransmit = undefined;
    clients[1].send(a.publicKey, Buffer.from('2'), CLIENT_TO_GATEWAY);
    expect(aOut.codes()).toEqual(['RateLimited']);
    expect(a.peerKeys()).toHaveLength(1);
    a.close();
    clients.forEach((c) => c.close());
  });
});
