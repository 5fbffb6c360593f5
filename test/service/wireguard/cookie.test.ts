/**
 * mac2, cookie replies and handshake-flood limits (their use by the device: handshake.test.ts).
 */
import { randomBytes } from 'node:crypto';
import { ManualClock } from './helpers';
import { CookieChecker, cookieSource, CookieJar } from '../../../service/wireguard/cookie';
import { HandshakeLoadMeter, SourceRateLimiter } from '../../../service/wireguard/handshake-limits';
import { decodeCookieReply, INITIATION_MAC1_OFFSET, INITIATION_MAC2_OFFSET } from '../../../service/wireguard/messages';

describe('cookies between checker and jar', () => {
  test('a cookie reply decrypts only for the message it answers, once', () => {
    const clock = new ManualClock();
    const responderKey = randomBytes(32);
    const checker = new CookieChecker(responderKey, () => clock.now());
    const jar = new CookieJar(responderKey, () => clock.now());
    const message = Buffer.alloc(148);
    message[0] = 1;
    jar.addMacs(message, INITIATION_MAC1_OFFSET, INITIATION_MAC2_OFFSET);
    expect(checker.checkMac1(message, INITIATION_MAC1_OFFSET)).toBe(true);
    const source = cookieSource('198.51.100.7', 4000);
    expect(checker.checkMac2(message, INITIATION_MAC2_OFFSET, source)).toBe(false);

    const reply = decodeCookieReply(checker.createReply(message, INITIATION_MAC1_OFFSET, 77, source));
    if (typeof reply === 'string') throw new Error(reply);
    expect(reply.receiver).toBe(77);
    expect(jar.consumeReply(reply)).toBeUndefined();
    expect(jar.hasFreshCookie()).toBe(true);
    expect(jar.consumeReply(reply)).toMatch(/without a handshake message/);

    // The next message carries mac2, valid for this source only.
    jar.addMacs(message, INITIATION_MAC1_OFFSET, INITIATION_MAC2_OFFSET);
    expect(checker.checkMac2(message, INITIATION_MAC2_OFFSET, source)).toBe(true);
    expect(checker.checkMac2(message, INITIATION_MAC2_OFFSET, cookieSource('198.51.100.7', 4001))).toBe(false);
    expect(checker.checkMac2(message, INITIATION_MAC2_OFFSET, cookieSource('198.51.100.8', 4000))).toBe(false);

    // A forged reply (wrong tag) is rejected.
    const altered = Buffer.from(reply.encryptedCookie);
    altered[0] = (altered[0] + 1) % 256; // always a different byte (filling with a constant is a no-op 1 time in 256)
    const forged = { ...reply, encryptedCookie: altered };
    jar.addMacs(message, INITIATION_MAC1_OFFSET, INITIATION_MAC2_OFFSET);
    expect(jar.consumeReply(forged)).toMatch(/does not decrypt/);
  });

  test('the checker secret rotates after two minutes; the jar stops using its cookie after two minutes', () => {
    const clock = new ManualClock();
    const responderKey = randomBytes(32);
    const checker = new CookieChecker(responderKey, () => clock.now());
    const jar = new CookieJar(responderKey, () => clock.now());
    const message = Buffer.alloc(148);
    message[0] = 1;
    const source = cookieSource('2001:db8::7', 4000);
    jar.addMacs(message, INITIATION_MAC1_OFFSET, INITIATION_MAC2_OFFSET);
    const reply = decodeCookieReply(checker.createReply(message, INITIATION_MAC1_OFFSET, 1, source));
    if (typeof reply === 'string') throw new Error(reply);
    jar.consumeReply(reply);
    jar.addMacs(message, INITIATION_MAC1_OFFSET, INITIATION_MAC2_OFFSET);
    clock.advance(119_000);
    expect(checker.checkMac2(message, INITIATION_MAC2_OFFSET, source)).toBe(true);
    clock.advance(1_000);
    expect(checker.checkMac2(message, INITIATION_MAC2_OFFSET, source)).toBe(false);
    expect(jar.hasFreshCookie()).toBe(false);
    jar.addMacs(message, INITIATION_MAC1_OFFSET, INITIATION_MAC2_OFFSET);
    expect(message.subarray(INITIATION_MAC2_OFFSET)).toEqual(Buffer.alloc(16));
  });
});

describe('handshake load', () => {
  test('the load meter trips above the threshold and stays tripped for a second', () => {
    const meter = new HandshakeLoadMeter(3);
    expect([meter.record(0), meter.record(1), meter.record(2)]).toEqual([false, false, false]);
    expect(meter.record(3)).toBe(true);
    expect(meter.isUnderLoad(900)).toBe(true);
    expect(meter.isUnderLoad(1003)).toBe(false);
    expect(meter.record(1500)).toBe(false);
  });

  test('the per-source limiter allows a burst, then the rate; sources are independent; IPv6 counts per /64', () => {
    const limiter = new SourceRateLimiter(20, 5);
    const burst = Array.from({ length: 6 }, () => limiter.allow('198.51.100.1', 0));
    expect(burst).toEqual([true, true, true, true, true, false]);
    expect(limiter.allow('198.51.100.2', 0)).toBe(true);
    expect(limiter.allow('198.51.100.1', 49)).toBe(false);
    expect(limiter.allow('198.51.100.1', 50)).toBe(true); // 20/s → one token per 50 ms
    for (let i = 0; i < 5; i++) expect(limiter.allow(`2001:db8:1:2::${i + 1}`, 0)).toBe(true);
    expect(limiter.allow('2001:db8:1:2::99', 0)).toBe(false);
    expect(limiter.allow('2001:db8:1:3::1', 0)).toBe(true);
    // IPv4-mapped addresses are separate IPv4 sources (they share one /64, ::ffff:0:0/64, as IPv6),
    // and the same source as the plain IPv4 address.
    for (let i = 0; i < 5; i++) expect(limiter.allow('::ffff:203.0.113.1', 0)).toBe(true);
    expect(limiter.allow('::ffff:203.0.113.1', 0)).toBe(false);
    expect(limiter.allow('203.0.113.1', 0)).toBe(false);
    expect(limiter.allow('::ffff:203.0.113.2', 0)).toBe(true);
    // Idle sources are forgotten.
    limiter.allow('203.0.113.50', 10_000);
    expect(limiter.size).toBe(1);
  });

  test('the per-source limiter has a bounded table', () => {
    const limiter = new SourceRateLimiter(20, 5, 2);
    expect(limiter.allow('10.0.0.1', 0)).toBe(true);
    expect(limiter.allow('10.0.0.2', 0)).toBe(true);
    expect(limiter.allow('10.0.0.3', 0)).toBe(false);
  });

});
