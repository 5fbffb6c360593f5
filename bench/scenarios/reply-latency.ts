/**
 * Scenario 4: reply latency. A client process sends datagrams at 10k/s to a UDP Listener whose
 * local handler answers every packet with its own Data; the client times each round trip. The
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

/** Batching configurations measured. The headline one is the smallest batching that keeps up with 10k/s. */
const CONFIGS = [
  { label: 'Count 10, TimeoutInSeconds 0.001', batching: { Count: 10, TimeoutInSeconds: 0.001 }, headline: true },
  { label: 'Count 1 (one handler call per packet)', batching: { Count: 1 }, headline: false },
  { label: 'defaults (Count 100, TimeoutInSeconds 0.05)', batching: undefined, headline: false },
] as const;

const ms = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
const pct = (runs: RoundTrips[]): string => `${(median(runs.map((r) => r.received / r.sent)) * 100).toFixed(2)}%`;

/** `context.runs` pairs of runs, baseline and gateway alternating, from one client process. */
async function measurePairs(
  context: ScenarioContext,
  echoPort: number,
  gatewayPort: number,
): Promise<{ baseline: RoundTrips[]; gateway: RoundTrips[] }> {
  const client = await Agent.start('latency-client', { cpus: context.cpus.partner });
  try {
    await client.request('open');
    const count = Math.round((LATENCY_RATE * context.trialMs) / 1000) + 1000;
    const run = (port: number, n: number, warmup: number): Promise<RoundTrips> =>
      client.request<RoundTrips>('run', { port, rate: LATENCY_RATE, count: n, warmup }, 60_000);
    await run(echoPort, 2000, 0); // warm-up of both paths
    await run(gatewayPort, (LATENCY_RATE * GATEWAY_WARMUP_MS) / 1000, 0);
    const baseline: RoundTrips[] = [];
    const gateway: RoundTrips[] = [];
    for (let i = 0; i < context.runs; i++) {
      baseline.push(await run(echoPort, count, 1000));
      gateway.push(await run(gatewayPort, count, 1000));
    }
    return { baseline, gateway };
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
    'gateway percentile − baseline percentile − mean handler time per call. Target: p99 < 0.5 ms.',
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
          const { port } = await gateway.request<{ port: number }>('start', { handler: 'echo-handler', batching: config.batching });
          await gateway.request('reset');
          const { baseline, gateway: runs } = await measurePairs(context, echoPort, port);
          const stats = await gateway.request<{ batches: number; handlerMs: number; count: number; failures: number }>('stats');
          const handlerMs = stats.batches > 0 ? stats.handlerMs / stats.batches : 0;
          const base50 = median(baseline.map((r) => r.p50));
          const base99 = median(baseline.map((r) => r.p99));
          const p50 = median(runs.map((r) => r.p50));
          const p99 = median(runs.map((r) => r.p99));
          const added50 = p50 - base50 - handlerMs;
          const added99 = p99 - base99 - handlerMs;
          raw[`config${c}`] = { batching: config.batching ?? 'defaults', baseline, runs, handler: stats };
          rows.push(['raw dgram echo (alternating runs)', ms(base50), ms(median(baseline.map((r) => r.p90))), ms(base99), ms(median(baseline.map((r) => r.p999))), '—', '—', '—', pct(baseline)]);
          rows.push([
            `gateway, batching ${config.label}${config.headline ? ' (headline)' : ''}`, ms(p50), ms(median(runs.map((r) => r.p90))), ms(p99),
            ms(median(runs.map((r) => r.p999))), ms(handlerMs), ms(added50), ms(added99), pct(runs),
          ]);
          figures[`replyAddedP50Ms_${c}`] = added50;
          figures[`replyAddedP99Ms_${c}`] = added99;
          if (config.batching === undefined) {
            figures.replyDefaultBatchingP50Ms = added50;
            figures.replyDefaultBatchingP99Ms = added99;
          }
          if (config.headline) {
            figures.replyP50Ms = added50;
            figures.replyP99Ms = added99;
            figures.replyBaselineP50Ms = base50;
            figures.replyBaselineP99Ms = base99;
          }
          context.log(`   ${config.label}: p50 ${ms(p50)} ms, p99 ${ms(p99)} ms (baseline ${ms(base50)} / ${ms(base99)}; added ${ms(added50)} / ${ms(added99)} ms)`);
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
          columns: ['path', 'p50', 'p90', 'p99', 'p99.9', 'handler (mean per call)', 'added p50', 'added p99', 'replies received'],
          rows,
        },
      }],
      notes: [
        '`replyP50Ms` / `replyP99Ms` come from the headline row: batches of up to 10 packets or 1 ms, the smallest batching that keeps up with ' +
          `${LATENCY_RATE / 1000}k datagrams/s on one core. With one handler call per packet the handler side saturates and queues build (see that row); ` +
          'with the default batching the 50 ms batch timeout dominates by design.',
        `The first 1000 round trips of each run are not counted (warm-up); each run sends ${LATENCY_RATE / 1000}k datagrams per second for the trial length.`,
      ],
    };
  },
};
