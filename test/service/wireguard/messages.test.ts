import {
  COOKIE_REPLY_LENGTH,
  decodeCookieReply,
  decodeInitiation,
  decodeResponse,
  decodeTransport,
  encodeCookieReply,
  encodeInitiation,
  encodeResponse,
  INITIATION_LENGTH,
  messageType,
  readCounter,
  RESPONSE_LENGTH,
  writeTransportHeader,
} from '../../../service/wireguard/messages';

const fill = (length: number, value: number): Buffer => Buffer.alloc(length, value);

describe('message codecs', () => {
  test('initiation: 148 bytes, fields at their offsets, round trip', () => {
    const m = encodeInitiation(0xdeadbeef, fill(32, 1), fill(48, 2), fill(28, 3));
    expect(m).toHaveLength(INITIATION_LENGTH);
    expect(m.subarray(0, 4)).toEqual(Buffer.from([1, 0, 0, 0]));
    expect(m.readUInt32LE(4)).toBe(0xdeadbeef);
    const d = decodeInitiation(m);
    if (typeof d === 'string') throw new Error(d);
    expect(d.sender).toBe(0xdeadbeef);
    expect(d.ephemeral).toEqual(fill(32, 1));
    expect(d.encryptedStatic).toEqual(fill(48, 2));
    expect(d.encryptedTimestamp).toEqual(fill(28, 3));
    expect(d.mac1).toEqual(fill(16, 0));
    expect(d.mac2).toEqual(fill(16, 0));
  });

  test('response: 92 bytes, round trip', () => {
    const m = encodeResponse(7, 9, fill(32, 4), fill(16, 5));
    expect(m).toHaveLength(RESPONSE_LENGTH);
    const d = decodeResponse(m);
    if (typeof d === 'string') throw new Error(d);
    expect(d).toMatchObject({ sender: 7, receiver: 9 });
    expect(d.ephemeral).toEqual(fill(32, 4));
    expect(d.encryptedNothing).toEqual(fill(16, 5));
  });

  test('cookie reply: 64 bytes, round trip', () => {
    const m = encodeCookieReply(42, fill(24, 6), fill(32, 7));
    expect(m).toHaveLength(COOKIE_REPLY_LENGTH);
    const d = decodeCookieReply(m);
    if (typeof d === 'string') throw new Error(d);
    expect(d.receiver).toBe(42);
    expect(d.nonce).toEqual(fill(24, 6));
    expect(d.encryptedCookie).toEqual(fill(32, 7));
  });

  test('transport: header with receiver and 64-bit little-endian counter', () => {
    const m = Buffer.alloc(16 + 32);
    writeTransportHeader(m, 0x01020304, 2 ** 40 + 5);
    expect(m.subarray(0, 4)).toEqual(Buffer.from([4, 0, 0, 0]));
    expect(m.readBigUInt64LE(8)).toBe(2n ** 40n + 5n);
    const d = decodeTransport(m);
    if (typeof d === 'string') throw new Error(d);
    expect(d).toMatchObject({ receiver: 0x01020304, counter: 2 ** 40 + 5 });
    expect(d.encrypted).toHaveLength(32);
  });

  test('counters at or above 2^53 read as Infinity (never valid)', () => {
    const m = Buffer.alloc(8);
    m.writeBigUInt64LE(2n ** 53n);
    expect(readCounter(m, 0)).toBe(Infinity);
    m.writeBigUInt64LE(2n ** 53n - 1n);
    expect(readCounter(m, 0)).toBe(2 ** 53 - 1);
    m.writeBigUInt64LE(2n ** 64n - 1n);
    expect(readCounter(m, 0)).toBe(Infinity);
  });

  describe('rejections', () => {
    const initiation = encodeInitiation(1, fill(32, 1), fill(48, 2), fill(28, 3));
    const response = encodeResponse(1, 2, fill(32, 1), fill(16, 2));
    const cookie = encodeCookieReply(1, fill(24, 1), fill(32, 2));

    test.each([
      ['truncated initiation', () => decodeInitiation(initiation.subarray(0, 147)), /must be 148 bytes, got 147/],
      ['oversized initiation', () => decodeInitiation(Buffer.concat([initiation, Buffer.alloc(1)])), /must be 148 bytes, got 149/],
      ['initiation with a response type', () => decodeInitiation(response), /not a handshake initiation/],
      ['initiation with non-zero reserved bytes', () => decodeInitiation(Buffer.concat([Buffer.from([1, 0, 1, 0]), initiation.subarray(4)])), /not a handshake initiation/],
      ['truncated response', () => decodeResponse(response.subarray(0, 91)), /must be 92 bytes/],
      ['oversized response', () => decodeResponse(Buffer.concat([response, Buffer.alloc(16)])), /must be 92 bytes/],
      ['response with an initiation type', () => decodeResponse(initiation), /not a handshake response/],
      ['truncated cookie reply', () => decodeCookieReply(cookie.subarray(0, 63)), /must be 64 bytes/],
      ['cookie reply with a transport type', () => decodeCookieReply(Buffer.concat([Buffer.from([4, 0, 0, 0]), cookie.subarray(4)])), /not a cookie reply/],
      ['transport shorter than 32 bytes', () => decodeTransport(Buffer.concat([Buffer.from([4, 0, 0, 0]), Buffer.alloc(27)])), /at least 32 bytes/],
      ['transport with a wrong type', () => decodeTransport(Buffer.concat([Buffer.from([5, 0, 0, 0]), Buffer.alloc(28)])), /not a transport message/],
      ['transport larger than a datagram', () => decodeTransport(Buffer.concat([Buffer.from([4, 0, 0, 0]), Buffer.alloc(65_504)])), /exceeds 65507/],
      ['empty datagram', () => decodeInitiation(Buffer.alloc(0)), /truncated at 0 bytes/],
    ])('%s', (_name, decode, reason) => {
      const result = decode();
      expect(typeof result).toBe('string');
      expect(result).toMatch(reason);
    });

    test('messageType accepts only 1–4 with three zero bytes', () => {
      expect(messageType(Buffer.from([1, 0, 0, 0]))).toBe(1);
      expect(messageType(Buffer.from([4, 0, 0, 0, 9]))).toBe(4);
      expect(messageType(Buffer.from([0, 0, 0, 0]))).toBe(0);
      expect(messageType(Buffer.from([5, 0, 0, 0]))).toBe(0);
      expect(messageType(Buffer.from([1, 0, 0, 1]))).toBe(0);
      expect(messageType(Buffer.from([1, 0, 0]))).toBe(0);
    });
  });
});
