import { createSocket } from 'node:dgram';
import { RelayEndpoint, RelayPeer, RelayResult, RelayServer } from '../../../service/fleet/relay';
import { RelayAnswers } from '../../../service/fleet/relay-answers';
import { RelayCodec, deriveRelayKey, extendSequence, MAX_RELAY_DATAGRAM_BYTES, RelayOutcome, RelayRequest, relayRequestBytes } from '../../../service/fleet/relay-codec';

const SECRET = Buffer.alloc(32, 7);

class CountingMetrics {
  readonly counts = new Map<string, number>();
  readonly observations: Array<[string, number]> = [];
  increment(metric: string, value = 1, dimensions?: Readonly<Record<string, string>>): void {
    const key = dimensions ? `${metric}:${Object.values(dimensions).join(',')}` : metric;
    this.counts.set(key, (this.counts.get(key) ?? 0) + value);
  }
  observe(metric: string, value: number): void {
    this.observations.push([metric, value]);
  }
}

const REQUEST: Omit<RelayRequest, 'requestId' | 'to'> = {
  deadline: 0,
  listener: 'udp-main',
  address: '198.51.100.2',
  port: 40000,
  peerKey: 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=',
  inner: { SourceAddress: '10.0.0.1', SourcePort: 53, DestinationAddress: '10.0.0.2', DestinationPort: 5353, Version: 4, Protocol: 17 },
  messageId: 'm-1',
  index: 3,
  data: Buffer.from('hello'),
};

function result(endpoint: RelayEndpoint, to: RelayPeer, request = REQUEST): Promise<RelayResult> {
  return new Promise((resolve) => endpoint.request(to, request, resolve));
}

/** A try of the entry whose requestId is `requestId`. */
function tryWith(endpoint: RelayEndpoint, to: RelayPeer, requestId: number): Promise<RelayResult> {
  return new Promise((resolve) => endpoint.request(to, REQUEST, resolve, requestId));
}

describe('relay between two members on loopback', () => {
  const started: RelayEndpoint[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((e) => e.stop()));
  });

  async function member(memberId: string, serve: RelayServer, extra: Partial<ConstructorParameters<typeof RelayEndpoint>[0]> = {}) {
    const metrics = new CountingMetrics();
    const refused: string[] = [];
    const endpoint = new RelayEndpoint({
      memberId, secret: SECRET, port: 0, bindAddress: '127.0.0.1', serve, metrics, retryMs: 50, refused: (r) => refused.push(r), ...extra,
    });
    await endpoint.start();
    started.push(endpoint);
    return { endpoint, metrics, refused, peer: { memberId, address: '127.0.0.1', port: endpoint.port } as RelayPeer };
  }

  test('round trip: the owner gets the request and its answer comes back', async () => {
    const seen: Array<[RelayRequest, string]> = [];
    const owner = await member('b', (req, sender, answer) => {
      seen.push([req, sender]);
      answer({ outcome: RelayOutcome.Sent });
    });
    const holder = await member('a', () => undefined);
    await expect(result(holder.endpoint, owner.peer)).resolves.toEqual({ outcome: RelayOutcome.Sent });
    expect(seen).toHaveLength(1);
    const [req, sender] = seen[0];
    expect(sender).toBe('a');
    expect({ ...req, data: req.data.toString() }).toEqual({ ...REQUEST, requestId: expect.any(Number), to: 'b', data: 'hello' });
    expect(holder.metrics.counts.get('Relayed')).toBe(1);
    expect(holder.metrics.observations.filter(([m]) => m === 'RelayLatencyMs')).toHaveLength(1);
  });

  test('a request for an earlier member at the same address is answered NotOwner, not served', async () => {
    let served = 0;
    const replacement = await member('b2', (_r, _s, answer) => {
      served++;
      answer({ outcome: RelayOutcome.Sent });
    });
    const holder = await member('a', () => undefined);
    const stale = { ...replacement.peer, memberId: 'b1' };
    await expect(result(holder.endpoint, stale)).resolves.toEqual({ outcome: RelayOutcome.NotOwner });
    expect(served).toBe(0);
  });

  test('a failure verdict and NotOwner travel back', async () => {
    let verdict: 'fail' | 'not-owner' = 'fail';
    const owner = await member('b', (_req, _sender, answer) => answer(verdict === 'fail'
      ? { outcome: RelayOutcome.Failed, failure: { code: 'DestinationDenied', reason: 'denied by the egress policy' } }
      : { outcome: RelayOutcome.NotOwner }));
    const holder = await member('a', () => undefined);
    await expect(result(holder.endpoint, owner.peer)).resolves.toEqual({
      outcome: RelayOutcome.Failed, failure: { code: 'DestinationDenied', reason: 'denied by the egress policy' },
    });
    verdict = 'not-owner';
    await expect(result(holder.endpoint, owner.peer)).resolves.toEqual({ outcome: RelayOutcome.NotOwner });
    expect(holder.metrics.counts.get('RelayFailures:NotOwner')).toBe(1);
  });

  test('a datagram with a forged MAC, or under another fleet key, is refused and not served', async () => {
    let served = 0;
    const owner = await member('b', (_r, _s, answer) => {
      served++;
      answer({ outcome: RelayOutcome.Sent });
    });
    const genuine = new RelayCodec(deriveRelayKey(SECRET)).encodeRequest({ boot: Date.now(), sequence: 0, sentAt: Date.now(), sender: 'x' }, { ...REQUEST, requestId: 1, to: 'b' });
    const forged = Buffer.from(genuine);
    forged[forged.length - 1] = (forged[forged.length - 1] + 1) % 256;
    const otherFleet = new RelayCodec(deriveRelayKey(Buffer.alloc(32, 8))).encodeRequest({ boot: Date.now(), sequence: 0, sentAt: Date.now(), sender: 'x' }, { ...REQUEST, requestId: 1, to: 'b' });
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    for (const d of [forged, otherFleet]) socket.send(d, owner.peer.port, '127.0.0.1');
    await waitFor(() => owner.refused.length === 2);
    socket.close();
    expect(owner.refused).toEqual(['bad MAC', 'bad MAC']);
    expect(served).toBe(0);
  });

  test('a replayed datagram and a stale one are refused', async () => {
    let served = 0;
    const owner = await member('b', (_r, _s, answer) => {
      served++;
      answer({ outcome: RelayOutcome.Sent });
    });
    const codec = new RelayCodec(deriveRelayKey(SECRET));
    const now = Date.now();
    const datagram = codec.encodeRequest({ boot: now, sequence: 5, sentAt: now, sender: 'x' }, { ...REQUEST, requestId: 1, to: 'b' });
    const stale = codec.encodeRequest({ boot: now, sequence: 6, sentAt: now - 60_000, sender: 'x' }, { ...REQUEST, requestId: 2, to: 'b' });
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    socket.send(datagram, owner.peer.port, '127.0.0.1');
    await waitFor(() => served === 1);
    socket.send(datagram, owner.peer.port, '127.0.0.1');
    socket.send(stale, owner.peer.port, '127.0.0.1');
    await waitFor(() => owner.refused.length === 2);
    socket.close();
    expect(owner.refused.sort()).toEqual(['replayed', expect.stringMatching(/^stale/)]);
    expect(served).toBe(1);
  });

  test('a request nobody answers times out after its tries', async () => {
    const silent = await member('b', () => undefined);
    const holder = await member('a', () => undefined);
    const since = Date.now();
    await expect(result(holder.endpoint, silent.peer)).resolves.toEqual({ outcome: 'Timeout' });
    expect(Date.now() - since).toBeGreaterThanOrEqual(140);
    expect(holder.metrics.counts.get('RelayFailures:Timeout')).toBe(1);
    expect(holder.endpoint.pending).toBe(0);
  });

  test('a retry of a request the owner is still sending is not served twice', async () => {
    let served = 0;
    let dropFirstAnswer = true;
    const owner = await member('b', (_r, _s, answer) => {
      served++;
      // the first answer is given late, after the sender's first retry
      if (dropFirstAnswer) {
        dropFirstAnswer = false;
        setTimeout(() => answer({ outcome: RelayOutcome.Sent }), 80);
      } else {
        answer({ outcome: RelayOutcome.Sent });
      }
    });
    const holder = await member('a', () => undefined);
    await expect(result(holder.endpoint, owner.peer)).resolves.toEqual({ outcome: RelayOutcome.Sent });
    expect(served).toBe(1);
  });

  test('sequence numbers go on past 2^32: requests across the wrap are served, both ways', async () => {
    let served = 0;
    const nearWrap = 0xffffffff - 3;
    const owner = await member('b', (_r, _s, answer) => {
      served++;
      answer({ outcome: RelayOutcome.Sent });
    }, { firstSequence: nearWrap });
    const holder = await member('a', () => undefined, { firstSequence: nearWrap });
    for (let i = 0; i < 8; i++) await expect(result(holder.endpoint, owner.peer)).resolves.toEqual({ outcome: RelayOutcome.Sent });
    expect(served).toBe(8);
    expect(owner.refused).toEqual([]);
    expect(holder.refused).toEqual([]);
  });

  test('a datagram replayed after the sequence wrap is still refused', async () => {
    let served = 0;
    const owner = await member('b', (_r, _s, answer) => {
      served++;
      answer({ outcome: RelayOutcome.Sent });
    });
    const codec = new RelayCodec(deriveRelayKey(SECRET));
    const now = Date.now();
    const beforeWrap = codec.encodeRequest({ boot: now, sequence: 0xffffffff, sentAt: now, sender: 'x' }, { ...REQUEST, requestId: 1, to: 'b' });
    const afterWrap = codec.encodeRequest({ boot: now, sequence: 1, sentAt: now, sender: 'x' }, { ...REQUEST, requestId: 2, to: 'b' });
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    socket.send(beforeWrap, owner.peer.port, '127.0.0.1');
    await waitFor(() => served === 1);
    socket.send(afterWrap, owner.peer.port, '127.0.0.1');
    await waitFor(() => served === 2);
    socket.send(afterWrap, owner.peer.port, '127.0.0.1');
    socket.send(beforeWrap, owner.peer.port, '127.0.0.1');
    await waitFor(() => owner.refused.length === 2);
    socket.close();
    expect(owner.refused).toEqual(['replayed', 'replayed']);
    expect(served).toBe(2);
  });

  test('a later try of an entry with the requestId of an answered one is answered from it, not served again', async () => {
    let served = 0;
    const owner = await member('b', (_r, _s, answer) => {
      served++;
      answer({ outcome: RelayOutcome.Failed, failure: { code: 'DestinationDenied', reason: 'denied' } });
    });
    const holder = await member('a', () => undefined);
    const requestId = holder.endpoint.newRequestId();
    const first = await tryWith(holder.endpoint, owner.peer, requestId);
    const again = await tryWith(holder.endpoint, owner.peer, requestId);
    expect(first).toEqual({ outcome: RelayOutcome.Failed, failure: { code: 'DestinationDenied', reason: 'denied' } });
    expect(again).toEqual(first);
    expect(served).toBe(1);
    await expect(result(holder.endpoint, owner.peer)).resolves.toMatchObject({ outcome: RelayOutcome.Failed });
    expect(served).toBe(2); // a new requestId is a new entry
  });

  test('the answers given to a member that stopped sending are dropped while other members send', async () => {
    let clock = Date.now();
    const now = () => clock;
    const owner = await member('b', (_r, _s, answer) => answer({ outcome: RelayOutcome.Sent }), { now, answerMemoryMs: 1_000 });
    const gone = await member('a1', () => undefined, { now });
    const other = await member('a2', () => undefined, { now });
    for (let i = 0; i < 20; i++) await expect(result(gone.endpoint, owner.peer)).resolves.toEqual({ outcome: RelayOutcome.Sent });
    const senders = (owner.endpoint as unknown as { senders: Map<string, { answers: RelayAnswers }> }).senders;
    expect(senders.get('a1')!.answers.size).toBe(20);
    for (const step of [1_000, 1_000]) {
      clock += step;
      await expect(result(other.endpoint, owner.peer)).resolves.toEqual({ outcome: RelayOutcome.Sent });
    }
    expect(senders.get('a1')!.answers.size).toBe(0);
    expect(senders.get('a2')!.answers.size).toBeGreaterThan(0);
  });

  test('a try answered NotOwner is not remembered: a later try of the entry with its requestId is served', async () => {
    let owns = false;
    let served = 0;
    const owner = await member('b', (_r, _s, answer) => {
      served++;
      answer({ outcome: owns ? RelayOutcome.Sent : RelayOutcome.NotOwner });
    });
    const holder = await member('a', () => undefined);
    const requestId = holder.endpoint.newRequestId();
    await expect(tryWith(holder.endpoint, owner.peer, requestId)).resolves.toEqual({ outcome: RelayOutcome.NotOwner });
    owns = true; // the client's next datagram landed on b
    await expect(tryWith(holder.endpoint, owner.peer, requestId)).resolves.toEqual({ outcome: RelayOutcome.Sent });
    expect(served).toBe(2);
  });

  test('a try meant for an earlier member at the address is not remembered: the same requestId for this member is served', async () => {
    let served = 0;
    const replacement = await member('b2', (_r, _s, answer) => {
      served++;
      answer({ outcome: RelayOutcome.Sent });
    });
    const holder = await member('a', () => undefined);
    const requestId = holder.endpoint.newRequestId();
    const stale = { ...replacement.peer, memberId: 'b1' };
    await expect(tryWith(holder.endpoint, stale, requestId)).resolves.toEqual({ outcome: RelayOutcome.NotOwner });
    await expect(tryWith(holder.endpoint, replacement.peer, requestId)).resolves.toEqual({ outcome: RelayOutcome.Sent });
    expect(served).toBe(1);
  });

  test('a request too large for one datagram fails PayloadTooLarge at once, nothing sent', async () => {
    let served = 0;
    const owner = await member('b', (_r, _s, answer) => {
      served++;
      answer({ outcome: RelayOutcome.Sent });
    });
    const holder = await member('a', () => undefined);
    const overhead = relayRequestBytes('a', 'b', { ...REQUEST, data: Buffer.alloc(0) });
    const largest = { ...REQUEST, data: Buffer.alloc(MAX_RELAY_DATAGRAM_BYTES - overhead, 2) };
    const tooLarge = { ...REQUEST, data: Buffer.alloc(MAX_RELAY_DATAGRAM_BYTES - overhead + 1, 2) };
    const results: RelayResult[] = [];
    holder.endpoint.request(owner.peer, tooLarge, (r) => results.push(r));
    expect(results).toEqual([{
      outcome: RelayOutcome.Failed,
      failure: { code: 'PayloadTooLarge', reason: expect.stringContaining(`largest relayable payload of this entry: ${MAX_RELAY_DATAGRAM_BYTES - overhead} bytes`) },
    }]);
    expect(holder.metrics.counts.get('RelayFailures:PayloadTooLarge')).toBe(1);
    expect(holder.endpoint.pending).toBe(0);
    await expect(result(holder.endpoint, owner.peer, largest)).resolves.toEqual({ outcome: RelayOutcome.Sent });
    expect(served).toBe(1);
  });

  test('a local send error ends the request at once with the error, not Timeout', async () => {
    const holder = await member('a', () => undefined);
    const since = Date.now();
    const unreachable: RelayPeer = { memberId: 'b', address: '::1', port: 7470 }; // an IPv6 address on the IPv4 relay socket
    await expect(result(holder.endpoint, unreachable)).resolves.toEqual({
      outcome: 'SendError',
      code: 'EINVAL',
      failure: { code: 'SendFailed', reason: expect.stringMatching(/^relay request to fleet member b at ::1:7470 could not be sent: .*EINVAL/) },
    });
    expect(Date.now() - since).toBeLessThan(100);
    expect(holder.metrics.counts.get('RelayFailures:Timeout')).toBeUndefined();
    expect(holder.metrics.counts.get('RelayFailures:SendFailed')).toBe(1);
    expect(holder.endpoint.pending).toBe(0);
  });

  test('a full window queues, a full queue answers Busy at once, and the queue drains', async () => {
    const answers: Array<() => void> = [];
    const owner = await member('b', (_r, _s, answer) => answers.push(() => answer({ outcome: RelayOutcome.Sent })));
    const holder = await member('a', () => undefined, { maxInFlight: 2, maxQueued: 1, retryMs: 5_000 });
    const results: RelayResult[] = [];
    for (let i = 0; i < 4; i++) holder.endpoint.request(owner.peer, REQUEST, (r) => results.push(r));
    expect(results).toEqual([{ outcome: RelayOutcome.Busy }]);
    expect(holder.metrics.counts.get('RelayFailures:QueueFull')).toBe(1);
    await waitFor(() => answers.length === 2);
    answers.splice(0).forEach((a) => a());
    await waitFor(() => answers.length === 1);
    answers.splice(0).forEach((a) => a());
    await waitFor(() => results.length === 4);
    expect(results.slice(1)).toEqual([{ outcome: RelayOutcome.Sent }, { outcome: RelayOutcome.Sent }, { outcome: RelayOutcome.Sent }]);
  });
});

async function waitFor(condition: () => boolean, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('relay codec sizes and sequence numbers', () => {
  test('relayRequestBytes is the size of the encoded request', () => {
    const codec = new RelayCodec(deriveRelayKey(SECRET));
    for (const r of [REQUEST, { ...REQUEST, peerKey: undefined, inner: undefined, messageId: 'é'.repeat(150), data: Buffer.alloc(1000) }]) {
      const encoded = codec.encodeRequest({ boot: 1, sequence: 2, sentAt: 3, sender: 'member-ä' }, { ...r, requestId: 9, to: 'member-b' });
      expect(relayRequestBytes('member-ä', 'member-b', r)).toBe(encoded.length);
    }
  });

  test('extendSequence restores the counter past 2^32 from its low 32 bits', () => {
    const wrap = 0x1_0000_0000;
    expect(extendSequence(-1, 5)).toBe(5);
    expect(extendSequence(10, 11)).toBe(11);
    expect(extendSequence(10, 3)).toBe(3); // reordered, below the highest
    expect(extendSequence(wrap - 2, 1)).toBe(wrap + 1); // across the wrap
    expect(extendSequence(wrap + 1, 0xffffffff)).toBe(wrap - 1); // reordered across the wrap
    expect(extendSequence(3 * wrap + 7, 8)).toBe(3 * wrap + 8);
    expect(extendSequence(5, 0xfffffff0)).toBe(0xfffffff0); // never below 0
  });
});

describe('relay answers kept for retries', () => {
  test('an answer is kept at least the memory time and dropped within twice it', () => {
    const answers = new RelayAnswers(1_000, 100, 0);
    answers.begin(1, 0);
    expect(answers.has(1)).toBe(true);
    expect(answers.get(1)).toBeUndefined(); // still sending
    answers.settle(1, { outcome: RelayOutcome.Sent });
    answers.begin(2, 999);
    expect(answers.get(1)).toEqual({ outcome: RelayOutcome.Sent });
    answers.begin(3, 1_000); // a new generation: 1 and 2 are the previous one
    expect(answers.get(1)).toEqual({ outcome: RelayOutcome.Sent });
    answers.settle(2, { outcome: RelayOutcome.NotOwner });
    expect(answers.get(2)).toEqual({ outcome: RelayOutcome.NotOwner });
    answers.begin(4, 2_000);
    expect(answers.has(1)).toBe(false);
    expect(answers.has(2)).toBe(false);
    expect(answers.has(3)).toBe(true);
  });

  test('the answers of a sender that stopped sending are aged by expire and gone after two calls a memory time apart', () => {
    const answers = new RelayAnswers(1_000, 100, 0);
    answers.begin(1, 0);
    answers.settle(1, { outcome: RelayOutcome.Sent });
    answers.expire(999);
    expect(answers.has(1)).toBe(true);
    answers.expire(1_000); // kept the memory time: now in the previous generation
    expect(answers.get(1)).toEqual({ outcome: RelayOutcome.Sent });
    answers.expire(1_999);
    expect(answers.has(1)).toBe(true);
    answers.expire(2_000);
    expect(answers.has(1)).toBe(false);
    expect(answers.size).toBe(0);
  });

  test('at most twice maxEntries answers are held', () => {
    const answers = new RelayAnswers(60_000, 10, 0);
    for (let id = 1; id <= 100; id++) answers.begin(id, 0);
    expect(answers.size).toBeLessThanOrEqual(20);
    expect(answers.has(100)).toBe(true);
    expect(answers.has(1)).toBe(false);
  });
});
