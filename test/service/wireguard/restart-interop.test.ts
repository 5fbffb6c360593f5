/**
 * A real wireguard-go peer that only sends persistent keepalives, and a gateway process (AWS mode,
 * with its fleet directory on dynalite, behind the lab's load-balancer stand-in) that is killed and
 * started again at the same address: the restarted process knows no session, finds the peer of the
 * keepalive's source in the directory and initiates the handshake itself, so the session is back
 * within a couple of keepalives instead of the peer's own rekey (up to 120 s), and a sourced push
 * by PeerKey reaches the peer's tunnel interface.
 *
 * Needs Linux, root, iproute2, nftables, conntrack, wireguard-go, wg and /dev/net/tun; skipped
 * (with the reason printed) when one is missing, except where PACKET_GATEWAY_REQUIRE_INTEROP=1 or
 * PACKET_GATEWAY_REQUIRE_FLEET=1 (CI), where that is a failure.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Fleet, startFleet, WireGuardPeer } from '../../../scripts/fleet/lab';
import { labUnavailable } from '../../../scripts/fleet/network';
import { wireGuardPeersUnavailable } from '../../../scripts/fleet/wireguard-peers';
import { FAILURE_LOG_MESSAGE } from '../../../service/observability/failure-reporter';
import { HANDSHAKE_INITIATED_LOG_MESSAGE } from '../../../service/wireguard/wg-listener';
import { labSuite } from '../../support/lab-requirement';

const KEEPALIVE_SECONDS = 2;

const { describe: describeInterop, skipReason } = labSuite('WireGuard restart interop test', labUnavailable() ?? wireGuardPeersUnavailable(), ['PACKET_GATEWAY_REQUIRE_INTEROP', 'PACKET_GATEWAY_REQUIRE_FLEET']);

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((done) => setTimeout(done, 50));
  }
}

describeInterop(`a keepalive-only wireguard-go peer and a restarted gateway process${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let fleet: Fleet;
  let peer: WireGuardPeer;

  const push = (text: string): Promise<string> => fleet.publish([{
    Data: Buffer.from(text).toString('base64'),
    Remote: { Address: fleet.clientAddress, Port: peer.listenPort, PeerKey: peer.publicKey },
    Inner: peer.innerFromGateway(),
  }], undefined, fleet.wireGuardTopicArn);
  const texts = (): string[] => peer.received.map((d) => d.data.toString());

  beforeAll(async () => {
    const bundled = existsSync(join(__dirname, '..', '..', '..', 'assets', 'service', 'index.js'));
    fleet = await startFleet({ tasks: 1, service: bundled ? 'bundle' : 'source', logLevel: 'DEBUG' });
    peer = await fleet.wireGuardPeer(1, { keepaliveSeconds: KEEPALIVE_SECONDS });
    await waitFor(() => peer.latestHandshake() > 0, 15_000, 'the peer\'s first handshake');
  }, 90_000);

  afterAll(async () => {
    await fleet?.stop();
  }, 60_000);

  test('killed and started again, the gateway re-establishes the session within a couple of keepalives; a push by PeerKey then reaches the tunnel', async () => {
    await push('before');
    await waitFor(() => texts().includes('before'), 15_000, 'the first push at the peer');

    // wg reports handshake times in whole seconds: let the first one be a second old
    const first = peer.latestHandshake();
    await new Promise((done) => setTimeout(done, Math.max(0, first + 1_100 - Date.now())));
    expect(await fleet.stopTask(1, 'SIGKILL')).toBe('SIGKILL');
    await fleet.startTask(1);
    const restartedAt = Date.now();
    const renewed = (): boolean => peer.latestHandshake() > first;
    await waitFor(renewed, 30_000, 'a new handshake after the restart');
    const tookMs = Date.now() - restartedAt;
    // a keepalive reaches the new process within KEEPALIVE_SECONDS; the handshake takes one round trip
    expect(tookMs).toBeLessThan(3 * KEEPALIVE_SECONDS * 1000 + 1_000);
    // the process's log lines reach this one through a pipe, maybe after wg shows the handshake
    const initiated = (): unknown[] => fleet.logs(1).filter((r) => r.message === HANDSHAKE_INITIATED_LOG_MESSAGE).map((r) => r.peerKey);
    await waitFor(() => initiated().length > 0, 5_000, 'the log line of the initiation');
    expect(initiated()).toEqual([peer.publicKey]);

    await push('after');
    // a long poll the killed process left open may have taken the message: SQS gives it again
    // after the delivery queue's visibility timeout (30 s)
    await waitFor(() => texts().includes('after'), 45_000, 'the push after the restart at the peer');
    expect(texts()).toEqual(['before', 'after']);
    // the only refusals are the keepalives that arrived before the new session
    const failures = fleet.logs(1).filter((r) => r.message === FAILURE_LOG_MESSAGE);
    expect(new Set(failures.map((r) => r.code))).toEqual(new Set(failures.length > 0 ? ['NoSession'] : []));
  }, 90_000);
});
