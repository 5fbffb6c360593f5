/**
 * Scenario 6: scale-up. The sourced egress path of scenario 1, spread over 1 … N cores.
 *
 * Here the data plane scales out as the fleet does (data-plane workers within one process are
 * scenario 7, worker-scaling.ts): one gateway process per core, each with its own
 * Listener socket and its own share of the delivery queue (as each Fargate task has). Each
 * process is pinned to its own core; each counts the sends its Listener completed, because a
 * counting receiver would occupy one of the cores being scaled.
 */
import * as os from 'node:os';
import { performance } from 'node:perf_hooks';
import { missingModules } from './modules';
import { HEADLINE_PACKETS_PER_MESSAGE } from './sourced-plain';
import { Agent } from '../lib/agent';
import { reusePortSupported } from '../lib/machine';
import { Scenario, ScenarioContext, ScenarioResult } from '../lib/scenario';
import { fmtRate, median } from '../lib/stats';

const SIZE = 64;

interface GatewayRun {
  sent: number;
  gatewaySent: number;
  failures: number;
  elapsedMs: number;
}

/** Aggregate completed sends per second of `workers` gateway processes, `runs` times. */
async function measureWorkers(context: ScenarioContext, workers: number): Promise<{ rates: number[]; perWorker: GatewayRun[][] }> {
  const cpus = context.cpus.all;
  const sink = await Agent.start('udp-sink');
  const gateways: Agent[] = [];
  try {
    const { port: sinkPort } = await sink.request<{ port: number }>('bind');
    for (let w = 0; w < workers; w++) {
      const pin = context.cpus.measured ? [cpus[w % cpus.length]] : undefined;
      gateways.push(await Agent.start('sourced-gateway', { cpus: pin }));
    }
    for (const g of gateways) {
      const { port } = await g.request<{ port: number }>('start', {
        listener: { Name: 'bench', Protocol: 'udp', Port: 0, BindAddress: '127.0.0.1', Destinations: [] },
      });
      await sink.request('ping', { port });
      await g.request('load', { address: '127.0.0.1', port: sinkPort, size: SIZE, packets: HEADLINE_PACKETS_PER_MESSAGE });
    }
    await sink.request('block');
    const once = async (durationMs: number): Promise<{ rate: number; runs: GatewayRun[] }> => {
      const started = performance.now();
      const runs = await Promise.all(gateways.map((g) => g.request<GatewayRun>('run', { durationMs }, durationMs + 30_000)));
      const wall = performance.now() - started;
      const sent = runs.reduce((a, r) => a + r.gatewaySent, 0);
      return { rate: (sent * 1000) / wall, runs };
    };
    await once(300); // warm-up
    const rates: number[] = [];
    const perWorker: GatewayRun[][] = [];
    for (let i = 0; i < context.runs; i++) {
      const r = await once(context.trialMs);
      rates.push(r.rate);
      perWorker.push(r.runs);
    }
    return { rates, perWorker };
  } finally {
    await Promise.all([...gateways.map((g) => g.stop()), sink.stop()]);
  }
}

export const scaleUp: Scenario = {
  id: 'scale-up',
  title: 'Scenario 6: scale-up over cores',
  description:
    `Scenario 1 (sourced egress, ${SIZE} B, ${HEADLINE_PACKETS_PER_MESSAGE} packets per message) with 1 … N gateway processes, ` +
    'one per core (pinned), each with its own Listener socket and in-memory delivery queue, all sending to one socket. ' +
    'Rate = datagrams whose send completed, summed over the processes, per second of wall time. ' +
    'Scaling factor = rate with N processes ÷ rate with 1.',
  async run(context: ScenarioContext): Promise<ScenarioResult> {
    const missing = missingModules(['service/gateway.ts', 'service/sourcing/delivery-queue-consumer.ts']);
    if (missing) return { status: 'pending', reason: missing };
    const n = context.cpus.all.length;
    const reusePort = await reusePortSupported();
    const counts = n > 1 ? [1, n] : [1];
    const results = new Map<number, { rates: number[]; perWorker: GatewayRun[][] }>();
    for (const w of counts) {
      const r = await measureWorkers(context, w);
      results.set(w, r);
      context.log(`   ${w} process${w > 1 ? 'es' : ''}: ${r.rates.map(fmtRate).join(', ')}`);
    }
    const one = median(results.get(1)!.rates);
    const all = median(results.get(n)?.rates ?? []);
    const factor = n > 1 ? all / one : 1;
    const rows = counts.map((w) => {
      const r = results.get(w)!;
      const rate = median(r.rates);
      return [w, fmtRate(rate), r.rates.map(fmtRate).join(', '), (rate / one).toFixed(2), (rate / one / w).toFixed(2)];
    });
    return {
      status: 'ok',
      figures: { coreScaling: factor, scaleUpOneCore: one, scaleUpAllCores: all, scaleUpCores: n },
      raw: Object.fromEntries(results),
      tables: [{ table: { columns: ['processes (cores)', 'median', 'runs', 'scaling', 'efficiency'], rows } }],
      notes: [
        `Mode used: one process per core. dgram reusePort ${reusePort ? 'is' : 'is not'} available on this Node.js (${process.version}); ` +
          'data-plane workers sharing a Listener\'s port (worker threads, SO_REUSEPORT, Node.js 22.12 or later) are measured by scenario 7 (worker-scaling).',
        `The machine has ${os.cpus().length} cores; the kernel's loopback delivery runs on the sending core, so it is part of each process's cost.`,
      ],
    };
  },
};
