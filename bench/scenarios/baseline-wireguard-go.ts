/**
 * Baseline: a wireguard-go ⇄ wireguard-go tunnel between two network namespaces. A raw dgram
 * sender in namespace A sends into A's tunnel; a counting receiver in B counts what comes out of
 * B's tunnel. The figure is the highest paced rate delivered with less than 1 % loss.
 */
import { PAYLOAD_SIZES } from './baseline-dgram';
import { Agent } from '../lib/agent';
import { Scenario, ScenarioContext, ScenarioResult } from '../lib/scenario';
import { searchMaxRate, SearchResult } from '../lib/search';
import { fmtPct, fmtRate, median } from '../lib/stats';
import { cpuTimeUs, drain, trial } from '../lib/throughput';
import { addWireguardGoA, createBed, destroyBed, INNER_PORT, TUNNEL_A, TUNNEL_B, WgBed } from '../lib/wg-lab';
import { processCpuUs } from '../lib/wg-path';

/** Figure name of the tunnel baseline for a payload size. */
export const wireguardGoKey = (size: number): string => `wireguardGoTunnel${size}`;

/** Figure name of the tunnel's CPU time per delivered packet, every process on the path (µs). */
export const wireguardGoCpuKey = (size: number): string => `wireguardGoTunnelCpuUs${size}`;

/** Multiple of the rate a search found at which the path trials of the WireGuard scenarios run. */
export const PATH_TRIAL_FACTOR = 1.25;

/** Milliseconds per paced trial in a rate search (shorter than flood trials: a search runs many). */
export const searchTrialMs = (context: ScenarioContext): number => Math.max(500, Math.round(context.trialMs * 0.6));

/** Runs `context.runs` rate searches; the first one wide, the next ones around the first result. */
export async function repeatedSearch(
  context: ScenarioContext,
  label: string,
  runTrial: (rate: number) => ReturnType<typeof trial>,
  firstStart: number,
): Promise<SearchResult[]> {
  const results: SearchResult[] = [];
  for (let i = 0; i < context.runs; i++) {
    const prior = results.length > 0 ? median(results.map((r) => r.pacedAt)) : NaN;
    const r = Number.isFinite(prior)
      ? await searchMaxRate(runTrial, { start: prior * 0.9, factor: 1.12, maxRamp: 4, bisect: 1 })
      : await searchMaxRate(runTrial, { start: firstStart, factor: 1.6, maxRamp: 7, bisect: 2 });
    context.log(`   ${label} run ${i + 1}: ${fmtRate(r.rate)} at ${fmtPct(r.loss)} loss (${r.trials.length} trials)`);
    results.push(r);
  }
  return results;
}

export const baselineWireguardGo: Scenario = {
  id: 'baseline-wireguard-go',
  title: 'Baseline: wireguard-go ⇄ wireguard-go tunnel',
  description:
    'Two wireguard-go peers in network namespaces joined by a veth pair. A dgram sender in namespace A sends ' +
    'paced datagrams to the tunnel address of B; a counting receiver in B counts them. Reported: the highest ' +
    'delivered rate with < 1 % loss (paced rate search), median of the runs.',
  async run(context: ScenarioContext): Promise<ScenarioResult> {
    if (!context.wireguardGo.available) return { status: 'skipped', reason: context.wireguardGo.reason };
    let bed: WgBed | undefined;
    let sender: Agent | undefined;
    try {
      bed = await createBed();
      const wgA = await addWireguardGoA(bed);
      sender = await Agent.start('udp-sender', { netns: bed.nsA });
      await sender.request('open', { address: TUNNEL_A });
      // handshake: the first datagram is queued by wireguard-go until the session exists
      await sender.request('run', { host: TUNNEL_B, port: INNER_PORT, size: 64, rate: 100, durationMs: 200 });
      const hs = await bed.counter.request<{ count: number }>('waitFor', { count: 1, timeoutMs: 8000 }, 15_000);
      if (hs.count === 0) throw new Error('no datagram crossed the wireguard-go tunnel (handshake failed)');
      const figures: Record<string, number> = {};
      const raw: Record<string, SearchResult[]> = {};
      const rows: Array<Array<string | number>> = [];
      for (const size of PAYLOAD_SIZES) {
        const s = sender;
        const counter = bed.counter;
        const runTrial = (rate: number): ReturnType<typeof trial> =>
          trial(counter, () => s.request('run', { host: TUNNEL_B, port: INNER_PORT, size, rate, durationMs: searchTrialMs(context) }));
        const results = await repeatedSearch(context, `wireguard-go tunnel ${size} B`, runTrial, 20_000);
        raw[`tunnel${size}`] = results;
        figures[wireguardGoKey(size)] = median(results.map((r) => r.rate));
        // CPU per delivered packet of every process on the path, in one paced trial above the rate found
        const b = bed;
        const cpu = async (): Promise<number> => (await cpuTimeUs(s)) + processCpuUs(wgA.pid) + processCpuUs(b.wgB.pid) + (await cpuTimeUs(counter));
        const pacedAt = Math.round(PATH_TRIAL_FACTOR * (median(results.map((r) => r.pacedAt)) || 10_000));
        await counter.request('reset');
        const before = await cpu();
        await s.request('run', { host: TUNNEL_B, port: INNER_PORT, size, rate: pacedAt, durationMs: searchTrialMs(context) });
        const delivered = (await drain(counter)).count;
        figures[wireguardGoCpuKey(size)] = ((await cpu()) - before) / Math.max(1, delivered);
        rows.push([
          `${size} B`,
          fmtRate(figures[wireguardGoKey(size)]),
          results.map((r) => fmtRate(r.rate)).join(', '),
          results.map((r) => fmtPct(r.loss)).join(', '),
          `${figures[wireguardGoCpuKey(size)].toFixed(1)} µs`,
        ]);
      }
      return {
        status: 'ok',
        figures,
        raw,
        tables: [{ table: { columns: ['payload', 'median (< 1 % loss)', 'runs', 'loss per run', `CPU per delivered packet, every process (at ${PATH_TRIAL_FACTOR} × the rate)`], rows } }],
        notes: [
          'Processes in this scenario are not pinned: wireguard-go is multi-threaded and uses every core, as does the gateway scenario it is compared with.',
          'wireguard-go does not enlarge its socket buffers, so bursts cost it packets; the sender paces on a 1 ms schedule.',
          'CPU per delivered packet: the dgram sender, both wireguard-go processes (every thread) and the counting receiver, over one paced trial.',
        ],
      };
    } finally {
      await destroyBed(bed, [sender]);
    }
  },
};
