/**
 * The WireGuard Listener over real loopback sockets, with a userspace WireGuard client built from
 * the same device code (the interop test covers a real wireguard-go peer).
 */
import { createSocket, Socket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLIENT_TO_GATEWAY, Delivered, RecordingOutput } from './helpers';
import { parseIpAddress } from '../../../lib/private/network';
import type { ListenerRecord } from '../../../lib/private/records';
import type { Failure, InboundDatagram, IngressSink, ListenerHandle } from '../../../service/contracts';
import { EgressPolicy } from '../../../service/egress/egress-policy';
import { FlowTable } from '../../../service/egress/flow-table';
import { ReplyRouter } from '../../../service/replies/reply-router';
import { ReplyTagCodec } from '../../../service/replies/reply-tags';
import { WireGuardDevice } from '../../../service/wireguard/device';
import { internetChecksum, udpPacketLength, writeUdpPacket } from '../../../service/wireguard/inner-packet';
import { generatePrivateKey, publicKeyOf } from '../../../service/wireguard/keys';
import { WireGuardListener, WireGuardListenerOptions } from '../../../service/wireguard/wg-listener';
import { CapturingFailureReporter, eventually, silentLogger } from '../helpers';

class CapturingSink implements IngressSink {
  readonly datagrams: InboundDatagram[] = [];
  accept(_listener: ListenerHandle, datagram: InboundDatagram): void {
    this.datagrams.push(datagram);
  }
}

/** A WireGuard client on a loopback socket. */
class Client {
  static async open(gatewayKey: string, gatewayPort: number, privateKey = generatePrivateKey(), decapsulated = true): Promise<Client> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    return new Client(socket, privateKey, gatewayKey, gatewayPort, decapsulated);
  }

  readonly output = new RecordingOutput();
  readonly device: WireGuardDevice;
  readonly publicKey: string;

  private constructor(readonly socket: Socket, privateKey: string, readonly gatewayKey: string, gatewayPort: number, decapsulated: boolean) {
    this.publicKey = publicKeyOf(privateKey);
    this.output.onTransmit = (wire) => socket.send(wire.data, wire.port, wire.address);
    this.device = new WireGuardDevice({
      privateKey,
      peers: [{ publicKey: gatewayKey, allowedIps: ['10.99.0.1/32'], endpoint: `127.0.0.1:${gatewayPort}` }],
      output: this.output,
      decapsulatedDelivery: decapsulated,
    });
    socket.on('message', (msg, rinfo) => this.device.receive(msg, rinfo.address, rinfo.port));
  }

  get port(): number {
    return this.socket.address().port;
  }

  send(text: string): void {
    this.device.send(this.gatewayKey, Buffer.from(text), CLIENT_TO_GATEWAY);
  }

  get delivered(): Delivered[] {
    return this.output.delivered;
  }

  async close(): Promise<void> {
    this.device.close();
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }
}

/** A Listener record; these tests speak of decapsulated delivery unless `wg` says otherwise (the record's default is whole IP packets). */
function record(wg: ListenerRecord['WireGuard'], extra: Partial<ListenerRecord> = {}): ListenerRecord {
  return { Name: 'wg-test', Protocol: 'wg', Port: 0, BindAddress: '127.0.0.1', Destinations: [], WireGuard: wg && { DecapsulatedDelivery: true, ...wg }, ...extra };
}

describe('WireGuardListener on loopback', () => {
  const gatewayPrivate = generatePrivateKey();
  const clientPrivate = generatePrivateKey();
  const clientKey = publicKeyOf(clientPrivate);
  let listener: WireGuardListener;
  let sink: CapturingSink;
  let failures: CapturingFailureReporter;
  let flows: FlowTable;
  let client: Client | undefined;

  async function start(options: Partial<WireGuardListenerOptions> = {}, wg: ListenerRecord['WireGuard'] = undefined): Promise<void> {
    sink = new CapturingSink();
    failures = new CapturingFailureReporter();
    flows = new FlowTable();
    listener = new WireGuardListener({
      record: record(wg ?? { PrivateKey: gatewayPrivate, Peers: [{ PublicKey: clientKey, AllowedIPs: ['10.99.0.2/32'] }] }),
      sink,
      logger: silentLogger,
      failures,
      flows,
      defaultBindAddress: '127.0.0.1',
      egress: new EgressPolicy({ allowLoopback: true }),
      ...options,
    });
    await listener.start();
  }

  afterEach(async () => {
    await client?.close();
    client = undefined;
    await listener?.close();
  });

  test('exposes its public key and address; a client datagram reaches the sink with PeerKey and Inner', async () => {
    await start();
    expect(listener.publicKey).toBe(publicKeyOf(gatewayPrivate));
    expect(listener.protocol).toBe('wg');
    expect(listener.port).toBeGreaterThan(0);
    client = await Client.open(listener.publicKey!, listener.port, clientPrivate);
    client.send('hello');
    await eventually(() => sink.datagrams.length === 1, 5000, 'a delivered datagram');
    const got = sink.datagrams[0];
    expect(got.data.toString()).toBe('hello');
    expect(got.peerKey).toBe(clientKey);
    expect(got.inner).toEqual(CLIENT_TO_GATEWAY);
    expect(got).toMatchObject({ remoteAddress: '127.0.0.1', remotePort: client.port });
    expect(flows.isActive('wg-test', '127.0.0.1', client.port)).toBe(true);
  });

  /**
   * A client with a session whose next transport messages are kept off the wire (`wires`) and
   * handed to the Listener by `read`, as its socket would hand them over.
   */
  async function clientOffTheWire(): Promise<{ wires: Buffer[]; read: (wire: Buffer) => void }> {
    client = await Client.open(listener.publicKey!, listener.port, clientPrivate);
    client.send('hello');
    await eventually(() => sink.datagrams.length === 1, 5000, 'the session');
    const wires: Buffer[] = [];
    client.output.onTransmit = (wire) => wires.push(wire.data);
    const port = client.port;
    const read = (wire: Buffer): void => (listener as unknown as { onMessage: (msg: Buffer, rinfo: object) => void })
      .onMessage(wire, { address: '127.0.0.1', port, family: 'IPv4', size: wire.length });
    return { wires, read };
  }

  test('datagrams read before the Listener stops receiving or closes are decrypted and delivered, each with the time it was read', async () => {
    await start();
    const { wires, read } = await clientOffTheWire();
    client!.send('first');
    client!.send('second');
    const readAt = Date.now() - 5000;
    const clock = jest.spyOn(Date, 'now').mockReturnValue(readAt);
    try {
      read(wires[0]);
      read(wires[1]);
    } finally {
      clock.mockRestore();
    }
    listener.stopReceiving();
    expect(sink.datagrams.slice(1).map((d) => [d.data.toString(), d.receivedAt])).toEqual([['first', readAt], ['second', readAt]]);
    client!.send('third');
    read(wires[2]);
    await listener.close();
    expect(sink.datagrams).toHaveLength(3);
  });

  test('a reply to the peer is encrypted and reaches the client (inner flow answered)', async () => {
    await start();
    client = await Client.open(listener.publicKey!, listener.port, clientPrivate);
    client.send('request');
    await eventually(() => sink.datagrams.length === 1);
    const done = jest.fn();
    listener.send({ data: Buffer.from('response'), address: '127.0.0.1', port: client.port, peerKey: clientKey }, done);
    await eventually(() => client!.delivered.length === 1, 5000, 'the reply');
    expect(done).toHaveBeenCalledWith(undefined);
    expect(client.delivered[0].data.toString()).toBe('response');
    expect(client.delivered[0].inner).toMatchObject({ SourceAddress: '10.99.0.1', SourcePort: 9000, DestinationAddress: '10.99.0.2', DestinationPort: 5683 });
  });

  test('a reply routed by its Tag returns to the exact inner flow the packet came from, not the peer\'s newest flow', async () => {
    await start();
    client = await Client.open(listener.publicKey!, listener.port, clientPrivate);
    client.device.send(client.gatewayKey, Buffer.from('from flow A'), { ...CLIENT_TO_GATEWAY, SourcePort: 41000 });
    await eventually(() => sink.datagrams.length === 1);
    client.device.send(client.gatewayKey, Buffer.from('from flow B'), { ...CLIENT_TO_GATEWAY, SourcePort: 42000 });
    await eventually(() => sink.datagrams.length === 2);
    const tags = new ReplyTagCodec();
    const first = sink.datagrams[0];
    const tag = tags.mint(listener.name, first.remoteAddress, first.remotePort, 60, first.peerKey, first.inner);
    const metrics = { increment: jest.fn(), observe: jest.fn() };
    const router = new ReplyRouter({ listeners: { get: () => listener, list: () => [listener] }, tags, failures, metrics });
    const routed = router.route({ Replies: [{ Tag: tag, Data: Buffer.from('answer to A').toString('base64') }] }, { listener: listener.name, destination: 'fn', formatter: 'base64' });
    expect(routed).toEqual({ sent: 1, failed: 0 });
    await eventually(() => client!.delivered.length === 1, 5000, 'the reply');
    expect(client.delivered[0].data.toString()).toBe('answer to A');
    expect(client.delivered[0].inner).toMatchObject({
      SourceAddress: CLIENT_TO_GATEWAY.DestinationAddress,
      SourcePort: CLIENT_TO_GATEWAY.DestinationPort,
      DestinationAddress: CLIENT_TO_GATEWAY.SourceAddress,
      DestinationPort: 41000,
    });
    expect(failures.records).toEqual([]);
  });

  test('a sourced packet to a peer without a session makes the gateway initiate to the endpoint the packet names', async () => {
    await start();
    client = await Client.open(listener.publicKey!, listener.port, clientPrivate);
    const done = jest.fn();
    listener.send({
      data: Buffer.from('pushed'),
      address: '127.0.0.1',
      port: client.port,
      peerKey: clientKey,
      inner: { SourceAddress: '10.99.0.1', SourcePort: 9999, DestinationAddress: '10.99.0.2', DestinationPort: 7000, Version: 4, Protocol: 17 },
    }, done);
    await eventually(() => client!.delivered.length === 1, 5000, 'the pushed packet');
    expect(done).toHaveBeenCalledWith(undefined);
    expect(client.delivered[0].data.toString()).toBe('pushed');
    expect(client.delivered[0].inner).toMatchObject({ SourcePort: 9999, DestinationPort: 7000 });
    expect(client.output.handshakes).toEqual([{ peerKey: listener.publicKey, initiator: false }]);
  });

  test('send failures: no PeerKey, unknown peer, payload too large, denied endpoint, no flow', async () => {
    await start({ egress: new EgressPolicy({ allowLoopback: false }), requireActiveFlow: false }, {
      PrivateKey: gatewayPrivate,
      Peers: [{ PublicKey: clientKey, AllowedIPs: ['10.99.0.2/32'] }],
    });
    const result = (d: Parameters<WireGuardListener['send']>[0]): Promise<Failure | undefined> => new Promise((resolve) => listener.send(d, resolve));
    expect(await result({ data: Buffer.from('x'), address: '127.0.0.1', port: 9 })).toMatchObject({ code: 'UnknownPeer', reason: expect.stringContaining('PeerKey') });
    expect(await result({ data: Buffer.from('x'), address: '127.0.0.1', port: 9, peerKey: publicKeyOf(generatePrivateKey()) })).toMatchObject({ code: 'UnknownPeer' });
    expect(await result({ data: Buffer.alloc(70_000), address: '127.0.0.1', port: 9, peerKey: clientKey })).toMatchObject({ code: 'PayloadTooLarge' });
    expect(await result({ data: Buffer.from('x'), address: '127.0.0.1', port: 9, peerKey: clientKey })).toMatchObject({ code: 'DestinationDenied' });
    await listener.close();

    await start({ requireActiveFlow: true });
    expect(await result({ data: Buffer.from('x'), address: '127.0.0.1', port: 9, peerKey: clientKey })).toMatchObject({ code: 'NoActiveFlow' });
  });

  test('a refused send does not leave its address as the endpoint of a peer that has none: a later send to an allowed address gets through', async () => {
    await start();
    const device = listener.wireGuard!;
    const result = (d: Parameters<WireGuardListener['send']>[0]): Promise<Failure | undefined> => new Promise((resolve) => listener.send(d, resolve));
    expect(await result({ data: Buffer.from('x'), address: '169.254.169.254', port: 80, peerKey: clientKey })).toMatchObject({ code: 'DestinationDenied', target: '169.254.169.254:80' });
    expect(device.peerEndpointAddress(clientKey)).toBeUndefined();
    expect(await result({ data: Buffer.from('x'), address: '2001:db8::1', port: 9, peerKey: clientKey })).toMatchObject({ code: 'InvalidAddress' });
    expect(device.peerEndpointAddress(clientKey)).toBeUndefined();
    client = await Client.open(listener.publicKey!, listener.port, clientPrivate);
    expect(await result({ data: Buffer.from('pushed'), address: '127.0.0.1', port: client.port, peerKey: clientKey })).toBeUndefined();
    await eventually(() => client!.delivered.length === 1, 5000, 'the pushed packet');
    expect(client.delivered[0].data.toString()).toBe('pushed');
    expect(device.peerStatus(clientKey)?.endpoint).toEqual({ address: '127.0.0.1', port: client.port });
  });

  test('a send refused for want of a flow leaves the peer without an endpoint', async () => {
    await start({ requireActiveFlow: true });
    const refused = await new Promise<Failure | undefined>((resolve) => listener.send({ data: Buffer.from('x'), address: '127.0.0.1', port: 9, peerKey: clientKey }, resolve));
    expect(refused).toMatchObject({ code: 'NoActiveFlow' });
    expect(listener.wireGuard!.peerEndpointAddress(clientKey)).toBeUndefined();
  });

  test('a send refused while a host-name endpoint resolves does not hide the resolved endpoint', async () => {
    await start();
    client = await Client.open(listener.publicKey!, listener.port, clientPrivate);
    const wg = { PrivateKey: gatewayPrivate, Peers: [{ PublicKey: clientKey, AllowedIPs: ['10.99.0.2/32'], Endpoint: `localhost:${client.port}` }] };
    expect(listener.update(record(wg))).toBe(true);
    // sent before the host name resolves: refused, and forgotten
    const refused = await new Promise<Failure | undefined>((resolve) => listener.send({ data: Buffer.from('x'), address: '169.254.169.254', port: 80, peerKey: clientKey }, resolve));
    expect(refused).toMatchObject({ code: 'DestinationDenied' });
    await eventually(() => listener.wireGuard!.peerEndpointAddress(clientKey) === '127.0.0.1', 5000, 'the resolved endpoint');
    const done = jest.fn();
    listener.send({ data: Buffer.from('pushed'), address: '169.254.169.254', port: 80, peerKey: clientKey }, done);
    await eventually(() => client!.delivered.length === 1, 5000, 'the pushed packet at the resolved endpoint');
    expect(done).toHaveBeenCalledWith(undefined);
  });

  test('with requireActiveFlow, the datagrams sent to peers in one job check their flow against one reading of the flow table\'s clock', async () => {
    let reads = 0;
    const counted = new FlowTable({ now: () => (reads++, Date.now()) });
    await start({ flows: counted, requireActiveFlow: true });
    client = await Client.open(listener.publicKey!, listener.port, clientPrivate);
    client.send('request');
    await eventually(() => sink.datagrams.length === 1);
    const sent: Array<Failure | undefined> = [];
    await Promise.resolve();
    const before = reads;
    for (let i = 0; i < 10; i++) listener.send({ data: Buffer.from(`pushed ${i}`), address: '127.0.0.1', port: client.port, peerKey: clientKey }, (f) => sent.push(f));
    // the Listener's flow checks read the flow table's own clock once for the job, not once per datagram
    expect(reads - before).toBe(1);
    await eventually(() => client!.delivered.length === 10, 5000, 'the pushed packets');
    expect(sent).toEqual(new Array(10).fill(undefined));
  });

  test('with requireActiveFlow, a peer\'s flow age is told by the flow table\'s own clock', async () => {
    let now = Date.now();
    const ownClock = new FlowTable({ now: () => now, idleSeconds: 30 });
    await start({ flows: ownClock, requireActiveFlow: true });
    client = await Client.open(listener.publicKey!, listener.port, clientPrivate);
    client.send('request');
    await eventually(() => sink.datagrams.length === 1);
    const result = (): Promise<Failure | undefined> => new Promise((resolve) => listener.send({ data: Buffer.from('x'), address: '127.0.0.1', port: client!.port, peerKey: clientKey }, resolve));
    expect(await result()).toBeUndefined();
    // 31 s later by the table's clock (the wall clock has hardly moved): the peer's flow is idle
    now += 31_000;
    expect(await result()).toMatchObject({ code: 'NoActiveFlow' });
  });

  test('garbage sent to the socket is dropped and counted; the peer keeps working', async () => {
    await start();
    client = await Client.open(listener.publicKey!, listener.port, clientPrivate);
    client.send('before');
    await eventually(() => sink.datagrams.length === 1);
    const attacker = createSocket('udp4');
    await new Promise<void>((resolve) => attacker.bind(0, '127.0.0.1', () => resolve()));
    for (let i = 0; i < 200; i++) attacker.send(Buffer.alloc(i + 1, i), listener.port, '127.0.0.1');
    await eventually(() => (listener.wireGuard?.counters.dropped ?? 0) >= 200, 5000, 'garbage counted');
    await new Promise<void>((resolve) => attacker.close(() => resolve()));
    client.send('after');
    await eventually(() => sink.datagrams.length === 2);
    expect(sink.datagrams[1].data.toString()).toBe('after');
    // Failure records are rate-limited (50 per second by default), the rest counted.
    expect(failures.records.length).toBeGreaterThan(0);
    expect(failures.records.length).toBeLessThanOrEqual(50);
    expect(failures.records[0].context).toMatchObject({ listener: 'wg-test', remote: expect.stringMatching(/^127\.0\.0\.1:\d+$/) });
  });

  test('handshakes from unknown peers are refused unless AllowUnknownPeers', async () => {
    await start({}, { PrivateKey: gatewayPrivate });
    client = await Client.open(listener.publicKey!, listener.port, clientPrivate);
    client.send('stranger');
    await failures.waitFor(1);
    expect(failures.records[0]).toMatchObject({ failure: { code: 'UnknownPeer' }, context: { peerKey: clientKey } });
    expect(listener.update(record({ PrivateKey: gatewayPrivate, AllowUnknownPeers: true }))).toBe(true);
    // The client retries after Rekey-Timeout; a fresh client initiates at once instead.
    await client.close();
    client = await Client.open(listener.publicKey!, listener.port, clientPrivate);
    client.send('welcome');
    await eventually(() => sink.datagrams.length === 1, 5000, 'a datagram from an accepted stranger');
    expect(sink.datagrams[0]).toMatchObject({ peerKey: clientKey });
  });

  test('update applies peer changes in place; key or delivery changes need a new Listener', async () => {
    await start();
    expect(listener.update(record({ PrivateKey: gatewayPrivate, Peers: [] }))).toBe(true);
    expect(listener.wireGuard?.hasPeer(clientKey)).toBe(false);
    expect(listener.update(record({ PrivateKey: generatePrivateKey() }))).toBe(false);
    expect(listener.update(record({ PrivateKey: gatewayPrivate, DecapsulatedDelivery: false }))).toBe(false);
    expect(listener.update({ ...record({ PrivateKey: gatewayPrivate }), Port: 1 })).toBe(false);
  });

  test('a datagram read before an update that removes its peer is received under the peers it was read under', async () => {
    await start();
    const { wires, read } = await clientOffTheWire();
    client!.send('just before');
    read(wires[0]);
    expect(listener.update(record({ PrivateKey: gatewayPrivate, Peers: [] }))).toBe(true);
    await new Promise((resolve) => setImmediate(resolve));
    expect(sink.datagrams.map((d) => d.data.toString())).toEqual(['hello', 'just before']);
  });

  test('without DecapsulatedDelivery the sink gets the whole inner IP packet', async () => {
    await start({}, { PrivateKey: gatewayPrivate, DecapsulatedDelivery: false, Peers: [{ PublicKey: clientKey, AllowedIPs: ['10.99.0.2/32'] }] });
    client = await Client.open(listener.publicKey!, listener.port, clientPrivate);
    client.send('whole');
    await eventually(() => sink.datagrams.length === 1);
    expect(sink.datagrams[0].inner).toBeUndefined();
    expect(sink.datagrams[0].data).toHaveLength(20 + 8 + 5);
    expect(sink.datagrams[0].data[0]).toBe(0x45);
  });

  test('a peer without AllowedIPs may use any inner address', async () => {
    await start({}, { PrivateKey: gatewayPrivate, Peers: [{ PublicKey: clientKey }] });
    client = await Client.open(listener.publicKey!, listener.port, clientPrivate);
    client.device.send(client.gatewayKey, Buffer.from('v4'), { ...CLIENT_TO_GATEWAY, SourceAddress: '192.0.2.77' });
    client.device.send(client.gatewayKey, Buffer.from('other'), { ...CLIENT_TO_GATEWAY, SourceAddress: '172.16.5.5' });
    await eventually(() => sink.datagrams.length === 2, 5000, 'both datagrams');
    expect(sink.datagrams.map((d) => [d.data.toString(), d.inner?.SourceAddress])).toEqual([['v4', '192.0.2.77'], ['other', '172.16.5.5']]);
    expect(failures.records).toEqual([]);
  });

  test('by default (Proxylity\'s rule) the sink gets the whole inner IP packet, and a whole IP packet in reply reaches the client', async () => {
    sink = new CapturingSink();
    failures = new CapturingFailureReporter();
    listener = new WireGuardListener({
      // no DecapsulatedDelivery: the record's default applies
      record: { Name: 'wg-test', Protocol: 'wg', Port: 0, BindAddress: '127.0.0.1', Destinations: [], WireGuard: { PrivateKey: gatewayPrivate, Peers: [{ PublicKey: clientKey, AllowedIPs: ['10.99.0.2/32'] }] } },
      sink,
      logger: silentLogger,
      failures,
      defaultBindAddress: '127.0.0.1',
      egress: new EgressPolicy({ allowLoopback: true }),
    });
    await listener.start();
    client = await Client.open(listener.publicKey!, listener.port, clientPrivate);
    client.send('ping');
    await eventually(() => sink.datagrams.length === 1);
    const received = sink.datagrams[0];
    expect(received.inner).toBeUndefined();
    expect(received.data).toHaveLength(20 + 8 + 4);
    expect(received.data[0]).toBe(0x45);
    // the destination answers with a whole IP packet: the request's flow, reversed
    const reply = Buffer.alloc(udpPacketLength(4, 4));
    writeUdpPacket(reply, 0, {
      source: parseIpAddress(CLIENT_TO_GATEWAY.DestinationAddress)!,
      destination: parseIpAddress(CLIENT_TO_GATEWAY.SourceAddress)!,
      sourcePort: CLIENT_TO_GATEWAY.DestinationPort,
      destinationPort: CLIENT_TO_GATEWAY.SourcePort,
    }, Buffer.from('pong'));
    const done = jest.fn();
    listener.send({ data: reply, address: received.remoteAddress, port: received.remotePort, peerKey: received.peerKey }, done);
    await eventually(() => client!.delivered.length === 1, 5000, 'the reply');
    expect(done).toHaveBeenCalledWith(undefined);
    expect(client.delivered[0].data.toString()).toBe('pong');
    expect(client.delivered[0].inner).toMatchObject({ SourceAddress: '10.99.0.1', DestinationAddress: '10.99.0.2', DestinationPort: CLIENT_TO_GATEWAY.SourcePort });
  });
});

describe('whole IP packets by default: an ICMP echo, as Proxylity\'s wireguard-echo example answers it', () => {
  /** An IPv4 ICMP echo request or reply (`type` 8 or 0) with both checksums. */
  function icmpEcho(type: 0 | 8, source: string, destination: string, id: number, sequence: number, payload: Buffer): Buffer {
    const packet = Buffer.alloc(20 + 8 + payload.length);
    packet[0] = 0x45;
    packet.writeUInt16BE(packet.length, 2);
    packet[8] = 64;
    packet[9] = 1; // ICMP
    parseIpAddress(source)!.copy(packet, 12);
    parseIpAddress(destination)!.copy(packet, 16);
    packet.writeUInt16BE(internetChecksum(packet, 0, 20), 10);
    packet[20] = type;
    packet.writeUInt16BE(id, 24);
    packet.writeUInt16BE(sequence, 26);
    payload.copy(packet, 28);
    packet.writeUInt16BE(internetChecksum(packet, 20, packet.length), 22);
    return packet;
  }

  /** What an echo handler does with a whole IP packet: swap the addresses, make the request a reply, fix the checksums. */
  function echoReply(request: Buffer): Buffer {
    const reply = Buffer.from(request);
    request.copy(reply, 12, 16, 20);
    request.copy(reply, 16, 12, 16);
    reply.writeUInt16BE(0, 10);
    reply.writeUInt16BE(internetChecksum(reply, 0, 20), 10);
    reply[20] = 0;
    reply.writeUInt16BE(0, 22);
    reply.writeUInt16BE(internetChecksum(reply, 20, reply.length), 22);
    return reply;
  }

  test('a ping through the tunnel reaches the sink whole, and the echo reply built from it reaches the peer', async () => {
    const gatewayPrivate = generatePrivateKey();
    const clientPrivate = generatePrivateKey();
    const received: InboundDatagram[] = [];
    const listener = new WireGuardListener({
      record: {
        Name: 'wg-echo',
        Protocol: 'wg',
        Port: 0,
        BindAddress: '127.0.0.1',
        Destinations: [],
        WireGuard: { PrivateKey: gatewayPrivate, Peers: [{ PublicKey: publicKeyOf(clientPrivate) }] },
      },
      sink: { accept: (_listener, datagram) => received.push(datagram) },
      logger: silentLogger,
      failures: new CapturingFailureReporter(),
      defaultBindAddress: '127.0.0.1',
      egress: new EgressPolicy({ allowLoopback: true }),
    });
    await listener.start();
    const client = await Client.open(listener.publicKey!, listener.port, clientPrivate, false);
    try {
      const request = icmpEcho(8, '10.99.0.2', '10.99.0.1', 0x1234, 1, Buffer.from('ping-payload'));
      client.device.send(client.gatewayKey, request);
      await eventually(() => received.length === 1, 5000, 'the echo request');
      expect(received[0].data).toEqual(request);
      expect(received[0].inner).toBeUndefined();

      const done = jest.fn();
      const { remoteAddress, remotePort, peerKey } = received[0];
      listener.send({ data: echoReply(received[0].data), address: remoteAddress, port: remotePort, peerKey }, done);
      await eventually(() => client.delivered.length === 1, 5000, 'the echo reply');
      expect(done).toHaveBeenCalledWith(undefined);
      expect(client.delivered[0].data).toEqual(icmpEcho(0, '10.99.0.1', '10.99.0.2', 0x1234, 1, Buffer.from('ping-payload')));
    } finally {
      await client.close();
      await listener.close();
    }
  });
});

describe('WireGuardListener private keys', () => {
  const base = { sink: { accept: () => undefined }, logger: silentLogger, defaultBindAddress: '127.0.0.1', egress: new EgressPolicy({ allowLoopback: true }) };

  test('local mode generates a key file once (mode 0600) and reuses it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wg-key-'));
    try {
      const first = new WireGuardListener({ ...base, record: record({}), local: true, keyDirectory: join(dir, '.local') });
      const file = join(dir, '.local', 'wg-test.key');
      expect((statSync(file).mode % 0o1000).toString(8)).toBe('600');
      const second = new WireGuardListener({ ...base, record: record({}), local: true, keyDirectory: join(dir, '.local') });
      expect(second.publicKey).toBe(first.publicKey);
      expect(publicKeyOf(readFileSync(file, 'utf8').trim())).toBe(first.publicKey);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a key file that holds no key is an error naming the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wg-key-'));
    try {
      writeFileSync(join(dir, 'wg-test.key'), 'not a key\n');
      expect(() => new WireGuardListener({ ...base, record: record({}), local: true, keyDirectory: dir })).toThrow(/wg-test\.key does not hold a private key/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the key comes from the environment variable named by the record, and its value is never echoed', () => {
    const key = generatePrivateKey();
    const listener = new WireGuardListener({ ...base, record: record({ PrivateKeyEnvironmentVariable: 'WG_KEY' }), env: { WG_KEY: key } });
    expect(listener.publicKey).toBe(publicKeyOf(key));
    expect(() => new WireGuardListener({ ...base, record: record({ PrivateKeyEnvironmentVariable: 'WG_KEY' }), env: {} })).toThrow(/WG_KEY .* is not set/);
    try {
      new WireGuardListener({ ...base, record: record({ PrivateKeyEnvironmentVariable: 'WG_KEY' }), env: { WG_KEY: 'secret-but-wrong' } });
      throw new Error('expected an error');
    } catch (error) {
      expect((error as Error).message).toMatch(/does not hold a WireGuard private key/);
      expect((error as Error).message).not.toContain('secret-but-wrong');
    }
  });

  test('outside local mode a missing key is an error; a secret ARN is read at start', async () => {
    expect(() => new WireGuardListener({ ...base, record: record({}) })).toThrow(/no WireGuard private key/);
    const key = generatePrivateKey();
    const arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:wg-key';
    const resolveSecret = jest.fn(async () => `${key}\n`);
    const listener = new WireGuardListener({ ...base, record: record({ PrivateKeySecretArn: arn }), resolveSecret });
    expect(listener.publicKey).toBeUndefined();
    await listener.start();
    expect(resolveSecret).toHaveBeenCalledWith(arn);
    expect(listener.publicKey).toBe(publicKeyOf(key));
    await listener.close();
  });
});
