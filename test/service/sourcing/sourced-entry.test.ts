import { parseSourcedEntry, parseSourcedMessage, SourcedEntries } from '../../../service/sourcing/sourced-entry';

const PUBLISHED = Date.parse('2026-03-11T14:23:01.000Z');
const LIMITS = { maxPayloadBytes: 16 };
const PEER = Buffer.alloc(32, 7).toString('base64');

function parse(entry: unknown, field = 'Messages[0].', now = PUBLISHED) {
  return parseSourcedEntry(entry, field, PUBLISHED, now, LIMITS);
}

describe('parseSourcedMessage', () => {
  test('a Messages array gives its entries, named Messages[i].', () => {
    const parsed = parseSourcedMessage('{"Messages":[{"Data":"aGk="},{"Data":"eA=="}]}', 10) as SourcedEntries;
    expect(parsed.entries).toEqual([{ Data: 'aGk=' }, { Data: 'eA==' }]);
    expect(parsed.fieldOf(1)).toBe('Messages[1].');
  });

  test('a single packet object is one entry whose fields have no prefix', () => {
    const parsed = parseSourcedMessage('{"Data":"aGk=","Remote":{"IP":"203.0.113.5","Port":9}}', 10) as SourcedEntries;
    expect(parsed.entries).toEqual([{ Data: 'aGk=', Remote: { IP: '203.0.113.5', Port: 9 } }]);
    expect(parsed.fieldOf(0)).toBe('');
  });

  test.each([
    ['{"Messages":', 'InvalidJson', /^Message is not valid JSON/],
    ['[1,2]', 'InvalidMessage', 'Message must be a JSON object ({"Messages":[…]} or a single packet), got array'],
    ['"text"', 'InvalidMessage', 'Message must be a JSON object ({"Messages":[…]} or a single packet), got string'],
    ['{"Messages":{}}', 'InvalidMessage', 'Messages must be an array of packets, got object'],
    ['{"Messages":[1,2,3]}', 'InvalidMessage', 'Messages has 3 entries; at most 2 are allowed in one message'],
  ])('%s is %s', (message, code, reason) => {
    const parsed = parseSourcedMessage(message, 2);
    expect(parsed).toMatchObject({ code });
    expect((parsed as { reason: string }).reason).toEqual(typeof reason === 'string' ? reason : expect.stringMatching(reason));
  });

  test('a JSON error never echoes the message', () => {
    const parsed = parseSourcedMessage('{"secret-payload": ', 2) as { reason: string };
    expect(parsed.reason).not.toContain('secret-payload');
  });
});

describe('parseSourcedEntry', () => {
  test('texts found valid before are remembered, but never one that only resembles them', () => {
    const inner = { SourceAddress: '10.0.0.1', SourcePort: 1, DestinationAddress: '10.0.0.2', DestinationPort: 2 };
    const valid = { Data: 'aGk=', Remote: { Address: 'fe80::1', Port: 9, PeerKey: PEER }, Inner: inner };
    for (let i = 0; i < 3; i++) expect(parse(valid)).toMatchObject({ address: 'fe80::1', peerKey: PEER, inner: { Version: 4 } });
    // a zone index, a changed key character and a mixed-version Inner after the valid ones
    expect(parse({ ...valid, Remote: { Address: 'fe80::1%eth0', Port: 9 } })).toMatchObject({ code: 'InvalidAddress' });
    expect(parse({ ...valid, Remote: { Address: 'fe80::1', Port: 9, PeerKey: `${PEER.slice(0, 42)}B=` } })).toMatchObject({ code: 'InvalidMessage' });
    expect(parse({ ...valid, Inner: { ...inner, DestinationAddress: 'fe80::1' } })).toMatchObject({ code: 'InvalidAddress' });
    expect(parse({ ...valid, Inner: { ...inner, SourceAddress: '10.0.0.256' } })).toMatchObject({ code: 'InvalidAddress' });
    // more distinct addresses than the memo holds are each judged
    const addresses = ['203.0.113.1', '203.0.113.2', '203.0.113.3', '203.0.113.4', '203.0.113.5', '2001:db8::7'];
    for (const address of addresses) expect(parse({ Data: 'aGk=', Remote: { Address: address, Port: 9 } })).toMatchObject({ address });
    expect(parse({ Data: 'aGk=', Remote: { Address: '203.0.113.01', Port: 9 } })).toMatchObject({ code: 'InvalidAddress' });
  });

  test('field prefixes name the entry index, beyond the prebuilt ones too', () => {
    const parsed = parseSourcedMessage('{"Messages":[{},{},{}]}', 10) as SourcedEntries;
    expect(parsed.fieldOf(2)).toBe('Messages[2].');
    expect(parsed.fieldOf(1500)).toBe('Messages[1500].');
  });

  test('a valid entry becomes the datagram to send', () => {
    expect(parse({ Data: 'aGk=', Remote: { Address: '203.0.113.5', Port: 4567 } })).toEqual({
      data: Buffer.from('hi'), address: '203.0.113.5', port: 4567, peerKey: undefined, inner: undefined,
    });
  });

  test('an empty Remote.PeerKey names no peer', () => {
    expect(parse({ Data: 'aGk=', Remote: { Address: '203.0.113.5', Port: 4567, PeerKey: '' } })).toEqual({
      data: Buffer.from('hi'), address: '203.0.113.5', port: 4567, peerKey: undefined, inner: undefined,
    });
  });

  test('Remote.IP is a synonym of Remote.Address; Formatter, PeerKey and Inner are taken', () => {
    const inner = { SourceAddress: '10.0.0.1', SourcePort: 5683, DestinationAddress: '10.0.0.2', DestinationPort: 5684 };
    expect(parse({ Data: '6869', Formatter: 'hex', Remote: { IP: '2001:db8::1', Port: 9, PeerKey: PEER }, Inner: inner })).toEqual({
      data: Buffer.from('hi'), address: '2001:db8::1', port: 9, peerKey: PEER, inner: { ...inner, Version: 4, Protocol: 17 },
    });
  });

  test.each([
    [null, 'InvalidMessage', 'Messages[0]. must be a packet object with Data and Remote, got null', undefined],
    [{ Data: 'aGk=' }, 'InvalidMessage', 'Messages[0].Remote is missing (expected {"Address": "<IPv4 or IPv6>", "Port": integer 1–65535})', undefined],
    [{ Data: 'aGk=', Remote: { Address: 'example.com', Port: 9 } }, 'InvalidAddress',
      'Messages[0].Remote.Address: "example.com" is not an IP address (allowed: IPv4 or IPv6, without zone)', undefined],
    [{ Data: 'aGk=', Remote: { Address: 'fe80::1%eth0', Port: 9 } }, 'InvalidAddress',
      'Messages[0].Remote.Address: "fe80::1%eth0" is not an IP address (allowed: IPv4 or IPv6, without zone)', undefined],
    [{ Data: 'aGk=', Remote: { Address: '203.0.113.5', Port: 70000 } }, 'InvalidPort',
      'Messages[0].Remote.Port: 70000 is not a port (allowed: integer 1–65535)', '203.0.113.5'],
    [{ Remote: { Address: '203.0.113.5', Port: 9 } }, 'InvalidMessage',
      'Messages[0].Data is missing; expected the payload as base64 text', '203.0.113.5:9'],
    [{ Data: Buffer.alloc(17).toString('base64'), Remote: { Address: '2001:db8::1', Port: 9 } }, 'PayloadTooLarge',
      'Messages[0].Data decodes to 17 bytes; at most 16 are allowed', '[2001:db8::1]:9'],
    [{ Data: 'aGk=', Remote: { Address: '203.0.113.5', Port: 9, PeerKey: 'abc' } }, 'InvalidMessage',
      'Messages[0].Remote.PeerKey: "abc" is not a WireGuard public key (allowed: 44 characters of base64 encoding 32 bytes)', '203.0.113.5:9'],
    [{ Data: 'aGk=', Remote: { Address: '203.0.113.5', Port: 9 }, TtlSeconds: 0 }, 'InvalidMessage',
      'Messages[0].TtlSeconds: 0 is not a time to live (allowed: a number of seconds greater than 0)', '203.0.113.5:9'],
    [{ Data: 'aGk=', Remote: { Address: '203.0.113.5', Port: 9 }, Inner: { SourceAddress: '10.0.0.1', SourcePort: 1, DestinationAddress: 'fd00::1', DestinationPort: 1 } },
      'InvalidAddress', 'Messages[0].Inner: SourceAddress and DestinationAddress must be of the same IP version', '203.0.113.5:9'],
  ])('%j is %s, naming the field, the value and what is allowed', (entry, code, reason, remote) => {
    expect(parse(entry)).toEqual({ code, reason, remote });
  });

  test('TtlSeconds: sent within it, Expired after it', () => {
    const entry = { Data: 'aGk=', Remote: { Address: '203.0.113.5', Port: 9 }, TtlSeconds: 5 };
    expect(parse(entry, '', PUBLISHED + 5000)).toMatchObject({ port: 9 });
    expect(parse(entry, '', PUBLISHED + 5001)).toEqual({
      code: 'Expired',
      reason: 'TtlSeconds 5 elapsed at 2026-03-11T14:23:06.000Z (published 2026-03-11T14:23:01.000Z); not sent',
      remote: '203.0.113.5:9',
    });
    expect(parseSourcedEntry(entry, '', Number.NaN, PUBLISHED, LIMITS)).toMatchObject({ code: 'InvalidMessage', reason: 'TtlSeconds cannot be applied: the notification has no valid publish Timestamp' });
  });
});
