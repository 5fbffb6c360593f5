/**
 * Scenario 4: reply latency. A client process sends datagrams at 10k/s to a UDP Listener whose
 * local handler answers every packet with its own Data (or, in the AWS-mode rows, whose Lambda
 * destination's in-memory function does); the client times each round trip. The
 * same client against a raw dgram echo process, in runs interleaved with the gateway's, gives the
 * round trip Node itself costs; the difference (minus the handler's own time) is what the gateway
 * adds.
 */
import { missingModules } from './modules';
import { Agent } from '../lib/agent';
import { Scenario, ScenarioContext, ScenarioResult } from '../lib/scenario';
import { median } from '../lib/stats';
import { GATEWAY_WARMUP_MS } from '../lib/throughput';

/** Datagrams per second of the latency client. */
export const LATENCY_RATE = 10_000;

interface RoundTrips {
  sent: number;
  received: number;
  measured: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/**
 * Datagrams per second of the AWS-mode Lambda row at Count 1: one Invoke per datagram costs about
 * 100 µs of the gateway's CPU, so 10k/s would fill its core and measure only the queue.
 */
export const LAMBDA_COUNT1_RATE = 2_000;

/**
 * Batching configurations measured, the headline first. The headline is batches of up to 10 with a
 * window of 0, the configuration for clients that wait for replies: a batch closes as soon as the
 * packets read together have been taken in (the event loop's next turn), so what arrived together
 * shares one handler call and no packet waits for a timer. Batches of up to 10 or 1 ms (the headline until 2026-12-07) make a
 * packet left over from a burst wait for the next burst or the window; one handler call per packet
 * (Count 1) costs ≈ 1.5 × the CPU per round trip and queues at the tail (bench/OPTIMIZATIONS.md,
 * "Reply latency: the local handler's thread hand-off", "Reply latency: a window of 0").
 * `key` names the row's figures.
 */
const CONFIGS = [
  { label: 'Count 10, TimeoutInSeconds 0 (the packets read together, no wait)', key: 'Window0', batching: { Count: 10, TimeoutInSeconds: 0 }, headline: true },
  { label: 'Count 10, TimeoutInSeconds 0.001', key: 'Count10', batching: { Count: 10, TimeoutInSeconds: 0.001 }, headline: false },
  { label: 'Count 1 (one handler call per packet)', key: 'Count1', batching: { Count: 1 }, headline: false },
  { label: 'defaults (Count 100, TimeoutInSeconds 0.05)', key: 'DefaultBatching', batching: undefined, headline: false },
  {
    label: `Count 1, AWS-mode Lambda destination (in-memory echoing function), at ${LAMBDA_COUNT1_RATE / 1000}k/s`,
    key: 'LambdaCount1',
    batching: { Count: 1 },
    headline: false,
    destination: 'echo-lambda',
    rate: LAMBDA_COUNT1_RATE,
  },
  {
    label: 'Count 10, TimeoutInSeconds 0, AWS-mode Lambda destination (in-memory echoing function)',
    key: 'LambdaWindow0',
    batching: { Count: 10, TimeoutInSeconds: 0 },
    headline: false,
    destination: 'echo-lambda',
  },
] as const;

/** The destination of a configuration: the local echo handler unless it names the in-memory Lambda function. */
const destinationOf = (config: (typeof CONFIGS)[number]): string => ('destination' in config ? config.destination : 'local');

/** The client's rate for a configuration. */
const rateOf = (config: (typeof CONFIGS)[number]): number => ('rate' in config ? config.rate : LATENCY_RATE);

const ms = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
const us = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');
const pct = (runs: RoundTrips[]): string => `${(median(runs.map((r) => r.received / r.sent)) * 100).toFixed(2)}%`;

/** Process CPU time (both threads: the gateway's and the handler's) of an agent, in µs. */
const cpuUs = async (agent: Agent): Promise<number> => (await agent.request<{ us: number }>('cpu')).us;

/**
 * `context.runs` pairs of runs, baseline and gateway alternating, from one client process, with
 * the gateway process's CPU time per round trip of each gateway run.
 */
async function measurePairs(
  context: ScenarioContext,
  echoPort: number,
  gatewayAgent: Agent,
  gatewayPort: number,
  rate: number,
): Promise<{ baseline: RoundTrips[]; gateway: RoundTrips[]; cpuUsPerRoundTrip: number[] }> {
  const client = await Agent.start('latency-client', { cpus: context.cpus.partner });
  try {
    await client.request('open');
    const count = Math.round((rate * context.trialMs) / 1000) + 1000;
    const run = (port: number, n: number, warmup: number): Promise<RoundTrips> =>
      client.request<RoundTrips>('run', { port, rate: rate, count: n, warmup }, 60_000);
    await run(echoPort, 2000, 0); // warm-up of both paths
    await run(gatewayPort, (rate * GATEWAY_WARMUP_MS) / 1000, 0);
    const baseline: RoundTrips[] = [];
    const gateway: RoundTrips[] = [];
    const cpuUsPerRoundTrip: number[] = [];
    for (let i = 0; i < context.runs; i++) {
      baseline.push(await run(echoPort, count, 1000));
      const cpuBefore = await cpuUs(gatewayAgent);
      const trips = await run(gatewayPort, count, 1000);
      cpuUsPerRoundTrip.push((await cpuUs(gatewayAgent) - cpuBefore) / trips.sent);
      gateway.push(trips);
    }
    return { baseline, gateway, cpuUsPerRoundTrip };
  } finally {
    await client.stop();
  }
}

export const replyLatency: Scenario = {
  id: 'reply-latency',
  title: 'Scenario 4: reply latency',
  description:
    `A client process sends 64 B datagrams at ${LATENCY_RATE / 1000}k/s to a UDP Listener; a local handler replies to every ` +
    'packet with its Data; the reply leaves from the Listener socket, routed by its Tag. The client times each round trip. ' +
    'Baseline: the same client against a raw dgram echo process, in runs alternating with the gateway\'s. Added latency = ' +
    'gateway percentile − baseline percentile − mean handler time per call. Headline: batches of up to 10 with a window of 0 (what ' +
    'arrived together, no wait); batches of 10 / 1 ms, one handler call per packet (Count 1) and the default batching are reported ' +
    'too, and two rows through a Lambda destination in AWS mode ' +
    `(the gateway's own Invoke path to an echoing function answered in memory; Count 1 at ${LAMBDA_COUNT1_RATE / 1000}k/s, and batches of up to 10 with a window of 0). ` +
    'Target: p99 < 0.5 ms.',
  async run(context: ScenarioContext): Promise<ScenarioResult> {
    const missing = missingModules(['service/gateway.ts', 'service/replies/reply-router.ts', 'service/local/local-destination.ts']);
    if (missing) return { status: 'pending', reason: missing };
    const echo = await Agent.start('udp-echo', { cpus: context.cpus.measured });
    const rows: Array<Array<string | number>> = [];
    const figures: Record<string, number> = {};
    const raw: Record<string, unknown> = {};
    try {
      const { port: echoPort } = await echo.request<{ port: number }>('bind');
      for (let c = 0; c < CONFIGS.length; c++) {
        const config = CONFIGS[c];
        const gateway = await Agent.start('ingress-gateway', { cpus: context.cpus.measured });
        try {
          const { port } = await gateway.request<{ port: number }>('start', { handler: 'echo-handler', destination: destinationOf(config), batching: config.batching });
          await gateway.request('reset');
          const { baseline, gateway: runs, cpuUsPerRoundTrip } = await measurePairs(context, echoPort, gateway, port, rateOf(config));
          const cpuPerTrip = median(cpuUsPerRoundTrip);
          const stats = await gateway.request<{ batches: number; handlerMs: number; count: number; failures: number }>('stats');
          const handlerMs = stats.batches > 0 ? stats.handlerMs / stats.batches : 0;
          const base50 = median(baseline.map((r) => r.p50));
          const base99 = median(baseline.map((r) => r.p99));
          const p50 = median(runs.map((r) => r.p50));
          const p99 = median(runs.map((r) => r.p99));
          const added50 = p50 - base50 - handlerMs;
          const added99 = p99 - base99 - handlerMs;
          raw[`config${c}`] = { batching: config.batching ?? 'defaults', baseline, runs, handler: stats, cpuUsPerRoundTrip };
          rows.push(['raw dgram echo (alternating runs)', ms(base50), ms(median(baseline.map((r) => r.p90))), ms(base99), ms(median(baseline.map((r) => r.p999))), '—', '—', '—', '—', pct(baseline)]);
          rows.push([
            `gateway, batching ${config.label}${config.headline ? ' (headline)' : ''}`, ms(p50), ms(median(runs.map((r) => r.p90))), ms(p99),
            ms(median(runs.map((r) => r.p999))), us(handlerMs * 1000), ms(added50), ms(added99), us(cpuPerTrip), pct(runs),
          ]);
          figures[`reply${config.key}P50Ms`] = added50;
          figures[`reply${config.key}P99Ms`] = added99;
          figures[`reply${config.key}CpuUsPerRoundTrip`] = cpuPerTrip;
          if (config.headline) {
            figures.replyP50Ms = added50;
            figures.replyP99Ms = added99;
            figures.replyBaselineP50Ms = base50;
            figures.replyBaselineP99Ms = base99;
          }
          context.log(`   ${config.label}: p50 ${ms(p50)} ms, p99 ${ms(p99)} ms (baseline ${ms(base50)} / ${ms(base99)}; added ${ms(added50)} / ${ms(added99)} ms; gateway CPU ${us(cpuPerTrip)} µs per round trip)`);
        } finally {
          await gateway.stop();
        }
      }
    } finally {
      await echo.stop();
    }
    return {
      status: 'ok',
      figures,
      raw,
      tables: [{
        caption: 'Round-trip times in milliseconds (medians of the runs\' percentiles); each gateway row follows its own baseline.',
        table: {
          columns: ['path', 'p50', 'p90', 'p99', 'p99.9', 'handler (mean µs per call)', 'added p50', 'added p99', 'gateway CPU per round trip (µs)', 'replies received'],
          rows,
        },
      }],
      notes: [
        '`replyP50Ms` / `replyP99Ms` come from the headline row: batches of up to 10 packets with a window of 0, which close as soon as ' +
          'the packets read together have been taken in (the event loop\'s next turn), so what arrived together shares one handler call and nothing waits for a timer. ' +
          'The client sends in bursts of about 10 per millisecond: with a 1 ms window (`replyCount10P50Ms` / `replyCount10P99Ms`) a ' +
          'packet left over from a burst waits for the next burst or the window. ' +
          'One handler call per packet (Count 1, `replyCount1P50Ms` / `replyCount1P99Ms`) never waits for a batch and keeps up with ' +
          `${LATENCY_RATE / 1000}k/s on one core, since the invocations of one event-loop turn cross to the handler's thread in one message ` +
          '(and their answers back in one), but it costs more CPU per round trip (see that column), so it queues first on a busy core. ' +
          'With the default batching the 50 ms batch timeout dominates by design.',
        'Gateway CPU per round trip: the gateway process\'s CPU time (its thread and the handler\'s thread; both pinned to one core) during a ' +
          'gateway run, divided by the datagrams sent in it.',
        `The first 1000 round trips of each run are not counted (warm-up); each run sends ${LATENCY_RATE / 1000}k datagrams per second for the trial length ` +
          `(the AWS-mode Lambda row at Count 1: ${LAMBDA_COUNT1_RATE / 1000}k/s).`,
        'AWS-mode Lambda rows (`replyLambdaCount1…`, `replyLambdaWindow0…`; reported, not targets): the Listener\'s destination is a Lambda ' +
          'function invoked RequestResponse through the gateway\'s own path (a real LambdaClient, the direct invoker, SigV4 signing), whose ' +
          'HTTP handler answers in memory with `{"Replies":[…]}` holding each packet\'s Tag and Data (bench/lib/echo-lambda.ts). No socket ' +
          'and no network: the answer\'s time in the function (the handler column: parsing the event, writing the answer, in the gateway\'s ' +
          'process and on its CPU) is subtracted from the added latency, not from the CPU column. At Count 1 every datagram is one Invoke.',
      ],
    };
  },
};
