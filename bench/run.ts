/**
 * `npm run bench`: runs every benchmark scenario, prints a table, writes docs/BENCHMARKS.md and
 * bench/results.json. It also records how contended the host was (bench/lib/host-contention.ts):
 * the CPU time of a raw dgram send at the start and at the end, and CPU steal over the run and per
 * scenario; printed as "Host contention" after the summary, also with --no-write.
 *
 * Options:
 *   --runs N         repetitions per measurement (default 5; the median is reported; at least 3 for published figures)
 *   --trial-ms N     length of one throughput trial (default 1500)
 *   --only a,b       run only these scenario ids (baselines are added when a scenario needs them)
 *   --no-pin         do not pin processes to cores
 *   --no-write       print only; leave docs/BENCHMARKS.md and bench/results.json alone (e.g. to measure
 *                    a subset: `npx tsx bench/run.ts --only relay-hop --no-write`)
 *   --tsx            run agents from their TypeScript sources through tsx instead of bundles
 *
 * Environment:
 *   PGB_PROFILE=a,b   V8 CPU profile of these agents into bench/out/profiles (bench/profile-summary.ts reads one)
 *   PGB_NODE=path     run the agents on this Node.js binary (e.g. Node.js 22 from `npx -p node@22`); the
 *                     worker-scaling gateway runs on it when it is 22.12 or later, else on `npx -y -p node@22`
 *   PGB_NODE_FLAGS=…  extra Node.js flags for every agent (e.g. --trace-gc)
 *   PGB_MEMORY_CLIENTS=N  flows and sessions held by the memory scenario (default 100000)
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Agent, useAgentBundles } from './lib/agent';
import { bundleAgents, removeAgentBundles } from './lib/bundle';
import { HostContention, hostContentionRows } from './lib/host-contention';
import { formatSendCost, measureSendCost } from './lib/host-send-cost';
import { formatSteal, readCpuTimes, stealBetween, StealInterval, ticksPerSecond } from './lib/host-steal';
import { describeMachine, wireguardGoAvailability } from './lib/machine';
import { cleanupNamespaces } from './lib/netns';
import { REPO_ROOT } from './lib/paths';
import { ceilingOf, floorOf, renderMarkdown, summaryTable, Target, textTable } from './lib/report';
import { CpuPlan, Scenario, ScenarioContext, ScenarioResult } from './lib/scenario';
import { round } from './lib/stats';
import { baselineDgram } from './scenarios/baseline-dgram';
import { baselineWireguardGo } from './scenarios/baseline-wireguard-go';
import { ingress } from './scenarios/ingress';
import { memory } from './scenarios/memory';
import { relayHop } from './scenarios/relay-hop';
import { replyLatency } from './scenarios/reply-latency';
import { scaleUp } from './scenarios/scale-up';
import { sourcedPlain } from './scenarios/sourced-plain';
import { sourcedWireGuard } from './scenarios/sourced-wireguard';
import { sourcedWorkers } from './scenarios/sourced-workers';
import { workerScaling } from './scenarios/worker-scaling';

const ROOT = REPO_ROOT;

/** Scenarios in run order: baselines first, so every ratio has its same-run baseline. */
const SCENARIOS: readonly Scenario[] = [
  baselineDgram,
  baselineWireguardGo,
  sourcedPlain,
  sourcedWireGuard,
  ingress,
  replyLatency,
  memory,
  scaleUp,
  workerScaling,
  relayHop,
  sourcedWorkers,
];

/** Baselines a scenario needs (added to `--only` selections). */
const NEEDS: Readonly<Record<string, readonly string[]>> = {
  'sourced-wireguard': ['baseline-wireguard-go'],
};

/** The headline figures of bench/results.json, with their targets. */
const TARGETS: readonly Target[] = [
  {
    key: 'sourcedWgVsWireguardGo',
    label: 'sourced egress WireGuard ÷ wireguard-go tunnel (both on every core)',
    op: '>=',
    bound: 2,
    ceiling: {
      keys: ['sourcedWgVsWireguardGoCpuCeiling64', 'sourcedWgVsWireguardGoCpuCeiling1200'],
      text: 'what path (A) of scenario 2 carries with every core busy and a sender that costs nothing (wireguard-go B\'s and the counter\'s CPU ' +
        'per packet from the path trials), ÷ the wireguard-go tunnel\'s rate; lower of 64 B / 1200 B. Every real sender also pays its sends, ' +
        'so the true bound is lower.',
    },
  },
  { key: 'sourcedWgVsDgram', label: 'sourced egress WireGuard ÷ dgram sender loop, one core each', op: '>=', bound: 0.5, floorKeys: ['sourcedWgFloorVsDgram64', 'sourcedWgFloorVsDgram1200'] },
  { key: 'sourcedWgCpuVsDgram', label: 'sourced egress WireGuard, dgram loop CPU ÷ gateway CPU per packet', op: '>=', bound: 0.5 },
  { key: 'sourcedWgPacedCpuVsDgram', label: 'sourced egress WireGuard, dgram loop CPU ÷ gateway CPU per packet, paced below saturation (lower of 64 B / 1200 B)' },
  { key: 'sourcedWgPacedCpuVsFloor', label: 'sourced egress WireGuard, floor CPU ÷ gateway CPU per packet, paced below saturation (lower of 64 B / 1200 B)' },
  { key: 'sourcedPlainVsFloor', label: 'sourced egress plain ÷ envelope floor loop, one core each (lower of 64 B / 1200 B)', op: '>=', bound: 0.9 },
  { key: 'sourcedPlainCpuVsFloor', label: 'sourced egress plain, floor CPU ÷ gateway CPU per packet', op: '>=', bound: 0.9 },
  { key: 'sourcedPlainPacedCpuVsFloor', label: 'sourced egress plain, floor CPU ÷ gateway CPU per packet, paced below saturation (lower of 64 B / 1200 B)' },
  { key: 'sourcedPlainPacedCpuVsDgram', label: 'sourced egress plain, dgram loop CPU ÷ gateway CPU per packet, paced below saturation (lower of 64 B / 1200 B)' },
  { key: 'ingressVsFloor', label: 'ingress ÷ ingress floor loop, one core each (lower of 64 B / 1200 B)', op: '>=', bound: 0.9 },
  { key: 'ingressCpuVsFloor', label: 'ingress, floor CPU ÷ gateway CPU per packet', op: '>=', bound: 0.9 },
  { key: 'ingressPacedCpuVsFloor', label: 'ingress, floor CPU ÷ gateway CPU per packet, paced below saturation (lower of 64 B / 1200 B)' },
  { key: 'ingressPacedCpuVsDgram', label: 'ingress, dgram loop CPU ÷ gateway CPU per packet, paced below saturation (lower of 64 B / 1200 B)' },
  {
    key: 'sourcedPlainVsDgram',
    label: 'moonshot: sourced egress plain ÷ dgram sender loop (lower of 64 B / 1200 B)',
    op: '>=',
    bound: 0.8,
    floorKeys: ['sourcedPlainFloorVsDgram64', 'sourcedPlainFloorVsDgram1200'],
  },
  { key: 'ingressVsDgram', label: 'moonshot: ingress ÷ dgram receive loop (lower of 64 B / 1200 B)', op: '>=', bound: 0.7, floorKeys: ['ingressFloorVsDgram64', 'ingressFloorVsDgram1200'] },
  { key: 'ingressLossAtTarget', label: 'ingress loss when paced at 0.7 × the receive loop', op: '<=', bound: 0, unit: '' },
  { key: 'replyP50Ms', label: 'reply latency added by the gateway at 10 k/s, p50 (batches of up to 10, window 0: what arrived together)', unit: 'ms' },
  {
    key: 'replyP99Ms',
    label: 'reply latency added by the gateway at 10 k/s, p99 (batches of up to 10, window 0: what arrived together)',
    op: '<',
    bound: 0.5,
    unit: 'ms',
  },
  { key: 'replyCount10P50Ms', label: 'reply latency added with batches of 10 / 1 ms at 10 k/s, p50', unit: 'ms' },
  { key: 'replyCount10P99Ms', label: 'reply latency added with batches of 10 / 1 ms at 10 k/s, p99', unit: 'ms' },
  { key: 'replyCount1P50Ms', label: 'reply latency added with one handler call per packet (Count 1) at 10 k/s, p50', unit: 'ms' },
  { key: 'replyCount1P99Ms', label: 'reply latency added with one handler call per packet (Count 1) at 10 k/s, p99', unit: 'ms' },
  { key: 'replyDefaultBatchingP50Ms', label: 'reply latency added with the default batching (Count 100 / 50 ms), p50', unit: 'ms' },
  { key: 'replyDefaultBatchingP99Ms', label: 'reply latency added with the default batching (Count 100 / 50 ms), p99', unit: 'ms' },
  { key: 'replyLambdaCount1P50Ms', label: 'reply latency added through an AWS-mode Lambda destination (in-memory function), Count 1 at 2 k/s, p50', unit: 'ms' },
  { key: 'replyLambdaCount1P99Ms', label: 'reply latency added through an AWS-mode Lambda destination (in-memory function), Count 1 at 2 k/s, p99', unit: 'ms' },
  {
    key: 'replyLambdaWindow0P50Ms',
    label: 'reply latency added through an AWS-mode Lambda destination (in-memory function), batches of up to 10, window 0, at 10 k/s, p50',
    unit: 'ms',
  },
  {
    key: 'replyLambdaWindow0P99Ms',
    label: 'reply latency added through an AWS-mode Lambda destination (in-memory function), batches of up to 10, window 0, at 10 k/s, p99',
    unit: 'ms',
  },
  { key: 'replyLambdaCount1CpuUsPerRoundTrip', label: 'gateway CPU per round trip, AWS-mode Lambda destination (in-memory function), Count 1', unit: 'µs' },
  { key: 'bytesPerFlow', label: 'memory per idle client flow at 100 k flows (heap)', op: '<=', bound: 256, unit: 'B' },
  { key: 'bytesPerSession', label: 'memory per WireGuard session at 100 k sessions (heap)', op: '<=', bound: 1536, unit: 'B' },
  { key: 'bytesPerSessionTotal', label: 'memory per WireGuard session at 100 k sessions (heap + external buffers)', op: '<=', bound: 3072, unit: 'B' },
  { key: 'coreScaling', label: 'scale-up factor 1 → N gateway processes, one per core (sourced egress plain)' },
  {
    key: 'workerScaling',
    label: 'ingress throughput, 2 data-plane workers ÷ 1 (worker threads, Node.js 22; a floor on a 2-core machine)',
    op: '>=',
    bound: 1.8,
    ceiling: {
      keys: ['workerScalingCeiling'],
      text: 'the machine\'s cores ÷ the CPU time per delivered packet of the 2-worker gateway and of the load generator that shares the machine ' +
        'with it (scenario 7\'s flood trials), ÷ one worker\'s flood rate. With one worker saturating a core, that is about 2 × the gateway\'s ' +
        'CPU per packet ÷ (the gateway\'s + the load generator\'s) on two cores: below 1.8 for any gateway whenever the load generator costs ' +
        'more than a ninth of what the gateway does per packet.',
    },
  },
  { key: 'relayP50Ms', label: 'fleet relay hop round trip, p50 (loopback, one request at a time)', unit: 'ms' },
  { key: 'relayP99Ms', label: 'fleet relay hop round trip, p99 (loopback, one request at a time)', unit: 'ms' },
  { key: 'relayCpuUsPerPacket', label: 'fleet relay hop, CPU per relayed packet (holder + owner, paced)', unit: 'µs' },
  { key: 'workerScalingPerCpu', label: 'ingress packets per CPU-second, 2 data-plane workers ÷ 1 (flood; constant within 10 %)', op: '>=', bound: 0.9 },
  { key: 'sourcedWorkerScaling', label: 'sourced egress throughput, 2 data-plane workers ÷ 1 (worker threads, Node.js 22; a floor on a 2-core machine)' },
  { key: 'sourcedWorkerScalingPerCpu', label: 'sourced egress packets per CPU-second, 2 data-plane workers ÷ 1 (flood)' },
  { key: 'workerScalingPerCpuEven', label: 'ingress packets per CPU-second, 2 data-plane workers ÷ 1, at an even load per worker (paced)' },
  { key: 'sourcedWorkerScalingPerCpuEven', label: 'sourced egress packets per CPU-second, 2 data-plane workers ÷ 1, at an even load per worker (paced)' },
];

interface Options {
  runs: number;
  trialMs: number;
  only?: Set<string>;
  pin: boolean;
  write: boolean;
  bundle: boolean;
}

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { runs: 5, trialMs: 1500, pin: true, write: true, bundle: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--runs') {o.runs = positiveInt(a, next());} else if (a === '--trial-ms') {o.trialMs = positiveInt(a, next());} else if (a === '--only') {o.only = new Set(next().split(',').map((s) => s.trim()).filter(Boolean));} else if (a === '--no-pin') {o.pin = false;} else if (a === '--no-write') {o.write = false;} else if (a === '--tsx') {o.bundle = false;} else if (a === '--help' || a === '-h') {
      process.stdout.write(fs.readFileSync(__filename, 'utf8').split('*/')[0] + '*/\n');
      process.exit(0);
    } else {throw new Error(`unknown option ${a}; allowed: --runs N, --trial-ms N, --only ids, --no-pin, --no-write, --tsx`);}
  }
  if (o.only) {
    const known = new Set(SCENARIOS.map((s) => s.id));
    for (const id of o.only) {
      if (!known.has(id)) throw new Error(`unknown scenario ${id}; allowed: ${[...known].join(', ')}`);
      for (const need of NEEDS[id] ?? []) o.only.add(need);
    }
  }
  return o;
}

function positiveInt(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got ${v}`);
  return n;
}

function cpuPlan(pin: boolean): CpuPlan {
  const all = os.cpus().map((_, i) => i);
  if (!pin || all.length < 2) return { all };
  return { measured: [0], partner: [1], all };
}

function pinningText(plan: CpuPlan): string {
  return plan.measured
    ? `process under test on CPU ${plan.measured.join(',')}, load generator / counting receiver on CPU ${plan.partner!.join(',')} (taskset)`
    : 'not pinned';
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const hz = ticksPerSecond();
  const cpuTimesAtStart = readCpuTimes();
  const machine = describeMachine();
  const cpus = cpuPlan(options.pin);
  const wireguardGo = wireguardGoAvailability();
  const figures: Record<string, number> = {};
  const log = (message: string): void => {
    process.stderr.write(`[bench] ${message}\n`);
  };
  log(`${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}; load ${machine.loadAverageAtStart.join(' ')}`);
  if (machine.loadAverageAtStart[0] > machine.cores * 0.5) {
    log(`warning: the machine is busy (load ${machine.loadAverageAtStart[0]}); figures will be noisy`);
  }
  if (options.bundle) {
    log('bundling the agents (bench/out/agents)');
    useAgentBundles(bundleAgents());
  }
  const sendCostAtStart = await measureSendCost(cpus);
  log(`host: raw dgram send CPU ${formatSendCost(sendCostAtStart)} per send at the start`);
  const context: ScenarioContext = { runs: options.runs, trialMs: options.trialMs, cpus, figures, wireguardGo, log };
  const done: Array<{ scenario: Scenario; result: ScenarioResult; seconds: number; steal: StealInterval | null }> = [];
  const started = Date.now();
  for (const scenario of SCENARIOS) {
    if (options.only && !options.only.has(scenario.id)) continue;
    log(`== ${scenario.title}`);
    const t0 = Date.now();
    const cpuTimesBefore = readCpuTimes();
    let result: ScenarioResult;
    try {
      result = await scenario.run(context);
    } catch (error) {
      result = { status: 'failed', reason: error instanceof Error ? error.message : String(error) };
    } finally {
      await Agent.stopAll();
    }
    const seconds = (Date.now() - t0) / 1000;
    const steal = stealBetween(cpuTimesBefore, readCpuTimes(), hz) ?? null;
    for (const [k, v] of Object.entries(result.figures ?? {})) figures[k] = v;
    done.push({ scenario, result, seconds, steal });
    log(`   ${result.status}${result.reason ? `: ${result.reason}` : ''} (${seconds.toFixed(1)} s; CPU steal ${formatSteal(steal)})`);
    for (const t of result.tables ?? []) process.stdout.write(`\n${scenario.title}${t.caption ? ` — ${t.caption}` : ''}\n${textTable(t.table)}\n`);
  }
  const totalSeconds = (Date.now() - started) / 1000;
  const headline: Record<string, number | null> = {};
  for (const t of TARGETS) headline[t.key] = Number.isFinite(figures[t.key]) ? round(figures[t.key]) : null;
  process.stdout.write(`\nSummary (${totalSeconds.toFixed(0)} s)\n${textTable(summaryTable(TARGETS, headline, figures))}\n`);

  const sendCostAtEnd = await measureSendCost(cpus);
  const hostContention: HostContention = {
    sendCostAtStart,
    sendCostAtEnd,
    steal: stealBetween(cpuTimesAtStart, readCpuTimes(), hz) ?? null,
  };
  process.stdout.write(`\nHost contention\n${textTable({ columns: ['measurement', 'value'], rows: hostContentionRows(hostContention) })}\n`);
  const endMachine = { ...machine, loadAverageAtEnd: os.loadavg().map((x) => Math.round(x * 100) / 100), hostContention };
  if (!options.write) return;
  const command = `npm run bench${process.argv.length > 2 ? ' -- ' + process.argv.slice(2).join(' ') : ''}`;
  const generatedAt = new Date().toISOString();
  const results = {
    ...headline,
    generatedAt,
    command,
    machine: endMachine,
    settings: { runs: options.runs, trialMs: options.trialMs, cpuPlacement: pinningText(cpus), totalSeconds: round(totalSeconds) },
    targets: Object.fromEntries(TARGETS.map((t) => [t.key, t.op ? `${t.op} ${t.bound}` : 'reported'])),
    // the same ratio for the scenario's floor loop (see docs/BENCHMARKS.md), where it has one
    floors: Object.fromEntries(TARGETS.flatMap((t) => {
      const floor = floorOf(t, figures);
      return floor === undefined ? [] : [[t.key, round(floor)]];
    })),
    // the most the figure can be on this machine, from the same run's measurements (see docs/BENCHMARKS.md), where it has one
    ceilings: Object.fromEntries(TARGETS.flatMap((t) => {
      const ceiling = ceilingOf(t, figures);
      return ceiling === undefined ? [] : [[t.key, round(ceiling)]];
    })),
    figures: Object.fromEntries(Object.entries(figures).map(([k, v]) => [k, Number.isFinite(v) ? round(v) : null])),
    scenarios: Object.fromEntries(done.map(({ scenario, result, seconds, steal }) => [scenario.id, {
      title: scenario.title,
      status: result.status,
      reason: result.reason,
      seconds: round(seconds),
      // CPU steal while it ran (null: /proc/stat not available)
      steal,
      figures: result.figures,
      raw: result.raw,
    }])),
  };
  fs.writeFileSync(path.join(ROOT, 'bench', 'results.json'), JSON.stringify(results, jsonNumbers, 2) + '\n');
  const appendixFile = path.join(ROOT, 'bench', 'OPTIMIZATIONS.md');
  const markdown = renderMarkdown({
    machine: endMachine,
    command,
    generatedAt,
    runs: options.runs,
    trialMs: options.trialMs,
    pinning: pinningText(cpus),
    targets: TARGETS,
    headline,
    figures,
    scenarios: done,
    methodology: METHOD,
    appendix: fs.existsSync(appendixFile) ? fs.readFileSync(appendixFile, 'utf8') : undefined,
  });
  fs.mkdirSync(path.join(ROOT, 'docs'), { recursive: true });
  fs.writeFileSync(path.join(ROOT, 'docs', 'BENCHMARKS.md'), markdown);
  log('wrote docs/BENCHMARKS.md and bench/results.json');
}

/** JSON replacer: NaN/Infinity become null, numbers are rounded. */
function jsonNumbers(_key: string, value: unknown): unknown {
  if (typeof value === 'number') return Number.isFinite(value) ? round(value, 6) : null;
  return value;
}

const METHOD: readonly string[] = [
  'Every role (gateway under test, load generator, counting receiver, baseline loop) is a separate Node.js process, so a sender and its receiver never share an event loop.',
  'Throughput is counted by the receiving process: datagrams between the first and the last arrival, divided by that time. Loss is 1 − received ÷ sent.',
  'Flood trials send in bursts of 64 per event-loop turn; paced trials send on a 1 ms schedule. Every loop is bounded by a time and a count.',
  'Throughput ratios against Node\'s dgram loops use baseline trials that alternate with the gateway\'s (ABBA order: loop, gateway, gateway, loop…; same core, same receiver): a shared machine\'s speed can drift by tens of percent within minutes, and a baseline measured once at the start would carry that drift into every ratio. The separate baseline sections at the start (dgram loops, wireguard-go tunnel) are reported for reference; scenario 2 (A) measures the wireguard-go tunnel again, in rate searches alternating with the gateway\'s.',
  'CPU time per packet (the measured process\'s user + system CPU time over a trial ÷ the packets it sent or received) is given twice for the sourced and ingress scenarios: from the flood trials, and from trials of the gateway, its floor loop and the raw dgram loop all paced at one rate, half the slowest of the three\'s median flood rate, so that none is saturated (`…PacedCpu…` figures; each side\'s paced trials in the same alternating order as its flood trials). Under a flood a busy process handles more packets per wake-up of its event loop; paced, each wake-up\'s fixed cost (timers, the poll, the receivers it wakes) is shared by fewer packets, as at the loads a gateway mostly runs at.',
  'Gateway scenarios use the data plane\'s own public classes (listeners, SourcedPacketProcessor, IngressPipeline, WireGuard); nothing of the gateway is re-implemented under bench/.',
  'WireGuard scenarios run inside network namespaces created for the run (unique names, removed at the end, also on failure).',
  'Host contention (Machine table, and each scenario\'s CPU steal): the CPU time of a raw dgram send of 1200 B on loopback, measured at the start and at the end of the run, and the virtual machine\'s CPU steal time (/proc/stat) say how much the host\'s other load took from the run; a steal share of more than a few percent, or a send cost that moved between start and end, means the host was contended, and the ratios may be affected too.',
];

let interrupted = false;
async function shutdown(signal: string): Promise<void> {
  if (interrupted) return;
  interrupted = true;
  process.stderr.write(`[bench] ${signal}: stopping agents and removing namespaces\n`);
  await Agent.stopAll();
  cleanupNamespaces();
  removeAgentBundles();
  process.exit(130);
}
process.once('SIGINT', () => void shutdown('SIGINT'));
process.on('unhandledRejection', (reason) => {
  // a scenario's stray promise must not take the run down and leave agents behind
  process.stderr.write(`[bench] unhandled rejection: ${reason instanceof Error ? reason.message : String(reason)}\n`);
});
process.once('SIGTERM', () => void shutdown('SIGTERM'));

main()
  .catch((error: unknown) => {
    process.stderr.write(`[bench] ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exitCode = 1;
  })
  .finally(async () => {
    await Agent.stopAll();
    cleanupNamespaces();
    removeAgentBundles();
  });
