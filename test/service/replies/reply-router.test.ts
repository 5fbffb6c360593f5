import type { EgressDatagram, ListenerHandle, SendCallback } from '../../../service/contracts';
import { ReplyRouter } from '../../../service/replies/reply-router';
import { ReplyTagCodec } from '../../../service/replies/reply-tags';
import { CapturingFailureReporter, CapturingMetrics } from '../helpers';

class FakeListener implements ListenerHandle {
  public readonly protocol = 'udp' as const;
  public readonly address = '127.0.0.1';
  public readonly port = 5555;
  public readonly sent: EgressDatagram[] = [];
  public constructor(public readonly name: string) {}
  public send(datagram: EgressDatagram, done?: SendCallback): void {
    this.sent.push(datagram);
    done?.(undefined);
  }
}

function setup() {
  const tags = new ReplyTagCodec();
  const demo = new FakeListener('demo');
  const other = new FakeListener('other');
  const failures = new CapturingFailureReporter();
  const metrics = new CapturingMetrics();
  const listeners = new Map([[demo.name, demo], [other.name, other]]);
  const router = new ReplyRouter({ listeners: { get: (n) => listeners.get(n), list: () => [...listeners.values()] }, tags, failures, metrics });
  const tag = tags.mint('demo', '203.0.113.5', 4000, 300);
  return { tags, demo, other, failures, metrics, router, tag };
}

const source = { listener: 'demo', destination: 'fn', formatter: 'base64' as const };

describe('ReplyRouter: no reply', () => {
  test.each([
    ['undefined', undefined],
    ['null', null],
    ['missing Replies', {}],
    ['Replies null', { Replies: null }],
    ['empty Replies', { Replies: [] }],
    ['null entries', { Replies: [null, null] }],
  ])('%s', (_name, response) => {
    const { router, demo, failures } = setup();
    expect(router.route(response, source)).toEqual({ sent: 0, failed: 0 });
    expect(demo.sent).toEqual([]);
    expect(failures.records).toEqual([]);
  });
});

describe('ReplyRouter: replies go out of the tagged Listener to the tagged client', () => {
  test('decodes Data with the destination Formatter and counts RepliesOut', () => {
    const { router, demo, metrics, tag } = setup();
    const result = router.route({ Replies: [{ Tag: tag, Data: 'aGk=', GeneratedAt: '2026-01-01T00:00:00Z' }, null] }, source);
    expect(result).toEqual({ sent: 1, failed: 0 });
    expect(demo.sent).toEqual([{ data: Buffer.from('hi'), address: '203.0.113.5', port: 4000 }]);
    expect(metrics.count('RepliesOut')).toBe(1);
  });

  test('several replies to one tag, and hex Data', () => {
    const { router, demo, tag } = setup();
    router.route({ Replies: [{ Tag: tag, Data: '6869' }, { Tag: tag, Data: '21' }] }, { ...source, formatter: 'hex' });
    expect(demo.sent.map((d) => d.data.toString())).toEqual(['hi', '!']);
  });

  test('a WireGuard tag carries the peer key to the Listener', () => {
    const { tags, router, demo } = setup();
    const peerKey = Buffer.alloc(32, 9).toString('base64');
    router.route({ Replies: [{ Tag: tags.mint('demo', '10.10.10.20', 5683, 60, peerKey), Data: '' }] }, source);
    expect(demo.sent[0]).toEqual({ data: Buffer.alloc(0), address: '10.10.10.20', port: 5683, peerKey });
  });
});

describe('ReplyRouter: bad replies are reported, the others still go out', () => {
  const otherTag = new ReplyTagCodec().mint('demo', '203.0.113.5', 4000, 300);
  test.each([
    ['response is a string', 'ok', 'ReplyInvalid', 'response must be an object with a Replies array, got string "ok"'],
    ['response is an array', [1], 'ReplyInvalid', 'response must be an object with a Replies array, got an array'],
    ['Replies is an object', { Replies: {} }, 'ReplyInvalid', 'Replies must be an array, got an object'],
    ['Replies is a string', { Replies: 'x' }, 'ReplyInvalid', 'Replies must be an array, got string "x"'],
    ['entry is a number', { Replies: [7] }, 'ReplyInvalid', 'Replies[0] must be an object or null, got number 7'],
    ['Tag missing', { Replies: [{ Data: 'aGk=' }] }, 'ReplyInvalid', 'Replies[0].Tag must be a string, got undefined'],
    ['Tag is a number', { Replies: [{ Tag: 5, Data: 'aGk=' }] }, 'ReplyInvalid', 'Replies[0].Tag must be a string, got number 5'],
    ['Data missing', { Replies: [{ Tag: 'TAG' }] }, 'ReplyInvalid', 'Replies[0].Data must be a string, got undefined'],
    ['Data is an object', { Replies: [{ Tag: 'TAG', Data: {} }] }, 'ReplyInvalid', 'Replies[0].Data must be a string, got an object'],
    ['garbage Tag', { Replies: [{ Tag: 'garbage!', Data: 'aGk=' }] }, 'ReplyUnknownTag', 'Replies[0].Tag is not a tag issued by this gateway (malformed)'],
    ['Tag of another gateway', { Replies: [{ Tag: otherTag, Data: 'aGk=' }] }, 'ReplyUnknownTag', 'Replies[0].Tag signature does not match (forged, altered, or issued by another gateway)'],
    ['Data not base64', { Replies: [{ Tag: 'TAG', Data: 'a b' }] }, 'InvalidData', "Replies[0].Data: not valid base64: character ' ' (U+0020) at index 1 (allowed: A-Z a-z 0-9 + / and up to two = at the end)"],
  ])('%s', (_name, response, code, reason) => {
    const { router, demo, failures, tag } = setup();
    const withTag = JSON.parse(JSON.stringify(response ?? null).replace(/"TAG"/g, JSON.stringify(tag)));
    const result = router.route(withTag, source);
    expect(result.sent).toBe(0);
    expect(failures.records.map((r) => r.failure)).toEqual([{ code, reason }]);
    expect(failures.records[0].context).toMatchObject({ listener: 'demo', destination: 'fn' });
    expect(demo.sent).toEqual([]);
  });

  test('a tag of another Listener is refused: a destination replies only through its own Listener', () => {
    const { tags, router, other, failures } = setup();
    router.route({ Replies: [{ Tag: tags.mint('other', '203.0.113.5', 4000, 300), Data: 'aGk=' }] }, source);
    expect(failures.records[0].failure).toEqual({ code: 'ReplyUnknownTag', reason: 'Replies[0].Tag belongs to Listener other, not to demo whose destination replied' });
    expect(other.sent).toEqual([]);
  });

  test('a tag of a Listener that is no longer running is refused', () => {
    const { tags, router, failures } = setup();
    router.route({ Replies: [{ Tag: tags.mint('gone', '203.0.113.5', 4000, 300), Data: 'aGk=' }] }, { ...source, listener: 'gone' });
    expect(failures.records[0].failure).toEqual({ code: 'ReplyUnknownTag', reason: 'Replies[0].Tag names Listener gone, which is not running' });
  });

  test('one bad entry does not stop the others', () => {
    const { router, demo, failures, tag } = setup();
    const result = router.route({ Replies: [{ Tag: tag, Data: '!!' }, null, 3, { Tag: tag, Data: 'b2s=' }] }, source);
    expect(result).toEqual({ sent: 1, failed: 2 });
    expect(failures.codes()).toEqual(['InvalidData', 'ReplyInvalid']);
    expect(demo.sent.map((d) => d.data.toString())).toEqual(['ok']);
  });
});
