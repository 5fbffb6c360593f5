/**
 * WireGuard sessions in a fleet: peer items claimed by sessions, peers found by endpoint in the
 * directory, and the handshake a member initiates for a peer that speaks without a session there
 * (after a restart, or a move from another member).
 */
import { createSocket, Socket } from 'node:dgram';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { A_ADDRESS, A_PORT, B_ADDRESS, B_PORT, CLIENT_TO_GATEWAY, devicePair, ManualClock, RecordingOutput } from './helpers';
import type { ListenerRecord } from '../../../lib/private/records';
import type { Failure, InboundDatagram, IngressSink, ListenerHandle } from '../../../service/contracts';
import { EgressPolicy } from '../../../service/egress/egress-policy';
import { FlowTable } from '../../../service/egress/flow-table';
import { FleetDirectory } from '../../../service/fleet/directory';
import { InitiationOutcome, WireGuardDevice } from '../../../service/wireguard/device';
import { FleetSessions, PeerAtCallback, PeerDirectory } from '../../../service/wireguard/fleet-sessions';
import { generatePrivateKey, publicKeyOf } from '../../../service/wireguard/keys';
import { WireGuardListener } from '../../../service/wireguard/wg-listener';
import { LocalDynamo } from '../../support/local-dynamo';
import { CapturingFailureReporter, eventually, silentLogger } from '../helpers';

const NO_METRICS = { increment: () => undefined, observe: () => undefined };
const PEER = publicKeyOf(generatePrivateKey());
const TO_CLIENT = { SourceAddress: '10.99.0.1', SourcePort: 5683, DestinationAddress: '10.99.0.2', DestinationPort: 5683, Version: 4 as const, Protocol: 17 };

/** Counts metric increments by name and dimensions. */
class CountingMetrics {
  readonly counts = new Map<string, number>();
  increment(metric: string, value = 1, dimensions?: Record<string, string>): void {
    const key = `${metric} ${JSON.stringify(dimensions ?? {})}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + value);
  }
  observe(): void {
    // not recorded
  }
}

/** A directory in memory that records what it is asked. */
class MemoryDirectory implements PeerDirectory {
  readonly claims: string[] = [];
  readonly asked: string[] = [];
  readonly peers = new Map<string, string>();
  readonly flows: string[] = [];
  /** Endpoints whose lookup fails (the directory cannot be read). */
  readonly failing = new Set<string>();
  claimPeer(listener: string, peerKey: string, address: string, port: number): void {
    this.claims.push(`${listener} ${peerKey} ${address}:${port}`);
  }
  claimFlow(listener: string, address: string, port: number, peerKey: string): void {
    this.flows.push(`${listener} ${address}:${port} ${peerKey}`);
  }
  peerAt(_listener: string, address: string, port: number, done: PeerAtCallback): void {
    this.asked.push(`${address}:${port}`);
    if (this.failing.has(`${address}:${port}`)) done(undefined, true);
    else done(this.peers.get(`${address}:${port}`));
  }
}

describe('FleetSessions', () => {
  interface Setup {
    readonly initiate?: (peerKey: string) => InitiationOutcome;
    readonly endpoint?: { address: string; port: number };
    readonly lookupsPerSecond?: number;
  }
  function sessions(options: Setup = {}) {
    const directory = new MemoryDirectory();
    let now = 1_000_000;
    const refused: Failure[] = [];
    const initiated: string[] = [];
    let endpoint = options.endpoint ?? { address: '198.51.100.7', port: 40000 };
    const s = new FleetSessions({
      listener: 'wg',
      directory,
      initiate: (peerKey, address, port) => {
        const outcome = options.initiate?.(peerKey) ?? 'initiated';
        if (outcome === 'initiated') initiated.push(`${peerKey} ${address}:${port}`);
        return outcome;
      },
      endpointOf: () => endpoint,
      refused: (f) => refused.push(f),
      now: () => now,
      lookupsPerSecond: options.lookupsPerSecond,
    });
    return {
      s,
      directory,
      refused,
      initiated,
      advance: (ms: number) => {
        now += ms;
      },
      moveTo: (address: string, port: number) => {
        endpoint = { address, port };
      },
    };
  }

  test('a session claims its peer item once per owner and endpoint: a rekey at the same endpoint writes nothing', () => {
    const t = sessions();
    t.s.sessionAt(PEER, true);
    t.s.sessionAt(PEER, false); // rekey
    t.s.sessionAt(PEER, false); // rekey
    expect(t.directory.claims).toEqual([`wg ${PEER} 198.51.100.7:40000`]);
    // the flow item of the endpoint names the peer, for a member that later receives its datagrams without a session
    expect(t.directory.flows).toEqual([`wg 198.51.100.7:40000 ${PEER}`]);
    t.moveTo('198.51.100.7', 40001); // roamed
    t.s.sessionAt(PEER, false);
    t.s.sessionAt(PEER, false);
    expect(t.directory.claims).toHaveLength(2);
    expect(t.directory.claims[1]).toBe(`wg ${PEER} 198.51.100.7:40001`);
    // a session that starts afresh here (another member may have held the peer meanwhile) always writes
    t.s.sessionAt(PEER, true);
    expect(t.directory.claims).toHaveLength(3);
    expect(t.s.counters.claims).toBe(3);
  });

  test('a datagram without a session from a recorded endpoint makes the member initiate to that endpoint', () => {
    const t = sessions();
    t.directory.peers.set('198.51.100.7:40000', PEER);
    t.s.sessionUnknown('198.51.100.7', 40000);
    expect(t.initiated).toEqual([`${PEER} 198.51.100.7:40000`]);
    expect(t.s.counters).toMatchObject({ lookups: 1, initiations: 1 });
    // more datagrams from the same endpoint within 5 s: no further lookup
    for (let i = 0; i < 100; i++) t.s.sessionUnknown('198.51.100.7', 40000);
    expect(t.directory.asked).toHaveLength(1);
    t.advance(5_000);
    t.s.sessionUnknown('198.51.100.7', 40000);
    expect(t.directory.asked).toHaveLength(2);
  });

  test('an unknown endpoint is not looked up again for 30 s; a refused peer is a failure record and not asked about again', () => {
    const t = sessions({ initiate: () => ({ code: 'UnknownPeer', reason: 'not a peer' }) });
    t.s.sessionUnknown('203.0.113.1', 1);
    t.advance(10_000);
    t.s.sessionUnknown('203.0.113.1', 1);
    expect(t.directory.asked).toEqual(['203.0.113.1:1']);
    t.advance(21_000);
    t.s.sessionUnknown('203.0.113.1', 1);
    expect(t.directory.asked).toHaveLength(2);

    t.directory.peers.set('203.0.113.2:2', PEER);
    t.s.sessionUnknown('203.0.113.2', 2);
    expect(t.refused).toEqual([{ code: 'UnknownPeer', reason: 'not a peer' }]);
    t.advance(10_000);
    t.s.sessionUnknown('203.0.113.2', 2);
    expect(t.directory.asked.filter((a) => a === '203.0.113.2:2')).toHaveLength(1);
    expect(t.s.counters.refusals).toBe(1);
  });

  test('a lookup the directory could not answer is asked again after 5 s, not 30 s: a read error is no answer about the endpoint', () => {
    const t = sessions();
    t.directory.peers.set('198.51.100.7:40000', PEER);
    t.directory.failing.add('198.51.100.7:40000');
    t.s.sessionUnknown('198.51.100.7', 40000);
    expect(t.initiated).toEqual([]);
    expect(t.s.counters).toMatchObject({ lookups: 1, lookupFailures: 1, initiations: 0 });
    t.advance(4_999);
    t.s.sessionUnknown('198.51.100.7', 40000);
    expect(t.directory.asked).toHaveLength(1);
    // the directory reads again: the peer's next datagram after the endpoint interval finds it
    t.directory.failing.clear();
    t.advance(1);
    t.s.sessionUnknown('198.51.100.7', 40000);
    expect(t.directory.asked).toHaveLength(2);
    expect(t.initiated).toEqual([`${PEER} 198.51.100.7:40000`]);
    expect(t.s.counters).toMatchObject({ lookups: 2, lookupFailures: 1, initiations: 1 });
  });

  test('forged datagrams from ever new sources cost at most lookupsPerSecond directory reads per second', () => {
    const t = sessions({ lookupsPerSecond: 20 });
    for (let i = 0; i < 10_000; i++) t.s.sessionUnknown('203.0.113.9', 1024 + i);
    expect(t.directory.asked).toHaveLength(20);
    t.advance(1_000);
    for (let i = 0; i < 10_000; i++) t.s.sessionUnknown('203.0.113.10', 1024 + i);
    expect(t.directory.asked).toHaveLength(40);
    expect(t.s.counters.lookupsSkipped).toBe(20_000 - 40);
  });

  test('settings are checked', () => {
    expect(() => new FleetSessions({ listener: 'wg', directory: new MemoryDirectory(), initiate: () => 'pending', endpointOf: () => undefined, lookupsPerSecond: 0 }))
      .toThrow('FleetSessions: lookupsPerSecond must be a number greater than 0, got 0');
  });
});

/** A device output that also records the fleet hooks. */
class FleetOutput extends RecordingOutput {
  readonly unknown: string[] = [];
  readonly fresh: boolean[] = [];
  sessionUnknown(address: string, port: number): void {
    this.unknown.push(`${address}:${port}`);
  }
  override handshakeCompleted(peerKey: string, initiator: boolean, fresh = false): void {
    super.handshakeCompleted(peerKey, initiator);
    this.fresh.push(fresh);
  }
}

describe('WireGuardDevice in a fleet', () => {
  test('initiateTo: a configured peer without a session gets an initiation at the given endpoint, at most one per Rekey-Timeout', () => {
    const pair = devicePair();
    expect(pair.a.initiateTo(pair.bKey, B_ADDRESS, B_PORT)).toBe('initiated');
    expect(pair.aOut.sent.map((w) => `${w.address}:${w.port} ${w.data[0]}`)).toEqual([`${B_ADDRESS}:${B_PORT} 1`]);
    expect(pair.a.initiateTo(pair.bKey, B_ADDRESS, B_PORT)).toBe('pending');
    pair.pump();
    expect(pair.a.hasSession(pair.bKey)).toBe(true);
    expect(pair.a.initiateTo(pair.bKey, B_ADDRESS, B_PORT)).toBe('session');
    expect(pair.aOut.handshakes).toEqual([{ peerKey: pair.bKey, initiator: true }]);
    pair.a.close();
    pair.b.close();
  });

  test('an initiation names no peer (a replay can come from anywhere); the transport data confirming the session does', () => {
    const pair = devicePair();
    pair.link.bToA = false;
    pair.b.send(pair.aKey, Buffer.from('one'), CLIENT_TO_GATEWAY);
    const initiation = pair.bOut.sent[0].data;
    expect(pair.a.receive(initiation, '203.0.113.99', 6666)).toBe('handshake');
    expect(pair.a.lastReceivedPeerKey).toBeUndefined();
    pair.link.bToA = true;
    pair.bOut.onTransmit = (wire) => pair.a.receive(wire.data, B_ADDRESS, B_PORT);
    pair.aOut.onTransmit = (wire) => pair.b.receive(wire.data, A_ADDRESS, A_PORT);
    pair.b.send(pair.aKey, Buffer.from('two'), CLIENT_TO_GATEWAY);
    pair.clock.advance(6_000); // b's retry of its handshake, answered; its queued data confirms the session
    expect(pair.a.hasSession(pair.bKey)).toBe(true);
    expect(pair.a.lastReceivedPeerKey).toBe(pair.bKey);
    pair.a.close();
    pair.b.close();
  });

  test('initiateTo: an unconfigured key is refused (UnknownPeer) unless unknown peers are accepted', () => {
    const clock = new ManualClock();
    const strange = publicKeyOf(generatePrivateKey());
    const strict = new WireGuardDevice({ privateKey: generatePrivateKey(), clock, output: new RecordingOutput() });
    expect(strict.initiateTo(strange, B_ADDRESS, B_PORT)).toMatchObject({ code: 'UnknownPeer' });
    expect(strict.hasPeer(strange)).toBe(false);
    const open = new WireGuardDevice({ privateKey: generatePrivateKey(), clock, allowUnknownPeers: true, output: new RecordingOutput() });
    expect(open.initiateTo(strange, B_ADDRESS, B_PORT)).toBe('initiated');
    expect(open.peerStatus(strange)).toMatchObject({ dynamic: true, endpoint: { address: B_ADDRESS, port: B_PORT } });
    expect(open.initiateTo(strange, 'not an address', 1)).toMatchObject({ code: 'InvalidAddress' });
    strict.close();
    open.close();
  });

  test('after a restart the gateway initiates: the session is back within one round trip, and its rekey later is not fresh', () => {
    const clock = new ManualClock();
    const gatewayPrivate = generatePrivateKey();
    const clientPrivate = generatePrivateKey();
    const gatewayKey = publicKeyOf(gatewayPrivate);
    const clientKey = publicKeyOf(clientPrivate);
    const peers = [{ publicKey: clientKey, allowedIps: ['10.99.0.2/32'] }];
    const clientOut = new RecordingOutput();
    const client = new WireGuardDevice({ privateKey: clientPrivate, peers: [{ publicKey: gatewayKey, allowedIps: ['10.99.0.1/32'], endpoint: `${A_ADDRESS}:${A_PORT}` }], clock, output: clientOut });
    const firstOut = new RecordingOutput();
    let gateway = new WireGuardDevice({ privateKey: gatewayPrivate, peers, clock, output: firstOut });
    const wire = (out: RecordingOutput, device: WireGuardDevice): void => {
      out.onTransmit = (w) => client.receive(w.data, A_ADDRESS, A_PORT);
      clientOut.onTransmit = (w) => device.receive(w.data, B_ADDRESS, B_PORT);
    };
    wire(firstOut, gateway);
    client.send(gatewayKey, Buffer.from('one'), CLIENT_TO_GATEWAY);
    expect(gateway.hasSession(clientKey)).toBe(true);
    gateway.close();

    // restarted: same key and peers, no sessions
    const out = new FleetOutput();
    const { unknown, fresh } = out;
    gateway = new WireGuardDevice({ privateKey: gatewayPrivate, peers, clock, output: out });
    wire(out, gateway);
    client.send(gatewayKey, Buffer.from('two'), CLIENT_TO_GATEWAY);
    expect(unknown).toEqual([`${B_ADDRESS}:${B_PORT}`]);
    expect(out.codes()).toEqual(['NoSession']);
    expect(gateway.lastReceivedPeerKey).toBeUndefined();

    expect(gateway.initiateTo(clientKey, B_ADDRESS, B_PORT)).toBe('initiated');
    expect(gateway.hasSession(clientKey)).toBe(true);
    expect(gateway.lastReceivedPeerKey).toBe(clientKey);
    expect(fresh).toEqual([true]);
    clock.advance(6_000);
    expect(gateway.initiateTo(clientKey, B_ADDRESS, B_PORT)).toBe('session');
    // the gateway's own rekey (after Rekey-After-Time) keeps the session: not fresh
    clock.advance(121_000);
    gateway.send(clientKey, Buffer.from('x'), TO_CLIENT);
    expect(fresh).toEqual([true, false]);
    gateway.close();
    client.close();
  });
});

class CapturingSink implements IngressSink {
  readonly datagrams: InboundDatagram[] = [];
  accept(_listener: ListenerHandle, datagram: InboundDatagram): void {
    this.datagrams.push(datagram);
  }
}

/** A WireGuard client on a loopback socket that never rekeys on its own within the test. */
class Client {
  static async open(gatewayKey: string, gatewayPort: number): Promise<Client> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    return new Client(socket, gatewayKey, gatewayPort);
  }

  readonly output = new RecordingOutput();
  readonly device: WireGuardDevice;
  readonly privateKey = generatePrivateKey();
  readonly publicKey = publicKeyOf(this.privateKey);

  private constructor(readonly socket: Socket, readonly gatewayKey: string, gatewayPort: number) {
    this.output.onTransmit = (wire) => socket.send(wire.data, wire.port, wire.address);
    this.device = new WireGuardDevice({
      privateKey: this.privateKey,
      peers: [{ publicKey: gatewayKey, allowedIps: ['10.99.0.1/32'], endpoint: `127.0.0.1:${gatewayPort}` }],
      output: this.output,
    });
    socket.on('message', (msg, rinfo) => this.device.receive(msg, rinfo.address, rinfo.port));
  }

  get port(): number {
    return this.socket.address().port;
  }

  send(text: string): void {
    this.device.send(this.gatewayKey, Buffer.from(text), CLIENT_TO_GATEWAY);
  }

  texts(): string[] {
    return this.output.delivered.map((d) => d.data.toString());
  }

  async close(): Promise<void> {
    this.device.close();
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }
}

describe('a WireGuard Listener restarted in a fleet (dynalite directory, loopback sockets)', () => {
  let dynamo: LocalDynamo;
  beforeAll(async () => {
    dynamo = await LocalDynamo.start();
  });
  afterAll(() => dynamo.stop());

  const gatewayPrivate = generatePrivateKey();

  async function member(tableName: string, memberId: string, wg: ListenerRecord['WireGuard'], port: number) {
    const directory = new FleetDirectory({ documents: dynamo.documents, tableName, memberId, metrics: NO_METRICS, flushMs: 5 });
    const flows = new FlowTable({ onNewFlow: (l, a, p, peerKey) => directory.claimFlow(l, a, p, peerKey) });
    const failures = new CapturingFailureReporter();
    const sink = new CapturingSink();
    const metrics = new CountingMetrics();
    const listener = new WireGuardListener({
      // payloads delivered decapsulated: the test client sends and expects bare UDP payloads
      record: { Name: 'wg-fleet', Protocol: 'wg', Port: port, BindAddress: '127.0.0.1', Destinations: [], WireGuard: { ...wg!, DecapsulatedDelivery: true } },
      sink,
      logger: silentLogger,
      failures,
      metrics,
      flows,
      requireActiveFlow: true,
      defaultBindAddress: '127.0.0.1',
      egress: new EgressPolicy({ allowLoopback: true }),
      peerDirectory: {
        claimPeer: (l, k, a, p) => directory.claimPeer(l, k, a, p),
        claimFlow: (l, a, p, k) => directory.claimFlow(l, a, p, k),
        peerAt: (l, a, p, done) => directory.peerAt(l, a, p, done),
      },
    });
    await listener.start();
    return { directory, listener, failures, sink, metrics };
  }

  const item = async (tableName: string, pk: string): Promise<Record<string, unknown> | undefined> =>
    (await dynamo.documents.send(new GetCommand({ TableName: tableName, Key: { pk } }))).Item;

  const push = (listener: WireGuardListener, peerKey: string, text: string): Promise<Failure | undefined> =>
    new Promise((resolve) => listener.send({ data: Buffer.from(text), address: '192.0.2.1', port: 9, peerKey, inner: TO_CLIENT }, resolve));

  for (const kind of ['a configured peer', 'a peer learned with AllowUnknownPeers'] as const) {
    test(`${kind}: the restarted member initiates when the peer's next datagram arrives, and a push by PeerKey reaches it`, async () => {
      const tableName = await dynamo.createTable();
      const gatewayKey = publicKeyOf(gatewayPrivate);
      let client: Client | undefined;
      const wgFor = (peerKey: string): ListenerRecord['WireGuard'] => (kind === 'a configured peer'
        ? { PrivateKey: gatewayPrivate, Peers: [{ PublicKey: peerKey, AllowedIPs: ['10.99.0.2/32'] }] }
        : { PrivateKey: gatewayPrivate, AllowUnknownPeers: true });
      // the client key must be known before the Listener for a configured peer: open the client on a placeholder port first
      const first = await member(tableName, 'm-1', { PrivateKey: gatewayPrivate, AllowUnknownPeers: true }, 0);
      const port = first.listener.port;
      await first.listener.close();
      client = await Client.open(gatewayKey, port);
      const one = await member(tableName, 'm-1', wgFor(client.publicKey), port);
      try {
        client.send('hello');
        await eventually(() => one.sink.datagrams.length === 1, 5000, 'the first datagram');
        expect(one.sink.datagrams.map((d) => d.data.toString())).toEqual(['hello']);
        await one.directory.flush();
        expect(await item(tableName, `peer#wg-fleet#${client.publicKey}`)).toMatchObject({ member: 'm-1', endpoint: `127.0.0.1:${client.port}` });
        expect(await item(tableName, `flow#wg-fleet#127.0.0.1#${client.port}`)).toMatchObject({ member: 'm-1', peerKey: client.publicKey });
        expect(one.listener.holdsSession(client.publicKey)).toBe(true);
        expect(one.listener.fleetSessions?.counters.claims).toBe(1);

        // the process restarts on the same port: no sessions, no memory of the peer
        await one.listener.close();
        const two = await member(tableName, 'm-2', wgFor(client.publicKey), port);
        try {
          expect(two.listener.holdsSession(client.publicKey)).toBe(false);
          client.send('after the restart'); // dropped (NoSession); the member looks the endpoint up and initiates
          await eventually(() => two.listener.holdsSession(client!.publicKey), 5000, 'a session initiated by the restarted member');
          expect(two.failures.records.map((r) => r.failure.code)).toEqual(['NoSession']);
          expect(two.listener.fleetSessions?.counters).toMatchObject({ lookups: 1, initiations: 1 });
          expect(two.metrics.counts.get(`WireGuardSessionsResumed ${JSON.stringify({ Listener: 'wg-fleet' })}`)).toBe(1);
          await expect(push(two.listener, client.publicKey, 'pushed')).resolves.toBeUndefined();
          await eventually(() => client!.texts().includes('pushed'), 5000, 'the push at the client');
          await two.directory.flush();
          expect(await item(tableName, `peer#wg-fleet#${client.publicKey}`)).toMatchObject({ member: 'm-2', endpoint: `127.0.0.1:${client.port}` });
          // the session works both ways again
          client.send('again');
          await eventually(() => two.sink.datagrams.length === 1, 5000, 'a datagram over the new session');
          expect(two.sink.datagrams.map((d) => d.data.toString())).toEqual(['again']);
        } finally {
          await two.listener.close();
        }
      } finally {
        await client.close();
      }
    });
  }

  test('a source the directory does not know stays a NoSession failure, and is looked up only once', async () => {
    const tableName = await dynamo.createTable();
    const gatewayKey = publicKeyOf(gatewayPrivate);
    const m = await member(tableName, 'm-3', { PrivateKey: gatewayPrivate, AllowUnknownPeers: true }, 0);
    const stranger = await Client.open(gatewayKey, m.listener.port);
    try {
      // a session the gateway never had: a handshake with another gateway key's device is not possible, so forge transport messages
      const forged = Buffer.alloc(32);
      forged.writeUInt32LE(4, 0);
      forged.writeUInt32LE(12345, 4);
      for (let i = 0; i < 20; i++) stranger.socket.send(forged, m.listener.port, '127.0.0.1');
      await eventually(() => m.failures.records.length >= 20, 5000, '20 failure records');
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(m.failures.records).toHaveLength(20);
      expect(new Set(m.failures.records.map((r) => r.failure.code))).toEqual(new Set(['NoSession']));
      expect(m.listener.fleetSessions?.counters).toMatchObject({ lookups: 1, initiations: 0 });
      expect(m.listener.wireGuard?.counters.initiationsSent).toBe(0);
    } finally {
      await stranger.close();
      await m.listener.close();
    }
  });
});
