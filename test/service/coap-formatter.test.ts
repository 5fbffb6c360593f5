import fc from 'fast-check';
import { CapturingFailureReporter, CapturingMetrics } from './helpers';
import { CoapMessage, coapToData, parseCoap } from '../../service/coap-formatter';
import type { Failure } from '../../service/contracts';
import { packetTemplate, queueDatagram } from '../../service/destinations/packet';
import { decodeData, encodeData, isFailure } from '../../service/formatter';
import { ReplyRouter } from '../../service/replies/reply-router';
import { ReplyTagCodec } from '../../service/replies/reply-tags';
import { parseSourcedEntry } from '../../service/sourcing/sourced-entry';

const b64 = (text: string): string => Buffer.from(text).toString('base64');
const bytes = (...parts: (number | string)[]): Buffer => Buffer.concat(parts.map((p) => (typeof p === 'number' ? Buffer.from([p]) : Buffer.from(p, 'latin1'))));

/** Data → bytes for a value the coap Formatter accepts. */
function encode(value: unknown): Buffer {
  const out = decodeData(value, 'coap', 'Data');
  if (isFailure(out)) throw new Error(`unexpected failure: ${out.reason}`);
  return out;
}

/** Bytes → the parsed object for a well-formed message. */
function decode(buf: Buffer): CoapMessage {
  const text = encodeData(buf, 'coap');
  if (typeof text !== 'string') throw new Error(`unexpected failure: ${text.reason}`);
  return JSON.parse(text) as CoapMessage;
}

function failureOf(result: unknown): Failure {
  expect(result).toMatchObject({ code: 'InvalidData' });
  return result as Failure;
}

// GET /time, CON, MessageId 4711 (0x1267), token 01 02 03: Proxylity's coap-time-service example.
const GET_TIME = bytes(0x43, 0x01, 0x12, 0x67, 0x01, 0x02, 0x03, 0xb4, 'time');

describe('coap Formatter: inbound CoAP becomes Proxylity JSON text in Data', () => {
  test("Proxylity's example request decodes to exactly the documented JSON", () => {
    expect(encodeData(GET_TIME, 'coap')).toBe(
      '{"Version":1,"Type":0,"Code":1,"MessageId":4711,"Token":"AQID","Method":"GET","Path":"/time","Options":[{"Number":11,"Value":"dGltZQ=="}]}',
    );
  });

  test('Path joins the Uri-Path segments; other options keep wire order; Payload is base64 when present', () => {
    // POST (0.02) NON, no token, Uri-Path "a" (11), Uri-Path "b" (delta 0), Content-Format 0 (12, delta 1, empty), payload "hi".
    const message = bytes(0x50, 0x02, 0x00, 0x07, 0xb1, 'a', 0x01, 'b', 0x10, 0xff, 'hi');
    expect(decode(message)).toEqual({
      Version: 1,
      Type: 1,
      Code: 2,
      MessageId: 7,
      Token: '',
      Method: 'POST',
      Path: '/a/b',
      Options: [{ Number: 11, Value: b64('a') }, { Number: 11, Value: b64('b') }, { Number: 12, Value: '' }],
      Payload: b64('hi'),
    });
  });

  test('a request without Uri-Path has Path "/"; a response has neither Method nor Path; unknown request codes are named c.dd', () => {
    expect(decode(bytes(0x40, 0x01, 0x00, 0x01))).toMatchObject({ Method: 'GET', Path: '/' });
    const response = decode(bytes(0x60, 0x45, 0x00, 0x01, 0xff, 'x'));
    expect(response).toEqual({ Version: 1, Type: 2, Code: 69, MessageId: 1, Token: '', Options: [], Payload: b64('x') });
    expect(decode(bytes(0x40, 0x09, 0x00, 0x01))).toMatchObject({ Method: '0.09', Path: '/' });
    expect(decode(bytes(0x40, 0x00, 0x00, 0x01))).toEqual({ Version: 1, Type: 0, Code: 0, MessageId: 1, Token: '', Options: [] });
  });

  test('extended deltas and lengths (nibbles 13 and 14) decode', () => {
    // Uri-Query (15): delta 15 → nibble 13 + 2; value of 20 bytes → nibble 13 + 7.
    // Option 2048: delta 2033 → nibble 14 + (2033 - 269 = 0x06E4); value of 300 bytes → nibble 14 + (300 - 269 = 0x001F).
    const longValue = 'v'.repeat(300);
    const message = bytes(0x40, 0x01, 0x00, 0x02, 0xdd, 0x02, 0x07, 'q'.repeat(20), 0xee, 0x06, 0xe4, 0x00, 0x1f, longValue);
    expect(decode(message).Options).toEqual([{ Number: 15, Value: b64('q'.repeat(20)) }, { Number: 2048, Value: b64(longValue) }]);
  });

  test('a packet with the coap Formatter carries the JSON text as its Data string', () => {
    const template = packetTemplate({ Domain: 'demo', Port: 5683, IpAddress: '127.0.0.1', Protocol: 'udp' }, 'local', 'coap');
    const queued = queueDatagram({ data: GET_TIME, remoteAddress: '127.0.0.1', remotePort: 40000, receivedAt: 0 }, 'TAG', template);
    if (!('json' in queued)) throw new Error(queued.reason);
    const packet = JSON.parse(queued.json) as { Formatter: string; Data: string };
    expect(packet.Formatter).toBe('coap');
    expect(typeof packet.Data).toBe('string');
    expect(JSON.parse(packet.Data)).toMatchObject({ Path: '/time', Token: 'AQID' });
  });

  test.each([
    ['3 bytes', bytes(0x40, 0x01, 0x00), '3 byte(s) is shorter than the 4-byte header at offset 0'],
    ['version 2', bytes(0x80, 0x01, 0x00, 0x01), 'version 2 (only version 1 exists) at offset 0'],
    ['version 0', bytes(0x00, 0x01, 0x00, 0x01), 'version 0 (only version 1 exists) at offset 0'],
    ['token length 9', bytes(0x49, 0x01, 0x00, 0x01, '123456789'), 'token length 9 (at most 8; 9–15 are reserved) at offset 0'],
    ['token length 15', bytes(0x4f, 0x01, 0x00, 0x01), 'token length 15 (at most 8; 9–15 are reserved) at offset 0'],
    ['truncated token', bytes(0x44, 0x01, 0x00, 0x01, 0x01, 0x02), 'token of 4 bytes is truncated (2 left) at offset 4'],
    ['delta nibble 15', bytes(0x40, 0x01, 0x00, 0x01, 0xf1, 0x00), 'option delta nibble 15 is reserved (only the whole byte 0xFF, the payload marker, may hold it) at offset 4'],
    ['length nibble 15', bytes(0x40, 0x01, 0x00, 0x01, 0xbf), 'option length nibble 15 is reserved (only the whole byte 0xFF, the payload marker, may hold it) at offset 4'],
    ['delta 13 truncated', bytes(0x40, 0x01, 0x00, 0x01, 0xd0), 'option delta nibble 13 needs 1 more byte (truncated) at offset 4'],
    ['delta 14 truncated', bytes(0x40, 0x01, 0x00, 0x01, 0xe0, 0x01), 'option delta nibble 14 needs 2 more bytes (truncated) at offset 4'],
    ['length 13 truncated', bytes(0x40, 0x01, 0x00, 0x01, 0x1d), 'option length nibble 13 needs 1 more byte (truncated) at offset 4'],
    ['truncated option value', bytes(0x40, 0x01, 0x00, 0x01, 0xb4, 'ti'), 'option 11 value of 4 bytes is truncated (2 left) at offset 4'],
    ['payload marker without payload', bytes(0x40, 0x01, 0x00, 0x01, 0xff), 'payload marker 0xFF with no payload after it at offset 4'],
    ['Empty message with a payload', bytes(0x40, 0x00, 0x00, 0x01, 0xff, 'x'), 'an Empty message (code 0.00) with bytes after the header at offset 4'],
    ['option number above 65535', bytes(0x40, 0x01, 0x00, 0x01, 0xe0, 0xff, 0xff), 'option number 65804 (at most 65535) at offset 4'],
    ['Uri-Path that is not UTF-8', bytes(0x40, 0x01, 0x00, 0x01, 0xb1, 0xff), 'Uri-Path option that is not UTF-8 at offset 4'],
  ])('%s is InvalidData naming the problem and offset', (_name, message, problem) => {
    const failure = failureOf(encodeData(message, 'coap'));
    expect(failure.reason).toBe(`Data: payload is not valid CoAP: ${problem} (allowed: a CoAP message (RFC 7252): 4-byte header with version 1, a token of up to 8 bytes, options, and 0xFF before a non-empty payload; use Formatter base64 or hex for other payloads)`);
  });
});

describe('coap Formatter: reply and sourced Data become a CoAP message', () => {
  test("Proxylity's example reply (JSON text, Code as \"2.05\", options without Value) encodes byte for byte", () => {
    const data = JSON.stringify({
      Type: 2,
      Code: '2.05',
      MessageId: 4711,
      Token: 'AQID',
      Options: [{ Number: 6 }, { Number: 12 }, { Number: 14, Value: 'PA==' }],
      Payload: b64('2026-03-11T14:23:01Z'),
    });
    expect(encode(data)).toEqual(bytes(0x63, 0x45, 0x12, 0x67, 0x01, 0x02, 0x03, 0x60, 0x60, 0x21, 0x3c, 0xff, '2026-03-11T14:23:01Z'));
  });

  test('the object itself is accepted; options are sorted by Number, repeated options keep their order', () => {
    const out = encode({ Type: 0, Code: 1, MessageId: 1, Options: [{ Number: 12, Value: '' }, { Number: 11, Value: b64('a') }, { Number: 11, Value: b64('b') }] });
    expect(out).toEqual(bytes(0x40, 0x01, 0x00, 0x01, 0xb1, 'a', 0x01, 'b', 0x10));
  });

  test('Method stands for Code and Path for Uri-Path options in a request', () => {
    expect(encode({ Type: 1, Method: 'post', MessageId: 2, Path: '/a/b/' })).toEqual(bytes(0x50, 0x02, 0x00, 0x02, 0xb1, 'a', 0x01, 'b'));
    // Uri-Path options given explicitly win over Path.
    expect(encode({ Type: 1, Code: 1, MessageId: 2, Path: '/x', Options: [{ Number: 11, Value: b64('y') }] })).toEqual(bytes(0x50, 0x01, 0x00, 0x02, 0xb1, 'y'));
  });

  test('extended deltas and lengths (nibbles 13 and 14) encode as RFC 7252 says', () => {
    const longValue = 'v'.repeat(300);
    const out = encode({ Type: 0, Code: 1, MessageId: 2, Options: [{ Number: 2048, Value: b64(longValue) }, { Number: 15, Value: b64('q'.repeat(20)) }] });
    expect(out).toEqual(bytes(0x40, 0x01, 0x00, 0x02, 0xdd, 0x02, 0x07, 'q'.repeat(20), 0xee, 0x06, 0xe4, 0x00, 0x1f, longValue));
  });

  const allowed = 'a CoAP object {Type, Code, MessageId, Token, Options:[{Number, Value}], Payload} as JSON text or an object, with Token, Value and Payload in base64';
  test.each([
    ['not JSON', '{"Type":', /^Data: is not JSON \(/],
    ['an array', [1], `Data: is an array, not a CoAP object (allowed: ${allowed})`],
    ['missing', undefined, `Data: is missing (allowed: ${allowed})`],
    ['Version 2', { Version: 2, Type: 0, Code: 1, MessageId: 1 }, 'Data.Version: 2 is not a CoAP version (allowed: 1 (the only version), or leave it out)'],
    ['Type missing', { Code: 1, MessageId: 1 }, 'Data.Type: missing is not a message type (allowed: 0 Confirmable, 1 Non-confirmable, 2 Acknowledgement, 3 Reset)'],
    ['Type 4', { Type: 4, Code: 1, MessageId: 1 }, 'Data.Type: 4 is not a message type (allowed: 0 Confirmable, 1 Non-confirmable, 2 Acknowledgement, 3 Reset)'],
    ['Code missing', { Type: 0, MessageId: 1 }, 'Data.Code: is missing (allowed: the code byte 0–255, or "c.dd" with class 0–7 and detail 00–31 such as "2.05"; or a Method for a request)'],
    ['Code "2.5"', { Type: 0, Code: '2.5', MessageId: 1 }, 'Data.Code: "2.5" is not a CoAP code (allowed: the code byte 0–255, or "c.dd" with class 0–7 and detail 00–31 such as "2.05")'],
    ['Code "8.00"', { Type: 0, Code: '8.00', MessageId: 1 }, 'Data.Code: "8.00" is not a CoAP code (allowed: the code byte 0–255, or "c.dd" with class 0–7 and detail 00–31 such as "2.05")'],
    ['Code "2.32"', { Type: 0, Code: '2.32', MessageId: 1 }, 'Data.Code: "2.32" is not a CoAP code (allowed: the code byte 0–255, or "c.dd" with class 0–7 and detail 00–31 such as "2.05")'],
    ['Code 256', { Type: 0, Code: 256, MessageId: 1 }, 'Data.Code: 256 is not a CoAP code (allowed: the code byte 0–255, or "c.dd" with class 0–7 and detail 00–31 such as "2.05")'],
    ['Method unknown', { Type: 0, Method: 'HEAD', MessageId: 1 }, 'Data.Method: "HEAD" is not a request method (allowed: GET, POST, PUT, DELETE, FETCH, PATCH, iPATCH)'],
    ['MessageId 65536', { Type: 0, Code: 1, MessageId: 65536 }, 'Data.MessageId: 65536 is not a message id (allowed: integer 0–65535)'],
    ['Token of 9 bytes', { Type: 0, Code: 1, MessageId: 1, Token: Buffer.alloc(9).toString('base64') }, 'Data.Token: is 9 bytes long (allowed: at most 8 bytes, base64)'],
    ['Token not base64', { Type: 0, Code: 1, MessageId: 1, Token: 'A*' }, /^Data\.Token: not valid base64: character '\*'/],
    ['Options an object', { Type: 0, Code: 1, MessageId: 1, Options: {} }, 'Data.Options: is an object (allowed: an array of {Number, Value})'],
    ['Option Number -1', { Type: 0, Code: 1, MessageId: 1, Options: [{ Number: -1 }] }, 'Data.Options[0].Number: -1 is not an option number (allowed: integer 0–65535)'],
    ['Option Value a number', { Type: 0, Code: 1, MessageId: 1, Options: [{ Number: 1, Value: 5 }] }, 'Data.Options[0].Value: must be a base64 string, got number (allowed: base64 text)'],
    ['Uri-Path not UTF-8', { Type: 0, Code: 1, MessageId: 1, Options: [{ Number: 11, Value: '/w==' }] }, 'Data.Options[0].Value: is not UTF-8 (allowed: UTF-8 text, base64: Uri-Path is a string option)'],
    ['Payload not base64', { Type: 0, Code: 1, MessageId: 1, Payload: 'hello world' }, /^Data\.Payload: not valid base64/],
    ['Empty with a Token', { Type: 0, Code: 0, MessageId: 1, Token: 'AQ==' }, 'Data: is an Empty message (Code 0) with a Token, Options or a Payload (allowed: no Token, Options or Payload in an Empty message)'],
  ])('%s is InvalidData', (_name, value, reason) => {
    const failure = failureOf(decodeData(value, 'coap', 'Data'));
    if (typeof reason === 'string') expect(failure.reason).toBe(reason);
    else expect(failure.reason).toMatch(reason);
  });

  test('a reply with coap Data goes out as the CoAP message; the object form is accepted as well', () => {
    const tags = new ReplyTagCodec();
    const sent: { data: Buffer }[] = [];
    const listener = { name: 'demo', protocol: 'udp' as const, address: '127.0.0.1', port: 5683, send: (d: { data: Buffer }) => { sent.push(d); } };
    const failures = new CapturingFailureReporter();
    const router = new ReplyRouter({ listeners: { get: () => listener, list: () => [listener] }, tags, failures, metrics: new CapturingMetrics() });
    const tag = tags.mint('demo', '203.0.113.5', 4000, 300);
    const reply = { Type: 2, Code: '2.05', MessageId: 4711, Token: 'AQID' };
    const result = router.route({ Replies: [{ Tag: tag, Data: JSON.stringify(reply) }, { Tag: tag, Data: reply }] }, { listener: 'demo', destination: 'sfn', formatter: 'coap' });
    expect(failures.records).toEqual([]);
    expect(result).toEqual({ sent: 2, failed: 0 });
    expect(sent.map((d) => d.data)).toEqual([bytes(0x63, 0x45, 0x12, 0x67, 1, 2, 3), bytes(0x63, 0x45, 0x12, 0x67, 1, 2, 3)]);
  });

  test('a sourced packet with Formatter coap sends the CoAP message; bad CoAP is InvalidData', () => {
    const published = Date.parse('2026-03-11T14:23:01.000Z');
    const data = JSON.stringify({ Type: 1, Code: '2.05', MessageId: 9, Token: 'AQID', Options: [{ Number: 6, Value: 'AQ==' }], Payload: b64('t') });
    expect(parseSourcedEntry({ Data: data, Formatter: 'coap', Remote: { Address: '203.0.113.5', Port: 5683 } }, 'Messages[0].', published, published, { maxPayloadBytes: 1400 }))
      .toMatchObject({ data: bytes(0x53, 0x45, 0x00, 0x09, 1, 2, 3, 0x61, 0x01, 0xff, 't'), address: '203.0.113.5', port: 5683 });
    expect(parseSourcedEntry({ Data: '{"Type":9}', Formatter: 'coap', Remote: { Address: '203.0.113.5', Port: 5683 } }, 'Messages[0].', published, published, { maxPayloadBytes: 1400 }))
      .toMatchObject({ code: 'InvalidData', reason: expect.stringMatching(/^Messages\[0\]\.Data\.Type: 9 is not a message type/) });
  });
});

describe('coap Formatter: properties', () => {
  const base64Of = (max: number) => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a).toString('base64'));
  // Uri-Path (11) is a string option: UTF-8 only, in both directions.
  const option = fc.oneof(
    fc.record({
      Number: fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 65_535 })).filter((n) => n !== 11),
      Value: base64Of(400),
    }),
    fc.record({ Number: fc.constant(11), Value: fc.string({ unit: 'grapheme', maxLength: 20 }).map(b64) }),
  );
  const message = fc.record({
    Type: fc.integer({ min: 0, max: 3 }),
    Code: fc.integer({ min: 1, max: 255 }),
    MessageId: fc.integer({ min: 0, max: 65_535 }),
    Token: base64Of(8),
    Options: fc.array(option, { maxLength: 6 }),
    Payload: fc.option(fc.uint8Array({ minLength: 1, maxLength: 64 }).map((a) => Buffer.from(a).toString('base64')), { nil: undefined }),
  });

  test('object → bytes → object keeps every field (options in ascending Number order, stable)', () => {
    fc.assert(fc.property(message, (m) => {
      const parsed = decode(encode(m));
      const sorted = m.Options.map((o, i) => ({ o, i })).sort((a, b) => a.o.Number - b.o.Number || a.i - b.i).map(({ o }) => o);
      expect(parsed).toMatchObject({ Version: 1, Type: m.Type, Code: m.Code, MessageId: m.MessageId, Token: m.Token, Options: sorted });
      expect(parsed.Payload).toBe(m.Payload);
    }), { numRuns: 500 });
  });

  test('bytes → object → bytes is the identity for well-formed messages', () => {
    fc.assert(fc.property(message, (m) => {
      const wire = encode(m);
      expect(encode(coapToData(wire))).toEqual(wire);
    }), { numRuns: 500 });
  });

  test('random bytes never throw: they decode or give InvalidData', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), fc.integer({ min: 0, max: 3 }), (random, type) => {
      // Half of the inputs get a valid header so the option parser is exercised too.
      const input = Buffer.from(random);
      if (input.length >= 4 && type < 2) input[0] = 0x40 + (input[0] % 9);
      const out = parseCoap(input);
      if ('code' in out && typeof out.code === 'string') expect(out.code).toBe('InvalidData');
      else expect(out).toHaveProperty('Version', 1);
    }), { numRuns: 5000 });
  });
});
