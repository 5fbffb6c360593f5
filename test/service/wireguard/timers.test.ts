/**
 * The protocol timers, driven by a hand-moved clock: no test waits for real time.
 */
import { B_ADDRESS, B_PORT, CLIENT_TO_GATEWAY, devicePair, DevicePair, Wire } from './helpers';
import { messageType, MESSAGE_INITIATION, MESSAGE_TRANSPORT } from '../../../service/wireguard/messages';
import { DEFAULT_TIMERS, resolveTimers } from '../../../service/wireguard/timers';

const initiations = (wires: Wire[]): Wire[] => wires.filter((w) => messageType(w.data) === MESSAGE_INITIATION);
const keepalives = (wires: Wire[]): Wire[] => wires.filter((w) => messageType(w.data) === MESSAGE_TRANSPORT && w.data.length === 32);

function clientSends(pair: DevicePair, text: string): void {
  pair.b.send(pair.aKey, Buffer.from(text), CLIENT_TO_GATEWAY);
  pair.pump();
}

describe('WireGuard timers', () => {
  let pair: DevicePair;
  afterEach(() => {
    pair.a.close();
    pair.b.close();
    expect(pair.clock.pending).toBe(0);
  });

  test('defaults are the whitepaper values', () => {
    expect(DEFAULT_TIMERS).toMatchObject({
      rekeyAfterTimeMs: 120_000,
      rejectAfterTimeMs: 180_000,
      rekeyAttemptTimeMs: 90_000,
      rekeyTimeoutMs: 5_000,
      keepaliveTimeoutMs: 10_000,
      rekeyAfterMessages: 2 ** 60,
    });
    expect(DEFAULT_TIMERS.rejectAfterMessages).toBeGreaterThan(2 ** 63);
    expect(() => resolveTimers({ rekeyAfterTimeMs: 200_000 })).toThrow(/rekeyAfterTimeMs/);
    expect(() => resolveTimers({ keepaliveTimeoutMs: -1 })).toThrow(/keepaliveTimeoutMs/);
    pair = devicePair();
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
