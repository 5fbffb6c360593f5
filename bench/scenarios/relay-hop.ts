/**
 * Scenario 8: the fleet relay hop (docs/FLEET.md). A member holding a sourced entry for a client
 * whose flow another member owns relays it over the relay protocol (service/fleet/relay.ts:
 * authenticated datagrams, retries, an in-flight window); the owner sends it and answers. Two
 * relay endpoints, each in its own process on loopback: latency of one request at a time, the
 * CPU time per relayed packet of each side at a paced rate, and the rate with a window of
 * requests in flight. bench/relay-latency.ts measures the same in one process, for a quick look.
 */
import { missingModules } from './modules';
import { Agent } from '../lib/agent';
import { Scenario, ScenarioContext, ScenarioResult } from '../lib/scenario';
import { fmtPct, fmtRate, median, percentileSorted } from '../lib/stats';
import { cpuTimeUs, LOOP_WARMUP_MS } from '../lib/throughput';

/** Payload of every relayed entry. */
const SIZE = 64;
/** Round trips per latency run (after {@link LATENCY_WARMUP}). */
const LATENCY_COUNT = 5000;
const LATENCY_WARMUP = 1000;
/** Paced rate of the CPU trials: well below what the relay carries, as a fleet's share of relayed entries is. */
export const RELAY_PACED_RATE = 5_000;
/** Requests of one pipelined run, and how many are kept in flight (below the relay's window of 1,024). */
const PIPELINE_COUNT = 30_000;
const PIPELINE_WINDOW = 512;

interface RelayRun {
  readonly sent: number;
  readonly answered: number;
  readonly failed: number;
  readonly elapsedMs: number;
}

interface CpuRun extends RelayRun {
  readonly holderUs: number;
  readonly ownerUs: number;
}

export const relayHop: Scenario = {
  id: 'relay-hop',
  title: 'Scenario 8: fleet relay hop',
  description:
    `Two fleet members' relay endpoints (service/fleet/relay.ts), each in its own process on loopback, ${SIZE} B entries; the owner ` +
    'answers Sent without sending (its Listener\'s send is what the other scenarios measure). Latency: one request at a time, ' +
    `${LATENCY_COUNT} round trips per run after ${LATENCY_WARMUP} unrecorded ones, holder to answer. CPU: the holder relays at ` +
    `${RELAY_PACED_RATE / 1000} k/s, and each process's CPU time is divided by the entries answered. Rate: the holder relays ` +
    `${PIPELINE_COUNT} entries keeping ${PIPELINE_WINDOW} in flight, answered entries ÷ time until the last answer. Reported, no target.`,
  async run(context: ScenarioContext): Promise<ScenarioResult> {
    const missing = missingModules(['service/fleet/relay.ts', 'service/fleet/relay-codec.ts']);
    if (missing) return { status: 'pending', reason: missing };
    const owner = await Agent.start('relay-member', { cpus: context.cpus.measured });
    const holder = await Agent.start('relay-member', { cpus: context.cpus.partner });
    try {
      const { port } = await owner.request<{ port: number }>('start', { role: 'owner' });
      await holder.request('start', { role: 'holder' });
      const latencies: Array<{ p50: number; p99: number; max: number }> = [];
      for (let i = 0; i < context.runs; i++) {
        const { times } = await holder.request<{ times: number[] }>('latency', { port, size: SIZE, count: LATENCY_COUNT, warmup: i === 0 ? LATENCY_WARMUP : 200 });
        latencies.push({ p50: percentileSorted(times, 50), p99: percentileSorted(times, 99), max: times[times.length - 1] });
      }
      const cpuRun = async (durationMs: number): Promise<CpuRun> => {
        const [holderBefore, ownerBefore] = await Promise.all([cpuTimeUs(holder), cpuTimeUs(owner)]);
        const r = await holder.request<RelayRun>('run', { port, size: SIZE, rate: RELAY_PACED_RATE, durationMs }, durationMs + 30_000);
        const [holderAfter, ownerAfter] = await Promise.all([cpuTimeUs(holder), cpuTimeUs(owner)]);
        return { ...r, holderUs: holderAfter - holderBefore, ownerUs: ownerAfter - ownerBefore };
      };
      await cpuRun(LOOP_WARMUP_MS);
      const paced: CpuRun[] = [];
      for (let i = 0; i < context.runs; i++) paced.push(await cpuRun(context.trialMs));
      const floods: Array<{ answered: number; elapsedMs: number }> = [];
      for (let i = 0; i < context.runs; i++) {
        floods.push(await holder.request<{ answered: number; elapsedMs: number }>('pipeline', { port, size: SIZE, count: PIPELINE_COUNT, window: PIPELINE_WINDOW }, 120_000));
      }
      const refusals = { owner: await owner.request<Record<string, number>>('refusals'), holder: await holder.request<Record<string, number>>('refusals') };
      const refused = Object.values(refusals.owner).concat(Object.values(refusals.holder)).reduce((a, b) => a + b, 0);
      if (refused > 0) context.log(`   refused datagrams: ${JSON.stringify(refusals)}`);
      const perPacket = (us: (r: CpuRun) => number): number => median(paced.map((r) => (r.answered > 0 ? us(r) / r.answered : NaN)));
      const holderUs = perPacket((r) => r.holderUs);
      const ownerUs = perPacket((r) => r.ownerUs);
      const floodRates = floods.map((r) => (r.elapsedMs > 0 ? (r.answered * 1000) / r.elapsedMs : NaN));
      const figures: Record<string, number> = {
        relayP50Ms: median(latencies.map((l) => l.p50)),
        relayP99Ms: median(latencies.map((l) => l.p99)),
        relayCpuUsPerPacket: holderUs + ownerUs,
        relayHolderCpuUsPerPacket: holderUs,
        relayOwnerCpuUsPerPacket: ownerUs,
        relayPipelinedRate: median(floodRates),
        relayPacedLoss: Math.max(...paced.map((r) => (r.sent > 0 ? 1 - r.answered / r.sent : NaN))),
      };
      const ms = (v: number): string => `${v.toFixed(3)} ms`;
      const us = (v: number): string => `${v.toFixed(2)} µs`;
      context.log(`   round trip p50 ${ms(figures.relayP50Ms)}, p99 ${ms(figures.relayP99Ms)}; CPU per relayed packet ${us(figures.relayCpuUsPerPacket)}; pipelined ${fmtRate(figures.relayPipelinedRate)}`);
      return {
        status: 'ok',
        figures,
        raw: { latencies, paced, floods, refusals },
        tables: [{
          table: {
            columns: ['round trip p50', 'p99', 'runs (p50 / p99)', `CPU per relayed packet at ${fmtRate(RELAY_PACED_RATE)}: holder + owner`, 'not answered (paced)', `pipelined, ${PIPELINE_WINDOW} in flight (runs)`],
            rows: [[
              ms(figures.relayP50Ms),
              ms(figures.relayP99Ms),
              latencies.map((l) => `${l.p50.toFixed(3)} / ${l.p99.toFixed(3)}`).join(', '),
              `${us(figures.relayCpuUsPerPacket)} (${us(holderUs)} + ${us(ownerUs)})`,
              fmtPct(figures.relayPacedLoss),
              `${fmtRate(figures.relayPipelinedRate)} (${floodRates.map(fmtRate).join(', ')})`,
            ]],
          },
        }],
        notes: [
          'The round trip is what a relayed entry adds before its send: the holder encodes and authenticates the request, the owner checks and ' +
            'decodes it and answers, the holder checks the answer. Between two tasks of a fleet the network\'s round trip (tens to hundreds of µs ' +
            'within a zone) adds to it; on loopback both processes wake for every datagram, which is most of the p50.',
          `The owner process is pinned to CPU ${context.cpus.measured?.join(',') ?? '(not pinned)'}, the holder to CPU ${context.cpus.partner?.join(',') ?? '(not pinned)'}.`,
          '`relayCpuUsPerPacket` is the holder\'s and the owner\'s CPU time together, divided by the entries answered: the work a relayed entry costs ' +
            'the fleet on top of the owner\'s send.',
        ],
      };
    } finally {
      await Promise.all([owner.stop(), holder.stop()]);
    }
  },
};
