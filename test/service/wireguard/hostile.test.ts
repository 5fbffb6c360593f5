/**
 * Hostile input: every datagram is counted and dropped with a failure code, nothing throws, and
 * the established session keeps working afterwards.
 */
/* eslint-disable no-bitwise -- tests flip bits */
import { randomBytes } from 'node:crypto';
import { B_ADDRESS, B_PORT, CLIENT_TO_GATEWAY, devicePair, DevicePair } from './helpers';
import { CookieJar } from '../../../service/wireguard/cookie';
import { decodeKey } from '../../../service/wireguard/keys';
import { INITIATION_MAC1_OFFSET, INITIATION_MAC2_OFFSET, messageType, MESSAGE_INITIATION, MESSAGE_RESPONSE, MESSAGE_TRANSPORT } from '../../../service/wireguard/messages';

function established(): { pair: DevicePair; initiation: Buffer; response: Buffer; transport: Buffer } {
  const pair = devicePair();
  pair.b.send(pair.aKey, Buffer.from('legit'), CLIENT_TO_GATEWAY);
  pair.pump();
  const initiation = pair.bOut.sent.find((w) => messageType(w.data) === MESSAGE_INITIATION)!.data;
  const response = pair.aOut.sent.find((w) => messageType(w.data) === MESSAGE_RESPONSE)!.data;
  const transport = pair.bOut.sent.find((w) => messageType(w.data) === MESSAGE_TRANSPORT)!.data;
  return { pair, initiation, response, transport };
}

/** The session still carries data both ways. */
function stillWorks(pair: DevicePair, text: string): void {
  const before = pair.aOut.delivered.length;
  pair.b.send(pair.aKey, Buffer.from(text), CLIENT_TO_GATEWAY);
  pair.pump();
  expect(pair.aOut.delivered.slice(before).map((d) => d.data.toString())).toEqual([text]);
  const back = pair.bOut.delivered.length;
  pair.a.send(pair.bKey, Buffer.from(`re:${text}`));
  pair.pump();
  expect(pair.bOut.delivered.slice(back).map((d) => d.data.toString())).toEqual([`re:${text}`]);
}

describe('hostile input', () => {
  let pair: DevicePair;
  afterEach(() => {
    pair.a.close();
    pair.b.close();
  });

  test('random datagrams of every size are dropped and counted', () => {
    const setup = established();
    pair = setup.pair;
    const failuresBefore = pair.aOut.failures.length;
    const sizes = [0, 1, 3, 4, 31, 32, 33, 64, 92, 148, 1500, 65_507];
    let sent = 0;
    for (let i = 0; i < 2000; i++) {
      const datagram = randomBytes(sizes[i % sizes.length]);
      // Half of them with a valid-looking type word, so they reach the per-type checks.
      if (i % 2 === 0 && datagram.length >= 4) datagram.writeUInt32LE(1 + ((i >> 1) % 4), 0);
      expect(pair.a.receive(datagram, '203.0.113.66', 1000 + (i % 100))).toBe('dropped');
      sent++;
    }
    expect(pair.aOut.failures.length - failuresBefore).toBe(sent);
    expect(pair.a.counters.dropped).toBe(sent);
    const codes = new Set(pair.aOut.failures.slice(failuresBefore).map((f) => f.failure.code));
    expect([...codes].sort()).toEqual(['HandshakeInvalid', 'InvalidData', 'NoSession'].sort());
    stillWorks(pair, 'after random bytes');
  });

  test('every truncation and extension of valid messages is dropped', () => {
    const setup = established();
    pair = setup.pair;
    for (const message of [setup.initiation, setup.response, setup.transport]) {
      for (let length = 0; length < message.length; length++) {
        expect(pair.a.receive(message.subarray(0, length), B_ADDRESS, B_PORT)).toBe('dropped');
      }
      expect(pair.a.receive(Buffer.concat([message, Buffer.alloc(16)]), B_ADDRESS, B_PORT)).toBe('dropped');
    }
    stillWorks(pair, 'after truncations');
  });

  test('bit flips anywhere in a transport message fail authentication', () => {
    const setup = established();
    pair = setup.pair;
    const fresh = (): Buffer => {
      pair.link.bToA = false;
      pair.b.send(pair.aKey, Buffer.from('flip me'), CLIENT_TO_GATEWAY);
      pair.link.bToA = true;
      return pair.bOut.sent[pair.bOut.sent.length - 1].data;
    };
    const message = fresh();
    const codes: string[] = [];
    for (let bit = 16 * 8; bit < message.length * 8; bit += 7) {
      const forged = Buffer.from(message);
      forged[bit >> 3] ^= 1 << (bit & 7);
      const before = pair.aOut.failures.length;
      expect(pair.a.receive(forged, B_ADDRESS, B_PORT)).toBe('dropped');
      codes.push(...pair.aOut.failures.slice(before).map((f) => f.failure.code));
    }
    expect(new Set(codes)).toEqual(new Set(['DecryptFailed']));
    // The genuine packet is still accepted after all the forgeries (they did not touch the replay window).
    expect(pair.a.receive(message, B_ADDRESS, B_PORT)).toBe('data');
  });

  test('unknown receiver index and forged counters', () => {
    const setup = established();
    pair = setup.pair;
    const unknown = Buffer.from(setup.transport);
    unknown.writeUInt32LE((unknown.readUInt32LE(4) + 1) >>> 0, 4);
    expect(pair.a.receive(unknown, B_ADDRESS, B_PORT)).toBe('dropped');
    const huge = Buffer.from(setup.transport);
    huge.writeBigUInt64LE(2n ** 63n, 8);
    expect(pair.a.receive(huge, B_ADDRESS, B_PORT)).toBe('dropped');
    expect(pair.aOut.codes().slice(-2)).toEqual(['NoSession', 'Replay']);
  });

  test('replayed handshake messages and transport packets', () => {
    const setup = established();
    pair = setup.pair;
    for (let i = 0; i < 100; i++) {
      expect(pair.a.receive(setup.initiation, B_ADDRESS, B_PORT)).toBe('dropped');
      expect(pair.a.receive(setup.transport, B_ADDRESS, B_PORT)).toBe('dropped');
      expect(pair.b.receive(setup.response, '192.0.2.1', 51820)).toBe('dropped');
    }
    expect(new Set(pair.aOut.codes())).toEqual(new Set(['Replay']));
    expect(new Set(pair.bOut.codes())).toEqual(new Set(['HandshakeInvalid']));
    stillWorks(pair, 'after replays');
  });

  test('initiations with a bad mac1 are rejected before any public-key work', () => {
    const setup = established();
    pair = setup.pair;
    const bad = Buffer.from(setup.initiation);
    bad[INITIATION_MAC1_OFFSET] ^= 0xff;
    expect(pair.a.receive(bad, B_ADDRESS, B_PORT)).toBe('dropped');
    expect(pair.aOut.failures[pair.aOut.failures.length - 1].failure).toMatchObject({ code: 'HandshakeInvalid', reason: expect.stringContaining('mac1') });
  });

  test('a flood of initiations with a valid mac1 and garbage contents from many sources: all dropped, no peer added, the known peer keeps working', () => {
    const setup = established();
    pair = setup.pair;
    for (let i = 0; i < 300; i++) {
      const message = randomBytes(148);
      message.writeUInt32LE(1, 0);
      new CookieJar(decodeKey(pair.a.publicKey, 'k'), () => pair.clock.now()).addMacs(message, INITIATION_MAC1_OFFSET, INITIATION_MAC2_OFFSET);
      expect(pair.a.receive(message, `203.0.113.${i % 250}`, 2000 + i)).toBe('dropped');
    }
    expect(pair.a.peerKeys()).toEqual([pair.bKey]);
    pair.clock.advance(1_100);
    stillWorks(pair, 'after the flood');
  });

  test('a failing failure reporter does not turn a drop into an exception', () => {
    const setup = established();
    pair = setup.pair;
    pair.aOut.reportFailure = () => {
      throw new Error('reporter down');
    };
    expect(pair.a.receive(randomBytes(50), B_ADDRESS, B_PORT)).toBe('dropped');
    expect(pair.a.receive(setup.transport, B_ADDRESS, B_PORT)).toBe('dropped');
    expect(pair.a.counters.dropped).toBe(2);
  });

  test('the closed device drops everything and refuses sends', () => {
    const setup = established();
    pair = setup.pair;
    pair.a.close();
    expect(pair.a.receive(setup.transport, B_ADDRESS, B_PORT)).toBe('dropped');
    const done = jest.fn();
    pair.a.send(pair.bKey, Buffer.from('x'), undefined, done);
    expect(done).toHaveBeenCalledWith(expect.objectContaining({ code: 'UnknownPeer' }));
  });
});
