import { FlowTable } from '../../../service/egress/flow-table';

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
