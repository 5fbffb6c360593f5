/* eslint-disable no-bitwise -- tests flip bits */
import { isIPv6 } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as fc from 'fast-check';
import { formatIpAddress, formatIPv6, parseIpAddress } from '../../../lib/private/network';
import {
  internetChecksum,
  InnerPacket,
  parseInnerPacket,
  udpChecksum,
  udpChecksumValid,
  udpPacketLength,
  writeUdpPacket,
} from '../../../service/wireguard/inner-packet';

const ip = (text: string): Buffer => parseIpAddress(text)!;

function build(source: string, destination: string, sourcePort: number, destinationPort: number, payload: string): Buffer {
  const data = Buffer.from(payload);
  const out = Buffer.alloc(udpPacketLength(isIPv6(source) ? 6 : 4, data.length));
  const length = writeUdpPacket(out, 0, { source: ip(source), destination: ip(destination), sourcePort, destinationPort }, data);
  expect(length).toBe(out.length);
  return out;
}

describe('inner IPv4/UDP packets', () => {
  // Computed independently (one's-complement sums by hand over the header words / pseudo-header):
  // IPv4 header checksum 0x2604, UDP checksum 0x6dde.
  const expected = '4500002100004000401126040a6300010a63000223281633000d6dde68656c6c6f';

  test('built byte for byte with correct IP header and UDP checksums', () => {
    expect(build('10.99.0.1', '10.99.0.2', 9000, 5683, 'hello').toString('hex')).toBe(expected);
  });

  test('the header checksum verifies to zero over the header, the UDP checksum over the pseudo-header', () => {
    const packet = Buffer.from(expected, 'hex');
    expect(internetChecksum(packet, 0, 20)).toBe(0);
    expect(udpChecksumValid(packet.subarray(12, 16), packet.subarray(16, 20), packet, 20, packet.length)).toBe(true);
    const corrupted = Buffer.from(packet);
    corrupted[30] ^= 0x01;
    expect(udpChecksumValid(corrupted.subarray(12, 16), corrupted.subarray(16, 20), corrupted, 20, corrupted.length)).toBe(false);
  });

  test('parsed back with addressing, payload and padding removed', () => {
    const padded = Buffer.concat([Buffer.from(expected, 'hex'), Buffer.alloc(15)]);
    const parsed = parseInnerPacket(padded) as InnerPacket;
    expect(parsed).toMatchObject({
      version: 4, protocol: 17, sourceAddress: '10.99.0.1', destinationAddress: '10.99.0.2', sourcePort: 9000, destinationPort: 5683, fragment: false,
    });
    expect(parsed.payload.toString()).toBe('hello');
    expect(parsed.packet).toHaveLength(33);
  });

  test('IPv4 options (IHL > 5) are skipped', () => {
    const base = Buffer.from(expected, 'hex');
    const withOptions = Buffer.concat([base.subarray(0, 20), Buffer.from([1, 1, 1, 0]), base.subarray(20)]);
    withOptions[0] = 0x46;
    withOptions.writeUInt16BE(base.length + 4, 2);
    const parsed = parseInnerPacket(withOptions) as InnerPacket;
    expect(parsed.payload.toString()).toBe('hello');
    expect(parsed.destinationPort).toBe(5683);
  });

  test('fragments are recognised as such', () => {
    const packet = Buffer.from(expected, 'hex');
    packet.writeUInt16BE(0x2000, 6); // MF
    expect((parseInnerPacket(packet) as InnerPacket).fragment).toBe(true);
    packet.writeUInt16BE(0x0010, 6); // offset
    expect((parseInnerPacket(packet) as InnerPacket).fragment).toBe(true);
  });

  test('other protocols are parsed with ports 0 and the IP payload', () => {
    const packet = Buffer.from(expected, 'hex');
    packet[9] = 1; // ICMP
    const parsed = parseInnerPacket(packet) as InnerPacket;
    expect(parsed).toMatchObject({ protocol: 1, sourcePort: 0, destinationPort: 0 });
    expect(parsed.payload).toHaveLength(13);
  });

  test('an inconsistent UDP length is reported, not delivered', () => {
    const packet = Buffer.from(expected, 'hex');
    packet.writeUInt16BE(200, 24);
    expect(parseInnerPacket(packet)).toMatch(/inner UDP length 200/);
    packet.writeUInt16BE(3, 24);
    expect(parseInnerPacket(packet)).toMatch(/inner UDP length 3/);
  });
});

describe('inner IPv6/UDP packets', () => {
  // UDP checksum 0xf011 computed independently over the IPv6 pseudo-header (32-bit length, next header 17).
  const expected = '6000000000111140fd990000000000000000000000000001fd990000000000000000000000000002232816330011f01168656c6c6f20763621';

  test('built byte for byte with the pseudo-header checksum', () => {
    expect(build('fd99::1', 'fd99::2', 9000, 5683, 'hello v6!').toString('hex')).toBe(expected);
  });

  test('parsed back; extension headers are walked', () => {
    const packet = Buffer.from(expected, 'hex');
    expect(parseInnerPacket(packet)).toMatchObject({ version: 6, sourceAddress: 'fd99::1', destinationAddress: 'fd99::2', sourcePort: 9000 });
    // Insert a hop-by-hop header (8 bytes) before UDP.
    const hop = Buffer.from([17, 0, 1, 4, 0, 0, 0, 0]);
    const withHop = Buffer.concat([packet.subarray(0, 40), hop, packet.subarray(40)]);
    withHop[6] = 0;
    withHop.writeUInt16BE(packet.length - 40 + 8, 4);
    const parsed = parseInnerPacket(withHop) as InnerPacket;
    expect(parsed.payload.toString()).toBe('hello v6!');
    expect(parsed.protocol).toBe(17);
  });

  test('a fragment header marks a fragment', () => {
    const packet = Buffer.from(expected, 'hex');
    const frag = Buffer.from([17, 0, 0, 1, 0, 0, 0, 1]);
    const withFrag = Buffer.concat([packet.subarray(0, 40), frag, packet.subarray(40)]);
    withFrag[6] = 44;
    withFrag.writeUInt16BE(packet.length - 40 + 8, 4);
    expect((parseInnerPacket(withFrag) as InnerPacket).fragment).toBe(true);
  });

  test('an atomic fragment (offset 0, M 0) is a whole packet; M 1 or an offset > 0 is a fragment', () => {
    const packet = Buffer.from(expected, 'hex');
    const withFragmentHeader = (offsetAndMore: number): Buffer => {
      const frag = Buffer.from([17, 0, 0, 0, 0, 0, 0, 1]);
      frag.writeUInt16BE(offsetAndMore, 2);
      const out = Buffer.concat([packet.subarray(0, 40), frag, packet.subarray(40)]);
      out[6] = 44;
      out.writeUInt16BE(packet.length - 40 + 8, 4);
      return out;
    };
    const atomic = parseInnerPacket(withFragmentHeader(0)) as InnerPacket;
    expect(atomic).toMatchObject({ version: 6, protocol: 17, fragment: false, sourcePort: 9000, destinationPort: 5683 });
    expect(atomic.payload.toString()).toBe('hello v6!');
    // the reserved bits do not make a fragment
    expect((parseInnerPacket(withFragmentHeader(0x0006)) as InnerPacket).fragment).toBe(false);
    expect((parseInnerPacket(withFragmentHeader(0x0001)) as InnerPacket)).toMatchObject({ fragment: true, sourcePort: 0 });
    expect((parseInnerPacket(withFragmentHeader(0x0008)) as InnerPacket)).toMatchObject({ fragment: true, sourcePort: 0 });
    expect((parseInnerPacket(withFragmentHeader(0xfff8)) as InnerPacket).fragment).toBe(true);
    // headers after an atomic fragment header are walked too
    const hop = Buffer.from([17, 0, 1, 4, 0, 0, 0, 0]);
    const chained = withFragmentHeader(0);
    chained[40] = 60; // the fragment header is followed by destination options
    const withOptions = Buffer.concat([chained.subarray(0, 48), hop, chained.subarray(48)]);
    withOptions.writeUInt16BE(chained.length - 40 + 8, 4);
    const parsed = parseInnerPacket(withOptions) as InnerPacket;
    expect(parsed).toMatchObject({ fragment: false, protocol: 17 });
    expect(parsed.payload.toString()).toBe('hello v6!');
  });

  test('a truncated extension header chain is reported', () => {
    const packet = Buffer.from(expected, 'hex').subarray(0, 44);
    packet[6] = 0;
    packet.writeUInt16BE(4, 4);
    expect(parseInnerPacket(packet)).toMatch(/truncated/);
  });

  test('a zero UDP checksum is invalid over IPv6 but means "none" over IPv4', () => {
    const v6 = Buffer.from(expected, 'hex');
    v6.writeUInt16BE(0, 46);
    expect(udpChecksumValid(v6.subarray(8, 24), v6.subarray(24, 40), v6, 40, v6.length)).toBe(false);
    expect(udpChecksumValid(ip('10.0.0.1'), ip('10.0.0.2'), Buffer.from('0001000200080000', 'hex'), 0, 8)).toBe(true);
  });
});

describe('not IP packets', () => {
  test.each([
    ['empty', ''],
    ['text with another first nibble', Buffer.from('{"hello":"world"}').toString('hex')],
    ['first nibble 0', '0102030405'],
    ['first nibble 5', Buffer.from('Zebra').toString('hex')],
  ])('%s is raw data', (_name, hexData) => {
    expect(parseInnerPacket(Buffer.from(hexData, 'hex'))).toBeUndefined();
  });
});

describe('payloads that say IP but do not parse are refused, never raw data', () => {
  test.each([
    ['version 4 but too short', '45000014', /IPv4 header is truncated/],
    ['IPv4 total length beyond the data', `4500ffff${'00'.repeat(16)}`, /total length 65535/],
    ['IPv4 total length below the header', `45000004${'00'.repeat(16)}`, /total length 4/],
    ['IPv4 IHL below 5', `4400001c${'00'.repeat(24)}`, /IHL < 5/],
    ['IPv4 IHL 0', `4000001c${'00'.repeat(24)}`, /IHL < 5/],
    ['version 6 but too short', '60000000', /IPv6 header is truncated/],
    ['IPv6 payload length beyond the data', `60000000ffff1140${'00'.repeat(32)}`, /payload length 65535/],
    ['text starting with a nibble of 6', Buffer.from('hello world').toString('hex'), /IPv6 header is truncated/],
  ])('%s', (_name, hexData, reason) => {
    expect(parseInnerPacket(Buffer.from(hexData, 'hex'))).toMatch(reason);
  });
});

describe('checksum helpers', () => {
  test('RFC 1071 example sums', () => {
    // 0001 f203 f4f5 f6f7 → sum ddf2 (RFC 1071 §3), checksum ~ddf2 = 220d.
    expect(internetChecksum(Buffer.from('0001f203f4f5f6f7', 'hex'))).toBe(0x220d);
    // Odd length is padded with a zero byte.
    expect(internetChecksum(Buffer.from('01', 'hex'))).toBe(0xfeff);
  });

  /** RFC 1071 one 16-bit big-endian word at a time: the reference the word-at-a-time sum must match. */
  function referenceChecksum(data: Uint8Array, start: number, end: number): number {
    let sum = 0;
    let i = start;
    for (; i + 1 < end; i += 2) sum += (data[i] << 8) | data[i + 1];
    if (i < end) sum += data[i] << 8;
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    return ~sum & 0xffff;
  }

  test('long runs (summed as 32-bit words from aligned starts) give the checksum of the word-by-word sum, at every alignment and length', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 1600, size: 'max' }), fc.nat(7), fc.nat(7), (bytes, head, tail) => {
        const start = Math.min(head, bytes.length);
        const end = Math.max(start, bytes.length - tail);
        // a buffer of its own, so alignment follows `start`
        const data = new Uint8Array(bytes);
        expect(internetChecksum(data, start, end)).toBe(referenceChecksum(data, start, end));
        // the same bytes inside a larger buffer at an offset of 1, 2, 3 bytes
        for (const shift of [1, 2, 3]) {
          const shifted = new Uint8Array(data.length + shift);
          shifted.set(data, shift);
          expect(internetChecksum(shifted, start + shift, end + shift)).toBe(referenceChecksum(data, start, end));
        }
      }),
      { numRuns: 300 },
    );
  });

  test('sums of all-ones and all-zero runs keep their one\'s complement form (0xffff words, carries folded)', () => {
    for (const length of [64, 65, 1200, 1500, 65535]) {
      expect(internetChecksum(new Uint8Array(length).fill(0xff))).toBe(referenceChecksum(new Uint8Array(length).fill(0xff), 0, length));
      expect(internetChecksum(new Uint8Array(length))).toBe(0xffff);
    }
  });

  test('a 1200-byte inner packet built at offset 0 carries the UDP checksum of the reference sum', () => {
    const payload = Buffer.alloc(1200);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 131 + 7) & 0xff;
    const out = Buffer.alloc(udpPacketLength(4, payload.length));
    writeUdpPacket(out, 0, { source: ip('10.99.0.1'), destination: ip('10.99.0.2'), sourcePort: 40000, destinationPort: 9000 }, payload);
    expect(internetChecksum(out, 0, 20)).toBe(0);
    expect(udpChecksumValid(out.subarray(12, 16), out.subarray(16, 20), out, 20, out.length)).toBe(true);
    // the pseudo-header and the datagram, summed word by word, verify to zero too
    const udpLength = out.length - 20;
    const pseudo = Buffer.concat([out.subarray(12, 20), Buffer.from([0, 17, udpLength >> 8, udpLength & 0xff]), out.subarray(20)]);
    expect(referenceChecksum(pseudo, 0, pseudo.length)).toBe(0);
  });

  test('summing a buffer keeps no reference to it once the buffer is gone', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const summed = (): WeakRef<ArrayBuffer> => {
      const data = new Uint8Array(new ArrayBuffer(4096)).fill(0x5a);
      // long and aligned: summed 32 bits at a time through a word view of the buffer
      expect(internetChecksum(data, 0, data.length)).toBe(referenceChecksum(data, 0, data.length));
      return new WeakRef(data.buffer);
    };
    const ref = summed();
    // a WeakRef holds its target until the current job ends
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    expect(ref.deref()).toBeUndefined();
    // a buffer summed again after another one still sums right (its view is its own)
    const other = new Uint8Array(256).fill(0xa5);
    expect(internetChecksum(other)).toBe(referenceChecksum(other, 0, other.length));
  });

  test('a computed UDP checksum of zero is sent as 0xffff', () => {
    // Choose a payload word that makes the one's-complement sum 0xffff.
    const src = ip('0.0.0.0');
    const dst = ip('0.0.0.0');
    const udp = Buffer.from('0000000000080000', 'hex');
    const partial = udpChecksum(src, dst, udp, 0, 8);
    const fixed = Buffer.from(udp);
    fixed.writeUInt16BE(partial === 0xffff ? 0 : partial, 0);
    expect(udpChecksum(src, dst, fixed, 0, 8)).toBe(0xffff);
  });
});

describe('IP address text', () => {
  test.each([
    ['2001:db8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:0db8:0000:0000:0001:0000:0000:0001', '2001:db8::1:0:0:1'],
    ['fd99::', 'fd99::'],
    ['::', '::'],
    ['::1', '::1'],
    ['1:0:1:0:1:0:1:0', '1:0:1:0:1:0:1:0'],
    ['0:0:1:0:0:0:1:0', '0:0:1::1:0'],
    ['FE80::ABCD', 'fe80::abcd'],
  ])('%s formats canonically as %s (same as the URL serializer)', (input, canonical) => {
    const bytes = parseIpAddress(input)!;
    expect(bytes).toHaveLength(16);
    expect(formatIPv6(bytes)).toBe(canonical);
    expect(new URL(`http://[${input}]/`).hostname).toBe(`[${canonical}]`);
  });

  test('IPv4, IPv4-mapped and embedded-IPv4 forms', () => {
    expect(formatIpAddress(parseIpAddress('192.0.2.33')!)).toBe('192.0.2.33');
    expect(formatIpAddress(parseIpAddress('::ffff:192.0.2.1')!)).toBe('::ffff:192.0.2.1');
    expect(parseIpAddress('64:ff9b::192.0.2.1')!.subarray(12)).toEqual(Buffer.from([192, 0, 2, 1]));
  });

  test('rejects what is not an address', () => {
    for (const bad of ['', 'host', '1.2.3', '256.1.1.1', '1::2::3', 'g::1']) expect(parseIpAddress(bad)).toBeUndefined();
  });
});
