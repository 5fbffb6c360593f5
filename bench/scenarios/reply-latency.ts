/**
 * Scenario 4: reply latency. A client process sends datagrams at 10k/s to a UDP Listener whose
 * local handler answers every packet with its own Data; the client times each round trip. The
 * same client against a raw dgram echo process gives the round trip Node itself costs; the
 * difference (minus the handler's own time) is what the gateway adds.
 */
import { missingModules } from './modules';
import { Agent } from '../lib/agent';
import { Scenario, ScenarioContext, ScenarioResult } from '../lib/scenario';
import { median } from '../lib/stats';

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

/** Batching configurations measured; the first one gives the headline figures. */
const CONFIGS = [
  { label: 'Count 1 (each packet delivered at once)', batching: { Count: 1 } },
  { label: 'Count 10, TimeoutInSeconds 0.001', batching: { Count: 10, TimeoutInSeconds: 0.001 } },
  { label: 'defaults (Count 100, TimeoutInSeconds 0.05)', batching: undefined },
] as const;

async function measure(context: ScenarioContext, server: Agent, port: number): Promise<RoundTrips[]> {
  const client = await Agent.start('latency-client', { cpus: context.cpus.partner });
  try {
    await client.request('open');
    const count = Math.round((LATENCY_RATE * context.trialMs) / 1000) + 2000;
    const runs: RoundTrips[] = [];
    await client.request('run', { port, rate: LATENCY_RATE, count: 2000, warmup: 0 }, 60_000); // warm-up
    for (let i = 0; i < context.runs; i++) {
      runs.push(await client.request<RoundTrips>('run', { port, rate: LATENCY_RATE, count, warmup: 1000 }, 60_000));
    }
    void server;
    return runs;
  } finally {
    await client.stop();
  }
}

const ms = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');

export const replyLatency: Scenario = {
  id: 'reply-latency',
  title: 'Scenario 4: reply latency',
  description:
    `A client process sends 64 B datagrams at ${LATENCY_RATE / 1000}k/s to a UDP Listener; a local handler replies to every ` +
    'packet with its Data; the reply leaves from the Listener socket, routed by its Tag. The client times each round trip. ' +
    'Baseline: the same client against a raw dgram echo process. Added latency = gateway percentile − baseline percentile − ' +
    'mean handler time. Target: p99 < 2 ms.',
  async run(context: ScenarioContext): Promise<ScenarioResult> {
    const missing = missingModules(['service/gateway.ts', 'service/replies.ts', 'service/destinations/local-destination.ts']);
    if (missing) return { status: 'pending', reason: missing };
    const echo = await Agent.start('udp-echo', { cpus: context.cpus.measured });
    let baseline: RoundTrips[];
    try {
      const { port } = await echo.request<{ port: number }>('bind');
      baseline = await measure(context, echo, port);
    } finally {
      await echo.stop();
    }
    const base = { p50: median(baseline.map((r) => r.p50)), p99: median(baseline.map((r) => r.p99)) };
    const rows: Array<Array<string | number>> = [[
      'raw dgram echo (baseline)', ms(base.p50), ms(median(baseline.map((r) => r.p90))), ms(base.p99), ms(median(baseline.map((r) => r.p999))),
      '—', '—', '—', `${median(baseline.map((r) => r.received / r.sent)) * 100}%`,
    ]];
    const figures: Record<string, number> = { replyBaselineP50Ms: base.p50, replyBaselineP99Ms: base.p99 };
    const raw: Record<string, unknown> = { baseline };
    for (let c = 0; c < CONFIGS.length; c++) {
      const config = CONFIGS[c];
      const gateway = await Agent.start('ingress-gateway', { cpus: context.cpus.measured });
      try {
        const { port } = await gateway.request<{ port: number }>('start', { handler: 'echo-handler', batching: config.batching });
        await gateway.request('reset');
        const runs = await measure(context, gateway, port);
        const stats = await gateway.request<{ batches: number; handlerMs: number; count: number; failures: number }>('stats');
        const handlerMs = stats.batches > 0 ? stats.handlerMs / stats.batches : 0;
        const p50 = median(runs.map((r) => r.p50));
        const p99 = median(runs.map((r) => r.p99));
        const added50 = p50 - base.p50 - handlerMs;
        const added99 = p99 - base.p99 - handlerMs;
        raw[`config${c}`] = { batching: config.batching ?? 'defaults', runs, handler: stats };
        rows.push([
          `gateway, batching ${config.label}`, ms(p50), ms(median(runs.map((r) => r.p90))), ms(p99), ms(median(runs.map((r) => r.p999))),
          ms(handlerMs), ms(added50), ms(added99), `${(median(runs.map((r) => r.received / r.sent)) * 100).toFixed(2)}%`,
        ]);
        figures[`replyAddedP50Ms_${c}`] = added50;
        figures[`replyAddedP99Ms_${c}`] = added99;
        if (c === 0) {
          figures.replyP50Ms = added50;
          figures.replyP99Ms = added99;
        }
        context.log(`   ${config.label}: p50 ${ms(p50)} ms, p99 ${ms(p99)} ms (added ${ms(added50)} / ${ms(added99)} ms)`);
      } finally {
        await gateway.stop();
      }
    }
    return {
      status: 'ok',
      figures,
      raw,
      tables: [{
        caption: 'Round-trip times in milliseconds (medians of the runs\' percentiles).',
        table: {
          columns: ['path', 'p50', 'p90', 'p99', 'p99.9', 'handler (mean per call)', 'added p50', 'added p99', 'replies received'],
          rows,
        },
      }],
      notes: [
        '`replyP50Ms` / `replyP99Ms` are from the first configuration (Count 1): the latency the gateway itself adds. With larger batches the batch timeout dominates by design, as the other rows show.',
        `The first 1000 round trips of each run are not counted (warm-up); each run sends ${LATENCY_RATE / 1000}k datagrams per second for the trial length.`,
      ],
    };
  },
};
