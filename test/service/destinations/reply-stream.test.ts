import { MAX_STREAMED_VALUE_CHARS, ReplyStreamParser } from '../../../service/destinations/reply-stream';

interface Parsed {
  replies: unknown[];
  invalid: string[];
}

/** Parses `chunks` (strings, or bytes) as they would arrive, ending the stream when `end`. */
function parse(chunks: ReadonlyArray<string | Uint8Array>, end = true): Parsed & { parser: ReplyStreamParser } {
  const out: Parsed = { replies: [], invalid: [] };
  const parser = new ReplyStreamParser({ reply: (entry) => out.replies.push(entry), invalid: (reason) => out.invalid.push(reason) });
  for (const chunk of chunks) parser.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  if (end) parser.end();
  return { ...out, parser };
}

/** Every way of cutting `text` into two chunks gives the same result as one chunk. */
function everySplit(text: string): Parsed[] {
  const bytes = Buffer.from(text);
  const results: Parsed[] = [];
  for (let cut = 0; cut <= bytes.length; cut++) {
    const { replies, invalid } = parse([bytes.subarray(0, cut), bytes.subarray(cut)]);
    results.push({ replies, invalid });
  }
  return results;
}

const A = { Tag: 'a', Data: 'b25l' };
const B = { Tag: 'b', Data: 'dHdv' };

describe('ReplyStreamParser', () => {
  test('newline-delimited reply objects, nulls skipped', () => {
    expect(parse(['{"Tag":"a","Data":"b25l"}\nnull\n{"Tag":"b","Data":"dHdv"}\n'])).toMatchObject({ replies: [A, B], invalid: [] });
  });

  test('concatenated and comma-separated objects', () => {
    expect(parse(['{"Tag":"a","Data":"b25l"}{"Tag":"b","Data":"dHdv"}'])).toMatchObject({ replies: [A, B], invalid: [] });
    expect(parse(['{"Tag":"a","Data":"b25l"},\r\n\t{"Tag":"b","Data":"dHdv"}'])).toMatchObject({ replies: [A, B], invalid: [] });
  });

  test('a {"Replies":[…]} object routes each entry as soon as the entry is complete', () => {
    const { replies, parser } = parse(['{ "Replies" : [ {"Tag":"a","Data":"b25l"}, {"Tag":"b"'], false);
    expect(replies).toEqual([A]);
    parser.push(Buffer.from(',"Data":"dHdv"}, null ], "Extra": {"x":[1]} }'));
    expect(replies).toEqual([A, B, null]);
    parser.end();
  });

  test('a bare array of replies, and several documents one after another', () => {
    expect(parse(['[{"Tag":"a","Data":"b25l"}]\n{"Replies":[{"Tag":"b","Data":"dHdv"}]}\n'])).toMatchObject({ replies: [A, B], invalid: [] });
  });

  test('an object with Replies that is not first is routed whole', () => {
    expect(parse(['{"Other":1,"Replies":[{"Tag":"a","Data":"b25l"}]}'])).toMatchObject({ replies: [A], invalid: [] });
  });

  test('the result does not depend on where the chunks are cut (strings with braces, escapes, UTF-8)', () => {
    const text = '{"Replies":[{"Tag":"a","Data":"b25l"},{"Tag":"}\\"]{","Data":"é€😀"}]}\n{"Tag":"b","Data":"dHdv"}\n';
    const expected = { replies: [A, { Tag: '}"]{', Data: 'é€😀' }, B], invalid: [] };
    for (const result of everySplit(text)) expect(result).toEqual(expected);
  });

  test('a malformed value is reported and the following replies still arrive', () => {
    const { replies, invalid } = parse(['{"Tag":"a","Data":"b25l"}\n{"Tag": nope}\n{"Tag":"b","Data":"dHdv"}']);
    expect(replies).toEqual([A, B]);
    expect(invalid).toEqual([expect.stringMatching(/^streamed value 2 is not JSON \(.+\); allowed: reply objects, or \{"Replies":\[…\]\}$/)]);
  });

  test('a malformed entry inside the Replies array does not drop its neighbours', () => {
    const { replies, invalid } = parse(['{"Replies":[{"Tag":"a","Data":"b25l"},{"Tag":,},{"Tag":"b","Data":"dHdv"}]}']);
    expect(replies).toEqual([A, B]);
    expect(invalid).toHaveLength(1);
  });

  test('stray closing brackets are reported and skipped', () => {
    const { replies, invalid } = parse(['}{"Tag":"a","Data":"b25l"}]']);
    expect(replies).toEqual([A]);
    expect(invalid).toEqual(['unexpected } between streamed values', 'unexpected ] between streamed values']);
  });

  test('scalars are handed on (the router reports them); Replies that is not an array is reported', () => {
    const { replies, invalid } = parse(['42 "text" {"Replies":{"Tag":"a"}} true']);
    expect(replies).toEqual([42, 'text', true]);
    expect(invalid).toEqual(['streamed value 3: Replies must be an array']);
  });

  test('a stream that ends inside a value or array says so', () => {
    expect(parse(['{"Tag":"a","Data":"b25l"}\n{"Tag":"b"']).invalid).toEqual(['the stream ended inside streamed value 2']);
    expect(parse(['{"Replies":[{"Tag":"a","Data":"b25l"}']).invalid).toEqual(['the stream ended inside the streamed Replies array']);
    expect(parse(['{"Replies":[{"Tag":"a","Data":"b25l"}], "x": 1']).invalid).toEqual(['the streamed {"Replies":[…]} object was not closed']);
  });

  test('an empty stream, or only whitespace, is no reply', () => {
    expect(parse([])).toMatchObject({ replies: [], invalid: [] });
    expect(parse([' \n\n '])).toMatchObject({ replies: [], invalid: [] });
  });

  test('an oversized value is reported and skipped to the next line', () => {
    const huge = `{"Tag":"x","Data":"${'A'.repeat(MAX_STREAMED_VALUE_CHARS)}"}`;
    const { replies, invalid } = parse([huge.slice(0, 500_000), huge.slice(500_000), '\n{"Tag":"a","Data":"b25l"}\n']);
    expect(replies).toEqual([A]);
    expect(invalid).toEqual([`streamed value 1 is longer than ${MAX_STREAMED_VALUE_CHARS} characters; skipped to the next line`]);
  });
});
