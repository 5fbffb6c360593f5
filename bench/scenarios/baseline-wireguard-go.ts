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

/** One side of a rate search: what it is called, its trial, and where its first search starts. */
export interface SearchSide {
  readonly label: string;
  readonly runTrial: (rate: number) => ReturnType<typeof trial>;
  readonly firstStart: number;
}

/** The next rate search of `side`: the first one wide, the next ones around the median of `done`. */
async function nextSearch(context: ScenarioContext, side: SearchSide, done: readonly SearchResult[]): Promise<SearchResult> {
  const prior = done.length > 0 ? median(done.map((r) => r.pacedAt)) : NaN;
  const r = Number.isFinite(prior)
    ? await searchMaxRate(side.runTrial, { start: prior * 0.9, factor: 1.12, maxRamp: 4, bisect: 1 })
    : await searchMaxRate(side.runTrial, { start: side.firstStart, factor: 1.6, maxRamp: 7, bisect: 2 });
  context.log(`   ${side.label} run ${done.length + 1}: ${fmtRate(r.rate)} at ${fmtPct(r.loss)} loss (${r.trials.length} trials)`);
  return r;
}

/** Runs `context.runs` rate searches; the first one wide, the next ones around the median of the earlier ones. */
export async function repeatedSearch(
  context: ScenarioContext,
  label: string,
  runTrial: (rate: number) => ReturnType<typeof trial>,
  firstStart: number,
): Promise<SearchResult[]> {
  const results: SearchResult[] = [];
  for (let i = 0; i < context.runs; i++) results.push(await nextSearch(context, { label, runTrial, firstStart }, results));
  return results;
}

/**
 * `context.runs` rate searches of each side, alternating in ABBA order (a, b, b, a, a, b, …), so
 * that a machine whose speed drifts during the scenario moves both sides alike.
 */
export async function alternatingSearches(context: ScenarioContext, a: SearchSide, b: SearchSide): Promise<[SearchResult[], SearchResult[]]> {
  const results: [SearchResult[], SearchResult[]] = [[], []];
  const sides = [a, b];
  for (let i = 0; i < context.runs; i++) {
    for (const k of i % 2 === 0 ? [0, 1] : [1, 0]) results[k].push(await nextSearch(context, sides[k], results[k]));
  }
  return results;
}

/** Rate of the warm-up trial before the first search of each payload size, tunnel and gateway alike. */
export const WARM_UP_RATE = 5000;
/** Length of the tunnel's warm-up trial, ms. */
const WARM_UP_MS = 500;

/** Where the first rate search of a size starts, datagrams/s (tunnel and gateway alike). */
export const FIRST_SEARCH_START = 20_000;

/** A wireguard-go ⇄ wireguard-go tunnel on a bed: wireguard-go A, a dgram sender in namespace A, the session up. */
export interface Tunnel {
  /** One paced trial of `size`-byte datagrams through the tunnel, counted by the bed's counter. */
  trial(size: number, rate: number, durationMs: number): ReturnType<typeof trial>;
  /**
   * A short trial of `size`-byte datagrams at a low rate, before the first search of that size: the
   * first trial of a size can lose what later ones do not, and a search whose first trial fails
   * ramps from far below.
   */
  warmUp(size: number): Promise<void>;
  /** CPU time per delivered packet of every process on the path (sender, both wireguard-go, counter), over one paced trial. */
  cpuPerDelivered(size: number, rate: number, durationMs: number): Promise<number>;
}

/**
 * Adds wireguard-go A and a sender in namespace A to `bed` and opens the session (the first
 * datagram waits in wireguard-go until the handshake is done). `started` gets the sender as soon
 * as it runs, so a caller can stop it when a later step fails.
 */
export async function openTunnel(bed: WgBed, started: (sender: Agent) => void): Promise<Tunnel> {
  const wgA = await addWireguardGoA(bed);
  const sender = await Agent.start('udp-sender', { netns: bed.nsA });
  started(sender);
  await sender.request('open', { address: TUNNEL_A });
  await sender.request('run', { host: TUNNEL_B, port: INNER_PORT, size: 64, rate: 100, durationMs: 200 });
  const hs = await bed.counter.request<{ count: number }>('waitFor', { count: 1, timeoutMs: 8000 }, 15_000);
  if (hs.count === 0) throw new Error('no datagram crossed the wireguard-go tunnel (handshake failed)');
  const counter = bed.counter;
  const send = (size: number, rate: number, durationMs: number): Promise<{ sent: number; elapsedMs: number }> =>
    sender.request('run', { host: TUNNEL_B, port: INNER_PORT, size, rate, durationMs });
  const cpu = async (): Promise<number> => (await cpuTimeUs(sender)) + processCpuUs(wgA.pid) + processCpuUs(bed.wgB.pid) + (await cpuTimeUs(counter));
  return {
    trial: (size, rate, durationMs) => trial(counter, () => send(size, rate, durationMs)),
    warmUp: async (size) => {
      await trial(counter, () => send(size, WARM_UP_RATE, WARM_UP_MS));
    },
    cpuPerDelivered: async (size, rate, durationMs) => {
      await counter.request('reset');
      const before = await cpu();
      await send(size, rate, durationMs);
      const delivered = (await drain(counter)).count;
      return ((await cpu()) - before) / Math.max(1, delivered);
    },
  };
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
      const tunnel = await openTunnel(bed, (started) => {
        sender = started;
      });
      const figures: Record<string, number> = {};
      const raw: Record<string, SearchResult[]> = {};
      const rows: Array<Array<string | number>> = [];
      for (const size of PAYLOAD_SIZES) {
        const runTrial = (rate: number): ReturnType<typeof trial> => tunnel.trial(size, rate, searchTrialMs(context));
        await tunnel.warmUp(size);
        const results = await repeatedSearch(context, `wireguard-go tunnel ${size} B`, runTrial, FIRST_SEARCH_START);
        raw[`tunnel${size}`] = results;
        figures[wireguardGoKey(size)] = median(results.map((r) => r.rate));
        // CPU per delivered packet of every process on the path, in one paced trial above the rate found
        const pacedAt = Math.round(PATH_TRIAL_FACTOR * (median(results.map((r) => r.pacedAt)) || 10_000));
        figures[wireguardGoCpuKey(size)] = await tunnel.cpuPerDelivered(size, pacedAt, searchTrialMs(context));
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
