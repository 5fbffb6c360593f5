import { decodeData, encodeData, isFailure, parseFormatter } from '../../service/formatter';

const bytes = Buffer.from([0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff]);

describe('encodeData / decodeData round trips', () => {
  test.each(['base64', 'hex'] as const)('%s carries every byte value', (formatter) => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const text = encodeData(all, formatter);
    expect(decodeData(text, formatter)).toEqual(all);
  });

  test('base64 and hex encodings are the standard ones', () => {
    expect(encodeData(bytes, 'base64')).toBe('AAF/gP7/');
    // Rule (Proxylity's): hex is written upper-case.
    expect(encodeData(bytes, 'hex')).toBe('00017F80FEFF');
  });

  test('ascii carries 7-bit text and refuses bytes it cannot represent', () => {
    expect(encodeData(Buffer.from('hello\n'), 'ascii')).toBe('hello\n');
    // Rule: a payload the Formatter cannot represent exactly is refused (InvalidData), never written with '?'.
    expect(encodeData(bytes, 'ascii')).toEqual({
      code: 'InvalidData',
      reason: 'Data: payload is not ascii: byte 0x80 at offset 3 (allowed: bytes 0x00 to 0x7F; use Formatter base64 or hex for binary payloads)',
    });
    expect(decodeData('hello\n', 'ascii')).toEqual(Buffer.from('hello\n'));
  });

  test.each<[string, number[], number]>([
    ['a lone continuation byte', [0x61, 0x80], 1],
    ['a byte that never occurs in UTF-8', [0xff], 0],
    ['an overlong form', [0x61, 0x62, 0xc0, 0xaf], 2],
    ['an overlong three-byte form', [0xe0, 0x80, 0xaf], 0],
    ['an encoded surrogate', [0x61, 0xed, 0xa0, 0x80], 1],
    ['a code point above U+10FFFF', [0xf4, 0x90, 0x80, 0x80], 0],
    ['a truncated sequence', [0x61, 0x62, 0x63, 0xe2, 0x9c], 3],
    ['a sequence cut by an ASCII byte', [0xe2, 0x41, 0x93], 0],
  ])('utf8 refuses %s, naming the offset', (_name, input, offset) => {
    const result = encodeData(Buffer.from(input), 'utf8', 'Messages[0].Data');
    expect(result).toMatchObject({ code: 'InvalidData' });
    expect((result as { reason: string }).reason).toMatch(new RegExp(`^Messages\\[0\\]\\.Data: payload is not valid utf8: byte 0x[0-9A-F]{2} at offset ${offset} \\(allowed: well-formed UTF-8;`));
  });

  test('utf8 carries Unicode text, surrogate pairs included', () => {
    const text = 'héllo ✓ 😀';
    expect(encodeData(Buffer.from(text, 'utf8'), 'utf8')).toBe(text);
    expect(decodeData(text, 'utf8')).toEqual(Buffer.from(text, 'utf8'));
  });

  test('base64 decoding accepts exactly the strict alphabet (random strings against a reference)', () => {
    const reference = (text: string): Buffer | undefined => {
      const m = /^([A-Za-z0-9+/]*)(={0,2})$/.exec(text);
      if (!m || m[1].length % 4 === 1 || (m[2].length > 0 && text.length % 4 !== 0)) return undefined;
      return Buffer.from(m[1], 'base64');
    };
    // mostly valid characters, sometimes one from outside the alphabet (including wide characters whose low byte is a letter)
    const valid = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const invalid = ['-', '_', '=', ' ', '\n', '.', '%', 'é', '\u0141', '\u0161', '\u{1F600}', '\u0000'];
    let seed = 12345;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let i = 0; i < 5000; i++) {
      const length = random(24);
      let text = '';
      for (let j = 0; j < length; j++) text += random(12) === 0 ? invalid[random(invalid.length)] : valid[random(valid.length)];
      if (random(3) === 0) text += '='.repeat(1 + random(2));
      const expected = reference(text);
      const actual = decodeData(text, 'base64');
      if (expected === undefined) expect(isFailure(actual)).toBe(true);
      else expect(actual).toEqual(expected);
    }
  });

  test('base64 accepts unpadded input and the empty string', () => {
    expect(decodeData('aGk', 'base64')).toEqual(Buffer.from('hi'));
    expect(decodeData('', 'base64')).toEqual(Buffer.alloc(0));
  });

  test('padded base64 is decoded whole, and a padded text with a character outside the alphabet is refused where it stands', () => {
    expect(decodeData('QUJDRA==', 'base64')).toEqual(Buffer.from('ABCD'));
    expect(decodeData('QUJDREU=', 'base64')).toEqual(Buffer.from('ABCDE'));
    const refused: Array<[string, string]> = [
      // base64url's characters, which Node's decoder takes as + and /
      ['QU-DQQ==', "character '-' (U+002D) at index 2"],
      ['QU_DQUI=', "character '_' (U+005F) at index 2"],
      // an inner '=' (Node's decoder stops there) before the padding
      ['QU=DQQ==', "character '=' (U+003D) at index 2"],
      // a wide character whose low byte is a letter (U+0144: 'D'; U+0141: 'A'), which Node's decoder would read as that letter
      ['QUJ\u0144QQ==', 'character U+0144 at index 3'],
      ['\u0141UJDRA==', 'character U+0141 at index 0'],
      // a Latin-1 character and white space, which Node's decoder skips
      ['QUJ\u00c4QQ==', 'character U+00C4 at index 3'],
      ['QUJ DQQ==', "character ' ' (U+0020) at index 3"],
      ['QUJ\nQQ==', 'character U+000A at index 3'],
      // more than two '=' at the end
      ['QUJDR===', "character '=' (U+003D) at index 5"],
    ];
    for (const [text, what] of refused) {
      expect(decodeData(text, 'base64')).toEqual({ code: 'InvalidData', reason: `Data: not valid base64: ${what} (allowed: A-Z a-z 0-9 + / and up to two = at the end)` });
    }
    // lengths 4n+1, and padding that does not complete a group of 4
    for (const [text, padding] of [['QUJDR', 0], ['QUJDRQ=', 1], ['QUJDRA=', 1]] as const) {
      expect(decodeData(text, 'base64')).toEqual({
        code: 'InvalidData',
        reason: `Data: not valid base64: length ${text.length} with ${padding} padding character(s) cannot be decoded (allowed: groups of 4 characters, the last one padded with = or unpadded)`,
      });
    }
  });

  test('hex accepts upper case', () => {
    expect(decodeData('FFfe', 'hex')).toEqual(Buffer.from([0xff, 0xfe]));
    expect(decodeData('00017f80feff', 'hex')).toEqual(bytes);
    expect(decodeData('00017F80FEFF', 'hex')).toEqual(bytes);
  });
});

describe('decodeData rejects bad input with InvalidData', () => {
  test.each([
    ['base64', 'aGk%', "Data: not valid base64: character '%' (U+0025) at index 3 (allowed: A-Z a-z 0-9 + / and up to two = at the end)"],
    ['base64', 'aG k', "Data: not valid base64: character ' ' (U+0020) at index 2 (allowed: A-Z a-z 0-9 + / and up to two = at the end)"],
    ['base64', 'a-_b', "Data: not valid base64: character '-' (U+002D) at index 1 (allowed: A-Z a-z 0-9 + / and up to two = at the end)"],
    ['base64', 'aGk==', 'Data: not valid base64: length 5 with 2 padding character(s) cannot be decoded (allowed: groups of 4 characters, the last one padded with = or unpadded)'],
    ['base64', 'abcde', 'Data: not valid base64: length 5 with 0 padding character(s) cannot be decoded (allowed: groups of 4 characters, the last one padded with = or unpadded)'],
    ['base64', 'a=bc', "Data: not valid base64: character '=' (U+003D) at index 1 (allowed: A-Z a-z 0-9 + / and up to two = at the end)"],
    ['hex', 'abc', 'Data: not valid hex: odd length 3 (allowed: two hex digits per byte)'],
    ['hex', '0g', "Data: not valid hex: character 'g' (U+0067) at index 1 (allowed: 0-9 a-f A-F)"],
    ['ascii', 'caf\u00e9', 'Data: not ascii: character U+00E9 at index 3 (allowed: characters U+0000 to U+007F)'],
    ['utf8', 'a\ud800b', 'Data: not valid utf8: lone surrogate U+D800 at index 1 (allowed: well-formed Unicode text)'],
  ] as const)('%s %j', (formatter, text, reason) => {
    expect(decodeData(text, formatter)).toEqual({ code: 'InvalidData', reason });
  });

  test.each([
    [undefined, 'Data: missing (allowed: base64 text)'],
    [42, 'Data: must be a string, got number (allowed: base64 text)'],
    [null, 'Data: must be a string, got null (allowed: base64 text)'],
    [['a'], 'Data: must be a string, got array (allowed: base64 text)'],
  ])('non-string %j', (value, reason) => {
    expect(decodeData(value, 'base64')).toEqual({ code: 'InvalidData', reason });
  });

  test('names the field given by the caller and never echoes the payload', () => {
    const result = decodeData('secret-payload!', 'base64', 'Messages[3].Data');
    expect(isFailure(result)).toBe(true);
    expect((result as { reason: string }).reason).toMatch(/^Messages\[3\]\.Data: /);
    expect((result as { reason: string }).reason).not.toContain('secret');
  });
});

describe('parseFormatter', () => {
  test('defaults and accepts known names', () => {
    expect(parseFormatter(undefined)).toBe('base64');
    expect(parseFormatter(undefined, 'hex')).toBe('hex');
    expect(parseFormatter('utf8')).toBe('utf8');
  });

  test('rejects unknown names listing the allowed ones', () => {
    expect(parseFormatter('base32')).toEqual({ code: 'InvalidMessage', reason: 'Formatter: "base32" is not a Formatter (allowed: base64, hex, ascii, utf8, coap)' });
  });
});
