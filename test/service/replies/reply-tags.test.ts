import { randomBytes } from 'node:crypto';
import { isTagFailure, ReplyTagCodec, ReplyTarget } from '../../../service/replies/reply-tags';

const PEER = Buffer.alloc(32, 7).toString('base64');

describe('ReplyTagCodec', () => {
  let now = 1_700_000_000_000;
  const clock = (): number => now;

  test('round trip: IPv4, IPv6 and a WireGuard peer', () => {
    const codec = new ReplyTagCodec({ now: clock });
    const v4 = codec.decode(codec.mint('demo', '203.0.113.5', 51234, 300));
    expect(v4).toEqual({ listener: 'demo', address: '203.0.113.5', port: 51234, expiresAt: (Math.floor(now / 1000) + 300) * 1000 });
    const v6 = codec.decode(codec.mint('demo-wg', '2001:db8::42', 1, 60, PEER)) as ReplyTarget;
    expect(v6).toMatchObject({ listener: 'demo-wg', address: '2001:db8::42', port: 1, peerKey: PEER });
  });

  test('a tag minted for a given time expires its TTL after that time, not after the codec\'s clock', () => {
    const codec = new ReplyTagCodec({ now: clock });
    const at = now + 7_250;
    expect(codec.decode(codec.mint('demo', '203.0.113.5', 51234, 300, undefined, undefined, at))).toMatchObject({ expiresAt: (Math.floor(at / 1000) + 300) * 1000 });
    // the same flow at the codec's own time, then at the given time again: each keeps its own expiry
    expect(codec.decode(codec.mint('demo', '203.0.113.5', 51234, 300))).toMatchObject({ expiresAt: (Math.floor(now / 1000) + 300) * 1000 });
    expect(codec.decode(codec.mint('demo', '203.0.113.5', 51234, 300, undefined, undefined, at))).toMatchObject({ expiresAt: (Math.floor(at / 1000) + 300) * 1000 });
  });

  test('a WireGuard tag carries the inner UDP flow (IPv4 and IPv6), and only a UDP one', () => {
    const codec = new ReplyTagCodec({ now: clock });
    const inner4 = { SourceAddress: '10.99.0.2', SourcePort: 41000, DestinationAddress: '10.99.0.1', DestinationPort: 5683, Version: 4 as const, Protocol: 17 };
    expect(codec.decode(codec.mint('wg', '203.0.113.5', 51820, 60, PEER, inner4))).toMatchObject({ peerKey: PEER, inner: inner4 });
    const inner6 = { SourceAddress: 'fd99::2', SourcePort: 1, DestinationAddress: 'fd99::1', DestinationPort: 65535, Version: 6 as const, Protocol: 17 };
    expect(codec.decode(codec.mint('wg', '2001:db8::42', 51820, 60, PEER, inner6))).toMatchObject({ peerKey: PEER, inner: inner6 });
    const notUdp = codec.decode(codec.mint('wg', '203.0.113.5', 51820, 60, PEER, { ...inner4, Protocol: 6 })) as ReplyTarget;
    expect(notUdp.inner).toBeUndefined();
    expect(notUdp.peerKey).toBe(PEER);
  });

  test('an altered inner flow in a tag is refused', () => {
    const codec = new ReplyTagCodec({ now: clock });
    const inner = { SourceAddress: '10.99.0.2', SourcePort: 41000, DestinationAddress: '10.99.0.1', DestinationPort: 5683, Version: 4 as const, Protocol: 17 };
    const buf = Buffer.from(codec.mint('wg', '203.0.113.5', 51820, 60, PEER, inner), 'base64url');
    const at = buf.indexOf(Buffer.from([10, 99, 0, 2])); // the inner source address
    expect(at).toBeGreaterThan(0);
    buf[at + 3] = 3;
    expect(codec.decode(buf.toString('base64url'))).toMatchObject({ code: 'ReplyUnknownTag', reason: expect.stringContaining('signature') });
  });

  test('tags are unique per packet and URL-safe', () => {
    const codec = new ReplyTagCodec({ now: clock });
    const tags = new Set<string>();
    for (let i = 0; i < 1000; i++) tags.add(codec.mint('demo', '203.0.113.5', 4000, 300));
    expect(tags.size).toBe(1000);
    for (const tag of tags) expect(tag).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  test('each tag ends with the next counter value, across runs of one flow and interleaved flows', () => {
    const codec = new ReplyTagCodec({ now: clock });
    const flows: Array<[string, number]> = [['203.0.113.5', 4000], ['203.0.113.6', 4000], ['203.0.113.5', 4001]];
    const counters: number[] = [];
    for (let i = 0; i < 600; i++) {
      // runs of 1 to 97 datagrams per flow, so runs cross the counter's 64-value blocks at every offset
      const [address, port] = flows[Math.floor(i / (1 + (i % 97))) % flows.length];
      const tag = codec.mint('demo', address, port, 300);
      counters.push(Buffer.from(tag.slice(-8), 'base64url').readUIntBE(0, 6));
      expect(codec.decode(tag)).toMatchObject({ address, port });
    }
    for (let i = 1; i < counters.length; i++) expect(counters[i]).toBe((counters[i - 1] + 1) % 2 ** 48);
  });

  test('the counter makes tags unique but routes nothing: changing it changes no target', () => {
    const codec = new ReplyTagCodec({ now: clock });
    const tag = codec.mint('demo', '203.0.113.5', 4000, 300);
    const raw = Buffer.from(tag, 'base64url');
    raw.writeUIntBE(123456789, raw.length - 6, 6);
    expect(codec.decode(raw.toString('base64url'))).toEqual(codec.decode(tag));
  });

  test('every field length round-trips (routing part padded to whole base64 groups)', () => {
    const secret = randomBytes(32);
    const codec = new ReplyTagCodec({ now: clock, secret });
    for (const name of ['a', 'ab', 'abc', 'abcd', 'demo-listener-name']) {
      for (const address of ['1.2.3.4', '10.0.0.10', '2001:db8::1']) {
        const tag = codec.mint(name, address, 65535, 30);
        expect(tag).toMatch(/^[A-Za-z0-9_-]+$/);
        expect(tag.length % 4).toBe(0);
        expect(codec.decode(tag)).toMatchObject({ listener: name, address, port: 65535 });
        // a fresh codec with the same secret (nothing cached) verifies it from its bytes
        expect(new ReplyTagCodec({ now: clock, secret }).decode(tag)).toMatchObject({ listener: name, address, port: 65535 });
      }
    }
  });

  test('a flow minted again in a later second gets a fresh expiry', () => {
    const codec = new ReplyTagCodec({ now: clock });
    const first = codec.decode(codec.mint('demo', '203.0.113.5', 4000, 10)) as ReplyTarget;
    now += 1_000;
    const second = codec.decode(codec.mint('demo', '203.0.113.5', 4000, 10)) as ReplyTarget;
    expect(second.expiresAt - first.expiresAt).toBe(1_000);
  });

  test('expired tags are refused', () => {
    const codec = new ReplyTagCodec({ now: clock });
    const tag = codec.mint('demo', '203.0.113.5', 4000, 5);
    now += 4_000;
    expect(isTagFailure(codec.decode(tag))).toBe(false);
    now += 2_000;
    const result = codec.decode(tag);
    expect(result).toMatchObject({ code: 'ReplyUnknownTag' });
    expect((result as { reason: string }).reason).toMatch(/^Tag expired at \d{4}-/);
  });

  test('forged or altered tags are refused', () => {
    const codec = new ReplyTagCodec({ now: clock });
    const tag = codec.mint('demo', '203.0.113.5', 4000, 300);
    const raw = Buffer.from(tag, 'base64url');
    // Redirect the reply to another port without knowing the key.
    raw.writeUInt16BE(4001, 6);
    const altered = raw.toString('base64url');
    expect(codec.decode(altered)).toEqual({ code: 'ReplyUnknownTag', reason: 'Tag signature does not match (forged, altered, or issued by another gateway)' });
    // A tag from another gateway (different key).
    const other = new ReplyTagCodec({ now: clock });
    expect(codec.decode(other.mint('demo', '203.0.113.5', 4000, 300))).toMatchObject({ code: 'ReplyUnknownTag' });
  });

  test('tasks sharing a secret accept each other\'s tags', () => {
    const secret = randomBytes(32);
    const a = new ReplyTagCodec({ secret, now: clock });
    const b = new ReplyTagCodec({ secret, now: clock });
    expect(b.decode(a.mint('demo', '198.51.100.1', 9, 30))).toMatchObject({ listener: 'demo', port: 9 });
  });

  test.each([
    ['', 'Tag must be a non-empty string, got an empty string'],
    [42, 'Tag must be a non-empty string, got number'],
    [null, 'Tag must be a non-empty string, got null'],
    ['not a tag!', 'Tag is not a tag issued by this gateway (malformed)'],
    ['AAAA', 'Tag is not a tag issued by this gateway (malformed)'],
    ['x'.repeat(5000), 'Tag is not a tag issued by this gateway (malformed)'],
    [Buffer.alloc(60, 2).toString('base64url'), 'Tag signature does not match (forged, altered, or issued by another gateway)'],
    [Buffer.alloc(60, 1).toString('base64url'), 'Tag is not a tag issued by this gateway (malformed)'],
    [Buffer.alloc(61, 2).toString('base64url'), 'Tag is not a tag issued by this gateway (malformed)'],
  ])('garbage %#', (tag, reason) => {
    const codec = new ReplyTagCodec({ now: clock });
    expect(codec.decode(tag)).toEqual({ code: 'ReplyUnknownTag', reason });
  });

  test('a short secret is refused', () => {
    expect(() => new ReplyTagCodec({ secret: Buffer.alloc(8) })).toThrow('reply tag secret of 8 bytes is too short (allowed: at least 16 bytes)');
  });
});
