/**
 * Handshakes: initiations, responses, cookie replies and the under-load limits, through Handshakes
 * on its own and between two devices.
 */
import { randomBytes } from 'node:crypto';
import { A_ADDRESS, B_ADDRESS, B_PORT, CLIENT_TO_GATEWAY, devicePair, ManualClock, standalonePeer } from './helpers';
import type { Failure } from '../../../service/contracts';
import { CookieJar } from '../../../service/wireguard/cookie';
import { x25519FromPrivate } from '../../../service/wireguard/crypto';
import { Handshakes } from '../../../service/wireguard/handshake';
import { IndexTable } from '../../../service/wireguard/index-table';
import { decodeKey, generatePrivateKey } from '../../../service/wireguard/keys';
import { INITIATION_MAC1_OFFSET, INITIATION_MAC2_OFFSET, messageType, MESSAGE_COOKIE_REPLY, MESSAGE_INITIATION } from '../../../service/wireguard/messages';
import type { Peer } from '../../../service/wireguard/peer';
import { PeerTimers } from '../../../service/wireguard/peer-timers';
import { DEFAULT_TIMERS } from '../../../service/wireguard/timers';

/** A 148-byte initiation with a valid mac1 for `publicKey` and garbage inside: it counts towards load, then fails. */
function junkInitiation(publicKey: string, clock: ManualClock): Buffer {
  const message = randomBytes(148);
  message.writeUInt32LE(1, 0);
  new CookieJar(decodeKey(publicKey, 'k'), () => clock.now()).addMacs(message, INITIATION_MAC1_OFFSET, INITIATION_MAC2_OFFSET);
  return message;
}

/** Handshakes of a fresh local key with no known peers, recording what they transmit and drop. */
interface StandaloneHandshakes {
  readonly handshakes: Handshakes;
  readonly clock: ManualClock;
  readonly indices: IndexTable;
  readonly sent: Buffer[];
  readonly drops: Failure[];
  readonly timers: PeerTimers;
}

function standaloneHandshakes(): StandaloneHandshakes {
  const clock = new ManualClock();
  const sent: Buffer[] = [];
  const drops: Failure[] = [];
  const indices = new IndexTable();
  const pair = x25519FromPrivate(decodeKey(generatePrivateKey(), 'local key'));
  const timers = new PeerTimers(DEFAULT_TIMERS, clock, () => 0.5, {
    isActive: () => true,
    retryHandshake: () => false,
    handshakeAttemptsExhausted: () => undefined,
    sendKeepalive: () => undefined,
    startHandshake: () => undefined,
    expireQueued: () => undefined,
    zeroKeys: () => undefined,
  });
  const handshakes = new Handshakes({
    local: { privateKey: pair.privateKey, publicKey: pair.publicKey },
    limits: DEFAULT_TIMERS,
    clock,
    indices,
    timers,
    counters: { handshakesCompleted: 0, initiationsSent: 0, responsesSent: 0, cookieRepliesSent: 0 },
    loadThreshold: 500,
    sourceHandshakesPerSecond: 20,
    sourceHandshakeBurst: 5,
    peers: {
      get: () => undefined,
      refuseUnknown: (peerKey) => ({ code: 'UnknownPeer', reason: `unknown ${peerKey}` }),
      addUnknown: () => {
        throw new Error('no unknown peers here');
      },
    },
    transmit: (datagram) => sent.push(datagram),
    drop: (code, reason) => {
      drops.push({ code, reason });
      return 'dropped';
    },
    sendOnNewSession: () => undefined,
  });
  return { handshakes, clock, indices, sent, drops, timers };
}

/** A peer with an endpoint to initiate to. */
function reachablePeer(): Peer {
  const peer = standalonePeer();
  peer.endpointAddress = '192.0.2.7';
  peer.endpointPort = 51820;
  return peer;
}

describe('Handshakes on their own', () => {
  test('an initiation goes out with a fresh index and a retry deadline; none again within Rekey-Timeout', () => {
    const { handshakes, clock, indices, sent, timers } = standaloneHandshakes();
    const peer = reachablePeer();
    expect(handshakes.initiate(peer, false)).toBe(true);
    expect(sent.map((m) => messageType(m))).toEqual([MESSAGE_INITIATION]);
    const index = sent[0].readUInt32LE(4);
    expect(peer.initiation?.localIndex).toBe(index);
    expect(indices.get(index)).toEqual({ peer, keypair: undefined });
    expect(peer.retransmitAt).toBe(clock.now() + 5_000 + 167);
    clock.advance(4_999);
    expect(handshakes.initiate(peer, false)).toBe(false);
    clock.advance(1);
    expect(handshakes.initiate(peer, true)).toBe(true);
    // The new initiation replaces the old one and its index.
    expect(indices.get(index)).toBeUndefined();
    expect(sent).toHaveLength(2);
    timers.close();
  });

  test('no initiation without an endpoint, nor once closed', () => {
    const { handshakes, sent, timers } = standaloneHandshakes();
    expect(handshakes.initiate(standalonePeer(), false)).toBe(false);
    handshakes.close();
    expect(handshakes.initiate(reachablePeer(), false)).toBe(false);
    expect(sent).toEqual([]);
    timers.close();
  });

  test('an initiation addressed to another key fails mac1 and is dropped', () => {
    const gateway = standaloneHandshakes();
    const client = standaloneHandshakes();
    const peer = reachablePeer();
    client.handshakes.initiate(peer, false);
    expect(gateway.handshakes.receiveInitiation(client.sent[0], B_ADDRESS, B_PORT)).toBe('dropped');
    expect(gateway.drops[0]).toMatchObject({ code: 'HandshakeInvalid', reason: expect.stringContaining('mac1') });
    gateway.timers.close();
    client.timers.close();
  });

  test('abandonInitiation forgets the initiation and its index', () => {
    const { handshakes, indices, sent, timers } = standaloneHandshakes();
    const peer = reachablePeer();
    handshakes.initiate(peer, false);
    handshakes.abandonInitiation(peer);
    expect(peer.initiation).toBeUndefined();
    expect(indices.get(sent[0].readUInt32LE(4))).toBeUndefined();
    timers.close();
  });
});

describe('handshakes between two devices', () => {
  test('mismatched preshared keys: the initiator rejects the response and no data is delivered', () => {
    const pair = devicePair({ presharedKey: generatePrivateKey(), bPresharedKey: generatePrivateKey() });
    pair.b.send(pair.aKey, Buffer.from('up'), CLIENT_TO_GATEWAY);
    pair.pump();
    expect(pair.aOut.delivered).toEqual([]);
    expect(pair.bOut.codes()).toEqual(['HandshakeInvalid']);
    expect(pair.bOut.failures[0].failure.reason).toMatch(/preshared key/);
    pair.a.close();
    pair.b.close();
  });
});

describe('handshakes under load', () => {
  test('under load, an initiation without mac2 gets a cookie reply; the retry with the cookie completes the handshake', () => {
    const pair = devicePair({ aOptions: { handshakeLoadThreshold: 5 } });
    const flood = (n: number): void => {
      for (let i = 0; i < n; i++) pair.a.receive(junkInitiation(pair.a.publicKey, pair.clock), '203.0.113.9', 1234);
    };
    const cookiesToB = (): number =>
      pair.aOut.sent.filter((w) => messageType(w.data) === MESSAGE_COOKIE_REPLY && w.address === B_ADDRESS && w.port === B_PORT).length;
    flood(10);
    // The flood itself is answered with cookie replies once the threshold is passed.
    expect(pair.a.counters.cookieRepliesSent).toBe(5);
    pair.b.send(pair.aKey, Buffer.from('under load'), CLIENT_TO_GATEWAY);
    pair.pump();
    expect(cookiesToB()).toBe(1);
    expect(pair.aOut.failures.filter((f) => f.failure.code === 'RateLimited')).toHaveLength(6);
    expect(pair.aOut.delivered).toHaveLength(0);

    // Still under load when b retries (Rekey-Timeout + jitter later): its mac2 now proves its address.
    pair.clock.advance(5_000);
    flood(10);
    pair.clock.advance(200);
    expect(cookiesToB()).toBe(1);
    expect(pair.aOut.delivered.map((d) => d.data.toString())).toEqual(['under load']);
    expect(pair.aOut.handshakes).toHaveLength(1);
    pair.a.close();
    pair.b.close();
  });

  test('not under load, mac2 is not required', () => {
    const pair = devicePair({ aOptions: { handshakeLoadThreshold: 5 } });
    pair.b.send(pair.aKey, Buffer.from('calm'), CLIENT_TO_GATEWAY);
    pair.pump();
    expect(pair.aOut.delivered).toHaveLength(1);
    expect(pair.a.counters.cookieRepliesSent).toBe(0);
    pair.a.close();
    pair.b.close();
  });

  test('the gateway as initiator honours a cookie reply from a loaded peer', () => {
    const pair = devicePair({ aKnowsEndpoint: true, bOptions: { handshakeLoadThreshold: 2 } });
    const cookiesToA = (): number => pair.bOut.sent.filter((w) => messageType(w.data) === MESSAGE_COOKIE_REPLY && w.address === A_ADDRESS).length;
    for (let i = 0; i < 5; i++) pair.b.receive(junkInitiation(pair.b.publicKey, pair.clock), '203.0.113.9', 1234);
    const done = jest.fn();
    pair.a.send(pair.bKey, Buffer.from('push'), { DestinationPort: 9 }, done);
    pair.pump();
    expect(cookiesToA()).toBe(1);
    expect(done).not.toHaveBeenCalled();
    pair.clock.advance(4_900);
    for (let i = 0; i < 5; i++) pair.b.receive(junkInitiation(pair.b.publicKey, pair.clock), '203.0.113.9', 1234);
    pair.clock.advance(300);
    expect(done).toHaveBeenCalledWith(undefined);
    expect(pair.bOut.delivered.map((d) => d.data.toString())).toEqual(['push']);
    expect(cookiesToA()).toBe(1);
    pair.a.close();
    pair.b.close();
  });
});
