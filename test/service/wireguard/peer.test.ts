import { standalonePeer } from './helpers';
import { tai64n } from '../../../service/wireguard/crypto';

/** A TAI64N from its three big-endian words. */
function timestamp(high: number, low: number, nanos: number): Buffer {
  const out = Buffer.alloc(12);
  out.writeUInt32BE(high, 0);
  out.writeUInt32BE(low, 4);
  out.writeUInt32BE(nanos, 8);
  return out;
}

describe('Peer initiation timestamps', () => {
  test('before any initiation every timestamp is newer', () => {
    const peer = standalonePeer();
    expect(peer.isNewerTimestamp(timestamp(0, 0, 0))).toBe(true);
  });

  test('only a strictly later timestamp is newer than the recorded one, word by word as unsigned', () => {
    const peer = standalonePeer();
    peer.recordTimestamp(timestamp(0x40000000, 0x7fffffff, 500));
    expect(peer.isNewerTimestamp(timestamp(0x40000000, 0x7fffffff, 500))).toBe(false);
    expect(peer.isNewerTimestamp(timestamp(0x40000000, 0x7fffffff, 499))).toBe(false);
    expect(peer.isNewerTimestamp(timestamp(0x40000000, 0x7fffffff, 501))).toBe(true);
    // 0x80000000 and above are larger, although they read negative as signed words
    expect(peer.isNewerTimestamp(timestamp(0x40000000, 0x80000000, 0))).toBe(true);
    expect(peer.isNewerTimestamp(timestamp(0x3fffffff, 0xffffffff, 0xffffffff))).toBe(false);
    expect(peer.isNewerTimestamp(timestamp(0xc0000000, 0, 0))).toBe(true);
    peer.recordTimestamp(timestamp(0x40000000, 0x80000000, 0xfffffff0));
    expect(peer.isNewerTimestamp(timestamp(0x40000000, 0x80000000, 0xffffffff))).toBe(true);
    expect(peer.isNewerTimestamp(timestamp(0x40000000, 0x80000000, 0x7fffffff))).toBe(false);
    expect(peer.isNewerTimestamp(timestamp(0x40000000, 0x7fffffff, 0xffffffff))).toBe(false);
  });

  test('agrees with a byte-wise comparison for real TAI64N timestamps', () => {
    const peer = standalonePeer();
    const times = [1_700_000_000_000, 1_700_000_000_001, 1_700_000_001_000, 2_200_000_000_000, 4_300_000_000_000];
    for (const a of times) {
      peer.recordTimestamp(tai64n(a));
      for (const b of times) expect(peer.isNewerTimestamp(tai64n(b))).toBe(Buffer.compare(tai64n(b), tai64n(a)) > 0);
    }
  });
});
