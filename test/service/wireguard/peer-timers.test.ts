/**
 * The protocol timers of each peer: driven through PeerTimers' named events on their own, and
 * between two devices by a hand-moved clock (no test waits for real time). One device schedules a
 * single clock timer for all its peers.
 */
import { B_ADDRESS, B_PORT, CLIENT_TO_GATEWAY, devicePair, DevicePair, ManualClock, RecordingOutput, standalonePeer, Wire } from './helpers';
import { WireGuardDevice } from '../../../service/wireguard/device';
import { generatePrivateKey, publicKeyOf } from '../../../service/wireguard/keys';
import { messageType, MESSAGE_INITIATION, MESSAGE_TRANSPORT } from '../../../service/wireguard/messages';
import type { Peer } from '../../../service/wireguard/peer';
import { PeerTimerActions, PeerTimers } from '../../../service/wireguard/peer-timers';
import { DEFAULT_TIMERS } from '../../../service/wireguard/timers';

const initiations = (wires: Wire[]): Wire[] => wires.filter((w) => messageType(w.data) === MESSAGE_INITIATION);
const keepalives = (wires: Wire[]): Wire[] => wires.filter((w) => messageType(w.data) === MESSAGE_TRANSPORT && w.data.length === 32);

function clientSends(pair: DevicePair, text: string): void {
  pair.b.send(pair.aKey, Buffer.from(text), CLIENT_TO_GATEWAY);
  pair.pump();
}

/** PeerTimers on a manual clock with jitter 0.5, recording each action as `name@ms since start`. */
interface RecordingTimers {
  readonly clock: ManualClock;
  readonly timers: PeerTimers;
  readonly calls: string[];
  readonly active: Set<Peer>;
  readonly elapsed: () => number;
}

function recordingTimers(overrides: Partial<PeerTimerActions> = {}): RecordingTimers {
  const clock = new ManualClock();
  const start = clock.now();
  const calls: string[] = [];
  const active = new Set<Peer>();
  const record = (name: string, peer: Peer): void => {
    calls.push(`${name}:${peer.publicKey.slice(0, 4)}@${clock.now() - start}`);
  };
  const actions: PeerTimerActions = {
    isActive: (peer) => active.has(peer),
    retryHandshake: (peer) => {
      record('retry', peer);
      return false;
    },
    handshakeAttemptsExhausted: (peer) => record('exhausted', peer),
    sendKeepalive: (peer) => record('keepalive', peer),
    startHandshake: (peer) => record('newHandshake', peer),
    expireQueued: (peer) => record('expire', peer),
    zeroKeys: (peer) => record('zeroKeys', peer),
    ...overrides,
  };
  const timers = new PeerTimers(DEFAULT_TIMERS, clock, () => 0.5, actions);
  return { clock, timers, calls, active, elapsed: () => clock.now() - start };
}

const tag = (peer: Peer): string => peer.publicKey.slice(0, 4);

describe('PeerTimers events', () => {
  test('dataReceived owes a keepalive after Keepalive-Timeout; anything sent in between cancels it', () => {
    const { clock, timers, calls, active } = recordingTimers();
    const peer = standalonePeer();
    active.add(peer);
    timers.dataReceived(peer, clock.now());
    clock.advance(9_999);
    expect(calls).toEqual([]);
    clock.advance(1);
    expect(calls).toEqual([`keepalive:${tag(peer)}@10000`]);
    timers.dataReceived(peer, clock.now());
    timers.anyAuthenticatedPacketSent(peer);
    clock.advance(20_000);
    expect(calls).toHaveLength(1);
    timers.close();
    expect(clock.pending).toBe(0);
  });

  test('data received again while a keepalive is owed earns one more keepalive a Keepalive-Timeout later', () => {
    const { clock, timers, calls, active } = recordingTimers();
    const peer = standalonePeer();
    active.add(peer);
    timers.dataReceived(peer, clock.now());
    timers.dataReceived(peer, clock.now());
    clock.advance(30_000);
    expect(calls).toEqual([`keepalive:${tag(peer)}@10000`, `keepalive:${tag(peer)}@20000`]);
    timers.close();
  });

  test('dataSent without an authenticated answer starts a new handshake after Keepalive-Timeout + Rekey-Timeout + jitter', () => {
    const { clock, timers, calls, active } = recordingTimers();
    const answered = standalonePeer();
    const silent = standalonePeer();
    active.add(answered).add(silent);
    timers.dataSent(answered, clock.now());
    timers.dataSent(silent, clock.now());
    clock.advance(1_000);
    timers.anyAuthenticatedPacketReceived(answered);
    // A second dataSent does not push the deadline back.
    timers.dataSent(silent, clock.now());
    clock.advance(20_000);
    expect(calls).toEqual([`newHandshake:${tag(silent)}@15167`]);
    timers.close();
  });

  test('handshakeInitiated retries after Rekey-Timeout + jitter until Rekey-Attempt-Time, then gives up once', () => {
    let timers!: PeerTimers;
    const setup = recordingTimers({
      retryHandshake: (peer) => {
        setup.calls.push(`retry@${setup.elapsed()}`);
        timers.handshakeInitiated(peer, setup.clock.now(), true);
        return true;
      },
    });
    timers = setup.timers;
    const peer = standalonePeer();
    setup.active.add(peer);
    timers.handshakeInitiated(peer, setup.clock.now(), false);
    setup.clock.advance(200_000);
    const retries = setup.calls.filter((c) => c.startsWith('retry'));
    expect(retries[0]).toBe('retry@5167');
    expect(retries).toHaveLength(17); // 17 × 5167 ms < 90 s ≤ 18 × 5167 ms
    expect(setup.calls.filter((c) => c.startsWith('exhausted'))).toEqual([`exhausted:${tag(peer)}@${18 * 5167}`]);
    expect(peer.attemptsStartedAt).toBe(-Infinity);
    // Giving up arms the erasure of the keys 3 × Reject-After-Time later.
    expect(peer.zeroKeysAt).toBe(setup.clock.now() - 200_000 + 18 * 5167 + 540_000);
    timers.close();
  });

  test('handshakeComplete stops the retries', () => {
    const { clock, timers, calls, active } = recordingTimers();
    const peer = standalonePeer();
    active.add(peer);
    timers.handshakeInitiated(peer, clock.now(), false);
    clock.advance(1_000);
    timers.handshakeComplete(peer);
    clock.advance(100_000);
    expect(calls).toEqual([]);
    timers.close();
  });

  test('sessionDerived erases the keys 3 × Reject-After-Time later; a later event does not lose the earlier deadline', () => {
    const { clock, timers, calls, active } = recordingTimers();
    const peer = standalonePeer();
    active.add(peer);
    timers.sessionDerived(peer, clock.now());
    // An earlier deadline replaces the peer's heap entry; the later one still fires afterwards.
    timers.dataReceived(peer, clock.now());
    clock.advance(600_000);
    expect(calls).toEqual([`keepalive:${tag(peer)}@10000`, `zeroKeys:${tag(peer)}@540000`]);
    timers.close();
  });

  test('packetQueued wakes the peer when the packet expires', () => {
    const { clock, timers, calls, active } = recordingTimers({
      expireQueued: (peer, now) => {
        calls.push(`expire:${tag(peer)}@${now - start}`);
        peer.queue.shift();
      },
    });
    const start = clock.now();
    const peer = standalonePeer();
    active.add(peer);
    const expiresAt = clock.now() + 3_000;
    peer.queue.push({ plaintext: Buffer.from('x'), done: undefined, expiresAt });
    timers.packetQueued(peer, expiresAt);
    clock.advance(2_999);
    expect(calls).toEqual([]);
    clock.advance(1);
    expect(calls).toEqual([`expire:${tag(peer)}@3000`]);
    timers.close();
  });
});

describe('PeerTimers scheduling', () => {
  test('one clock timer serves every peer, each at its own deadline', () => {
    const { clock, timers, calls, active } = recordingTimers();
    const peers = [standalonePeer(), standalonePeer(), standalonePeer()];
    for (const [i, peer] of peers.entries()) {
      active.add(peer);
      timers.dataReceived(peer, clock.now() + i * 1_000);
    }
    expect(clock.pending).toBe(1);
    clock.advance(15_000);
    expect(calls).toEqual(peers.map((p, i) => `keepalive:${tag(p)}@${10_000 + i * 1_000}`));
    timers.close();
    expect(clock.pending).toBe(0);
  });

  test('a stopped or inactive peer\'s deadline does nothing', () => {
    const { clock, timers, calls, active } = recordingTimers();
    const stopped = standalonePeer();
    const inactive = standalonePeer();
    active.add(stopped);
    timers.dataReceived(stopped, clock.now());
    timers.dataReceived(inactive, clock.now());
    timers.stop(stopped);
    clock.advance(20_000);
    expect(calls).toEqual([]);
    timers.close();
  });

  test('the heap holds one entry per peer with a pending deadline: deadlines moved earlier reuse it, a stopped peer takes it out', () => {
    const { clock, timers, calls, active } = recordingTimers();
    const peers = [standalonePeer(), standalonePeer(), standalonePeer()];
    for (const peer of peers) {
      active.add(peer);
      timers.sessionDerived(peer, clock.now());
      timers.dataSent(peer, clock.now());
      timers.dataReceived(peer, clock.now());
      timers.handshakeInitiated(peer, clock.now(), false);
    }
    expect(timers.pending).toBe(3);
    timers.stop(peers[1]);
    expect(timers.pending).toBe(2);
    // the earliest deadlines (retries at 5 s + jitter) still come, for the peers left
    clock.advance(6_000);
    expect(calls).toEqual([`retry:${tag(peers[0])}@5167`, `retry:${tag(peers[2])}@5167`]);
    expect(timers.pending).toBe(2);
    for (const peer of [peers[0], peers[2]]) timers.stop(peer);
    expect(timers.pending).toBe(0);
    timers.close();
  });

  test('a peer stopped in the middle of the heap leaves the others in deadline order', () => {
    const { clock, timers, calls, active } = recordingTimers();
    const peers = Array.from({ length: 12 }, () => standalonePeer());
    // keepalives owed at 10 s + 1..12 s, armed in a scrambled order
    for (const i of [5, 0, 11, 3, 8, 1, 10, 6, 2, 9, 4, 7]) {
      active.add(peers[i]);
      timers.dataReceived(peers[i], clock.now() + (i + 1) * 1_000);
    }
    for (const i of [4, 0, 9]) timers.stop(peers[i]);
    expect(timers.pending).toBe(9);
    clock.advance(30_000);
    const expected = peers.map((p, i) => [p, i] as const).filter(([, i]) => ![4, 0, 9].includes(i)).map(([p, i]) => `keepalive:${tag(p)}@${11_000 + i * 1_000}`);
    expect(calls).toEqual(expected);
    expect(timers.pending).toBe(0);
    timers.close();
  });

  test('when one peer\'s action throws, the other peers due at the same time keep their deadlines', () => {
    let thrown = false;
    const setup = recordingTimers({
      sendKeepalive: (peer) => {
        if (!thrown) {
          thrown = true;
          throw new Error('keepalive failed');
        }
        setup.calls.push(`keepalive:${tag(peer)}`);
      },
    });
    const peers = [standalonePeer(), standalonePeer(), standalonePeer()];
    for (const peer of peers) {
      setup.active.add(peer);
      setup.timers.dataReceived(peer, setup.clock.now());
    }
    expect(() => setup.clock.advance(10_000)).toThrow('keepalive failed');
    setup.clock.advance(0);
    expect(setup.calls).toHaveLength(2);
    setup.timers.close();
    expect(setup.clock.pending).toBe(0);
  });

  test('after close no event arms the clock', () => {
    const { clock, timers, active } = recordingTimers();
    const peer = standalonePeer();
    active.add(peer);
    timers.close();
    timers.dataReceived(peer, clock.now());
    timers.sessionDerived(peer, clock.now());
    expect(clock.pending).toBe(0);
  });
});

describe('protocol timers between two devices', () => {
  let pair: DevicePair;
  afterEach(() => {
    pair.a.close();
    pair.b.close();
    expect(pair.clock.pending).toBe(0);
  });

  test('Rekey-After-Time: the initiator rekeys when sending on keys older than 120 s, not before', () => {
    pair = devicePair();
    clientSends(pair, 'start');
    pair.clock.advance(119_000);
    clientSends(pair, 'at 119 s');
    expect(initiations(pair.bOut.sent)).toHaveLength(1);
    pair.clock.advance(1_000);
    clientSends(pair, 'at 120 s');
    expect(initiations(pair.bOut.sent)).toHaveLength(2);
    expect(pair.bOut.handshakes).toHaveLength(2);
    expect(pair.aOut.delivered.map((d) => d.data.toString())).toEqual(['start', 'at 119 s', 'at 120 s']);
  });

  test('Rekey-After-Time applies to the initiator only: the responder keeps sending on its keys', () => {
    pair = devicePair();
    clientSends(pair, 'start');
    pair.clock.advance(130_000);
    pair.a.send(pair.bKey, Buffer.from('reply'));
    pair.pump();
    expect(initiations(pair.aOut.sent)).toHaveLength(0);
    expect(pair.bOut.delivered.map((d) => d.data.toString())).toEqual(['reply']);
  });

  test('Reject-After-Time: keys older than 180 s are never used; a send waits for a new handshake', () => {
    pair = devicePair();
    clientSends(pair, 'start');
    pair.b.send(pair.aKey, Buffer.from('old'), CLIENT_TO_GATEWAY);
    const old = pair.bOut.sent[pair.bOut.sent.length - 1];
    pair.pump();
    pair.link.aToB = false;
    pair.link.bToA = false;
    pair.clock.advance(180_000);
    expect(pair.a.peerStatus(pair.bKey)?.hasSession).toBe(false);
    // A packet on the expired session is refused.
    expect(pair.a.receive(old.data, B_ADDRESS, B_PORT)).toBe('dropped');
    expect(pair.aOut.failures.map((f) => f.failure.reason)).toContainEqual(expect.stringContaining('older than Reject-After-Time'));
    // A reply now needs a fresh handshake: the gateway initiates to the endpoint it learned.
    pair.link.aToB = true;
    pair.link.bToA = true;
    const before = initiations(pair.aOut.sent).length;
    const done = jest.fn();
    pair.a.send(pair.bKey, Buffer.from('after expiry'), undefined, done);
    expect(initiations(pair.aOut.sent)).toHaveLength(before + 1);
    pair.pump();
    expect(done).toHaveBeenCalledWith(undefined);
    expect(pair.bOut.delivered.map((d) => d.data.toString())).toEqual(['after expiry']);
  });

  test('the initiator rekeys when receiving on keys within Keepalive-Timeout + Rekey-Timeout of Reject-After-Time', () => {
    pair = devicePair();
    clientSends(pair, 'start');
    pair.clock.advance(164_000);
    pair.a.send(pair.bKey, Buffer.from('at 164 s'));
    pair.pump();
    expect(initiations(pair.bOut.sent)).toHaveLength(1);
    pair.clock.advance(1_000);
    pair.a.send(pair.bKey, Buffer.from('at 165 s'));
    pair.pump();
    expect(initiations(pair.bOut.sent)).toHaveLength(2);
    expect(pair.bOut.handshakes).toHaveLength(2);
  });

  test('Keepalive-Timeout: a passive keepalive 10 s after data arrived with nothing sent back', () => {
    pair = devicePair();
    clientSends(pair, 'data');
    expect(keepalives(pair.aOut.sent)).toHaveLength(0);
    pair.clock.advance(9_999);
    expect(keepalives(pair.aOut.sent)).toHaveLength(0);
    pair.clock.advance(1);
    expect(keepalives(pair.aOut.sent)).toHaveLength(1);
    expect(pair.b.counters.keepalivesReceived).toBe(1);
    // Quiet afterwards: keepalives answer data, not keepalives.
    pair.clock.advance(60_000);
    expect(keepalives(pair.aOut.sent)).toHaveLength(1);
  });

  test('no passive keepalive when a reply went out in time', () => {
    pair = devicePair();
    clientSends(pair, 'data');
    pair.clock.advance(5_000);
    pair.a.send(pair.bKey, Buffer.from('reply'));
    pair.pump();
    pair.clock.advance(5_000);
    expect(keepalives(pair.aOut.sent)).toHaveLength(0);
  });

  test('data sent with nothing received for Keepalive-Timeout + Rekey-Timeout starts a new handshake', () => {
    pair = devicePair();
    clientSends(pair, 'start');
    pair.link.aToB = false;
    clientSends(pair, 'unanswered');
    pair.clock.advance(15_000);
    expect(initiations(pair.bOut.sent)).toHaveLength(1);
    pair.clock.advance(167); // jitter: random() = 0.5 → 167 ms
    expect(initiations(pair.bOut.sent)).toHaveLength(2);
  });

  test('Rekey-Timeout with jitter: unanswered initiations are retried every 5 s + jitter, and given up after 90 s', () => {
    const jitters = [0, 0.999, 0.25];
    let calls = 0;
    pair = devicePair({
      aKnowsEndpoint: true,
      aOptions: { random: () => jitters[calls++ % jitters.length], sendQueueTimeoutMs: 200_000 },
    });
    pair.link.aToB = false;
    const start = pair.clock.now();
    const done = jest.fn();
    pair.a.send(pair.bKey, Buffer.from('waits'), { DestinationPort: 9 }, done);
    const sentAt: number[] = [];
    pair.aOut.onTransmit = (wire) => {
      if (messageType(wire.data) === MESSAGE_INITIATION) sentAt.push(pair.clock.now() - start);
    };
    pair.clock.advance(89_000);
    expect(done).not.toHaveBeenCalled();
    pair.clock.advance(20_000);
    expect(done).toHaveBeenCalledWith(expect.objectContaining({ code: 'NoSession', reason: expect.stringContaining('90000 ms') }));
    const gaps = sentAt.map((t, i) => t - (i === 0 ? 0 : sentAt[i - 1]));
    for (const gap of gaps) {
      expect(gap).toBeGreaterThanOrEqual(5_000);
      expect(gap).toBeLessThan(5_334);
    }
    // Jitter varies the gaps (0, 0.999 and 0.25 of 334 ms).
    expect(new Set(gaps.map((g) => Math.round(g))).size).toBeGreaterThan(1);
    // Retries stop once Rekey-Attempt-Time is over: the last one went out before 90 s.
    expect(sentAt[sentAt.length - 1]).toBeLessThan(90_000);
    expect(1 + sentAt.length).toBeGreaterThanOrEqual(17);
    pair.clock.advance(60_000);
    expect(initiations(pair.aOut.sent)).toHaveLength(1 + sentAt.length);
  });

  test('a queued packet fails with NoSession after the send queue timeout', () => {
    pair = devicePair({ aKnowsEndpoint: true, aOptions: { sendQueueTimeoutMs: 3_000 } });
    pair.link.aToB = false;
    const done = jest.fn();
    pair.a.send(pair.bKey, Buffer.from('waits'), { DestinationPort: 9 }, done);
    pair.clock.advance(2_999);
    expect(done).not.toHaveBeenCalled();
    pair.clock.advance(1);
    expect(done).toHaveBeenCalledWith(expect.objectContaining({ code: 'NoSession', reason: expect.stringContaining('3000 ms') }));
  });

  test('the send queue is bounded', () => {
    pair = devicePair({ aKnowsEndpoint: true, aOptions: { sendQueueLength: 2 } });
    pair.link.aToB = false;
    const results: unknown[] = [];
    for (let i = 0; i < 3; i++) pair.a.send(pair.bKey, Buffer.from(`p${i}`), { DestinationPort: 9 }, (f) => results.push(f?.code ?? 'sent'));
    expect(results).toEqual(['NoSession']);
    pair.link.aToB = true;
    pair.clock.advance(5_200); // the retry reaches b this time
    expect(results).toEqual(['NoSession', 'sent', 'sent']);
    expect(pair.bOut.delivered.map((d) => d.data.toString())).toEqual(['p0', 'p1']);
  });

  test('Rekey-After-Messages and Reject-After-Messages', () => {
    pair = devicePair({ bOptions: { timers: { rekeyAfterMessages: 3, rejectAfterMessages: 5 } } });
    clientSends(pair, '0');
    clientSends(pair, '1');
    expect(initiations(pair.bOut.sent)).toHaveLength(1);
    // The 3rd message on these keys triggers a rekey (initiations are at least Rekey-Timeout apart).
    pair.clock.advance(5_000);
    clientSends(pair, '2');
    expect(initiations(pair.bOut.sent)).toHaveLength(2);
    expect(pair.bOut.handshakes).toHaveLength(2);

    // Now cut the link: the next keys run out after 5 messages and further sends must wait.
    pair.link.aToB = false;
    pair.link.bToA = false;
    const results: unknown[] = [];
    for (let i = 0; i < 6; i++) pair.b.send(pair.aKey, Buffer.from(`x${i}`), CLIENT_TO_GATEWAY, (f) => results.push(f?.code ?? 'sent'));
    // One message already went out on the new keys (the keepalive confirming them).
    expect(results.filter((r) => r === 'sent')).toHaveLength(4);
    expect(pair.b.peerStatus(pair.aKey)).toMatchObject({ hasSession: false, queued: 2 });
  });

  test('keys are erased after 3 × Reject-After-Time; peers accepted as unknown are then forgotten', () => {
    pair = devicePair({ aOptions: { allowUnknownPeers: true, peers: [] } });
    clientSends(pair, 'hello');
    expect(pair.a.hasPeer(pair.bKey)).toBe(true);
    pair.link.aToB = false;
    pair.link.bToA = false;
    pair.clock.advance(539_000);
    expect(pair.a.hasPeer(pair.bKey)).toBe(true);
    pair.clock.advance(1_000);
    expect(pair.a.hasPeer(pair.bKey)).toBe(false);
    expect(pair.b.peerStatus(pair.aKey)).toMatchObject({ hasSession: false, sessionCreatedAt: undefined });
  });
});

describe('timers of several peers on one device', () => {
  test('unanswered initiations are retried per peer at its own deadline; a removed peer stops', () => {
    const clock = new ManualClock();
    const out = new RecordingOutput();
    const gateways = ['192.0.2.11', '192.0.2.12', '192.0.2.13'].map((address) => ({ address, key: publicKeyOf(generatePrivateKey()) }));
    const peers = gateways.map((g, i) => ({ publicKey: g.key, allowedIps: [`10.99.${i}.1/32`], endpoint: `${g.address}:51820` }));
    const device = new WireGuardDevice({ privateKey: generatePrivateKey(), peers, clock, random: () => 0.5, output: out });
    const initiationsTo = (address: string): number =>
      out.sent.filter((w) => messageType(w.data) === MESSAGE_INITIATION && w.address === address).length;
    try {
      // Each peer starts its handshake 1 s after the previous one; nobody answers.
      for (const [i, g] of gateways.entries()) {
        device.send(g.key, Buffer.from(`to ${i}`), { ...CLIENT_TO_GATEWAY, DestinationAddress: `10.99.${i}.1` });
        if (i < gateways.length - 1) clock.advance(1_000);
      }
      expect(out.failures).toEqual([]);
      expect(gateways.map((g) => initiationsTo(g.address))).toEqual([1, 1, 1]);
      // Rekey-Timeout (5 s) plus jitter after its own initiation, each peer retries once.
      clock.advance(3_000);
      expect(gateways.map((g) => initiationsTo(g.address))).toEqual([1, 1, 1]);
      clock.advance(1_000);
      expect(gateways.map((g) => initiationsTo(g.address))).toEqual([2, 1, 1]);
      clock.advance(1_000);
      expect(gateways.map((g) => initiationsTo(g.address))).toEqual([2, 2, 1]);
      // The middle peer is removed: its deadlines no longer fire, the others' still do.
      device.setPeers([peers[0], peers[2]]);
      clock.advance(10_000);
      const after = gateways.map((g) => initiationsTo(g.address));
      expect(after[1]).toBe(2);
      expect(after[0]).toBeGreaterThan(2);
      expect(after[2]).toBeGreaterThan(2);
    } finally {
      device.close();
    }
    expect(clock.pending).toBe(0);
  });
});
