/**
 * Scenario 1: sourced egress over plain UDP. SNS-envelope messages go through the gateway's own
 * DeliveryQueueConsumer and SourcedPacketProcessor and leave from a real UDP Listener socket;
 * a separate receiver process counts the datagrams.
 */
import { PAYLOAD_SIZES } from './baseline-dgram';
import { missingModules } from './modules';
import { Agent } from '../lib/agent';
import { Scenario, ScenarioContext, ScenarioResult } from '../lib/scenario';
import { fmtPct, fmtRate, fmtRatio, fmtUs, median, ratio } from '../lib/stats';
import {
  cpuCells, cpuFigures, floorFigures, medianCpuUs, PACED_CPU_COLUMNS, PACED_CPU_FRACTION, pacedCpuCells, pacedCpuFigures, PacedCpuRuns,
  pacedCpuTrials, pairedTrials, Trial, trial,
} from '../lib/throughput';

/** Packets per SNS message in the headline figures. */
export const HEADLINE_PACKETS_PER_MESSAGE = 10;

/** One configuration of the flood: payload size, packets per message, whether the floor loop runs beside it and whether notifications are signed. */
interface SourcedConfig {
  readonly size: number;
  readonly packets: number;
  readonly floor?: boolean;
  /** Signed as SNS signs them, and checked by the gateway as in AWS (SignatureVersion 2). */
  readonly signed?: boolean;
}

/** Median CPU time per packet of paced trials: gateway / floor loop / sender loop. */
function cpuSummary(paced: PacedCpuRuns): string {
  return `gateway ${fmtUs(medianCpuUs(paced.gateway))}, floor loop ${fmtUs(medianCpuUs(paced.floor))}, sender loop ${fmtUs(medianCpuUs(paced.loop))}`;
}

/** Key of a configuration's results. */
const configKey = (c: SourcedConfig): string => `${c.size}/${c.packets}${c.signed ? '/signed' : ''}`;

/** Trials of one configuration: the gateway's, and the raw sender loop's run alternately with them. */
export interface PairedTrials {
  readonly trials: Trial[];
  /** The raw dgram sender loop, same payload, same counter, one trial before each gateway trial. */
  readonly baseline: Trial[];
  /** The envelope floor loop (bench/agents/envelope-floor.ts) on the same bodies, where measured. */
  readonly floor: Trial[];
  /** Signed configurations: the same gateway's trials with the bodies unsigned, alternating with the signed ones. */
  readonly unsigned: Trial[];
  /** Configurations with the floor loop: the gateway, the sender loop and the floor loop paced at one rate below saturation. */
  readonly paced?: PacedCpuRuns;
  readonly gateway: unknown[];
}

/**
 * Runs flood trials of the sourced path, alternating with trials of the raw dgram sender loop
 * (same payload size, same CPU, same counting receiver) and, for configurations marked `floor`,
 * of the envelope floor loop on the same message bodies, so every ratio compares trials taken
 * seconds apart. Returns the trials and the gateway's own counts per configuration.
 */
async function sourcedFlood(
  context: ScenarioContext,
  configs: ReadonlyArray<SourcedConfig>,
): Promise<Map<string, PairedTrials>> {
  const out = new Map<string, PairedTrials>();
  const counter = await Agent.start('udp-counter', { cpus: context.cpus.partner });
  const gateway = await Agent.start('sourced-gateway', { cpus: context.cpus.measured });
  const sender = await Agent.start('udp-sender', { cpus: context.cpus.measured });
  const floorLoop = await Agent.start('envelope-floor', { cpus: context.cpus.measured });
  try {
    const { port: counterPort } = await counter.request<{ port: number }>('bind');
    const { port } = await gateway.request<{ port: number }>('start', {
      listener: { Name: 'bench', Protocol: 'udp', Port: 0, BindAddress: '127.0.0.1', Destinations: [] },
    });
    await sender.request('open');
    await floorLoop.request('open');
    for (const c of configs) {
      // the client opens its flow (egress requires one, as behind the load balancer), and keeps it
      // open: sends do not refresh a flow, and the scenario outlasts its idle timeout
      await counter.request('ping', { host: '127.0.0.1', port });
      await gateway.request('load', { address: '127.0.0.1', port: counterPort, size: c.size, packets: c.packets, signed: c.signed === true });
      const gatewayRuns: unknown[] = [];
      const produce = async (durationMs: number, signed = c.signed === true, rate = 0): Promise<{ sent: number; elapsedMs: number }> => {
        const r = await gateway.request<{ sent: number; elapsedMs: number; failures: number }>('run', { durationMs, signed, rate }, durationMs + 30_000);
        if (signed === (c.signed === true) && rate === 0) gatewayRuns.push(r);
        return r;
      };
      const loop = (durationMs: number, rate = 0): Promise<{ sent: number; elapsedMs: number }> =>
        sender.request('run', { host: '127.0.0.1', port: counterPort, size: c.size, durationMs, rate });
      // The third trial of each round: the floor loop, or for a signed configuration the same
      // gateway with the bodies unsigned, so the check's cost is a difference of the same minutes.
      let referenceTrial: ((durationMs: number) => Promise<Trial>) | undefined;
      if (c.floor) {
        await floorLoop.request('load', { address: '127.0.0.1', port: counterPort, size: c.size, packets: c.packets });
        referenceTrial = (durationMs) => trial(counter, () => floorLoop.request('run', { durationMs }), undefined, undefined, { agent: floorLoop, per: 'sent' });
      } else if (c.signed) {
        referenceTrial = (durationMs) => trial(counter, () => produce(durationMs, false), undefined, undefined, { agent: gateway, per: 'sent' });
      }
      const { gateway: trials, loop: baseline, reference } = await pairedTrials(
        context.runs, context.trialMs,
        (ms) => trial(counter, () => produce(ms), undefined, undefined, { agent: gateway, per: 'sent' }),
        (ms) => trial(counter, () => loop(ms), undefined, undefined, { agent: sender, per: 'sent' }),
        referenceTrial);
      const floor = c.floor ? reference : [];
      const unsigned = c.signed ? reference : [];
      const paced = c.floor
        ? await pacedCpuTrials(context.runs, context.trialMs, { gateway: trials, loop: baseline, floor }, {
          gateway: (ms, rate) => trial(counter, () => produce(ms, false, rate), undefined, undefined, { agent: gateway, per: 'sent' }),
          loop: (ms, rate) => trial(counter, () => loop(ms, rate), undefined, undefined, { agent: sender, per: 'sent' }),
          floor: (ms, rate) => trial(counter, () => floorLoop.request('run', { durationMs: ms, rate }), undefined, undefined, { agent: floorLoop, per: 'sent' }),
        })
        : undefined;
      out.set(configKey(c), { trials, baseline, floor, unsigned, paced, gateway: gatewayRuns.slice(1) }); // the first run is the warm-up's
      context.log(
        `   ${c.size} B × ${c.packets}/message${c.signed ? ', signed' : ''}: ${trials.map((t) => fmtRate(t.rate)).join(', ')}; sender loop ${baseline.map((t) => fmtRate(t.rate)).join(', ')}` +
        (floor.length > 0 ? `; floor loop ${floor.map((t) => fmtRate(t.rate)).join(', ')}` : '') +
        (unsigned.length > 0 ? `; unsigned ${unsigned.map((t) => fmtRate(t.rate)).join(', ')}` : '') +
        (paced ? `; paced at ${fmtRate(paced.rate)}: CPU per packet ${cpuSummary(paced)}` : ''));
    }
    return out;
  } finally {
    await Promise.all([gateway.stop(), sender.stop(), floorLoop.stop(), counter.stop()]);
  }
}

export const sourcedPlain: Scenario = {
  id: 'sourced-plain',
  title: 'Scenario 1: sourced egress, plain UDP',
  description:
    'SNS notifications (the envelope SNS writes into the delivery queue, with signature fields and message ' +
    `attributes; the signature is checked only in the "signed" rows) carrying \`{"Messages":[…]}\` bodies of ${HEADLINE_PACKETS_PER_MESSAGE} packets are received by the gateway's ` +
    'DeliveryQueueConsumer from an in-memory queue (no network; deletes batched as in AWS), decoded and validated by the ' +
    'SourcedPacketProcessor, and sent from a UDP Listener socket (AWS mode: egress rules and flow ownership checked per ' +
    'packet). A separate process counts the datagrams. Target: ≥ 0.8 × the raw dgram sender loop at the same payload size, whose trials alternate with the gateway\'s.',
  async run(context: ScenarioContext): Promise<ScenarioResult> {
    const missing = missingModules(['service/sourcing/sourced-packet-processor.ts', 'service/sourcing/delivery-queue-consumer.ts', 'service/listeners/udp-listener.ts']);
    if (missing) return { status: 'pending', reason: missing };
    const configs: SourcedConfig[] = [
      ...PAYLOAD_SIZES.map((size) => ({ size, packets: HEADLINE_PACKETS_PER_MESSAGE, floor: true })),
      { size: 64, packets: 1 },
      { size: 64, packets: 100 },
      ...PAYLOAD_SIZES.map((size) => ({ size, packets: HEADLINE_PACKETS_PER_MESSAGE, signed: true })),
    ];
    const results = await sourcedFlood(context, configs);
    const figures: Record<string, number> = {};
    const rows: Array<Array<string | number>> = [];
    const ratios: number[] = [];
    const floorRows: Array<Array<string | number>> = [];
    const cpuRows: Array<Array<string | number>> = [];
    const pacedRows: Array<Array<string | number>> = [];
    const signedRows: Array<Array<string | number>> = [];
    for (const c of configs) {
      const r = results.get(configKey(c))!;
      const rate = median(r.trials.map((t) => t.rate));
      const baseline = median(r.baseline.map((t) => t.rate));
      const rel = ratio(rate, baseline);
      if (c.signed) {
        rows.push([`${c.size} B, signed`, c.packets, fmtRate(rate), r.trials.map((t) => fmtRate(t.rate)).join(', '),
          fmtPct(median(r.trials.map((t) => t.loss))), `${fmtRate(baseline)} (${r.baseline.map((t) => fmtRate(t.rate)).join(', ')})`, fmtRatio(rel)]);
        const signedCpu = medianCpuUs(r.trials);
        const unsignedCpu = medianCpuUs(r.unsigned);
        const perMessage = (signedCpu - unsignedCpu) * c.packets;
        figures[`sourcedPlainSigned${c.size}`] = rate;
        figures[`sourcedPlainSignedCpuUs${c.size}`] = signedCpu;
        figures[`sourcedPlainSignatureCheckUs${c.size}`] = perMessage;
        signedRows.push([`${c.size} B`, c.packets, fmtUs(unsignedCpu), fmtUs(signedCpu), Number.isFinite(perMessage) ? `${perMessage.toFixed(1)} µs` : '—']);
        continue;
      }
      figures[`sourcedPlain${c.size}x${c.packets}`] = rate;
      figures[`sourcedPlainLoop${c.size}x${c.packets}`] = baseline;
      if (c.packets === HEADLINE_PACKETS_PER_MESSAGE) {
        figures[`sourcedPlain${c.size}`] = rate;
        figures[`sourcedPlainVsDgram${c.size}`] = rel;
        ratios.push(rel);
      }
      rows.push([
        `${c.size} B`,
        c.packets,
        fmtRate(rate),
        r.trials.map((t) => fmtRate(t.rate)).join(', '),
        fmtPct(median(r.trials.map((t) => t.loss))),
        `${fmtRate(baseline)} (${r.baseline.map((t) => fmtRate(t.rate)).join(', ')})`,
        fmtRatio(rel),
      ]);
      if (r.floor.length > 0) {
        const floor = floorFigures('sourcedPlain', c.size, rate, baseline, r.floor);
        Object.assign(figures, floor.figures);
        floorRows.push([`${c.size} B`, c.packets, ...floor.cells]);
        Object.assign(figures, cpuFigures('sourcedPlain', c.size, { gateway: r.trials, loop: r.baseline, floor: r.floor }));
        cpuRows.push([`${c.size} B`, c.packets, ...cpuCells('sourcedPlain', c.size, figures)]);
        Object.assign(figures, pacedCpuFigures('sourcedPlain', c.size, r.paced));
        pacedRows.push([`${c.size} B`, c.packets, ...pacedCpuCells('sourcedPlain', c.size, figures)]);
      }
    }
    figures.sourcedPlainVsDgram = ratios.every(Number.isFinite) ? Math.min(...ratios) : NaN;
    figures.sourcedPlainVsFloor = Math.min(...PAYLOAD_SIZES.map((size) => figures[`sourcedPlainVsFloor${size}`] ?? NaN));
    figures.sourcedPlainCpuVsFloor = Math.min(...PAYLOAD_SIZES.map((size) => figures[`sourcedPlainCpuVsFloor${size}`] ?? NaN));
    figures.sourcedPlainPacedCpuVsFloor = Math.min(...PAYLOAD_SIZES.map((size) => figures[`sourcedPlainPacedCpuVsFloor${size}`] ?? NaN));
    figures.sourcedPlainPacedCpuVsDgram = Math.min(...PAYLOAD_SIZES.map((size) => figures[`sourcedPlainPacedCpuVsDgram${size}`] ?? NaN));
    return {
      status: 'ok',
      figures,
      raw: Object.fromEntries(results),
      tables: [{
        table: {
          columns: ['payload', 'packets / message', 'median', 'runs', 'loss (median)', 'dgram sender loop, alternating trials (runs)', 'ratio'],
          rows,
        },
      }, {
        caption: 'floor: the least work per sourced packet, as a bare loop',
        table: {
          columns: ['payload', 'packets / message', 'envelope floor loop (runs)', 'floor ÷ dgram sender loop', 'gateway ÷ floor'],
          rows: floorRows,
        },
      }, {
        caption: 'CPU time per packet of each sending process (its CPU time ÷ datagrams it sent, flood trials)',
        table: { columns: ['payload', 'packets / message', 'gateway', 'envelope floor loop', 'dgram sender loop', 'floor ÷ gateway'], rows: cpuRows },
      }, {
        caption: `CPU time per packet below saturation: each sending process paced at ${PACED_CPU_FRACTION} × the lowest of the three flood rates above (same trials' order, same receiver)`,
        table: { columns: ['payload', 'packets / message', ...PACED_CPU_COLUMNS], rows: pacedRows },
      }, {
        caption: 'as in AWS: every notification\'s SNS signature checked (SignatureVersion 2, RSA-2048, certificate cached), gateway CPU time per packet, same run',
        table: { columns: ['payload', 'packets / message', 'unsigned (alternating trials)', 'signed, checked', 'the check, per notification'], rows: signedRows },
      }],
      notes: [
        `The headline ratio (\`sourcedPlainVsDgram\`) is the lower of the 64 B and 1200 B ratios at ${HEADLINE_PACKETS_PER_MESSAGE} packets per message.`,
        'Gateway trials alternate with trials of the raw dgram sender loop (same payload, same core, same counting receiver; ABBA order); each ratio divides the two medians, so a machine whose speed drifts between scenarios does not move it.',
        'The rows with 1 and 100 packets per message show how the per-message cost (envelope parse, binding lookup, deletes) spreads.',
        'The envelope floor loop (bench/agents/envelope-floor.ts) reads the same message bodies and does only what any gateway must: ' +
          'parse the envelope, parse its Message, decode each base64 Data, send it with a completion callback; its trials run between the ' +
          'dgram loop\'s and the gateway\'s. "floor ÷ dgram sender loop" is what the message format leaves this loop (JSON.parse, Buffer base64, dgram) ' +
          'on one core; "gateway ÷ floor" is how much of it the gateway keeps (validation, egress rules, flow check, queue and bookkeeping cost the rest).',
        'The in-memory queue answers instantly: the figure is the gateway\'s CPU cost per packet, not SQS latency. In AWS several pollers hide the receive latency.',
        'The headline rows take unsigned notifications (the gateway\'s local-lab setting), as the floor loop does. In AWS the gateway checks every notification\'s SNS signature ' +
          '(docs/DESIGN.md "Notification authenticity"): the "signed" rows sign each body as SNS does (a certificate made for the run, served from memory and cached) and ' +
          'have the verifying consumer take them, in trials alternating with the same gateway\'s on the same bodies unsigned. The extra CPU per packet times the packets per message is the check\'s cost per notification: one RSA public-key ' +
          'operation and a SHA-256 of the signed text, whatever the number of packets, so more packets per message spread it.',
      ],
    };
  },
};
