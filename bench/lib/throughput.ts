/**
 * One throughput trial: reset a counting receiver, let a producer send, wait until the receiver
 * has drained, and turn the counts into a delivered rate and a loss fraction.
 */
import { Agent } from './agent';
import { fmtPct, fmtRate, fmtRatio, fmtUs, median, ratio } from './stats';

/**
 * Unrecorded flood before the first recorded trial of a freshly started gateway: its first second
 * or so runs slower (optimizing compiler, young-generation sizing, first use of SDK paths: ingress
 * at 64 B measured 49k, 70k, 110k/s in three back-to-back trials after a 0.3 s warm-up), and the
 * figures are for a gateway in steady state, as in a long-running task.
 */
export const GATEWAY_WARMUP_MS = 2000;

/** Unrecorded trial of a raw dgram loop before its first recorded trial. */
export const LOOP_WARMUP_MS = 300;

/** Counts reported by a counting receiver (bench/agents/udp-counter.ts or a gateway sink). */
export interface CounterStats {
  readonly count: number;
  readonly bytes: number;
  /** Time between the first and the last arrival, ms. */
  readonly spanMs: number;
}

/** Result of one trial. */
export interface Trial {
  /** Datagrams the producer handed to the network (or to the gateway). */
  readonly sent: number;
  /** Datagrams the receiver counted. */
  readonly received: number;
  /** Delivered datagrams per second, first to last arrival. */
  readonly rate: number;
  /** Producer-side rate: sent per second of the producer's own run. */
  readonly offeredRate: number;
  /** 1 − received/sent. */
  readonly loss: number;
  readonly spanMs: number;
  /** CPU time of the measured process per packet it handled, µs (when a trial names the process). */
  readonly cpuUsPerPacket?: number;
}

/** The process whose CPU time a trial measures, and which count its packets are. */
export interface CpuMeasure {
  readonly agent: Agent;
  /** `sent`: the producer's count (a sending process); `received`: the counter's (a receiving one). */
  readonly per: 'sent' | 'received';
}

/** CPU time of an agent's process so far, µs. */
export async function cpuTimeUs(agent: Agent): Promise<number> {
  return (await agent.request<{ us: number }>('cpu')).us;
}

/** Waits until the counter has not moved for `quietMs` (at most `maxMs`), returns its stats. */
export async function drain(counter: Agent, quietMs = 150, maxMs = 3000, statsCommand = 'stats'): Promise<CounterStats> {
  const start = Date.now();
  let last = await counter.request<CounterStats>(statsCommand);
  for (;;) {
    await sleep(quietMs);
    const now = await counter.request<CounterStats>(statsCommand);
    if (now.count === last.count || Date.now() - start > maxMs) return now;
    last = now;
  }
}

/** Runs a trial: `produce` starts the load and resolves with how much was sent and for how long. */
export async function trial(
  counter: Agent,
  produce: () => Promise<{ sent: number; elapsedMs: number }>,
  statsCommand = 'stats',
  resetCommand = 'reset',
  cpu?: CpuMeasure,
): Promise<Trial> {
  await counter.request(resetCommand);
  const cpuBefore = cpu ? await cpuTimeUs(cpu.agent) : 0;
  const produced = await produce();
  const stats = await drain(counter, 150, 3000, statsCommand);
  const cpuUs = cpu ? (await cpuTimeUs(cpu.agent)) - cpuBefore : NaN;
  const packets = cpu?.per === 'received' ? stats.count : produced.sent;
  const rate = stats.count > 1 && stats.spanMs > 0 ? ((stats.count - 1) * 1000) / stats.spanMs : NaN;
  return {
    ...(cpu && packets > 0 ? { cpuUsPerPacket: cpuUs / packets } : {}),
    sent: produced.sent,
    received: stats.count,
    rate,
    offeredRate: produced.elapsedMs > 0 ? (produced.sent * 1000) / produced.elapsedMs : NaN,
    loss: produced.sent > 0 ? Math.max(0, 1 - stats.count / produced.sent) : NaN,
    spanMs: stats.spanMs,
  };
}

/** Promise-based sleep. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Recorded trials of a gateway, of the raw dgram loop it is compared with, and of an optional reference loop. */
export interface PairedRuns {
  readonly gateway: Trial[];
  readonly loop: Trial[];
  /** Trials of `referenceTrial` (empty without one). */
  readonly reference: Trial[];
}

/**
 * Warms every side up (the loops for {@link LOOP_WARMUP_MS}, the gateway for
 * {@link GATEWAY_WARMUP_MS}), then records `runs` trials of each in ABBA order (loop, gateway,
 * gateway, loop, …), so that neither side always runs first and all see the same minutes of a
 * machine whose speed drifts. A reference loop, when given, runs between the two (loop,
 * reference, gateway, gateway, reference, loop, …). Each function runs one trial of the given length.
 * `warmUp: false` leaves the warm-ups out, for trials that follow others of the same processes.
 */
export async function pairedTrials(
  runs: number,
  trialMs: number,
  gatewayTrial: (durationMs: number) => Promise<Trial>,
  loopTrial: (durationMs: number) => Promise<Trial>,
  referenceTrial?: (durationMs: number) => Promise<Trial>,
  warmUp = true,
): Promise<PairedRuns> {
  if (warmUp) {
    await loopTrial(LOOP_WARMUP_MS);
    if (referenceTrial) await referenceTrial(LOOP_WARMUP_MS);
    await gatewayTrial(GATEWAY_WARMUP_MS);
  }
  const gateway: Trial[] = [];
  const loop: Trial[] = [];
  const reference: Trial[] = [];
  for (let i = 0; i < runs; i++) {
    if (i % 2 === 0) {
      loop.push(await loopTrial(trialMs));
      if (referenceTrial) reference.push(await referenceTrial(trialMs));
    }
    gateway.push(await gatewayTrial(trialMs));
    if (i % 2 === 1) {
      if (referenceTrial) reference.push(await referenceTrial(trialMs));
      loop.push(await loopTrial(trialMs));
    }
  }
  return { gateway, loop, reference };
}

/** A floor loop's figures (for results.json) and table cells (floor rate with its runs, floor ÷ loop, gateway ÷ floor). */
export interface FloorFigures {
  readonly figures: Record<string, number>;
  readonly cells: string[];
}

/**
 * The figures of a floor loop's trials at one payload size: `<prefix>Floor<size>` (its median
 * rate), `<prefix>FloorVsDgram<size>` (÷ the dgram loop's median) and `<prefix>VsFloor<size>`
 * (the gateway's median ÷ it).
 */
export function floorFigures(prefix: string, size: number, gatewayRate: number, loopRate: number, floors: readonly Trial[]): FloorFigures {
  const floor = median(floors.map((t) => t.rate));
  return {
    figures: {
      [`${prefix}Floor${size}`]: floor,
      [`${prefix}FloorVsDgram${size}`]: ratio(floor, loopRate),
      [`${prefix}VsFloor${size}`]: ratio(gatewayRate, floor),
    },
    cells: [`${fmtRate(floor)} (${floors.map((t) => fmtRate(t.rate)).join(', ')})`, fmtRatio(ratio(floor, loopRate)), fmtRatio(ratio(gatewayRate, floor))],
  };
}

/** Packets per second that `cores` cores carry at `cpuUsPerPacket` µs of CPU time per packet (NaN without a cost). */
export function cpuBoundRate(cores: number, cpuUsPerPacket: number): number {
  return cpuUsPerPacket > 0 ? (cores * 1_000_000) / cpuUsPerPacket : NaN;
}

/** The median CPU time per packet of the trials that measured it, µs (NaN when none did). */
export function medianCpuUs(trials: readonly Trial[]): number {
  return median(trials.map((t) => t.cpuUsPerPacket ?? NaN));
}

/**
 * CPU per packet of a gateway, its floor loop and the raw dgram loop at one payload size (medians
 * of the trials that measured it): `<prefix>CpuUs<size>`, `<prefix>FloorCpuUs<size>`,
 * `<prefix>LoopCpuUs<size>`, and `<prefix>CpuVsFloor<size>` (floor ÷ gateway: the gateway's share
 * of the floor's packets per CPU-second, the per-core form of `<prefix>VsFloor`).
 */
export function cpuFigures(
  prefix: string,
  size: number,
  runs: { gateway: readonly Trial[]; loop: readonly Trial[]; floor: readonly Trial[] },
): Record<string, number> {
  const gateway = medianCpuUs(runs.gateway);
  const floor = medianCpuUs(runs.floor);
  return {
    [`${prefix}CpuUs${size}`]: gateway,
    [`${prefix}FloorCpuUs${size}`]: floor,
    [`${prefix}LoopCpuUs${size}`]: medianCpuUs(runs.loop),
    [`${prefix}CpuVsFloor${size}`]: ratio(floor, gateway),
  };
}

/** Table cells of {@link cpuFigures}: gateway, floor loop, dgram loop (µs per packet), floor ÷ gateway. */
export function cpuCells(prefix: string, size: number, figures: Readonly<Record<string, number>>): string[] {
  return [
    fmtUs(figures[`${prefix}CpuUs${size}`]),
    fmtUs(figures[`${prefix}FloorCpuUs${size}`]),
    fmtUs(figures[`${prefix}LoopCpuUs${size}`]),
    fmtRatio(figures[`${prefix}CpuVsFloor${size}`]),
  ];
}

/**
 * Fraction of the slowest side's median flood rate at which {@link pacedCpuTrials} runs every
 * side: below what each carries, so none is saturated and each packet's CPU time is measured as at
 * an ordinary load rather than under a flood (where a busy process reads or sends more packets per
 * wake-up of its event loop).
 */
export const PACED_CPU_FRACTION = 0.5;

/** Trials of a gateway, its floor loop and the raw dgram loop, all paced at one rate. */
export interface PacedCpuRuns {
  /** Packets per second offered to every side. */
  readonly rate: number;
  readonly gateway: Trial[];
  readonly loop: Trial[];
  readonly floor: Trial[];
}

/**
 * CPU time per packet below saturation: after the flood trials of a gateway, its floor loop and
 * the raw dgram loop (the `floods`, whose lowest median rate sets the pace), `runs` trials of each
 * paced at {@link PACED_CPU_FRACTION} × that rate, in the order of {@link pairedTrials} and
 * without its warm-ups (the processes are warm). Each side's function runs one trial of the given
 * length at the given rate (packets per second). Undefined when the floods give no rate.
 */
export async function pacedCpuTrials(
  runs: number,
  trialMs: number,
  floods: { readonly gateway: readonly Trial[]; readonly loop: readonly Trial[]; readonly floor: readonly Trial[] },
  sides: {
    readonly gateway: (durationMs: number, rate: number) => Promise<Trial>;
    readonly loop: (durationMs: number, rate: number) => Promise<Trial>;
    readonly floor: (durationMs: number, rate: number) => Promise<Trial>;
  },
): Promise<PacedCpuRuns | undefined> {
  const slowest = Math.min(...[floods.gateway, floods.loop, floods.floor].map((trials) => median(trials.map((t) => t.rate))));
  const rate = Math.round(PACED_CPU_FRACTION * slowest);
  if (!Number.isFinite(rate) || rate <= 0) return undefined;
  const paired = await pairedTrials(
    runs, trialMs, (ms) => sides.gateway(ms, rate), (ms) => sides.loop(ms, rate), (ms) => sides.floor(ms, rate), false);
  return { rate, gateway: paired.gateway, loop: paired.loop, floor: paired.reference };
}

/**
 * The figures of {@link pacedCpuTrials} at one payload size: those of {@link cpuFigures} under
 * `<prefix>Paced` (`<prefix>PacedCpuUs<size>`, `<prefix>PacedFloorCpuUs<size>`,
 * `<prefix>PacedLoopCpuUs<size>`, `<prefix>PacedCpuVsFloor<size>`), `<prefix>PacedCpuVsDgram<size>`
 * (dgram loop ÷ gateway), the rate (`<prefix>PacedRate<size>`) and the highest loss of any paced
 * trial (`<prefix>PacedLoss<size>`: near 0 when no side was saturated).
 */
export function pacedCpuFigures(prefix: string, size: number, paced: PacedCpuRuns | undefined): Record<string, number> {
  if (!paced) return {};
  const figures = cpuFigures(`${prefix}Paced`, size, paced);
  return {
    ...figures,
    [`${prefix}PacedCpuVsDgram${size}`]: ratio(figures[`${prefix}PacedLoopCpuUs${size}`], figures[`${prefix}PacedCpuUs${size}`]),
    [`${prefix}PacedRate${size}`]: paced.rate,
    [`${prefix}PacedLoss${size}`]: Math.max(...[...paced.gateway, ...paced.loop, ...paced.floor].map((t) => t.loss)),
  };
}

/** Table cells of {@link pacedCpuFigures}: rate, gateway, floor loop, dgram loop (µs per packet), floor ÷ gateway, dgram ÷ gateway, highest loss. */
export function pacedCpuCells(prefix: string, size: number, figures: Readonly<Record<string, number>>): string[] {
  const rate = figures[`${prefix}PacedRate${size}`];
  if (!Number.isFinite(rate)) return ['—', '—', '—', '—', '—', '—', '—'];
  const loss = figures[`${prefix}PacedLoss${size}`];
  return [
    fmtRate(rate),
    ...cpuCells(`${prefix}Paced`, size, figures),
    fmtRatio(figures[`${prefix}PacedCpuVsDgram${size}`]),
    fmtPct(loss),
  ];
}

/** Column names of {@link pacedCpuCells}, after the payload's. */
export const PACED_CPU_COLUMNS: readonly string[] = ['paced at', 'gateway', 'floor loop', 'dgram loop', 'floor ÷ gateway', 'dgram ÷ gateway', 'highest loss'];
