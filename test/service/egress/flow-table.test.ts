import { FlowTable, NUMBERED_LISTENERS, REBASE_AFTER_MS, sourcePrefix } from '../../../service/egress/flow-table';

/** The keys of every flow the table holds (numbers for numbered Listeners' IPv4 flows, else text). */
function flowKeys(flows: FlowTable): Array<number | string> {
  const maps = flows as unknown as { confirmed: Map<number | string, number>; fresh: Map<number | string, number> };
  return [...maps.confirmed.keys(), ...maps.fresh.keys()];
}

/** The times the table stores for its flows (ms from its origin). */
function storedTimes(flows: FlowTable): number[] {
  const maps = flows as unknown as { confirmed: Map<number | string, number>; fresh: Map<number | string, number> };
  return [...maps.confirmed.values(), ...maps.fresh.values()];
}

describe('FlowTable', () => {
  test('a flow is active for 120 s after the last datagram, per Listener and client', () => {
    const flows = new FlowTable();
    flows.touch('demo', '203.0.113.5', 4000, 1_000_000);
    expect(flows.isActive('demo', '203.0.113.5', 4000, 1_000_000 + 119_999)).toBe(true);
    expect(flows.isActive('demo', '203.0.113.5', 4000, 1_000_000 + 120_000)).toBe(false);
    expect(flows.isActive('other', '203.0.113.5', 4000, 1_000_001)).toBe(false);
    expect(flows.isActive('demo', '203.0.113.5', 4001, 1_000_001)).toBe(false);
    flows.touch('demo', '203.0.113.5', 4000, 1_100_000);
    expect(flows.isActive('demo', '203.0.113.5', 4000, 1_200_000)).toBe(true);
  });

  test('sweep removes expired flows only', () => {
    const flows = new FlowTable({ idleSeconds: 10 });
    flows.touch('l', '192.0.2.1', 1, 0);
    flows.touch('l', '192.0.2.2', 1, 5_000);
    flows.touch('l', '192.0.2.3', 1, 20_000);
    expect(flows.sweep(21_000)).toBe(2);
    expect(flows.size).toBe(1);
    expect(flows.isActive('l', '192.0.2.3', 1, 21_000)).toBe(true);
  });

  test('is bounded: at capacity the least recently refreshed flow is evicted', () => {
    const flows = new FlowTable({ maxFlows: 3 });
    flows.touch('l', '192.0.2.1', 1, 0);
    flows.touch('l', '192.0.2.2', 1, 10_000);
    flows.touch('l', '192.0.2.3', 1, 20_000);
    flows.touch('l', '192.0.2.1', 1, 30_000); // refreshed: now the newest
    flows.touch('l', '192.0.2.4', 1, 40_000);
    expect(flows.size).toBe(3);
    expect(flows.evicted).toBe(1);
    expect(flows.isActive('l', '192.0.2.2', 1, 40_000)).toBe(false);
    expect(flows.isActive('l', '192.0.2.1', 1, 40_000)).toBe(true);
  });

  test('forgetListener drops only that Listener', () => {
    const flows = new FlowTable();
    flows.touch('a', '192.0.2.1', 1, 0);
    flows.touch('ab', '192.0.2.1', 1, 0);
    flows.forgetListener('a');
    expect(flows.isActive('a', '192.0.2.1', 1, 1)).toBe(false);
    expect(flows.isActive('ab', '192.0.2.1', 1, 1)).toBe(true);
  });

  test('a flow new to the table, or back after expiry, is reported once; refreshes are not', () => {
    const started: string[] = [];
    const flows = new FlowTable({ onNewFlow: (l, a, p) => started.push(`${l} ${a}:${p}`) });
    flows.touch('demo', '203.0.113.5', 4000, 0);
    flows.touch('demo', '203.0.113.5', 4000, 500);
    flows.touch('demo', '203.0.113.5', 4000, 5_000);
    flows.touch('demo', '203.0.113.5', 4001, 5_000);
    expect(started).toEqual(['demo 203.0.113.5:4000', 'demo 203.0.113.5:4001']);
    flows.touch('demo', '203.0.113.5', 4000, 5_000 + 120_000);
    expect(started).toEqual(['demo 203.0.113.5:4000', 'demo 203.0.113.5:4001', 'demo 203.0.113.5:4000']);
  });
});

describe('FlowTable under a flood of fresh sources', () => {
  /** A distinct spoofed source per index, spread over many /24s. */
  const spoofed = (i: number): string => `198.${Math.floor(i / 65536) % 256}.${Math.floor(i / 256) % 256}.${i % 256}`;

  test('a live client that keeps talking keeps its flow while a flood ten times the table passes', () => {
    const flows = new FlowTable({ maxFlows: 10_000 });
    flows.touch('l', '203.0.113.5', 4000, 0);
    flows.touch('l', '203.0.113.5', 4000, 1_000); // its second datagram: confirmed
    let at = 1_000;
    for (let i = 0; i < 100_000; i++) {
      at = 1_000 + i / 10; // 100 000 spoofed flows in 10 s
      flows.touch('l', spoofed(i), 53, at);
      if (i % 25_000 === 0) flows.touch('l', '203.0.113.5', 4000, at); // keepalives
    }
    expect(flows.size).toBe(10_000);
    expect(flows.evicted).toBe(100_000 - (10_000 - 1));
    expect(flows.evictedConfirmed).toBe(0);
    expect(flows.isActive('l', '203.0.113.5', 4000, at)).toBe(true);
    // The newest spoofed flows are held (a fresh client's request still gets its reply).
    expect(flows.isActive('l', spoofed(99_999), 53, at)).toBe(true);
    expect(flows.isActive('l', spoofed(0), 53, at)).toBe(false);
  });

  test('a confirmed client that talked only once a minute is not pushed out by strangers', () => {
    const flows = new FlowTable({ maxFlows: 100 });
    flows.touch('l', '203.0.113.5', 4000, 0);
    flows.touch('l', '203.0.113.5', 4000, 25_000);
    for (let i = 0; i < 5_000; i++) flows.touch('l', spoofed(i), 1, 26_000 + i);
    expect(flows.isActive('l', '203.0.113.5', 4000, 31_000)).toBe(true);
  });

  test('datagrams within the first second do not confirm a flow', () => {
    const flows = new FlowTable({ maxFlows: 2 });
    flows.touch('l', '192.0.2.1', 1, 0);
    flows.touch('l', '192.0.2.1', 1, 999);
    flows.touch('l', '192.0.2.2', 1, 1_500);
    flows.touch('l', '192.0.2.2', 1, 2_500); // confirmed
    flows.touch('l', '192.0.2.3', 1, 3_000); // evicts the unconfirmed 192.0.2.1
    expect(flows.isActive('l', '192.0.2.1', 1, 3_000)).toBe(false);
    expect(flows.isActive('l', '192.0.2.2', 1, 3_000)).toBe(true);
    expect(flows.isActive('l', '192.0.2.3', 1, 3_000)).toBe(true);
  });

  test('a client that never pauses a second still moves on: the sweep reaches idle flows behind it', () => {
    const flows = new FlowTable({ idleSeconds: 10 });
    // A: confirmed at 1 s, then a datagram every 500 ms for ever
    flows.touch('l', '192.0.2.1', 1, 0);
    flows.touch('l', '192.0.2.1', 1, 1_000);
    // B: confirmed after A, then silent
    flows.touch('l', '198.51.100.1', 1, 1_000);
    flows.touch('l', '198.51.100.1', 1, 2_000);
    for (let t = 1_500; t <= 30_000; t += 500) flows.touch('l', '192.0.2.1', 1, t);
    expect(flows.sweep(30_000)).toBe(1);
    expect(flows.size).toBe(1);
    expect(flows.isActive('l', '192.0.2.1', 1, 30_000)).toBe(true);
    expect(flows.isActive('l', '198.51.100.1', 1, 30_000)).toBe(false);
  });

  test('at capacity, a client refreshed every half second is kept over one that paused', () => {
    const flows = new FlowTable({ maxFlows: 2 });
    flows.touch('l', '192.0.2.1', 1, 0);
    flows.touch('l', '192.0.2.1', 1, 1_000);
    for (let t = 1_500; t <= 10_000; t += 500) {
      flows.touch('l', '192.0.2.1', 1, t);
      if (t === 2_000 || t === 3_000 || t === 9_000) flows.touch('l', '198.51.100.1', 1, t);
    }
    flows.touch('l', '203.0.113.1', 1, 10_000);
    expect(flows.evictedConfirmed).toBe(1);
    expect(flows.isActive('l', '192.0.2.1', 1, 10_000)).toBe(true);
    expect(flows.isActive('l', '198.51.100.1', 1, 10_000)).toBe(false);
  });

  test('refreshes within a second keep the exact time of the last datagram for expiry', () => {
    const flows = new FlowTable({ idleSeconds: 10 });
    flows.touch('l', '192.0.2.1', 1, 0);
    flows.touch('l', '192.0.2.1', 1, 1_000);
    flows.touch('l', '192.0.2.1', 1, 1_999);
    flows.touch('l', '192.0.2.1', 1, 1_400); // out of order: changes nothing
    expect(flows.isActive('l', '192.0.2.1', 1, 11_998)).toBe(true);
    expect(flows.isActive('l', '192.0.2.1', 1, 11_999)).toBe(false);
  });

  test('at capacity with only confirmed flows, the least recently refreshed one goes', () => {
    const flows = new FlowTable({ maxFlows: 2 });
    for (const address of ['192.0.2.1', '192.0.2.2']) {
      flows.touch('l', address, 1, 0);
      flows.touch('l', address, 1, 2_000);
    }
    flows.touch('l', '192.0.2.1', 1, 4_000);
    flows.touch('l', '192.0.2.3', 1, 5_000);
    expect(flows.evictedConfirmed).toBe(1);
    expect(flows.isActive('l', '192.0.2.2', 1, 5_000)).toBe(false);
    expect(flows.isActive('l', '192.0.2.1', 1, 5_000)).toBe(true);
  });

  test('one source prefix holds at most maxNewFlowsPerPrefix new flows and churns only its own', () => {
    const flows = new FlowTable({ maxFlows: 1_000, maxNewFlowsPerPrefix: 16 });
    flows.touch('l', '192.0.2.1', 1, 0); // another /24, new
    for (let port = 1; port <= 10_000; port++) flows.touch('l', '198.51.100.7', port, 10 + port / 100);
    for (let i = 0; i < 5_000; i++) flows.touch('l', `2001:db8:0:${(i % 256).toString(16)}::${(i + 1).toString(16)}`, 1, 200);
    expect(flows.isActive('l', '192.0.2.1', 1, 300)).toBe(true);
    expect(flows.isActive('l', '198.51.100.7', 10_000, 300)).toBe(true);
    expect(flows.isActive('l', '198.51.100.7', 9_984, 300)).toBe(false);
    // 1 + 16 (one /24) + 16 (2001:db8::/56: every i above shares it)
    expect(flows.size).toBe(33);
  });

  test('expired new flows are swept and free their prefix', () => {
    const flows = new FlowTable({ idleSeconds: 10, maxNewFlowsPerPrefix: 2 });
    flows.touch('l', '198.51.100.7', 1, 0);
    flows.touch('l', '198.51.100.7', 2, 0);
    expect(flows.sweep(10_000)).toBe(2);
    expect(flows.size).toBe(0);
    flows.touch('l', '198.51.100.7', 3, 10_000);
    flows.touch('l', '198.51.100.7', 4, 10_000);
    expect(flows.isActive('l', '198.51.100.7', 3, 10_001)).toBe(true);
    expect(flows.evicted).toBe(0);
  });
});

describe('FlowTable keys', () => {
  test('IPv4, IPv4-mapped and IPv6 flows of several Listeners are told apart, and forgetListener finds each kind', () => {
    const flows = new FlowTable();
    const clients: Array<[string, string, number]> = [
      ['a', '203.0.113.5', 4000],
      ['a', '203.0.113.5', 4001],
      ['a', '203.0.113.6', 4000],
      ['a', '::ffff:203.0.113.5', 4000],
      ['a', '2001:db8::5', 4000],
      ['b', '203.0.113.5', 4000],
      ['b', '2001:db8::5', 4000],
      ['a', '0.0.0.0', 0],
      ['a', '255.255.255.255', 65535],
    ];
    for (const [listener, address, port] of clients) flows.touch(listener, address, port, 1_000);
    expect(flows.size).toBe(clients.length);
    for (const [listener, address, port] of clients) expect(flows.isActive(listener, address, port, 2_000)).toBe(true);
    expect(flows.isActive('a', '203.0.113.7', 4000, 2_000)).toBe(false);
    expect(flows.isActive('c', '203.0.113.5', 4000, 2_000)).toBe(false);
    flows.forgetListener('a');
    expect(flows.size).toBe(2);
    expect(flows.isActive('b', '203.0.113.5', 4000, 2_000)).toBe(true);
    expect(flows.isActive('b', '2001:db8::5', 4000, 2_000)).toBe(true);
    expect(flows.isActive('a', '203.0.113.5', 4000, 2_000)).toBe(false);
    expect(flows.isActive('a', '::ffff:203.0.113.5', 4000, 2_000)).toBe(false);
  });

  test('a non-canonical IPv4 text is not the canonical address', () => {
    const flows = new FlowTable();
    flows.touch('a', '203.0.113.5', 4000, 1_000);
    expect(flows.isActive('a', '203.0.113.05', 4000, 1_001)).toBe(false);
    flows.touch('a', '203.0.113.05', 4000, 1_000);
    expect(flows.size).toBe(2);
  });

  test(`Listeners beyond the first ${NUMBERED_LISTENERS} keep working, with their own flows`, () => {
    const flows = new FlowTable();
    const listeners = Array.from({ length: NUMBERED_LISTENERS + 8 }, (_, i) => `listener-${i}`);
    for (const l of listeners) flows.touch(l, '198.51.100.9', 7000, 5_000);
    expect(flows.size).toBe(listeners.length);
    for (const l of listeners) expect(flows.isActive(l, '198.51.100.9', 7000, 5_001)).toBe(true);
    flows.forgetListener(listeners[NUMBERED_LISTENERS + 1]);
    flows.forgetListener(listeners[1]);
    expect(flows.size).toBe(listeners.length - 2);
    expect(flows.isActive(listeners[NUMBERED_LISTENERS + 1], '198.51.100.9', 7000, 5_001)).toBe(false);
    expect(flows.isActive(listeners[1], '198.51.100.9', 7000, 5_001)).toBe(false);
    expect(flows.isActive(listeners[0], '198.51.100.9', 7000, 5_001)).toBe(true);
    expect(flows.isActive(listeners[NUMBERED_LISTENERS + 2], '198.51.100.9', 7000, 5_001)).toBe(true);
  });

  test('the /24 cap on new flows counts IPv4 flows of every Listener of one prefix together', () => {
    const flows = new FlowTable({ maxNewFlowsPerPrefix: 4 });
    for (let i = 0; i < 6; i++) flows.touch(i % 2 === 0 ? 'a' : 'b', `198.51.100.${i + 1}`, 9, 100 + i);
    flows.touch('a', '198.51.101.1', 9, 200);
    // 4 of 198.51.100/24 (the two oldest evicted) + 1 of 198.51.101/24
    expect(flows.size).toBe(5);
    expect(flows.evicted).toBe(2);
    expect(flows.isActive('a', '198.51.100.1', 9, 300)).toBe(false);
    expect(flows.isActive('b', '198.51.100.6', 9, 300)).toBe(true);
  });

  test('times far from the first datagram (before it, or years after) are compared exactly', () => {
    const flows = new FlowTable({ idleSeconds: 10 });
    flows.touch('a', '192.0.2.1', 1, 1_800_000_000_000);
    flows.touch('a', '192.0.2.2', 1, 1_000);
    expect(flows.isActive('a', '192.0.2.2', 1, 10_999)).toBe(true);
    expect(flows.isActive('a', '192.0.2.2', 1, 11_000)).toBe(false);
    flows.touch('a', '192.0.2.3', 1, 1_800_000_000_000 + 3e10 + 0.5);
    expect(flows.isActive('a', '192.0.2.3', 1, 1_800_000_000_000 + 3e10 + 10_000.4)).toBe(true);
    expect(flows.isActive('a', '192.0.2.3', 1, 1_800_000_000_000 + 3e10 + 10_000.5)).toBe(false);
  });
});

describe('FlowTable over a long life', () => {
  test('Listeners replaced one after another keep numeric flow keys: a forgotten Listener frees its number', () => {
    const flows = new FlowTable();
    for (let i = 0; i < 3 * NUMBERED_LISTENERS; i++) {
      flows.touch(`generation-${i}`, '198.51.100.9', 7000, 1_000 + i);
      expect(flowKeys(flows).map((key) => typeof key)).toEqual(['number']);
      flows.forgetListener(`generation-${i}`);
      expect(flows.size).toBe(0);
    }
    const live = Array.from({ length: NUMBERED_LISTENERS }, (_, i) => `live-${i}`);
    for (const l of live) flows.touch(l, '198.51.100.9', 7000, 5_000);
    expect(flowKeys(flows).every((key) => typeof key === 'number')).toBe(true);
    for (const l of live) expect(flows.isActive(l, '198.51.100.9', 7000, 5_001)).toBe(true);
  });

  test('a number freed and reused is never shared by two Listeners, whatever was looked up last', () => {
    const flows = new FlowTable();
    flows.touch('x', '198.51.100.9', 7000, 1_000);
    flows.forgetListener('x');
    flows.touch('x', '198.51.100.9', 7000, 2_000); // the same client right after: the last key built is the forgotten one's
    flows.touch('y', '198.51.100.9', 7000, 2_000);
    expect(flows.size).toBe(2);
    flows.forgetListener('y');
    expect(flows.isActive('x', '198.51.100.9', 7000, 2_001)).toBe(true);
    expect(flows.isActive('y', '198.51.100.9', 7000, 2_001)).toBe(false);
  });

  test('a Listener that found no number keeps finding its flows after numbers are freed', () => {
    const flows = new FlowTable();
    const numbered = Array.from({ length: NUMBERED_LISTENERS }, (_, i) => `numbered-${i}`);
    for (const l of numbered) flows.touch(l, '198.51.100.9', 7000, 1_000);
    flows.touch('late', '198.51.100.9', 7000, 1_000);
    flows.forgetListener(numbered[0]);
    expect(flows.isActive('late', '198.51.100.9', 7000, 1_001)).toBe(true);
    flows.touch('late', '198.51.100.9', 7000, 1_500);
    expect(flows.size).toBe(NUMBERED_LISTENERS);
    flows.forgetListener('late');
    flows.touch('late', '198.51.100.9', 7000, 2_000);
    expect(flowKeys(flows).every((key) => typeof key === 'number')).toBe(true);
  });

  test('stored times stay small integers through months of uptime, and flows live and expire as before', () => {
    let now = 1_800_000_000_000;
    const newFlows: string[] = [];
    const flows = new FlowTable({ now: () => now, onNewFlow: (_l, address) => newFlows.push(address) });
    const steps = 90 * 4;
    for (let step = 0; step < steps; step++) {
      now += 6 * 3_600_000;
      flows.touch('a', '203.0.113.1', 4000); // back after hours away: a new flow
      flows.touch('a', '203.0.113.1', 4000, now + 1_500); // confirmed
      flows.touch('a', '203.0.113.1', 4000, now + 1_700); // a refresh
      flows.touch('a', `198.51.100.${step % 250}`, 5000); // a stranger, left to expire
      expect(flows.isActive('a', '203.0.113.1', 4000, now + 1_700 + 119_999)).toBe(true);
      expect(flows.isActive('a', '203.0.113.1', 4000, now + 1_700 + 120_000)).toBe(false);
      expect(flows.isActive('a', `198.51.100.${step % 250}`, 5000, now + 119_999)).toBe(true);
      expect(Math.max(...storedTimes(flows).map(Math.abs))).toBeLessThanOrEqual(REBASE_AFTER_MS);
    }
    expect(now - 1_800_000_000_000).toBeGreaterThan(3 * 2 ** 30);
    expect(storedTimes(flows).every(Number.isInteger)).toBe(true);
    expect(newFlows.length).toBe(2 * steps);
    expect(newFlows.filter((a) => a === '203.0.113.1').length).toBe(steps);
    flows.sweep(now + 200_000);
    expect(flows.size).toBe(0);
  });

  test('a flow touched just before the origin moves stays alive, confirms and expires at the same times', () => {
    const start = 1_800_000_000_000;
    const flows = new FlowTable({ idleSeconds: 120 });
    flows.touch('a', '203.0.113.1', 4000, start);
    const beforeMove = start + REBASE_AFTER_MS - 10;
    flows.touch('a', '203.0.113.2', 4000, beforeMove - 5_000); // new, not confirmed yet
    flows.touch('a', '203.0.113.3', 4000, beforeMove - 60_000);
    flows.touch('a', '203.0.113.3', 4000, beforeMove - 30_000); // confirmed
    flows.touch('a', '203.0.113.9', 4000, start + REBASE_AFTER_MS + 1); // moves the origin
    expect(flows.isActive('a', '203.0.113.1', 4000, beforeMove)).toBe(false);
    expect(flows.isActive('a', '203.0.113.2', 4000, beforeMove - 5_000 + 119_999)).toBe(true);
    expect(flows.isActive('a', '203.0.113.2', 4000, beforeMove - 5_000 + 120_000)).toBe(false);
    expect(flows.isActive('a', '203.0.113.3', 4000, beforeMove - 30_000 + 119_999)).toBe(true);
    expect(flows.isActive('a', '203.0.113.3', 4000, beforeMove - 30_000 + 120_000)).toBe(false);
    expect(flows.sweep(beforeMove - 5_000 + 120_000)).toBe(3);
    expect(storedTimes(flows)).toEqual([0]);
  });

  test('an idle timeout the stored times cannot hold is refused', () => {
    expect(() => new FlowTable({ idleSeconds: REBASE_AFTER_MS / 1000 })).toThrow(/idleSeconds 536870.912 is not valid \(allowed: above 0 and below 536870.912\)/);
    expect(() => new FlowTable({ idleSeconds: 0 })).toThrow(/not valid/);
  });
});

describe('sourcePrefix', () => {
  test.each([
    ['203.0.113.5', '203.0.113'],
    ['::ffff:203.0.113.5', '::ffff:203.0.113'],
    ['2001:db8:1:2345::1', '2001:db8:1:2300::/56'],
    ['2001:db8:1:23ff:aaaa:bbbb:cccc:dddd', '2001:db8:1:2300::/56'],
    ['2001:db8::1', '2001:db8:0:0::/56'],
    ['::1', '0:0:0:0::/56'],
  ])('%s counts against %s', (address, prefix) => {
    expect(sourcePrefix(address)).toBe(prefix);
  });
});
