/**
 * The global lab (scripts/fleet/global-lab.ts): two regions of two gateway tasks each, each with
 * its own load-balancer stand-in and API servers, behind the accelerator stand-in's anycast
 * address; the directory replicated between the regions; one WireGuard key in both regions. A
 * client and a WireGuard peer (wireguard-go) nearest region A; pushes published in region B, with
 * and without `EgressRegion`, to the client and by PeerKey to the peer; then region A's fleet
 * stopped: the client and the peer move to region B, and pushes published in B reach both.
 *
 * Needs Linux, root, iproute2, nftables, conntrack, wireguard-go, wg and /dev/net/tun; skipped
 * (with the reason printed) when one is missing, except where PACKET_GATEWAY_REQUIRE_FLEET=1 (CI),
 * where that is a failure. Tasks run the bundled service when it exists, else the TypeScript source.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { OWNER_REGION_ATTRIBUTE } from '../../lib/private/fleet';
import { MetricName } from '../../lib/private/metrics';
import { acceleratorNamespaces } from '../../scripts/fleet/accelerator';
import { CountedMetric, GLOBAL_REGIONS, GlobalLab, startGlobalLab } from '../../scripts/fleet/global-lab';
import { ClientDatagram, ClientGroup, Fleet, SourcedEntry, TaskLogRecord, UDP_LISTENER, WG_LISTENER, WireGuardPeer } from '../../scripts/fleet/lab';
import { labNamespaces, labUnavailable, randomPrefix, run } from '../../scripts/fleet/network';
import { GATEWAY_TUNNEL_ADDRESS, wireGuardPeerNamespaces, wireGuardPeersUnavailable } from '../../scripts/fleet/wireguard-peers';
import { FAILURE_LOG_MESSAGE } from '../../service/observability/failure-reporter';
import { eventually } from '../service/helpers';
import { directoryWithPeers } from '../support/fleet-directory';
import { labSuite } from '../support/lab-requirement';

const CLIENTS = 20;
const A = GLOBAL_REGIONS[0].name;
const B = GLOBAL_REGIONS[1].name;
/** The WireGuard peer's persistent keepalive (the accelerator forgets a flow after 30 s of silence). */
const KEEPALIVE_SECONDS = 2;

const { describe: describeGlobal, skipReason } = labSuite('global lab test', labUnavailable() ?? wireGuardPeersUnavailable(), ['PACKET_GATEWAY_REQUIRE_FLEET']);

const text = (data: Buffer): string => data.toString('utf8');

describeGlobal(`two regions behind the accelerator stand-in${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  const prefix = randomPrefix();
  let lab: GlobalLab;
  let clients: ClientGroup;
  let fleetA: Fleet;
  let fleetB: Fleet;
  let peer: WireGuardPeer;

  beforeAll(async () => {
    const bundled = existsSync(join(__dirname, '..', '..', 'assets', 'service', 'index.js'));
    lab = await startGlobalLab({ prefix, tasksPerRegion: 2, fleet: { service: bundled ? 'bundle' : 'source' } });
    fleetA = lab.fleet(A);
    fleetB = lab.fleet(B);
    clients = await lab.clients(A, CLIENTS);
    peer = await lab.wireGuardPeer(A, { keepaliveSeconds: KEEPALIVE_SECONDS });
  }, 120_000);

  afterAll(async () => {
    await lab?.stop();
    // nothing of the run is left: fleets, accelerator, client namespaces, WireGuard peers
    const listed = new Set(run('ip', ['netns', 'list']).split('\n').map((line) => line.split(' ')[0]));
    const left = [
      ...labNamespaces(`${prefix}a`),
      ...labNamespaces(`${prefix}b`),
      ...acceleratorNamespaces(prefix, ['a', 'b']).filter((ns) => listed.has(ns)),
      ...wireGuardPeerNamespaces(prefix),
    ];
    expect(left).toEqual([]);
  }, 60_000);

  /** Datagrams of `tag` (`<tag>#<socket>`) received so far, one per socket at most counted. */
  const received = (tag: string): ClientDatagram[] => clients.received.filter((d) => text(d.data).startsWith(`${tag}#`));
  const sockets = (tag: string): Set<number> => new Set(received(tag).map((d) => d.socket));
  const failures = (): TaskLogRecord[] => [...fleetA.logs(), ...fleetB.logs()].filter((r) => r.message === FAILURE_LOG_MESSAGE);
  const push = (tag: string, i: number): { Data: string; Remote: { Address: string; Port: number } } => ({
    Data: Buffer.from(`${tag}#${i}`).toString('base64'),
    Remote: { Address: lab.clientAddress(A), Port: clients.ports[i] },
  });
  /** The client's datagram `tag` from every socket to the anycast address, and the echo function's reply to each. */
  const hello = async (tag: string): Promise<void> => {
    await clients.send(lab.anycastAddress, UDP_LISTENER.port, Buffer.from(tag), { indexed: true });
    await clients.waitFor(() => sockets(tag).size === CLIENTS, 30_000, `the echo reply of ${tag} at each of the ${CLIENTS} clients`);
  };
  const expectFromAnycast = (datagrams: readonly ClientDatagram[]): void => {
    for (const d of datagrams) expect(`${d.fromAddress}:${d.fromPort}`).toBe(`${lab.anycastAddress}:${UDP_LISTENER.port}`);
  };
  /** Waits until `region`'s directory names `owner` as the region of every client flow. */
  const waitOwnedIn = async (region: string, owner: string): Promise<void> => {
    const keys = clients.ports.map((port) => `flow#${UDP_LISTENER.name}#${lab.clientAddress(A)}#${port}`);
    const deadline = Date.now() + 15_000;
    for (;;) {
      const owners = await lab.flowOwnerRegions(region);
      const owned = keys.filter((key) => owners.get(key) === owner).length;
      if (owned === CLIENTS) return;
      if (Date.now() > deadline) throw new Error(`${region}'s directory names ${owner} for ${owned} of ${CLIENTS} client flows after 15 s`);
      await new Promise((done) => setTimeout(done, 200));
    }
  };
  /**
   * Waits until `region`'s tasks have flushed `metric` with a total of at least `total`; fails
   * naming `what` otherwise.
   */
  const waitMetric = async (region: string, metric: CountedMetric, total: number, what: string): Promise<void> => {
    const deadline = Date.now() + 15_000;
    while (lab.metricTotal(region, metric) < total) {
      if (Date.now() > deadline) throw new Error(`${what}: ${region}'s ${metric} is ${lab.metricTotal(region, metric)} after 15 s, expected at least ${total}`);
      await new Promise((done) => setTimeout(done, 200));
    }
  };
  const waitForwarded = async (region: string, count: number): Promise<void> => {
    const deadline = Date.now() + 10_000;
    while (lab.forwardedToRegion(region) < count && Date.now() < deadline) await new Promise((done) => setTimeout(done, 200));
  };
  /** Waits for `condition`, polled every 100 ms (a peer's state is read by running wg). */
  const waitFor = (condition: () => boolean, timeoutMs: number, what: string): Promise<void> => eventually(condition, timeoutMs, what, 100);
  /** A push by the peer's key, with its Inner addressing, as the fleet WireGuard tests publish them. */
  const pushToPeer = (tag: string): SourcedEntry => ({
    Data: Buffer.from(tag).toString('base64'),
    Remote: { Address: peer.clientAddress, Port: peer.listenPort, PeerKey: peer.publicKey },
    Inner: peer.innerFromGateway(),
  });
  /** What the peer's tunnel agent received of `tag`. */
  const tunnelled = (tag: string): string[] => peer.received.filter((d) => text(d.data) === tag).map((d) => text(d.data));
  /** Waits for the push `tag` inside the tunnel, then checks it arrived once, from the gateway's tunnel address, the outer datagram from the anycast address. */
  const expectInTunnel = async (tag: string): Promise<void> => {
    await waitFor(() => tunnelled(tag).length > 0 || failures().length > 0, 30_000, `the push ${tag} inside the peer's tunnel`);
    expect(failures()).toEqual([]);
    const datagram = peer.received.find((d) => text(d.data) === tag)!;
    expect(`${datagram.fromAddress}:${datagram.fromPort}`).toBe(`${GATEWAY_TUNNEL_ADDRESS}:9999`);
    expect(peer.gatewayEndpoint()).toBe(`${lab.anycastAddress}:${WG_LISTENER.port}`);
    // a duplicate would arrive within moments: give it the time before counting
    await new Promise((done) => setTimeout(done, 1_000));
    expect(tunnelled(tag)).toEqual([tag]);
  };
  /** The load balancer flows of the peer in a region's fleet. */
  const peerFlows = (fleet: Fleet): unknown[] =>
    fleet.owners().filter((o) => o.port === WG_LISTENER.port && o.clientAddress === peer.clientAddress && o.clientPort === peer.listenPort);
  /** The region named by a region's directory item of the peer's session (scanned until it is there). */
  const peerItemRegion = async (fleet: Fleet): Promise<string | undefined> => {
    const { peerItems } = await directoryWithPeers(fleet, WG_LISTENER.name, 1);
    expect(peerItems.map((i) => i.pk.S)).toEqual([`peer#${WG_LISTENER.name}#${peer.publicKey}`]);
    return peerItems[0][OWNER_REGION_ATTRIBUTE]?.S;
  };

  test('a client nearest region A lands there; a push published in region B without EgressRegion is forwarded to A and arrives from the anycast address', async () => {
    await hello('in');
    expectFromAnycast(received('in'));
    // region A's load balancer holds every client flow; region B's none
    const ports = new Set(clients.ports);
    expect(fleetA.owners().filter((f) => f.clientAddress === lab.clientAddress(A) && ports.has(f.clientPort))).toHaveLength(CLIENTS);
    expect(fleetB.owners().filter((f) => f.clientAddress === lab.clientAddress(A))).toHaveLength(0);
    // region A delivered the datagrams with the client's own address (preserved through both
    // stand-ins) and names itself the ingress region
    const ingress = await fleetA.drainIngress((got) => got.length >= CLIENTS, 30_000);
    expect(ingress).toHaveLength(CLIENTS);
    for (const p of ingress) {
      expect(p.Remote.IpAddress).toBe(lab.clientAddress(A));
      expect(p.IngressRegion).toBe(A);
    }
    // the directory of region B names region A as the owner (the replication stand-in)
    await waitOwnedIn(B, A);

    for (let i = 0; i < CLIENTS; i++) await fleetB.publish([push('fwd', i)]);
    await clients.waitFor(() => sockets('fwd').size === CLIENTS, 30_000, `the forwarded push at each of the ${CLIENTS} clients`);
    // a duplicate would arrive within moments: give it the time before counting
    await new Promise((done) => setTimeout(done, 1_000));
    expect(received('fwd')).toHaveLength(CLIENTS);
    expect(sockets('fwd').size).toBe(CLIENTS);
    expectFromAnycast(received('fwd'));
    // region B forwarded every entry to region A
    await waitForwarded(B, CLIENTS);
    expect(lab.forwardedToRegion(B)).toBe(CLIENTS);
    expect(lab.forwardedToRegion(A)).toBe(0);
    expect(failures()).toEqual([]);
  }, 90_000);

  test('a push published in region B with EgressRegion naming A goes straight to A and arrives from the anycast address', async () => {
    const forwardedBefore = lab.forwardedToRegion(B);
    const skippedBefore = lab.metricTotal(B, MetricName.SourcedSkipped);
    const egressA = { EgressRegion: { DataType: 'String', StringValue: A } };
    for (let i = 0; i < CLIENTS; i++) await fleetB.publish([push('straight', i)], egressA);
    await clients.waitFor(() => sockets('straight').size === CLIENTS, 30_000, `the push naming ${A} at each of the ${CLIENTS} clients`);
    await new Promise((done) => setTimeout(done, 1_000));
    expect(received('straight')).toHaveLength(CLIENTS);
    expectFromAnycast(received('straight'));
    // not forwarded by a member: region A's gateway took it from its own subscription. Region B
    // (the topic's home, subscribed without a filter) got every push too, and skips a message that
    // names another region instead of forwarding it: once B's flushed metrics count a skip for
    // every push, B has handled them all, so a forward would have replaced one of those skips.
    await waitMetric(B, MetricName.SourcedSkipped, skippedBefore + CLIENTS, `region B's handling of the ${CLIENTS} pushes naming ${A}`);
    expect(lab.forwardedToRegion(B)).toBe(forwardedBefore);
    expect(failures()).toEqual([]);
  }, 60_000);

  test('a WireGuard peer nearest region A: its handshake and keepalives through the anycast address land on a task of region A, which holds its session', async () => {
    await waitFor(() => peer.latestHandshake() > 0, 20_000, 'the peer\'s first handshake');
    // the gateway answered from the anycast address and the WireGuard port
    expect(peer.gatewayEndpoint()).toBe(`${lab.anycastAddress}:${WG_LISTENER.port}`);
    // its flow is held by region A's load balancer (its keepalives keep it there), none in region B
    await new Promise((done) => setTimeout(done, KEEPALIVE_SECONDS * 1000));
    expect(peerFlows(fleetA)).toHaveLength(1);
    expect(peerFlows(fleetB)).toHaveLength(0);
    // region A's directory records the session in A with the peer's address after the NAT; region
    // B's (replicated) names A too
    const { peerItems } = await directoryWithPeers(fleetA, WG_LISTENER.name, 1);
    expect(peerItems.map((i) => i.pk.S)).toEqual([`peer#${WG_LISTENER.name}#${peer.publicKey}`]);
    expect(peerItems[0].endpoint.S).toBe(`${peer.clientAddress}:${peer.listenPort}`);
    expect(peerItems[0][OWNER_REGION_ATTRIBUTE]?.S).toBe(A);
    await lab.replicated();
    expect(await peerItemRegion(fleetB)).toBe(A);
    expect(failures()).toEqual([]);
  }, 40_000);

  test('a push by PeerKey published in region B without EgressRegion is forwarded to A and arrives inside the peer\'s tunnel from the anycast address', async () => {
    const forwardedBefore = lab.forwardedToRegion(B);
    const forwardedByABefore = lab.forwardedToRegion(A);
    await fleetB.publish([pushToPeer('wg-forwarded')], undefined, fleetB.wireGuardTopicArn);
    await expectInTunnel('wg-forwarded');
    await waitForwarded(B, forwardedBefore + 1);
    expect(lab.forwardedToRegion(B)).toBe(forwardedBefore + 1);
    expect(lab.forwardedToRegion(A)).toBe(forwardedByABefore);
  }, 40_000);

  test('a push by PeerKey published in region B with EgressRegion naming A goes straight to A and arrives inside the peer\'s tunnel', async () => {
    const forwardedBefore = lab.forwardedToRegion(B);
    const skippedBefore = lab.metricTotal(B, MetricName.SourcedSkipped);
    await fleetB.publish([pushToPeer('wg-straight')], { EgressRegion: { DataType: 'String', StringValue: A } }, fleetB.wireGuardTopicArn);
    await expectInTunnel('wg-straight');
    // region B skipped it (it names A) rather than forwarding it
    await waitMetric(B, MetricName.SourcedSkipped, skippedBefore + 1, `region B's handling of the push naming ${A}`);
    expect(lab.forwardedToRegion(B)).toBe(forwardedBefore);
    // quiet until region A is gone: region B then sees the peer again first in the last test
    peer.setKeepalive(0);
  }, 40_000);

  test('region A stopped: the accelerator sends the client to region B, B owns the flows, and pushes published in B arrive from the anycast address', async () => {
    await lab.stopRegion(A);
    await lab.waitRegionHealth(A, false, 15_000);
    expect(lab.accelerator.isHealthy(B)).toBe(true);

    // the client's next datagram lands in region B
    await hello('moved');
    expectFromAnycast(received('moved'));
    const ports = new Set(clients.ports);
    expect(fleetB.owners().filter((f) => f.clientAddress === lab.clientAddress(A) && ports.has(f.clientPort))).toHaveLength(CLIENTS);
    await waitOwnedIn(B, B);
    const ingress = await fleetB.drainIngress((got) => got.length >= CLIENTS, 30_000);
    expect(ingress).toHaveLength(CLIENTS);
    for (const p of ingress) {
      expect(p.Remote.IpAddress).toBe(lab.clientAddress(A));
      expect(p.IngressRegion).toBe(B);
    }

    for (let i = 0; i < CLIENTS; i++) await fleetB.publish([push('resumed', i)]);
    await clients.waitFor(() => sockets('resumed').size === CLIENTS, 30_000, `the push after the failover at each of the ${CLIENTS} clients`);
    await new Promise((done) => setTimeout(done, 1_000));
    expect(received('resumed')).toHaveLength(CLIENTS);
    expectFromAnycast(received('resumed'));
    expect(fleetB.logs().filter((r) => r.message === FAILURE_LOG_MESSAGE)).toEqual([]);
  }, 90_000);

  test('region A stopped: the WireGuard peer\'s next keepalive reaches region B, whose task initiates a handshake with the same key, and a push published in B arrives in the tunnel', async () => {
    expect(lab.accelerator.isHealthy(A)).toBe(false);
    const failedBefore = fleetB.logs().filter((r) => r.message === FAILURE_LOG_MESSAGE).length;
    // wg reports handshake times in whole seconds: let the latest one be a second old
    const before = peer.latestHandshake();
    await new Promise((done) => setTimeout(done, Math.max(0, before + 1_100 - Date.now())));
    peer.setKeepalive(KEEPALIVE_SECONDS);
    const resumedAt = Date.now();
    await waitFor(() => peer.latestHandshake() > before, 20_000, 'a new handshake of the peer with region B');
    // region B's task initiated on the peer's first keepalive, well before the peer's own rekey
    expect(Date.now() - resumedAt).toBeLessThan(5 * KEEPALIVE_SECONDS * 1000);
    expect(peerFlows(fleetB)).toHaveLength(1);
    await waitFor(() => peer.gatewayEndpoint() === `${lab.anycastAddress}:${WG_LISTENER.port}`, 1_000, 'the handshake from the anycast address');
    // pushes follow the ownership: until region B's claim is in the directory, a push may still be
    // forwarded to region A's queue (docs/FLEET.md, "Regional failure")
    const deadline = Date.now() + 5_000;
    while ((await peerItemRegion(fleetB)) !== B && Date.now() < deadline) await new Promise((done) => setTimeout(done, 200));
    expect(await peerItemRegion(fleetB)).toBe(B);
    const forwardedBefore = lab.forwardedToRegion(B);
    await fleetB.publish([pushToPeer('wg-moved')], undefined, fleetB.wireGuardTopicArn);
    await waitFor(() => tunnelled('wg-moved').length > 0, 30_000, 'the push wg-moved inside the peer\'s tunnel');
    await new Promise((done) => setTimeout(done, 1_000));
    expect(tunnelled('wg-moved')).toEqual(['wg-moved']);
    expect(peer.gatewayEndpoint()).toBe(`${lab.anycastAddress}:${WG_LISTENER.port}`);
    // held in B now: not forwarded, and B's directory still names B
    expect(lab.forwardedToRegion(B)).toBe(forwardedBefore);
    expect(await peerItemRegion(fleetB)).toBe(B);
    // until its handshake, region B refused the peer's keepalive as NoSession, nothing else
    const failed = fleetB.logs().filter((r) => r.message === FAILURE_LOG_MESSAGE).slice(failedBefore);
    expect(new Set(failed.map((r) => r.code))).toEqual(new Set(failed.length > 0 ? ['NoSession'] : []));
  }, 40_000);
});
