/**
 * Interop with a real WireGuard peer: wireguard-go in a network namespace of its own, joined to
 * this process's namespace by a veth pair. The gateway's WireGuard Listener runs in this process,
 * bound to the veth address, so the peer reaches it over the veth:
 *
 *   root namespace                                    namespace pgwg-<id>
 *   WireGuardListener 10.77.N.1:<port>  <== veth ==>  wireguard-go (10.77.N.2:51821)
 *                                                     tunnel 10.99.N.2 ⇄ gateway 10.99.N.1
 *                                                     udp-agent on 10.99.N.2:7000
 *
 * Needs root, `ip netns`, /dev/net/tun, wireguard-go and wg; skipped (with the reason in the test
 * name and a warning) when any is missing. Names and subnets carry a random id, and everything is
 * torn down in afterAll even when a test fails.
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { ListenerRecord } from '../../../lib/private/records';
import type { Failure, InboundDatagram, IngressSink, ListenerHandle } from '../../../service/contracts';
import { EgressPolicy } from '../../../service/egress/egress-policy';
import { generatePrivateKey, publicKeyOf } from '../../../service/wireguard/keys';
import { WireGuardListener } from '../../../service/wireguard/wg-listener';
import { CapturingFailureReporter, eventually, silentLogger } from '../helpers';
import fixture from './fixtures/handshake-initiation.json';
import { labSuite } from '../../support/lab-requirement';

const ID = randomBytes(2).toString('hex');
const N = randomInt(100, 250);
const NS = `pgwg-${ID}`;
const VETH_GW = `pgv${ID}g`;
const VETH_PEER = `pgv${ID}p`;
const WG_IF = `pgwg${ID}`;
const UNDER_GW = `10.77.${N}.1`;
const UNDER_PEER = `10.77.${N}.2`;
const TUN_GW = `10.99.${N}.1`;
const TUN_PEER = `10.99.${N}.2`;
const PEER_WG_PORT = 51821;
const AGENT_PORT = 7000;
const GATEWAY_INNER_PORT = 9000;

function run(command: string, args: string[]): { ok: boolean; output: string } {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 10_000 });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? result.error.message : ''}`.trim();
  return { ok: !result.error && result.status === 0, output };
}

function must(command: string, ...args: string[]): void {
  const result = run(command, args);
  if (!result.ok) throw new Error(`${command} ${args.join(' ')} failed: ${result.output}`);
}

/** Why the interop test cannot run here, or undefined when it can. */
function unavailable(): string | undefined {
  if (process.platform !== 'linux') return `needs Linux, this is ${process.platform}`;
  if (process.getuid?.() !== 0) return 'needs root (network namespaces and TUN devices)';
  for (const [command, args] of [['wireguard-go', ['--version']], ['wg', ['--version']], ['ip', ['-V']]] as const) {
    const result = run(command, [...args]);
    if (!result.ok) return `${command} is not available (${result.output || 'not found'}); install wireguard-go wireguard-tools iproute2`;
  }
  if (!existsSync('/dev/net/tun')) return 'no /dev/net/tun';
  const probe = `pgwg-probe-${ID}`;
  const added = run('ip', ['netns', 'add', probe]);
  if (!added.ok) return `ip netns does not work here (${added.output})`;
  run('ip', ['netns', 'del', probe]);
  return undefined;
}

const { describe: describeInterop, skipReason } = labSuite('WireGuard interop test', unavailable(), ['PACKET_GATEWAY_REQUIRE_INTEROP']);

/** The UDP agent inside the peer namespace. */
class Agent {
  readonly received: Array<{ from: string; port: number; data: Buffer }> = [];
  private readyPort = 0;

  constructor(readonly process: ChildProcess) {
    createInterface({ input: process.stdout! }).on('line', (line) => {
      const event = JSON.parse(line);
      if (event.ready) this.readyPort = event.ready.port;
      if (event.recv) this.received.push({ from: event.recv.from, port: event.recv.port, data: Buffer.from(event.recv.data, 'base64') });
    });
  }

  get ready(): boolean {
    return this.readyPort !== 0;
  }

  send(to: string, port: number, data: Buffer, options: { from?: string; count?: number; gapMs?: number } = {}): void {
    this.process.stdin!.write(`${JSON.stringify({ send: { to, port, data: data.toString('base64'), ...options } })}\n`);
  }

  texts(): string[] {
    return this.received.map((r) => r.data.toString());
  }
}

class CapturingSink implements IngressSink {
  readonly datagrams: InboundDatagram[] = [];
  accept(_listener: ListenerHandle, datagram: InboundDatagram): void {
    this.datagrams.push(datagram);
  }
  texts(): string[] {
    return this.datagrams.map((d) => d.data.toString());
  }
}

describeInterop(`WireGuard interop with wireguard-go${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  const gatewayPrivate = generatePrivateKey();
  const peerPrivate = generatePrivateKey();
  const peerKey = publicKeyOf(peerPrivate);
  const sink = new CapturingSink();
  const failures = new CapturingFailureReporter();
  let dir = '';
  let wireguardGo: ChildProcess | undefined;
  let agent: Agent | undefined;
  let listener: WireGuardListener;

  const send = (data: string, inner?: Parameters<WireGuardListener['send']>[0]['inner']): Promise<Failure | undefined> =>
    new Promise((resolve) => {
      listener.send({ data: Buffer.from(data), address: UNDER_PEER, port: PEER_WG_PORT, peerKey, inner }, resolve);
    });
  const withPeers = (peers: NonNullable<ListenerRecord['WireGuard']>['Peers']): ListenerRecord => ({
    Name: 'interop',
    Protocol: 'wg',
    Port: 0,
    BindAddress: UNDER_GW,
    Destinations: [],
    WireGuard: { PrivateKey: gatewayPrivate, Peers: peers, DecapsulatedDelivery: true },
  });
  const toAgent = {
    SourceAddress: TUN_GW, SourcePort: 9999, DestinationAddress: TUN_PEER, DestinationPort: AGENT_PORT, Version: 4 as const, Protocol: 17,
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pgwg-'));
    must('ip', 'netns', 'add', NS);
    must('ip', 'link', 'add', VETH_GW, 'type', 'veth', 'peer', 'name', VETH_PEER, 'netns', NS);
    must('ip', 'addr', 'add', `${UNDER_GW}/24`, 'dev', VETH_GW);
    must('ip', 'link', 'set', VETH_GW, 'up');
    must('ip', '-n', NS, 'addr', 'add', `${UNDER_PEER}/24`, 'dev', VETH_PEER);
    must('ip', '-n', NS, 'link', 'set', VETH_PEER, 'up');
    must('ip', '-n', NS, 'link', 'set', 'lo', 'up');

    // The gateway side: rekeying after 3 s (instead of 120 s) so the test can watch a rekey.
    listener = new WireGuardListener({
      record: withPeers([{ PublicKey: peerKey, AllowedIPs: [`${TUN_PEER}/32`] }]),
      sink,
      failures,
      logger: silentLogger,
      defaultBindAddress: UNDER_GW,
      egress: new EgressPolicy({}),
      timers: { rekeyAfterTimeMs: 3_000, rejectAfterTimeMs: 60_000, rekeyTimeoutMs: 1_000, rekeyTimeoutJitterMs: 50 },
      device: { tunnelAddresses: [TUN_GW], sendQueueTimeoutMs: 15_000 },
    });
    await listener.start();

    // The peer: wireguard-go in the namespace, configured with wg over its UAPI socket.
    wireguardGo = spawn('ip', ['netns', 'exec', NS, 'wireguard-go', '-f', WG_IF], {
      env: { ...process.env, WG_PROCESS_FOREGROUND: '1', WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: '1', LOG_LEVEL: 'error' },
      stdio: 'ignore',
    });
    await eventually(() => existsSync(`/var/run/wireguard/${WG_IF}.sock`) && run('ip', ['-n', NS, 'link', 'show', WG_IF]).ok, 10_000, 'wireguard-go to come up');
    const keyFile = join(dir, 'peer.key');
    writeFileSync(keyFile, `${peerPrivate}\n`, { mode: 0o600 });
    must('wg', 'set', WG_IF, 'listen-port', String(PEER_WG_PORT), 'private-key', keyFile,
      'peer', listener.publicKey!, 'allowed-ips', `${TUN_GW}/32`, 'endpoint', `${UNDER_GW}:${listener.port}`);
    must('ip', '-n', NS, 'addr', 'add', `${TUN_PEER}/32`, 'peer', `${TUN_GW}/32`, 'dev', WG_IF);
    must('ip', '-n', NS, 'link', 'set', WG_IF, 'up');

    const agentProcess = spawn('ip', ['netns', 'exec', NS, process.execPath, join(__dirname, 'fixtures', 'udp-agent.cjs'), TUN_PEER, String(AGENT_PORT)], {
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    agent = new Agent(agentProcess);
    await eventually(() => agent!.ready, 10_000, 'the UDP agent in the peer namespace');
  }, 60_000);

  afterAll(async () => {
    await listener?.close();
    if (agent) {
      agent.process.stdin?.end();
      agent.process.kill();
    }
    if (wireguardGo?.pid !== undefined && wireguardGo.exitCode === null) {
      const exited = new Promise((resolve) => wireguardGo!.once('exit', resolve));
      wireguardGo.kill();
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3_000).unref())]);
    }
    run('ip', ['netns', 'del', NS]);
    run('ip', ['link', 'del', VETH_GW]);
    const uapi = `/var/run/wireguard/${WG_IF}.sock`;
    if (existsSync(uapi)) rmSync(uapi, { force: true });
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  test('peer datagrams reach the Listener (wireguard-go initiates) with the PeerKey, the outer endpoint and the Inner addressing', async () => {
    agent!.send(TUN_GW, GATEWAY_INNER_PORT, Buffer.from('hello gateway'));
    await eventually(() => sink.texts().includes('hello gateway'), 10_000, 'the datagram at the sink');
    expect(listener.wireGuard!.counters.responsesSent).toBe(1);
    const got = sink.datagrams.find((d) => d.data.toString() === 'hello gateway')!;
    expect(got).toMatchObject({ peerKey, remoteAddress: UNDER_PEER, remotePort: PEER_WG_PORT });
    expect(got.inner).toEqual({
      SourceAddress: TUN_PEER, SourcePort: AGENT_PORT, DestinationAddress: TUN_GW, DestinationPort: GATEWAY_INNER_PORT, Version: 4, Protocol: 17,
    });
  });

  test('a reply (no Inner) reaches the peer socket that sent the request', async () => {
    const before = agent!.received.length;
    expect(await send('the reply')).toBeUndefined();
    await eventually(() => agent!.received.length > before, 10_000, 'the reply at the agent');
    expect(agent!.received[before]).toMatchObject({ from: TUN_GW, port: GATEWAY_INNER_PORT });
    expect(agent!.received[before].data.toString()).toBe('the reply');
  });

  test('a sourced packet with a session goes out at once, without a handshake', async () => {
    expect(listener.wireGuard!.peerStatus(peerKey)!.hasSession).toBe(true);
    const initiations = listener.wireGuard!.counters.initiationsSent;
    const payloads = Array.from({ length: 20 }, (_, i) => `burst ${i}`);
    for (const p of payloads) expect(await send(p, toAgent)).toBeUndefined();
    await eventually(() => payloads.every((p) => agent!.texts().includes(p)), 10_000, 'the burst at the agent');
    expect(agent!.received.find((r) => r.data.toString() === 'burst 0')).toMatchObject({ from: TUN_GW, port: 9999 });
    expect(listener.wireGuard!.counters.initiationsSent).toBe(initiations);
  });

  test('a sourced packet for a peer without a session: the gateway initiates (with a preshared key) and the packet arrives decrypted', async () => {
    // Reconfigure the peer with a preshared key on both sides; the gateway's sessions with it end.
    const psk = generatePrivateKey();
    const pskFile = join(dir, 'psk');
    writeFileSync(pskFile, `${psk}\n`, { mode: 0o600 });
    must('wg', 'set', WG_IF, 'peer', listener.publicKey!, 'preshared-key', pskFile);
    const wg = listener.wireGuard!;
    expect(listener.update(withPeers([]))).toBe(true);
    expect(listener.update(withPeers([{ PublicKey: peerKey, AllowedIPs: [`${TUN_PEER}/32`], PresharedKey: psk }]))).toBe(true);
    expect(wg.peerStatus(peerKey)).toMatchObject({ hasSession: false, endpoint: undefined });

    const initiations = wg.counters.initiationsSent;
    // The packet names the peer's outer endpoint: the gateway initiates there.
    expect(await send('pushed without a session', toAgent)).toBeUndefined();
    await eventually(() => agent!.texts().includes('pushed without a session'), 15_000, 'the pushed packet at the agent');
    expect(wg.counters.initiationsSent).toBeGreaterThan(initiations);
    expect(wg.peerStatus(peerKey)).toMatchObject({ hasSession: true, endpoint: { address: UNDER_PEER, port: PEER_WG_PORT } });
    agent!.send(TUN_GW, GATEWAY_INNER_PORT, Buffer.from('answer over the new session'));
    await eventually(() => sink.texts().includes('answer over the new session'), 10_000, 'the answer at the sink');
  });

  test('a rekey happens and traffic continues both ways', async () => {
    const device = listener.wireGuard!;
    const handshakes = device.counters.handshakesCompleted;
    const sessionBefore = device.peerStatus(peerKey)!.sessionCreatedAt!;
    // Let the session pass the (shortened) Rekey-After-Time, then send: the gateway rekeys.
    await new Promise((resolve) => setTimeout(resolve, 3_200));
    expect(await send('on the old keys', toAgent)).toBeUndefined();
    await eventually(() => device.counters.handshakesCompleted > handshakes, 10_000, 'a new handshake');
    expect(device.peerStatus(peerKey)!.sessionCreatedAt).toBeGreaterThan(sessionBefore);
    expect(await send('on the new keys', toAgent)).toBeUndefined();
    await eventually(() => agent!.texts().includes('on the new keys'), 10_000, 'traffic on the new keys to the peer');
    expect(agent!.texts()).toContain('on the old keys');
    agent!.send(TUN_GW, GATEWAY_INNER_PORT, Buffer.from('after the rekey'));
    await eventually(() => sink.texts().includes('after the rekey'), 10_000, 'traffic on the new keys from the peer');
  });

  test('hostile datagrams sent to the gateway socket are dropped and counted; the peer keeps working', async () => {
    const device = listener.wireGuard!;
    const dropped = device.counters.dropped;
    const byCode = { ...device.counters.droppedByCode };
    const garbage = [
      randomBytes(1),
      randomBytes(64),
      Buffer.concat([Buffer.from([4, 0, 0, 0]), randomBytes(60)]), // transport, unknown receiver index
      Buffer.concat([Buffer.from([1, 0, 0, 0]), randomBytes(144)]), // initiation, bad mac1
      Buffer.from(fixture.initiationHex, 'hex'), // a real initiation for another responder key
      Buffer.from(fixture.initiationHex, 'hex').subarray(0, 100), // truncated
      Buffer.concat([Buffer.from([2, 0, 0, 0]), randomBytes(88)]), // response to nothing
      Buffer.concat([Buffer.from([3, 0, 0, 0]), randomBytes(60)]), // cookie reply to nothing
      randomBytes(1400),
    ];
    // Paced: wireguard-go is not the target, but the veth and the test process share two cores.
    for (const g of garbage) agent!.send(UNDER_GW, listener.port, g, { from: UNDER_PEER, count: 20, gapMs: 1 });
    await eventually(() => device.counters.dropped - dropped >= garbage.length * 20, 15_000, 'all garbage counted');
    for (const code of ['HandshakeInvalid', 'NoSession', 'InvalidData'] as const) {
      expect(device.counters.droppedByCode[code] ?? 0).toBeGreaterThan(byCode[code] ?? 0);
    }
    // Failure records reached the reporter (rate-limited), with the Listener and the sender named.
    expect(failures.records[failures.records.length - 1].context).toMatchObject({ listener: 'interop', remote: expect.stringContaining(UNDER_PEER) });

    agent!.send(TUN_GW, GATEWAY_INNER_PORT, Buffer.from('still here'));
    await eventually(() => sink.texts().includes('still here'), 10_000, 'a datagram after the garbage');
    expect(await send('and back', toAgent)).toBeUndefined();
    await eventually(() => agent!.texts().includes('and back'), 10_000, 'a packet to the peer after the garbage');
  });
});
