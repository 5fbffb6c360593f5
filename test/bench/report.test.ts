import { ceilingOf, floorOf, renderMarkdown, summaryTable, Target } from '../../bench/lib/report';

const targets: Target[] = [
  {
    key: 'scaling',
    label: 'throughput, 2 workers ÷ 1',
    op: '>=',
    bound: 1.8,
    ceiling: { keys: ['ceilingA', 'ceilingB'], text: 'cores ÷ CPU per packet of everything on the path.' },
  },
  { key: 'vsLoop', label: 'gateway ÷ loop', op: '>=', bound: 0.5, floorKeys: ['floor64', 'floor1200'] },
  { key: 'latency', label: 'p50', unit: 'ms' },
];

describe('benchmark summary', () => {
  it('shows the lowest floor and the lowest ceiling of a target beside its value, and a dash where a target has neither', () => {
    const figures = { ceilingA: 1.31, ceilingB: 1.12, floor64: 0.61, floor1200: 0.45 };
    const table = summaryTable(targets, { scaling: 0.95, vsLoop: 0.41, latency: 0.2 }, figures);

    expect(table.columns).toEqual(['figure', 'value', 'target', 'met', 'floor loop, same trials (one core)', 'ceiling on this machine, same run']);
    expect(table.rows).toEqual([
      ['throughput, 2 workers ÷ 1 (`scaling`)', '0.950', '>= 1.8', 'NO', '—', '1.120'],
      ['gateway ÷ loop (`vsLoop`)', '0.410', '>= 0.5', 'NO', '0.450', '—'],
      ['p50 (`latency`)', '0.200 ms', 'reported', '—', '—', '—'],
    ]);
  });

  it('shows no ceiling when one of its figures was not measured', () => {
    expect(ceilingOf(targets[0], { ceilingA: 1.3 })).toBeUndefined();
    expect(ceilingOf(targets[0], { ceilingA: 1.3, ceilingB: NaN })).toBeUndefined();
    expect(floorOf(targets[0], { ceilingA: 1.3, ceilingB: 1.1 })).toBeUndefined();
    expect(ceilingOf(targets[0], { ceilingA: 1.3, ceilingB: 1.1 })).toBe(1.1);
  });

  it('explains each ceiling under the summary of docs/BENCHMARKS.md', () => {
    const markdown = renderMarkdown({
      machine: {
        cpuModel: 'test CPU', cores: 2, memoryGiB: 4, node: 'v20', kernel: 'Linux', platform: 'linux x64', loadAverageAtStart: [0, 0, 0],
      },
      command: 'npm run bench',
      generatedAt: '2026-12-07T00:00:00.000Z',
      runs: 5,
      trialMs: 1500,
      pinning: 'none',
      targets,
      headline: { scaling: 0.95, vsLoop: 0.41, latency: 0.2 },
      figures: { ceilingA: 1.31, ceilingB: 1.12 },
      scenarios: [],
      methodology: [],
    });
    const summary = markdown.slice(markdown.indexOf('## Summary'), markdown.indexOf('## Method'));

    expect(summary).toContain('| throughput, 2 workers ÷ 1 (`scaling`) | 0.950 | >= 1.8 | NO | — | 1.120 |');
    expect(summary).toContain('The ceiling column is the most the figure can be on the machine of this run');
    expect(summary).toContain('- `scaling`: cores ÷ CPU per packet of everything on the path.');
    expect(summary).not.toContain('- `vsLoop`');
  });
});
