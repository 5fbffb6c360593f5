/**
 * The host's speed as the benchmark sees it: CPU time of one raw dgram send of 1200 B on loopback,
 * from the raw sender agent (the sender loop of the baselines) into the counting receiver agent,
 * placed on the cores the scenarios use. A few short rounds, the median reported: on this kind of
 * virtual machine it moves with the host's other load (6.5–7.9 µs quiet, 9.4–11.5 µs contended on
 * the same machine), so a figure at the start and one at the end of a run bracket its contention.
 */
import { Agent } from './agent';
import { CpuPlan } from './scenario';
import { median } from './stats';
import { cpuTimeUs } from './throughput';

/** Payload of every probe send. */
export const SEND_COST_PAYLOAD_BYTES = 1200;
/** Recorded rounds (the median is reported) and sends per round. */
export const SEND_COST_ROUNDS = 5;
export const SEND_COST_SENDS_PER_ROUND = 10_000;
/** Longest time one round may send, ms (a round normally takes under 0.1 s). */
const ROUND_LIMIT_MS = 2000;
/**
 * Unrecorded sends before the first round (JIT, young generation, socket buffers): after 10k the
 * first recorded round still ran 10–40 % above the others, after 30k it no longer stood out.
 */
const WARMUP_SENDS = 30_000;

/** What one probe measured. */
export interface SendCost {
  /** Median CPU time per send of the rounds, µs; NaN when the probe could not run. */
  readonly usPerSend: number;
  /** CPU time per send of each recorded round, µs. */
  readonly rounds: readonly number[];
  /** Why the probe could not run. */
  readonly reason?: string;
}

/** Measures the CPU time per raw dgram send; never throws (a failed probe reports its reason). */
export async function measureSendCost(cpus: CpuPlan): Promise<SendCost> {
  const started = await Promise.allSettled([Agent.start('udp-counter', { cpus: cpus.partner }), Agent.start('udp-sender', { cpus: cpus.measured })]);
  const agents = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  try {
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    const [counter, sender] = agents;
    const { port } = await counter.request<{ port: number }>('bind', {});
    await sender.request('open');
    const round = async (sends: number): Promise<number> => {
      const before = await cpuTimeUs(sender);
      const { sent } = await sender.request<{ sent: number }>('run', {
        host: '127.0.0.1',
        port,
        size: SEND_COST_PAYLOAD_BYTES,
        maxCount: sends,
        durationMs: ROUND_LIMIT_MS,
      });
      return sent > 0 ? ((await cpuTimeUs(sender)) - before) / sent : NaN;
    };
    await round(WARMUP_SENDS);
    const rounds: number[] = [];
    for (let i = 0; i < SEND_COST_ROUNDS; i++) rounds.push(await round(SEND_COST_SENDS_PER_ROUND));
    return { usPerSend: median(rounds), rounds };
  } catch (error) {
    return { usPerSend: NaN, rounds: [], reason: error instanceof Error ? error.message : String(error) };
  } finally {
    await Promise.all(agents.map((a) => a.stop()));
  }
}

/** `7.12 µs`, or `not measured (<reason>)`. */
export function formatSendCost(cost: SendCost | undefined): string {
  if (!cost) return 'not measured';
  if (!Number.isFinite(cost.usPerSend)) return `not measured${cost.reason ? ` (${cost.reason})` : ''}`;
  return `${cost.usPerSend.toFixed(2)} µs`;
}
