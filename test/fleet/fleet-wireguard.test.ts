/**
 * WireGuard across a fleet of three gateway tasks behind the load-balancer stand-in: real
 * wireguard-go peers (keepalive-only, each in a namespace of its own behind the lab's client NAT)
 * land on different tasks; pushes by PeerKey, consumed by whichever task, reach every peer inside
 * its tunnel; a task restarted gets its peers' sessions back by initiating the handshakes itself
 * (docs/FLEET.md "WireGuard across members"), within a few keepalives rather than the peers' own
 * 120 s rekey, and pushes resume.
 *
 * Needs Linux, root, iproute2, nftables, conntrack, wireguard-go, wg and /dev/net/tun; skipped
 * (with the reason printed) when one is missing, except where PACKET_GATEWAY_REQUIRE_FLEET=1 or
 * PACKET_GATEWAY_REQUIRE_INTEROP=1 (CI), where that is a failure.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Fleet, startFleet, TaskLogRecord, WG_LISTENER, WireGuardPeer } from '../../scripts/fleet/lab';
import { labUnavailable } from '../../scripts/fleet/network';
import { GATEWAY_TUNNEL_ADDRESS, wireGuardPeersUnavailable } from '../../scripts/fleet/wireguard-peers';
import { FAILURE_LOG_MESSAGE } from '../../service/observability/failure-reporter';
import { HANDSHAKE_INITIATED_LOG_MESSAGE } from '../../service/wireguard/wg-listener';
import { directoryWithPeers } from '../support/fleet-directory';
import { labSuite } from '../support/lab-requirement';

const TASKS = 3;
/** Peers started first; more are added (up to MAX_PEERS) until every task holds one. */
const FIRST_PEERS = 6;
const MAX_PEERS = 14;
const KEEPALIVE_SECONDS = 2;

const { describe: describeFleet, skipReason } = labSuite('fleet WireGuard test', labUnavailable() ?? wireGuardPeersUnavailable(), ['PACKET_GATEWAY_REQUIRE_FLEET', 'PACKET_GATEWAY_REQUIRE_INTEROP']);

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((done) => setTimeout(done, 100));
  }
}

describeFleet(`WireGuard peers on a fleet of ${TASKS} tasks${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let fleet: Fleet;
  const peers: WireGuardPeer[] = [];
  /** Task (1-based) whose flow each peer's datagrams land on, by peer index. */
  const taskOf = new Map<number, number>();

  const pushes = (peer: WireGuardPeer, tag: string): string[] =>
    peer.received.filter((d) => d.data.toString().startsWith(`${tag}#`)).map((d) => d.data.toString());
  const failures = (task?: number): TaskLogRecord[] => fleet.logs(task).filter((r) => r.message === FAILURE_LOG_MESSAGE);
  const pushToEveryPeer = async (tag: string): Promise<void> => {
    for (const peer of peers) {
      await fleet.publish([{
        Data: Buffer.from(`${tag}#${peer.index}`).toString('base64'),
        Remote: { Address: fleet.clientAddress, Port: peer.listenPort, PeerKey: peer.publicKey },
        Inner: peer.innerFromGateway(),
      }], undefined, fleet.wireGuardTopicArn);
    }
  };
  /** Reads which task owns each peer's flow from the load balancer's conntrack table. */
  const readOwners = (): void => {
    for (const owner of fleet.owners()) {
      if (owner.port !== WG_LISTENER.port || owner.clientAddress !== fleet.clientAddress) continue;
      const peer = peers.find((p) => p.listenPort === owner.clientPort);
      if (peer) taskOf.set(peer.index, owner.task);
    }
  };

  beforeAll(async () => {
    const bundled = existsSync(join(__dirname, '..', '..', 'assets', 'service', 'index.js'));
    fleet = await startFleet({ tasks: TASKS, service: bundled ? 'bundle' : 'source', logLevel: 'DEBUG' });
    for (let i = 1; i <= FIRST_PEERS; i++) peers.push(await fleet.wireGuardPeer(i, { keepaliveSeconds: KEEPALIVE_SECONDS }));
    // the flow hash decides where each peer lands: add peers until every task holds at least one
    for (;;) {
      await waitFor(() => peers.every((p) => p.latestHandshake() > 0), 20_000, 'a handshake of every peer');
      readOwners();
      const covered = new Set(taskOf.values());
      if (covered.size === TASKS || peers.length >= MAX_PEERS) break;
      peers.push(await fleet.wireGuardPeer(peers.length + 1, { keepaliveSeconds: KEEPALIVE_SECONDS }));
    }
  }, 90_000);

  afterAll(async () => {
    await fleet?.stop();
  }, 60_000);

  test('peers land on every task; each session is recorded in a peer item and each flow names its peer', async () => {
    expect(taskOf.size).toBe(peers.length);
    expect(new Set(taskOf.values()).size).toBe(TASKS);
    // NAT keeps each peer's port, so the load balancer sees one flow per peer
    expect(fleet.owners().filter((o) => o.port === WG_LISTENER.port)).toHaveLength(peers.length);

    const { items, peerItems } = await directoryWithPeers(fleet, WG_LISTENER.name, peers.length);
    expect(peerItems.map((i) => i.pk.S).sort()).toEqual(peers.map((p) => `peer#${WG_LISTENER.name}#${p.publicKey}`).sort());
    for (const peer of peers) {
      const item = peerItems.find((i) => i.pk.S === `peer#${WG_LISTENER.name}#${peer.publicKey}`)!;
      expect(item.endpoint.S).toBe(`${fleet.clientAddress}:${peer.listenPort}`);
      const flow = items.find((i) => i.pk.S === `flow#${WG_LISTENER.name}#${fleet.clientAddress}#${peer.listenPort}`);
      expect(flow?.peerKey.S).toBe(peer.publicKey);
    }
    // one member item per task; the peer items name members of the fleet
    const members = new Set(items.filter((i) => i.pk.S!.startsWith('member#')).map((i) => i.pk.S!.slice('member#'.length)));
    expect(members.size).toBe(TASKS);
    for (const item of peerItems) expect(members.has(item.member.S!)).toBe(true);
  });

  test('a push by PeerKey to every peer arrives inside its tunnel, from the gateway\'s tunnel address, once', async () => {
    await pushToEveryPeer('first');
    await waitFor(() => peers.every((p) => pushes(p, 'first').length > 0) || failures().length > 0, 30_000, 'a push at every peer');
    expect(failures()).toEqual([]);
    for (const peer of peers) {
      expect(pushes(peer, 'first')).toEqual([`first#${peer.index}`]);
      const datagram = peer.received.find((d) => d.data.toString() === `first#${peer.index}`)!;
      expect(`${datagram.fromAddress}:${datagram.fromPort}`).toBe(`${GATEWAY_TUNNEL_ADDRESS}:9999`);
    }
    expect(peers.reduce((n, p) => n + pushes(p, 'first').length, 0)).toBe(peers.length);
  }, 60_000);

  test('a task restarted: its peers get a handshake from a task within a few keepalives, and pushes by PeerKey reach every peer again', async () => {
    const counts = new Map<number, number>();
    for (const task of taskOf.values()) counts.set(task, (counts.get(task) ?? 0) + 1);
    const task = [...counts.entries()].sort((a, b) => b[1] - a[1])[0][0];
    const moved = peers.filter((p) => taskOf.get(p.index) === task);
    expect(moved.length).toBeGreaterThan(0);

    // wg reports handshake times in whole seconds: let the latest ones be a second old
    const before = new Map(peers.map((p) => [p.index, p.latestHandshake()]));
    await new Promise((done) => setTimeout(done, Math.max(0, Math.max(...before.values()) + 1_100 - Date.now())));
    expect(await fleet.stopTask(task, 'SIGTERM')).toBe(0);
    await fleet.startTask(task);
    const restartedAt = Date.now();
    const renewed = (p: WireGuardPeer): boolean => p.latestHandshake() > before.get(p.index)!;
    await waitFor(() => moved.every(renewed), 20_000, `a new handshake of each of the ${moved.length} peers of task ${task}`);
    const tookMs = Date.now() - restartedAt;
    // the peers' own rekey would take up to 120 s: the task initiated, within a few keepalives
    expect(tookMs).toBeLessThan(5 * KEEPALIVE_SECONDS * 1000);
    // the task's log lines reach this process through a pipe, maybe after wg shows the handshakes.
    // The restarted task initiates; on a slow machine a peer's keepalive may first reach another
    // task (the balancer moved the flow while the task was down), and that task initiates instead.
    const initiated = (): unknown[] => fleet.logs().filter((r) => r.message === HANDSHAKE_INITIATED_LOG_MESSAGE).map((r) => r.peerKey);
    await waitFor(() => initiated().length >= moved.length, 5_000, 'the log lines of the initiations');
    expect(new Set(initiated())).toEqual(new Set(moved.map((p) => p.publicKey)));
    // the other tasks' peers kept their sessions
    for (const peer of peers.filter((p) => !moved.includes(p))) expect(renewed(peer)).toBe(false);

    const failedBefore = failures().length;
    await pushToEveryPeer('again');
    // a long poll the stopped task left open may still take a message: SQS gives it again after the
    // delivery queue's visibility timeout (30 s)
    await waitFor(() => peers.every((p) => pushes(p, 'again').length > 0), 45_000, 'a push at every peer after the restart');
    for (const peer of peers) expect(pushes(peer, 'again')).toEqual([`again#${peer.index}`]);
    expect(peers.reduce((n, p) => n + pushes(p, 'again').length, 0)).toBe(peers.length);
    expect(failures().slice(failedBefore)).toEqual([]);
    // while the sessions were down, the restarted task refused the peers' keepalives as NoSession, nothing else
    expect(new Set(failures(task).map((r) => r.code))).toEqual(new Set(failures(task).length > 0 ? ['NoSession'] : []));
  }, 90_000);
});
