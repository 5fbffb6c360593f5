/** Renders benchmark results as a console table and as Markdown. */
import { hostContentionRows, scenarioStealLine } from './host-contention';
import { StealInterval } from './host-steal';
import { MachineDescription } from './machine';
import { Scenario, ScenarioResult, Table } from './scenario';

/** A headline figure with its target. */
export interface Target {
  readonly key: string;
  readonly label: string;
  /** `>=`, `<=` or `<` against `bound`; none for figures without a target. */
  readonly op?: '>=' | '<=' | '<';
  readonly bound?: number;
  readonly unit?: string;
  /**
   * Figures of the same scenario's floor loop (the least work any Node.js implementation must do,
   * measured in the same trials) on the same scale as `key`; the summary shows the lowest.
   */
  readonly floorKeys?: readonly string[];
  /**
   * The most `key` can be on the machine of the run, computed from figures of the same run (for
   * example, every core busy at the CPU per packet the processes measured): the figures, on the
   * same scale as `key` (the summary shows the lowest), and what the ceiling assumes.
   */
  readonly ceiling?: { readonly keys: readonly string[]; readonly text: string };
}

/** The lowest of the figures `keys` names, or undefined (none named, or one not measured). */
function lowestOf(keys: readonly string[] | undefined, figures: Readonly<Record<string, number>>): number | undefined {
  if (!keys) return undefined;
  const values = keys.map((k) => figures[k]);
  return values.every((v) => Number.isFinite(v)) ? Math.min(...values) : undefined;
}

/** The lowest of a target's floor figures, or undefined (no floor, or not measured). */
export function floorOf(target: Target, figures: Readonly<Record<string, number>>): number | undefined {
  return lowestOf(target.floorKeys, figures);
}

/** The lowest of a target's ceiling figures, or undefined (no ceiling, or not measured). */
export function ceilingOf(target: Target, figures: Readonly<Record<string, number>>): number | undefined {
  return lowestOf(target.ceiling?.keys, figures);
}

/** Whether `value` meets `target` (undefined when there is no target or no value). */
export function meets(target: Target, value: number | null | undefined): boolean | undefined {
  if (value === null || value === undefined || !Number.isFinite(value) || !target.op || target.bound === undefined) return undefined;
  switch (target.op) {
    case '>=':
      return value >= target.bound;
    case '<=':
      return value <= target.bound;
    case '<':
      return value < target.bound;
  }
}

function formatValue(v: number | null | undefined, unit = ''): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return 'n/a';
  const s = Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(3);
  return unit ? `${s} ${unit}` : s;
}

/** Plain-text table with aligned columns. */
export function textTable(table: Table): string {
  const cells = [table.columns.map(String), ...table.rows.map((r) => r.map(String))];
  const widths = table.columns.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]): string => r.map((c, i) => (c ?? '').padEnd(widths[i])).join('  ');
  return [line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

/** Markdown table. */
export function markdownTable(table: Table): string {
  const esc = (c: string | number): string => String(c).replace(/\|/g, '\\|');
  return [
    `| ${table.columns.map(esc).join(' | ')} |`,
    `|${table.columns.map(() => '---').join('|')}|`,
    ...table.rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

/** The summary table: every headline figure, its target, and whether it is met. */
export function summaryTable(
  targets: readonly Target[],
  headline: Readonly<Record<string, number | null>>,
  figures: Readonly<Record<string, number>> = {},
): Table {
  return {
    columns: ['figure', 'value', 'target', 'met', 'floor loop, same trials (one core)', 'ceiling on this machine, same run'],
    rows: targets.map((t) => {
      const v = headline[t.key];
      const m = meets(t, v);
      const floor = floorOf(t, figures);
      const ceiling = ceilingOf(t, figures);
      return [
        `${t.label} (\`${t.key}\`)`,
        formatValue(v, t.unit),
        t.op ? `${t.op} ${t.bound}${t.unit ? ` ${t.unit}` : ''}` : 'reported',
        m === undefined ? (t.op ? 'n/a' : '—') : m ? 'yes' : 'NO',
        floor === undefined ? '—' : formatValue(floor, t.unit),
        ceiling === undefined ? '—' : formatValue(ceiling, t.unit),
      ];
    }),
  };
}

/** Inputs of docs/BENCHMARKS.md. */
export interface MarkdownInput {
  readonly machine: MachineDescription;
  readonly command: string;
  readonly generatedAt: string;
  readonly runs: number;
  readonly trialMs: number;
  readonly pinning: string;
  readonly targets: readonly Target[];
  readonly headline: Readonly<Record<string, number | null>>;
  /** Every figure of the run (floor columns of the summary). */
  readonly figures: Readonly<Record<string, number>>;
  readonly scenarios: ReadonlyArray<{
    readonly scenario: Scenario;
    readonly result: ScenarioResult;
    readonly seconds: number;
    /** CPU steal while the scenario ran; null or absent where /proc/stat is not available. */
    readonly steal?: StealInterval | null;
  }>;
  readonly methodology: readonly string[];
  /** Hand-written sections kept across regenerations (optimizations with before/after figures). */
  readonly appendix?: string;
}

/** Renders docs/BENCHMARKS.md. */
export function renderMarkdown(input: MarkdownInput): string {
  const m = input.machine;
  const out: string[] = [];
  out.push('# Benchmarks');
  out.push('');
  out.push(
    'Generated by `' + input.command + '` (bench/run.ts). Every figure is the median of ' +
      `${input.runs} runs; every ratio is taken against a baseline measured in the same invocation. ` +
      'Absolute rates move from machine to machine; the ratios are what the targets hold.',
  );
  out.push('');
  out.push('## Machine');
  out.push('');
  out.push(markdownTable({
    columns: ['', ''],
    rows: [
      ['CPU', m.cpuModel],
      ['cores', m.cores],
      ['memory', `${m.memoryGiB} GiB`],
      ['Node.js', m.node],
      ['kernel', m.kernel],
      ['platform', m.platform],
      ['wireguard-go', m.wireguardGo ?? 'not installed'],
      ['WireGuard ChaCha20-Poly1305', m.wireguardAead ?? 'not reported'],
      ['load average at start / end', `${m.loadAverageAtStart.join(' ')} / ${(m.loadAverageAtEnd ?? []).join(' ')}`],
      ...hostContentionRows(m.hostContention),
      ['generated', input.generatedAt],
      ['trial length', `${input.trialMs} ms per throughput trial`],
      ['CPU placement', input.pinning],
    ],
  }));
  out.push('');
  out.push('## Summary');
  out.push('');
  out.push(markdownTable(summaryTable(input.targets, input.headline, input.figures)));
  out.push('');
  out.push('The floor column is the same ratio for a bare loop doing only the work any Node.js implementation must do for the same ' +
    'input (see each scenario\'s floor table), measured in the same trials: where it is below the target, that bare loop does not reach the target on one core either.');
  const ceilings = input.targets.filter((t) => t.ceiling !== undefined);
  if (ceilings.length > 0) {
    out.push('');
    out.push('The ceiling column is the most the figure can be on the machine of this run, computed from the same run\'s measurements; ' +
      'where it is below the target, the target is out of reach on this machine for the reason each says:');
    out.push('');
    for (const t of ceilings) out.push(`- \`${t.key}\`: ${t.ceiling!.text}`);
  }
  out.push('');
  out.push('## Method');
  out.push('');
  for (const line of input.methodology) out.push(`- ${line}`);
  out.push('');
  for (const { scenario, result, seconds, steal } of input.scenarios) {
    out.push(`## ${scenario.title}`);
    out.push('');
    out.push(scenario.description);
    out.push('');
    if (result.status !== 'ok') {
      out.push(`**${result.status}**: ${result.reason ?? ''}`);
      out.push('');
    }
    for (const t of result.tables ?? []) {
      if (t.caption) {
        out.push(t.caption);
        out.push('');
      }
      out.push(markdownTable(t.table));
      out.push('');
    }
    for (const n of result.notes ?? []) out.push(`- ${n}`);
    if ((result.notes ?? []).length > 0) out.push('');
    out.push(`_Scenario time: ${seconds.toFixed(1)} s. ${scenarioStealLine(steal)}_`);
    out.push('');
  }
  if (input.appendix) {
    out.push(input.appendix.trim());
    out.push('');
  }
  return out.join('\n');
}
