/**
 * Scenario 3: ingress. A raw dgram sender floods a UDP Listener; every datagram goes through the
 * IngressPipeline (flow refresh, tag, packet JSON) and batches to a local counting handler.
 * Compared with the same sender flooding a plain dgram receive loop, then checked for zero loss
 * when paced at 0.7 × that loop's rate.
 */
import { PAYLOAD_SIZES } from './baseline-dgram';
import { missingModules } from './modules';
import { Agent } from '../lib/agent';
import { Scenario, ScenarioContext, ScenarioResult } from '../lib/scenario';
import { fmtPct, fmtRate, fmtRatio, median, ratio } from '../lib/stats';
import {
  cpuCells, cpuFigures, floorFigures, PACED_CPU_COLUMNS, PACED_CPU_FRACTION, pacedCpuCells, pacedCpuFigures, pacedCpuTrials, pairedTrials,
  Trial, trial,
} from '../lib/throughput';

/** Fraction of the receive-loop rate at which ingress must lose nothing. */
export const ZERO_LOSS_FRACTION = 0.7;

interface IngressStats {
  count: number;
  datagramsIn: number;
  queueDrops: number;
  failures: number;
  batches: number;
}

export const ingress: Scenario = {
  id: 'ingress',
  title: 'Scenario 3: ingress',
  description:
    'A dgram sender process floods a UDP Listener. Each datagram passes the IngressPipeline (flow table refresh, ' +
    'HMAC reply tag, packet JSON) and is batched (default batching: 100 packets or 50 ms) to a Lambda destination: the ' +
    'real `LambdaClient` (serialization, SigV4 signing of every Invoke, retry middleware) with an in-memory HTTP handler ' +
    'that answers 200 and counts the packets of each payload (its count costs ≈ 0.13 µs per packet at 64 B, measured after each trial and ' +
    'left out of the gateway\'s CPU per packet), so the figure is the gateway\'s own work per packet in AWS ' +
    'mode except the HTTPS request itself (no TLS or HTTP framing, no network: in AWS those add CPU per Invoke that this ' +
    'figure leaves out), and without the function parsing its event. Rate = packets counted per second. ' +
    'Compared with the same sender flooding a plain dgram receive loop, in trials alternating with the gateway\'s; then the sender is paced at ' +
    `${ZERO_LOSS_FRACTION} × that loop's rate and loss must be zero. A last row floods a local handler module instead ` +
    '(`npm start`\'s destination), which parses every batch into an event object in the gateway process.',
  async run(context: ScenarioContext): Promise<ScenarioResult> {
    const missing = missingModules(['service/ingress/ingress-pipeline.ts', 'service/listeners/udp-listener.ts', 'service/local/local-destination.ts']);
    if (missing) return { status: 'pending', reason: missing };
    const gateway = await Agent.start('ingress-gateway', { cpus: context.cpus.measured });
    const sender = await Agent.start('udp-sender', { cpus: context.cpus.partner });
    const loop = await Agent.start('udp-counter', { cpus: context.cpus.measured });
    const floorLoop = await Agent.start('ingress-floor', { cpus: context.cpus.measured });
    const figures: Record<string, number> = {};
    const rows: Array<Array<string | number>> = [];
    const floorRows: Array<Array<string | number>> = [];
    const cpuRows: Array<Array<string | number>> = [];
    const pacedRows: Array<Array<string | number>> = [];
    const raw: Record<string, unknown> = {};
    const ratios: number[] = [];
    const losses: number[] = [];
    try {
      const { port } = await gateway.request<{ port: number }>('start', { destination: 'lambda' });
      const { port: loopPort } = await loop.request<{ port: number }>('bind', { recvBufferSize: 0 });
      const { port: floorPort } = await floorLoop.request<{ port: number }>('bind');
      await sender.request('open');
      for (const size of PAYLOAD_SIZES) {
        const loopTrial = (durationMs: number, rate = 0): Promise<Trial> =>
          trial(loop, () => sender.request('run', { host: '127.0.0.1', port: loopPort, size, rate, durationMs }), undefined, undefined, { agent: loop, per: 'received' });
        const details: IngressStats[] = [];
        const standIn: number[] = [];
        const run = async (rate: number, durationMs: number): Promise<Trial> => {
          const t = await trial(gateway, () => sender.request('run', { host: '127.0.0.1', port, size, rate, durationMs }), undefined, undefined, { agent: gateway, per: 'received' });
          details.push(await gateway.request<IngressStats>('stats'));
          // the counting stand-in's CPU per packet, measured after the trial: reported apart, and left out of the gateway's
          const countUs = (await gateway.request<{ cpuUsPerPacket: number }>('standIn')).cpuUsPerPacket;
          standIn.push(countUs);
          return t.cpuUsPerPacket !== undefined && Number.isFinite(countUs) ? { ...t, cpuUsPerPacket: t.cpuUsPerPacket - countUs } : t;
        };
        const floorTrial = (durationMs: number, rate = 0): Promise<Trial> =>
          trial(floorLoop, () => sender.request('run', { host: '127.0.0.1', port: floorPort, size, rate, durationMs }), undefined, undefined, { agent: floorLoop, per: 'received' });
        const { gateway: flood, loop: loops, reference: floors } = await pairedTrials(
          context.runs, context.trialMs, (ms) => run(0, ms), (ms) => loopTrial(ms), (ms) => floorTrial(ms));
        const floodDetails = details.splice(0).slice(1); // the first is the warm-up's
        const standInUs = median(standIn.splice(0).slice(1));
        figures[`ingressStandInCpuUs${size}`] = standInUs;
        const baseline = median(loops.map((t) => t.rate));
        const paceAt = Math.round(ZERO_LOSS_FRACTION * baseline);
        const paced: Trial[] = [];
        if (Number.isFinite(paceAt) && paceAt > 0) {
          for (let i = 0; i < context.runs; i++) paced.push(await run(paceAt, context.trialMs));
        }
        const pacedDetails = details.splice(0);
        const belowSaturation = await pacedCpuTrials(context.runs, context.trialMs, { gateway: flood, loop: loops, floor: floors }, {
          gateway: (ms, r) => run(r, ms),
          loop: loopTrial,
          floor: floorTrial,
        });
        details.splice(0);
        standIn.splice(0);
        Object.assign(figures, pacedCpuFigures('ingress', size, belowSaturation));
        pacedRows.push([`${size} B`, ...pacedCpuCells('ingress', size, figures)]);
        raw[`belowSaturation${size}`] = belowSaturation;
        const rate = median(flood.map((t) => t.rate));
        const rel = ratio(rate, baseline);
        const pacedLoss = paced.length > 0 ? Math.max(...paced.map((t) => t.loss)) : NaN;
        figures[`ingress${size}`] = rate;
        figures[`ingressLoop${size}`] = baseline;
        figures[`ingressVsDgram${size}`] = rel;
        figures[`ingressLossAtTarget${size}`] = pacedLoss;
        ratios.push(rel);
        losses.push(pacedLoss);
        raw[`flood${size}`] = flood.map((t, i) => ({ ...t, gateway: floodDetails[i] }));
        raw[`loop${size}`] = loops;
        raw[`floor${size}`] = floors;
        const floor = floorFigures('ingress', size, rate, baseline, floors);
        Object.assign(figures, floor.figures);
        floorRows.push([`${size} B`, ...floor.cells]);
        const cpu = cpuFigures('ingress', size, { gateway: flood, loop: loops, floor: floors });
        Object.assign(figures, cpu);
        figures[`ingressAtTargetCpuUs${size}`] = median(paced.map((t) => t.cpuUsPerPacket ?? NaN));
        cpuRows.push([
          `${size} B`,
          ...cpuCells('ingress', size, figures),
          Number.isFinite(figures[`ingressAtTargetCpuUs${size}`]) ? `${figures[`ingressAtTargetCpuUs${size}`].toFixed(2)} µs` : '—',
          Number.isFinite(standInUs) ? `${standInUs.toFixed(2)} µs` : '—',
        ]);
        raw[`paced${size}`] = paced.map((t, i) => ({ ...t, pacedAt: paceAt, gateway: pacedDetails[i] }));
        rows.push([
          `${size} B`,
          fmtRate(rate),
          flood.map((t) => fmtRate(t.rate)).join(', '),
          fmtPct(median(flood.map((t) => t.loss))),
          `${fmtRate(baseline)} (${loops.map((t) => fmtRate(t.rate)).join(', ')})`,
          fmtRatio(rel),
          `${fmtRate(paceAt)}: ${paced.map((t) => fmtPct(t.loss)).join(', ')}`,
        ]);
        context.log(`   ${size} B: ${fmtRate(rate)} (${fmtRatio(rel)}), loss paced at ${fmtRate(paceAt)}: ${fmtPct(pacedLoss)}`);
      }
    } finally {
      await Promise.all([sender.stop(), gateway.stop(), loop.stop(), floorLoop.stop()]);
    }
    const local = await localHandlerFlood(context, LOCAL_HANDLER_SIZE);
    const localBaseline = median(local.loops.map((t) => t.rate));
    figures[`ingressLocalHandler${LOCAL_HANDLER_SIZE}`] = local.rate;
    raw[`localHandler${LOCAL_HANDLER_SIZE}`] = local.trials;
    rows.push([
      `${LOCAL_HANDLER_SIZE} B, local handler`,
      fmtRate(local.rate),
      local.trials.map((t) => fmtRate(t.rate)).join(', '),
      fmtPct(median(local.trials.map((t) => t.loss))),
      `${fmtRate(localBaseline)} (${local.loops.map((t) => fmtRate(t.rate)).join(', ')})`,
      fmtRatio(ratio(local.rate, localBaseline)),
      '—',
    ]);
    figures.ingressVsDgram = ratios.every(Number.isFinite) ? Math.min(...ratios) : NaN;
    figures.ingressVsFloor = Math.min(...PAYLOAD_SIZES.map((size) => figures[`ingressVsFloor${size}`] ?? NaN));
    figures.ingressCpuVsFloor = Math.min(...PAYLOAD_SIZES.map((size) => figures[`ingressCpuVsFloor${size}`] ?? NaN));
    figures.ingressPacedCpuVsFloor = Math.min(...PAYLOAD_SIZES.map((size) => figures[`ingressPacedCpuVsFloor${size}`] ?? NaN));
    figures.ingressPacedCpuVsDgram = Math.min(...PAYLOAD_SIZES.map((size) => figures[`ingressPacedCpuVsDgram${size}`] ?? NaN));
    figures.ingressLossAtTarget = losses.every(Number.isFinite) ? Math.max(...losses) : NaN;
    return {
      status: 'ok',
      figures,
      raw,
      tables: [{
        table: {
          columns: ['payload', 'median (flood)', 'runs', 'loss under flood', 'dgram receive loop, alternating trials (runs)', 'ratio', `loss paced at ${ZERO_LOSS_FRACTION} × loop, per run`],
          rows,
        },
      }, {
        caption: 'floor: the least work per inbound packet before an Invoke, as a bare receive loop',
        table: { columns: ['payload', 'ingress floor loop (runs)', 'floor ÷ dgram receive loop', 'gateway ÷ floor'], rows: floorRows },
      }, {
        caption: `CPU time per packet of each receiving process (its CPU time ÷ packets it received; flood trials, and the gateway paced at ${ZERO_LOSS_FRACTION} × the loop; `
          + 'the gateway\'s without the counting stand-in\'s, which is the last column)',
        table: { columns: ['payload', 'gateway (flood)', 'ingress floor loop', 'dgram receive loop', 'floor ÷ gateway', `gateway (paced at ${ZERO_LOSS_FRACTION} × loop)`, 'counting stand-in (left out)'], rows: cpuRows },
      }, {
        caption: `CPU time per packet below saturation: the sender paced at ${PACED_CPU_FRACTION} × the lowest of the three flood rates above into each receiving process in turn `
          + '(same order as the flood trials; the gateway\'s without the counting stand-in\'s)',
        table: { columns: ['payload', ...PACED_CPU_COLUMNS], rows: pacedRows },
      }],
      notes: [
        'Gateway trials alternate with trials of the same sender flooding the raw receive loop (same payload, same core; ABBA order); each ratio divides the two medians, and the paced rate is 0.7 × that loop median.',
        '`ingressVsDgram` is the lower of the two payload sizes (Lambda destination); `ingressLossAtTarget` the highest loss of any paced run.',
        'The ingress floor loop (bench/agents/ingress-floor.ts) does only what any gateway must before a Lambda Invoke: receive, ' +
          'base64-encode the payload into packet JSON, join 100 packets into one payload and SHA-256 it (SigV4 signs the payload hash); its trials run ' +
          'between the receive loop\'s and the gateway\'s. "floor ÷ dgram receive loop" is what the packet contract and SigV4 leave this loop on one core.',
        'The counting stand-in (bench/lib/counting-lambda.ts) counts each payload\'s packets in the gateway\'s process, one `Buffer.indexOf` per packet, so the count ' +
          'cannot be wrong; its CPU per packet is measured after each gateway trial by counting the trial\'s last payload again (process CPU time over ≥ 20 ms) and is ' +
          'subtracted from the gateway\'s CPU per packet (last column). It is not subtracted from throughput rates, which it lowers by that share.',
        'The local-handler row is not a headline figure: in AWS the event is parsed by the function, not by the gateway.',
        'Loss under flood is expected (the sender outruns any receiver); the raw figures split it into socket drops (sent − DatagramsIn) and queue drops (PacketsDropped).',
      ],
    };
  },
};

/** Payload size of the local-handler row. */
const LOCAL_HANDLER_SIZE = 64;

/** Flood trials against a Listener whose destination is the local counting handler module. */
async function localHandlerFlood(context: ScenarioContext, size: number): Promise<{ rate: number; trials: Trial[]; loops: Trial[] }> {
  const gateway = await Agent.start('ingress-gateway', { cpus: context.cpus.measured });
  const sender = await Agent.start('udp-sender', { cpus: context.cpus.partner });
  const loop = await Agent.start('udp-counter', { cpus: context.cpus.measured });
  try {
    const { port } = await gateway.request<{ port: number }>('start', { destination: 'local', handler: 'counting-handler' });
    const { port: loopPort } = await loop.request<{ port: number }>('bind', { recvBufferSize: 0 });
    await sender.request('open');
    const flood = (agent: Agent, to: number, durationMs: number): Promise<Trial> =>
      trial(agent, () => sender.request('run', { host: '127.0.0.1', port: to, size, rate: 0, durationMs }));
    const { gateway: trials, loop: loops } = await pairedTrials(
      context.runs, context.trialMs, (ms) => flood(gateway, port, ms), (ms) => flood(loop, loopPort, ms));
    context.log(`   ${size} B, local handler: ${trials.map((t) => fmtRate(t.rate)).join(', ')}`);
    return { rate: median(trials.map((t) => t.rate)), trials, loops };
  } finally {
    await Promise.all([sender.stop(), gateway.stop(), loop.stop()]);
  }
}
