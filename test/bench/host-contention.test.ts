/**
 * The benchmark's record of host contention in its console table and in docs/BENCHMARKS.md: the
 * raw dgram send cost at start and end in the Machine table, CPU steal for the run and per scenario.
 */
import { hostContentionRows, scenarioStealLine } from '../../bench/lib/host-contention';
import { formatSendCost } from '../../bench/lib/host-send-cost';
import { MachineDescription } from '../../bench/lib/machine';
import { MarkdownInput, renderMarkdown } from '../../bench/lib/report';
import { Scenario } from '../../bench/lib/scenario';

const SEND_ROW = 'raw dgram send, 1200 B, CPU per send at start / end';
const STEAL_ROW = 'CPU steal during the run (s, % of the run\'s CPU time)';

const MACHINE: MachineDescription = {
  cpuModel: 'AMD EPYC',
  cores: 2,
  memoryGiB: 23.5,
  node: 'v20.20.2',
  kernel: 'Linux 6.18',
  platform: 'linux x64',
  loadAverageAtStart: [0.5, 0.6, 0.7],
  loadAverageAtEnd: [1.5, 1.6, 1.7],
};

const SCENARIO: Scenario = {
  id: 'baseline-dgram',
  title: 'Baseline: Node dgram send and receive loops',
  description: 'A raw dgram sender loop.',
  run: () => Promise.resolve({ status: 'ok' }),
};

function markdown(overrides: Partial<MarkdownInput>): string {
  return renderMarkdown({
    machine: MACHINE,
    command: 'npm run bench',
    generatedAt: '2026-12-07T03:00:00.000Z',
    runs: 5,
    trialMs: 1500,
    pinning: 'not pinned',
    targets: [],
    headline: {},
    figures: {},
    scenarios: [],
    methodology: [],
    ...overrides,
  });
}

describe('formatSendCost', () => {
  test('the median in µs; not measured, with the reason, when the probe failed', () => {
    expect(formatSendCost({ usPerSend: 7.126, rounds: [7.1, 7.126, 7.3] })).toBe('7.13 µs');
    expect(formatSendCost({ usPerSend: NaN, rounds: [], reason: 'agent udp-sender did not start within 20000 ms' }))
      .toBe('not measured (agent udp-sender did not start within 20000 ms)');
    expect(formatSendCost(undefined)).toBe('not measured');
  });
});

describe('hostContentionRows', () => {
  test('send cost at start / end, and the run\'s steal in seconds and percent', () => {
    expect(hostContentionRows({
      sendCostAtStart: { usPerSend: 6.81, rounds: [6.8, 6.81, 6.9] },
      sendCostAtEnd: { usPerSend: 9.912, rounds: [9.9, 9.912, 10] },
      steal: { seconds: 12.345, share: 0.0421 },
    })).toEqual([
      [SEND_ROW, '6.81 µs / 9.91 µs'],
      [STEAL_ROW, '12.35 s, 4.2 %'],
    ]);
  });

  test('says what is missing: steal without /proc/stat, a send cost not measured, no record at all', () => {
    expect(hostContentionRows({
      sendCostAtStart: { usPerSend: 7, rounds: [7] },
      sendCostAtEnd: { usPerSend: NaN, rounds: [], reason: 'agent udp-counter exited' },
      steal: null,
    })).toEqual([
      [SEND_ROW, '7.00 µs / not measured (agent udp-counter exited)'],
      [STEAL_ROW, 'not available'],
    ]);
    expect(hostContentionRows(undefined)).toEqual([
      [SEND_ROW, 'not measured / not measured'],
      [STEAL_ROW, 'not available'],
    ]);
  });
});

test('a scenario\'s steal line', () => {
  expect(scenarioStealLine({ seconds: 0.5, share: 0.012 })).toBe('CPU steal during this scenario: 0.50 s, 1.2 % of its CPU time.');
  expect(scenarioStealLine(null)).toBe('CPU steal during this scenario: not available.');
  expect(scenarioStealLine(undefined)).toBe('CPU steal during this scenario: not available.');
});

describe('docs/BENCHMARKS.md', () => {
  test('the Machine table carries the send cost and the run\'s steal after the load averages', () => {
    const md = markdown({
      machine: {
        ...MACHINE,
        hostContention: {
          sendCostAtStart: { usPerSend: 7.2, rounds: [7.2] },
          sendCostAtEnd: { usPerSend: 10.4, rounds: [10.4] },
          steal: { seconds: 3.5, share: 0.0125 },
        },
      },
    });
    const lines = md.split('\n');
    const load = lines.indexOf('| load average at start / end | 0.5 0.6 0.7 / 1.5 1.6 1.7 |');
    expect(load).toBeGreaterThan(0);
    expect(lines[load + 1]).toBe(`| ${SEND_ROW} | 7.20 µs / 10.40 µs |`);
    expect(lines[load + 2]).toBe(`| ${STEAL_ROW} | 3.50 s, 1.3 % |`);
  });

  test('each scenario section ends with its time and its steal, or says steal is not available', () => {
    const md = markdown({
      scenarios: [
        { scenario: SCENARIO, result: { status: 'ok' }, seconds: 12.34, steal: { seconds: 0.25, share: 0.01 } },
        { scenario: { ...SCENARIO, id: 'memory', title: 'Scenario 5: memory' }, result: { status: 'ok' }, seconds: 3, steal: null },
      ],
    });
    expect(md).toContain('_Scenario time: 12.3 s. CPU steal during this scenario: 0.25 s, 1.0 % of its CPU time._');
    expect(md).toContain('_Scenario time: 3.0 s. CPU steal during this scenario: not available._');
  });
});
