/**
 * The rate searches of scenario 2 (A): the gateway's and the wireguard-go tunnel's alternate in
 * ABBA order, and each side's later searches start around its own earlier results.
 */
import type { ScenarioContext } from '../../bench/lib/scenario';
import type { Trial } from '../../bench/lib/throughput';
import { alternatingSearches, SearchSide } from '../../bench/scenarios/baseline-wireguard-go';

/** A path that delivers everything up to `capacity` datagrams/s and loses 5 % above it. */
function side(label: string, capacity: number, calls: string[]): SearchSide {
  return {
    label,
    firstStart: 1_000,
    runTrial: async (rate: number): Promise<Trial> => {
      calls.push(`${label} ${rate}`);
      const loss = rate <= capacity ? 0 : 0.05;
      const sent = rate;
      const received = Math.round(sent * (1 - loss));
      return { sent, received, rate: received, offeredRate: rate, loss, spanMs: 1000 };
    },
  };
}

/** A context of `runs` runs whose log lines (one per finished search, naming its side) go to `logs`. */
function context(runs: number, logs: string[] = []): ScenarioContext {
  return { runs, log: (line: string) => logs.push(line.trim()) } as unknown as ScenarioContext;
}

describe('alternatingSearches', () => {
  test('searches alternate a, b, b, a, a, b… and each side finds its own rate', async () => {
    const calls: string[] = [];
    const logs: string[] = [];
    const [a, b] = await alternatingSearches(context(5, logs), side('gateway', 12_000, calls), side('tunnel', 5_000, calls));
    expect(a).toHaveLength(5);
    expect(b).toHaveLength(5);
    // one log line per finished search, in the order they ran
    expect(logs.map((line) => line.split(' ').slice(0, 3).join(' '))).toEqual([
      'gateway run 1:', 'tunnel run 1:', 'tunnel run 2:', 'gateway run 2:', 'gateway run 3:',
      'tunnel run 3:', 'tunnel run 4:', 'gateway run 4:', 'gateway run 5:', 'tunnel run 5:',
    ]);
    for (const r of a) expect(r.rate).toBeGreaterThan(0.8 * 12_000);
    for (const r of a) expect(r.rate).toBeLessThanOrEqual(12_000);
    for (const r of b) expect(r.rate).toBeGreaterThan(0.8 * 5_000);
    for (const r of b) expect(r.rate).toBeLessThanOrEqual(5_000);
    // later searches start near the side's own earlier results, not at the other side's
    const tunnelCalls = calls.filter((c) => c.startsWith('tunnel')).map((c) => Number(c.split(' ')[1]));
    expect(Math.max(...tunnelCalls)).toBeLessThan(8_000);
  });

  test('one run is one search of each side, the first side first', async () => {
    const calls: string[] = [];
    const [a, b] = await alternatingSearches(context(1), side('gateway', 5_000, calls), side('tunnel', 5_000, calls));
    expect([a.length, b.length]).toEqual([1, 1]);
    expect(calls[0].startsWith('gateway')).toBe(true);
    expect(calls[calls.length - 1].startsWith('tunnel')).toBe(true);
  });
});
