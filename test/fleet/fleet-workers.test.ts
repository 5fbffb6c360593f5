/**
 * WireGuard on a fleet of two tasks with two data-plane workers each (PACKET_GATEWAY_WORKERS=2):
 * real wireguard-go peers land on the tasks' main threads and worker threads; every session, also
 * a worker thread's, is recorded in a peer item naming its task and a flow item naming its peer,
 * and pushes by PeerKey, consumed by whichever task, reach every peer inside its tunnel, once.
 *
 * Needs what test/fleet/fleet-wireguard.test.ts needs, and Node.js 22.12 or later (dgram
 * `reusePort`; CI runs the lab on Node 22); skipped with the reason printed otherwise, except
 * that a missing lab prerequisite fails where PACKET_GATEWAY_REQUIRE_FLEET=1 or
 * PACKET_GATEWAY_REQUIRE_INTEROP=1 (CI).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Fleet, startFleet, TaskLogRecord, WG_LISTENER, WireGuardPeer } from '../../scripts/fleet/lab';
import { labUnavailable } from '../../scripts/fleet/network';
import { wireGuardPeersUnavailable } from '../../scripts/fleet/wireguard-peers';
import { FAILURE_LOG_MESSAGE } from '../../service/observability/failure-reporter';
import { HANDSHAKE_COMPLETED_LOG_MESSAGE } from '../../service/wireguard/wg-listener';
import { dgramHasReusePort } from '../../service/workers/worker-count';
import { directoryWithPeers } from '../support/fleet-directory';
import { labSuite } from '../support/lab-requirement';

const TASKS = 2;
const WORKERS = 2;
/** Peers started first; more are added (up to MAX_PEERS) until peers hold sessions on main threads and on worker threads. */
const FIRST_PEERS = 6;
const MAX_PEERS = 14;
const KEEPALIVE_SECONDS = 2;

const { describe: describeFleet, skipReason } = labSuite(
  'fleet workers test', labUnavailable() ?? wireGuardPeersUnavailable(), ['PACKET_GATEWAY_REQUIRE_FLEET', 'PACKET_GATEWAY_REQUIRE_INTEROP'],
  dgramHasReusePort() ? undefined : `dgram has no reusePort on Node.js ${process.versions.node} (before 22.12): a task runs one worker; CI runs it on Node 22`,
);

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((done) => setTimeout(done, 100));
  }
}

describeFleet(`WireGuard peers on ${TASKS} tasks of ${WORKERS} workers${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let fleet: Fleet;
  const peers: WireGuardPeer[] = [];

  /** The thread each peer's latest handshake completed on: `t<task>/w<worker>` (w0: the main thread). */
  const threadOf = (peer: WireGuardPeer): string | undefined => {
    const record = fleet.logs().filter((r) => r.message === HANDSHAKE_COMPLETED_LOG_MESSAGE && r.peerKey === peer.publicKey).pop();
    return record && `t${record.task}/w${typeof record.worker === 'number' ? record.worker : 0}`;
  };
  const failures = (): TaskLogRecord[] => fleet.logs().filter((r) => r.message === FAILURE_LOG_MESSAGE);
  const pushes = (peer: WireGuardPeer, tag: string): string[] =>
    peer.received.filter((d) => d.data.toString().startsWith(`${tag}#`)).map((d) => d.data.toString());

  beforeAll(async () => {
    const bundled = existsSync(join(__dirname, '..', '..', 'assets', 'service', 'index.js'));
    fleet = await startFleet({ tasks: TASKS, workers: WORKERS, service: bundled ? 'bundle' : 'source', logLevel: 'DEBUG' });
    for (let i = 1; i <= FIRST_PEERS; i++) peers.push(await fleet.wireGuardPeer(i, { keepaliveSeconds: KEEPALIVE_SECONDS }));
    // the flow hashes decide where each peer lands: add peers until main threads and worker threads hold some
    for (;;) {
      await waitFor(() => peers.every((p) => p.latestHandshake() > 0 && threadOf(p) !== undefined), 20_000, 'a handshake of every peer');
      const threads = new Set(peers.map(threadOf));
      const onWorkerThreads = [...threads].some((t) => !t!.endsWith('/w0'));
      const onMainThreads = [...threads].some((t) => t!.endsWith('/w0'));
      if ((onWorkerThreads && onMainThreads) || peers.length >= MAX_PEERS) break;
      peers.push(await fleet.wireGuardPeer(peers.length + 1, { keepaliveSeconds: KEEPALIVE_SECONDS }));
    }
  }, 120_000);

  afterAll(async () => {
    await fleet?.stop();
  }, 60_000);

  test('peers land on main threads and on worker threads; every session is in a peer item and every flow item names its peer', async () => {
    const threads = peers.map(threadOf);
    expect(threads.some((t) => t!.endsWith('/w0'))).toBe(true);
    expect(threads.some((t) => !t!.endsWith('/w0'))).toBe(true);

    const { items, peerItems } = await directoryWithPeers(fleet, WG_LISTENER.name, peers.length);
    expect(peerItems.map((i) => i.pk.S).sort()).toEqual(peers.map((p) => `peer#${WG_LISTENER.name}#${p.publicKey}`).sort());
    const members = new Map(items.filter((i) => i.pk.S!.startsWith('member#')).map((i) => [i.pk.S!.slice('member#'.length), i]));
    expect(members.size).toBe(TASKS);
    for (const peer of peers) {
      const item = peerItems.find((i) => i.pk.S === `peer#${WG_LISTENER.name}#${peer.publicKey}`)!;
      expect(item.endpoint.S).toBe(`${fleet.clientAddress}:${peer.listenPort}`);
      expect(members.has(item.member.S!)).toBe(true);
      const flow = items.find((i) => i.pk.S === `flow#${WG_LISTENER.name}#${fleet.clientAddress}#${peer.listenPort}`);
      expect(flow?.peerKey.S).toBe(peer.publicKey);
    }
  });

  test('a push by PeerKey to every peer arrives inside its tunnel once, whichever thread of which task holds its session', async () => {
    for (const peer of peers) {
      await fleet.publish([{
        Data: Buffer.from(`push#${peer.index}`).toString('base64'),
        Remote: { Address: fleet.clientAddress, Port: peer.listenPort, PeerKey: peer.publicKey },
        Inner: peer.innerFromGateway(),
      }], undefined, fleet.wireGuardTopicArn);
    }
    await waitFor(() => peers.every((p) => pushes(p, 'push').length > 0) || failures().length > 0, 30_000, 'a push at every peer');
    // a duplicate would arrive within moments: give it the time before counting
    await new Promise((done) => setTimeout(done, 1_000));
    expect(failures()).toEqual([]);
    for (const peer of peers) expect(pushes(peer, 'push')).toEqual([`push#${peer.index}`]);
  }, 60_000);
});
