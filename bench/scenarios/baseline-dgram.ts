/**
 * Baselines: what Node's own dgram does on this machine, measured in the same run as the
 * gateway scenarios. A raw sender loop → counting receiver process (the bar for sourced egress),
 * and a load generator → raw receive loop (the bar for ingress).
 */
import { Agent } from '../lib/agent';
import { Scenario, ScenarioContext, ScenarioResult } from '../lib/scenario';
import { fmtPct, fmtRate, median } from '../lib/stats';
import { Trial, trial } from '../lib/throughput';

/** Payload sizes every throughput scenario uses. */
export const PAYLOAD_SIZES = [64, 1200] as const;

/** Figure names of the baselines. */
export const dgramSendKey = (size: number): string => `dgramSend${size}`;
export const dgramRecvKey = (size: number): string => `dgramRecv${size}`;

/** Runs `runs` flood trials from a raw sender agent to a counter agent. */
export async function rawFlood(
  context: ScenarioContext,
  options: { senderCpus?: readonly number[]; counterCpus?: readonly number[]; recvBufferSize?: number; size: number },
): Promise<Trial[]> {
  const counter = await Agent.start('udp-counter', { cpus: options.counterCpus });
  const sender = await Agent.start('udp-sender', { cpus: options.senderCpus });
  try {
    const { port } = await counter.request<{ port: number }>('bind', { recvBufferSize: options.recvBufferSize ?? 4 * 1024 * 1024 });
    await sender.request('open');
    const trials: Trial[] = [];
    // one short warm-up trial (JIT, socket buffers), not recorded
    await trial(counter, () => sender.request('run', { host: '127.0.0.1', port, size: options.size, durationMs: 300 }));
    for (let i = 0; i < context.runs; i++) {
      trials.push(await trial(counter, () =>
        sender.request('run', { host: '127.0.0.1', port, size: options.size, durationMs: context.trialMs }),
      ));
    }
    return trials;
  } finally {
    await Promise.all([sender.stop(), counter.stop()]);
  }
}

export const baselineDgram: Scenario = {
  id: 'baseline-dgram',
  title: 'Baseline: Node dgram send and receive loops',
  description:
    'A raw dgram sender loop (unconnected socket, bursts of 64 sends per event-loop turn) flooding a counting ' +
    'receiver process; and the same sender flooding a plain receive loop (default socket buffer). ' +
    'Delivered datagrams per second, counted by the receiver from first to last arrival.',
  async run(context: ScenarioContext): Promise<ScenarioResult> {
    const rows: Array<Array<string | number>> = [];
    const figures: Record<string, number> = {};
    const raw: Record<string, Trial[]> = {};
    for (const size of PAYLOAD_SIZES) {
      context.log(`dgram send loop ${size} B`);
      const send = await rawFlood(context, {
        size,
        senderCpus: context.cpus.measured,
        counterCpus: context.cpus.partner,
      });
      context.log(`dgram receive loop ${size} B`);
      const recv = await rawFlood(context, {
        size,
        senderCpus: context.cpus.partner,
        counterCpus: context.cpus.measured,
        recvBufferSize: 0,
      });
      raw[`send${size}`] = send;
      raw[`recv${size}`] = recv;
      figures[dgramSendKey(size)] = median(send.map((t) => t.rate));
      figures[dgramRecvKey(size)] = median(recv.map((t) => t.rate));
      rows.push([
        `sender loop → counter, ${size} B`,
        fmtRate(figures[dgramSendKey(size)]),
        send.map((t) => fmtRate(t.rate)).join(', '),
        fmtPct(median(send.map((t) => t.loss))),
      ]);
      rows.push([
        `sender → receive loop, ${size} B`,
        fmtRate(figures[dgramRecvKey(size)]),
        recv.map((t) => fmtRate(t.rate)).join(', '),
        fmtPct(median(recv.map((t) => t.loss))),
      ]);
    }
    return {
      status: 'ok',
      figures,
      raw,
      tables: [{ table: { columns: ['measurement', 'median', 'runs', 'loss (median)'], rows } }],
      notes: [
        'The process being measured runs on its own core, its partner on another (taskset), when the machine has two or more.',
        'Loss in the sender baseline means the counting receiver, not the sender, was the limit.',
      ],
    };
  },
};
