/**
 * Scenario 2: sourced egress through a WireGuard Listener, measured two ways.
 *
 * A. Like with like against the wireguard-go tunnel baseline: the gateway's WireGuard Listener
 *    (in namespace A, in place of wireguard-go A) sends to wireguard-go in namespace B, which
 *    decrypts into the same counting receiver the baseline uses; paced rate search, < 1 % loss.
 *    The tunnel is measured again on a bed of its own, in searches alternating with the
 *    gateway's (ABBA), so the ratio divides rates taken on the same machine at the same time.
 *    Both figures are "datagrams delivered through a wireguard-go peer", so the ratio compares
 *    the sending sides. When wireguard-go's own receive side is the limit, this ratio shows it.
 * B. The gateway's own WireGuard sending capacity: the same Listener, flooding a decrypting
 *    receiver process built on the service's WireGuard device, on loopback. This is the figure
 *    held against the raw dgram sender loop.
 */
import { PAYLOAD_SIZES } from './baseline-dgram';
import { alternatingSearches, FIRST_SEARCH_START, openTunnel, PATH_TRIAL_FACTOR, searchTrialMs, WARM_UP_RATE } from './baseline-wireguard-go';
import { missingModules } from './modules';
import { HEADLINE_PACKETS_PER_MESSAGE } from './sourced-plain';
import { AeadUsed, aeadNote, aeadsOf } from '../lib/aead';
import { Agent } from '../lib/agent';
import { generateKeyPair } from '../lib/netns';
import { Scenario, ScenarioContext, ScenarioResult } from '../lib/scenario';
import { SearchResult } from '../lib/search';
import { fmtPct, fmtRate, fmtRatio, median, ratio } from '../lib/stats';
import {
  cpuBoundRate, cpuCells, cpuFigures, cpuTimeUs, drain, floorFigures, PACED_CPU_COLUMNS, PACED_CPU_FRACTION, pacedCpuCells,
  pacedCpuFigures, PacedCpuRuns, pacedCpuTrials, pairedTrials, Trial, trial,
} from '../lib/throughput';
import { createBed, destroyBed, INNER_PORT, startGatewayListener, TUNNEL_A, TUNNEL_B, UNDERLAY_B, WG_PORT_B, WgBed } from '../lib/wg-lab';
import { connectLoopbackReceiver, LOOPBACK_GATEWAY_TUNNEL, LOOPBACK_RECEIVER_TUNNEL } from '../lib/wg-loopback-receiver';
import { processCpuUs, receiveBufferOf, udpSocketDrops } from '../lib/wg-path';

/** Inner addressing of what the gateway sends to the loopback receiver (variant B). */
const LOOPBACK_INNER = {
  SourceAddress: LOOPBACK_GATEWAY_TUNNEL, SourcePort: 40000, DestinationAddress: LOOPBACK_RECEIVER_TUNNEL, DestinationPort: INNER_PORT,
};

/**
 * One paced trial of variant A, above the rate the search found, with the path taken apart: CPU
 * per packet of each process on it, and how much of the loss wireguard-go B's socket dropped for
 * want of receive buffer.
 */
interface PathTrial {
  readonly pacedAt: number;
  readonly sent: number;
  readonly counted: number;
  /** Gateway CPU time per packet it sent, µs. */
  readonly gatewayCpuUs: number;
  /** wireguard-go B's CPU time (every thread) per packet counted behind it, µs. */
  readonly peerCpuUs: number;
  /** The counting receiver's CPU time per packet counted, µs. */
  readonly counterCpuUs: number;
  /** Datagrams wireguard-go B's socket dropped (full receive buffer). */
  readonly peerSocketDrops: number;
  /** wireguard-go B's socket receive buffer, bytes. */
  readonly peerReceiveBufferBytes: number;
}

interface GatewayRun {
  sent: number;
  elapsedMs: number;
  failures: number;
  failuresByCode: Record<string, number>;
}

/** What variant A measured at each payload size. */
interface ViaWireguardGo {
  /** The gateway's rate searches (Listener → wireguard-go B). */
  readonly results: Map<number, SearchResult[]>;
  /** The wireguard-go tunnel's rate searches, alternating with the gateway's. */
  readonly tunnel: Map<number, SearchResult[]>;
  readonly failures: unknown[];
  readonly paths: Map<number, PathTrial>;
}

/**
 * Variant A: gateway Listener in namespace A → wireguard-go in B → counting receiver, its rate
 * searches alternating (ABBA) with those of a wireguard-go ⇄ wireguard-go tunnel on a bed of its
 * own, so both see the same machine.
 */
async function viaWireguardGo(context: ScenarioContext): Promise<ViaWireguardGo> {
  let bed: WgBed | undefined;
  let tunnelBed: WgBed | undefined;
  let gateway: Agent | undefined;
  let sender: Agent | undefined;
  const results = new Map<number, SearchResult[]>();
  const tunnelResults = new Map<number, SearchResult[]>();
  const paths = new Map<number, PathTrial>();
  const failures: unknown[] = [];
  try {
    const keyA = generateKeyPair();
    bed = await createBed(keyA);
    const g = await startGatewayListener(bed, (started) => {
      gateway = started;
    });
    tunnelBed = await createBed();
    const tunnel = await openTunnel(tunnelBed, (started) => {
      sender = started;
    });
    const counter = bed.counter;
    for (const size of PAYLOAD_SIZES) {
      await g.request('load', {
        address: UNDERLAY_B,
        port: WG_PORT_B,
        peerKey: bed.keyB.publicKey,
        size,
        packets: HEADLINE_PACKETS_PER_MESSAGE,
        inner: { SourceAddress: TUNNEL_A, SourcePort: 40000, DestinationAddress: TUNNEL_B, DestinationPort: INNER_PORT },
      });
      const runTrial = (rate: number): Promise<Trial> =>
        trial(counter, async () => {
          const r = await g.request<GatewayRun>('run', { rate, durationMs: searchTrialMs(context) }, 60_000);
          if (r.failures > 0) failures.push({ size, rate, byCode: r.failuresByCode });
          return r;
        });
      await runTrial(WARM_UP_RATE); // warm-up (and the handshake, if the first one is still in flight)
      await tunnel.warmUp(size);
      const [found, tunnelFound] = await alternatingSearches(
        context,
        { label: `gateway → wireguard-go ${size} B`, runTrial, firstStart: FIRST_SEARCH_START },
        { label: `wireguard-go tunnel ${size} B`, runTrial: (rate) => tunnel.trial(size, rate, searchTrialMs(context)), firstStart: FIRST_SEARCH_START },
      );
      results.set(size, found);
      tunnelResults.set(size, tunnelFound);
      const pacedAt = Math.round(PATH_TRIAL_FACTOR * (median(found.map((r) => r.pacedAt)) || 10_000));
      const path = await pathTrial(bed, g, pacedAt, searchTrialMs(context));
      paths.set(size, path);
      context.log(
        `   gateway → wireguard-go ${size} B at ${fmtRate(pacedAt)}: ${fmtPct(1 - path.counted / path.sent)} lost, ` +
        `${path.peerSocketDrops} of ${path.sent - path.counted} at wireguard-go's socket (rb ${path.peerReceiveBufferBytes} B); CPU per packet: ` +
        `gateway ${path.gatewayCpuUs.toFixed(1)} µs, wireguard-go ${path.peerCpuUs.toFixed(1)} µs, counter ${path.counterCpuUs.toFixed(1)} µs`);
    }
    return { results, tunnel: tunnelResults, failures, paths };
  } finally {
    // destroyBed removes every namespace and daemon of this run: both beds
    await destroyBed(bed, [gateway, sender, tunnelBed?.counter]);
  }
}

/** Runs one paced trial of variant A at `pacedAt` and takes the path apart (see {@link PathTrial}). */
async function pathTrial(bed: WgBed, gateway: Agent, pacedAt: number, durationMs: number): Promise<PathTrial> {
  const counter = bed.counter;
  await counter.request('reset');
  const snapshot = async (): Promise<{ gateway: number; peer: number; counter: number; drops: number }> => ({
    gateway: await cpuTimeUs(gateway),
    peer: processCpuUs(bed.wgB.pid),
    counter: await cpuTimeUs(counter),
    drops: udpSocketDrops(bed.nsB).get(WG_PORT_B) ?? 0,
  });
  const before = await snapshot();
  const run = await gateway.request<GatewayRun>('run', { rate: pacedAt, durationMs }, 60_000);
  const stats = await drain(counter);
  const after = await snapshot();
  const counted = Math.max(1, stats.count);
  return {
    pacedAt,
    sent: run.sent,
    counted: stats.count,
    gatewayCpuUs: (after.gateway - before.gateway) / Math.max(1, run.sent),
    peerCpuUs: (after.peer - before.peer) / counted,
    counterCpuUs: (after.counter - before.counter) / counted,
    peerSocketDrops: after.drops - before.drops,
    peerReceiveBufferBytes: receiveBufferOf(bed.nsB, WG_PORT_B),
  };
}
/** The AEAD of each side of variant B, as its processes reported it. */
let aeadOfB: Record<string, AeadUsed> | undefined;

/** Variant B's trials at one payload size: flood (gateway, sender loop, floor loop) and paced below saturation. */
interface DecryptingReceiverTrials {
  readonly trials: Trial[];
  readonly loops: Trial[];
  readonly floors: Trial[];
  readonly paced?: PacedCpuRuns;
}

/**
 * Variant B: gateway Listener → decrypting receiver process (loopback), flood; each trial follows
 * a trial of the raw dgram sender loop (same core, same payload) into a counting receiver; then
 * all three paced at one rate below saturation.
 */

async function toDecryptingReceiver(context: ScenarioContext): Promise<Map<number, DecryptingReceiverTrials>> {
  const gatewayKey = generateKeyPair();
  const receiverKey = generateKeyPair();
  const gateway = await Agent.start('sourced-gateway', { cpus: context.cpus.measured });
  const receiver = await Agent.start('wg-receiver', { cpus: context.cpus.partner });
  const sender = await Agent.start('udp-sender', { cpus: context.cpus.measured });
  const counter = await Agent.start('udp-counter', { cpus: context.cpus.partner });
  const floorLoop = await Agent.start('envelope-floor', { cpus: context.cpus.measured });
  const out = new Map<number, DecryptingReceiverTrials>();
  try {
    const { port: counterPort } = await counter.request<{ port: number }>('bind');
    await sender.request('open');
    await floorLoop.request('open');
    aeadOfB = await aeadsOf({ 'gateway': gateway, 'floor loop': floorLoop, 'decrypting receiver': receiver });
    const { receiverPort } = await connectLoopbackReceiver(gateway, receiver, gatewayKey, receiverKey);
    for (const size of PAYLOAD_SIZES) {
      await gateway.request('load', {
        address: '127.0.0.1',
        port: receiverPort,
        peerKey: receiverKey.publicKey,
        size,
        packets: HEADLINE_PACKETS_PER_MESSAGE,
        inner: LOOPBACK_INNER,
      });
      const produce = (durationMs: number, rate = 0): Promise<GatewayRun> => gateway.request<GatewayRun>('run', { durationMs, rate }, durationMs + 30_000);
      const loop = (durationMs: number, rate = 0): Promise<Trial> =>
        trial(counter, () => sender.request('run', { host: '127.0.0.1', port: counterPort, size, durationMs, rate }), undefined, undefined, { agent: sender, per: 'sent' });
      // the floor loop seals with its own random key: its datagrams are counted on arrival, not decrypted
      await floorLoop.request('load', {
        address: '127.0.0.1',
        port: counterPort,
        peerKey: receiverKey.publicKey,
        size,
        packets: HEADLINE_PACKETS_PER_MESSAGE,
        inner: LOOPBACK_INNER,
        wireguard: true,
      });
      const floor = (durationMs: number, rate = 0): Promise<Trial> =>
        trial(counter, () => floorLoop.request('run', { durationMs, rate }), undefined, undefined, { agent: floorLoop, per: 'sent' });
      const gatewayTrial = (durationMs: number, rate = 0): Promise<Trial> =>
        trial(receiver, () => produce(durationMs, rate), undefined, undefined, { agent: gateway, per: 'sent' });
      const { gateway: trials, loop: loops, reference: floors } = await pairedTrials(context.runs, context.trialMs, gatewayTrial, loop, floor);
      const paced = await pacedCpuTrials(
        context.runs, context.trialMs, { gateway: trials, loop: loops, floor: floors }, { gateway: gatewayTrial, loop, floor });
      out.set(size, { trials, loops, floors, paced });
      context.log(
        `   gateway → decrypting receiver ${size} B: ${trials.map((t) => fmtRate(t.rate)).join(', ')}; sender loop ${loops.map((t) => fmtRate(t.rate)).join(', ')}; ` +
        `floor loop ${floors.map((t) => fmtRate(t.rate)).join(', ')}`);
    }
    return out;
  } finally {
    await Promise.all([receiver.stop(), gateway.stop(), sender.stop(), floorLoop.stop(), counter.stop()]);
  }
}

export const sourcedWireGuard: Scenario = {
  id: 'sourced-wireguard',
  title: 'Scenario 2: sourced egress, WireGuard',
  description:
    `SNS-envelope messages of ${HEADLINE_PACKETS_PER_MESSAGE} packets with \`Remote.PeerKey\` and \`Inner\` go through the gateway's delivery-queue ` +
    'consumer and SourcedPacketProcessor to a WireGuard Listener, which builds the inner IPv4/UDP packet, encrypts it ' +
    '(ChaCha20-Poly1305) and sends it to the peer. (A) like with like against the tunnel baseline: the Listener replaces ' +
    'wireguard-go on side A of the same namespaces, wireguard-go B decrypts into the same counting receiver; highest paced rate ' +
    'with < 1 % loss, in searches alternating (ABBA) with those of the wireguard-go tunnel on a second pair of namespaces. (B) the Listener floods a decrypting receiver process built on the service\'s WireGuard device (loopback). ' +
    'Targets: (A) ≥ 2 × the wireguard-go tunnel; (B) ≥ 0.4 × the raw dgram sender loop, measured in trials alternating with the gateway\'s.',
  async run(context: ScenarioContext): Promise<ScenarioResult> {
    const missing = missingModules(['service/wireguard/wg-listener.ts', 'service/wireguard/device.ts', 'service/sourcing/delivery-queue-consumer.ts']);
    if (missing) return { status: 'pending', reason: missing };
    const figures: Record<string, number> = {};
    const raw: Record<string, unknown> = {};
    const rowsA: Array<Array<string | number>> = [];
    const rowsB: Array<Array<string | number>> = [];
    const pathRows: Array<Array<string | number>> = [];
    const notes: string[] = [];

    const b = await toDecryptingReceiver(context);
    raw.decryptingReceiver = Object.fromEntries(b);
    raw.aead = aeadOfB;
    if (aeadOfB) notes.push(aeadNote(aeadOfB));
    const ratiosB: number[] = [];
    const floorRows: Array<Array<string | number>> = [];
    const cpuRows: Array<Array<string | number>> = [];
    const pacedRows: Array<Array<string | number>> = [];
    for (const size of PAYLOAD_SIZES) {
      const { trials, loops, floors, paced } = b.get(size)!;
      const rate = median(trials.map((t) => t.rate));
      const baseline = median(loops.map((t) => t.rate));
      const rel = ratio(rate, baseline);
      figures[`sourcedWg${size}`] = rate;
      figures[`sourcedWgLoop${size}`] = baseline;
      figures[`sourcedWgVsDgram${size}`] = rel;
      ratiosB.push(rel);
      rowsB.push([
        `${size} B`, fmtRate(rate), trials.map((t) => fmtRate(t.rate)).join(', '), fmtPct(median(trials.map((t) => t.loss))),
        `${fmtRate(baseline)} (${loops.map((t) => fmtRate(t.rate)).join(', ')})`, fmtRatio(rel),
      ]);
      const floor = floorFigures('sourcedWg', size, rate, baseline, floors);
      Object.assign(figures, floor.figures);
      floorRows.push([`${size} B`, ...floor.cells]);
      Object.assign(figures, cpuFigures('sourcedWg', size, { gateway: trials, loop: loops, floor: floors }));
      figures[`sourcedWgCpuVsDgram${size}`] = ratio(figures[`sourcedWgLoopCpuUs${size}`], figures[`sourcedWgCpuUs${size}`]);
      cpuRows.push([`${size} B`, ...cpuCells('sourcedWg', size, figures), fmtRatio(figures[`sourcedWgCpuVsDgram${size}`])]);
      Object.assign(figures, pacedCpuFigures('sourcedWg', size, paced));
      pacedRows.push([`${size} B`, ...pacedCpuCells('sourcedWg', size, figures)]);
    }
    figures.sourcedWgPacedCpuVsDgram = Math.min(...PAYLOAD_SIZES.map((size) => figures[`sourcedWgPacedCpuVsDgram${size}`] ?? NaN));
    figures.sourcedWgPacedCpuVsFloor = Math.min(...PAYLOAD_SIZES.map((size) => figures[`sourcedWgPacedCpuVsFloor${size}`] ?? NaN));
    figures.sourcedWgVsDgram = ratiosB.every(Number.isFinite) ? Math.min(...ratiosB) : NaN;
    figures.sourcedWgCpuVsDgram = Math.min(...PAYLOAD_SIZES.map((size) => figures[`sourcedWgCpuVsDgram${size}`] ?? NaN));

    if (!context.wireguardGo.available) {
      notes.push(`Variant A skipped: ${context.wireguardGo.reason}.`);
    } else {
      const a = await viaWireguardGo(context);
      raw.viaWireguardGo = Object.fromEntries(a.results);
      raw.viaWireguardGoTunnel = Object.fromEntries(a.tunnel);
      raw.viaWireguardGoFailures = a.failures;
      const ratiosA: number[] = [];
      for (const size of PAYLOAD_SIZES) {
        const results = a.results.get(size)!;
        const tunnelResults = a.tunnel.get(size)!;
        const rate = median(results.map((r) => r.rate));
        const tunnel = median(tunnelResults.map((r) => r.rate));
        const rel = ratio(rate, tunnel);
        figures[`sourcedWgViaWireguardGo${size}`] = rate;
        figures[`sourcedWgTunnelAlternating${size}`] = tunnel;
        figures[`sourcedWgVsWireguardGo${size}`] = rel;
        ratiosA.push(rel);
        rowsA.push([
          `${size} B`, fmtRate(rate), results.map((r) => fmtRate(r.rate)).join(', '), results.map((r) => fmtPct(r.loss)).join(', '),
          `${fmtRate(tunnel)} (${tunnelResults.map((r) => fmtRate(r.rate)).join(', ')})`, fmtRatio(rel),
        ]);
      }
      figures.sourcedWgVsWireguardGo = ratiosA.every(Number.isFinite) ? Math.min(...ratiosA) : NaN;
      raw.viaWireguardGoPath = Object.fromEntries(a.paths);
      for (const size of PAYLOAD_SIZES) {
        const p = a.paths.get(size);
        if (!p) continue;
        const lost = Math.max(0, p.sent - p.counted);
        figures[`sourcedWgViaWireguardGoCpuUs${size}`] = p.gatewayCpuUs;
        figures[`sourcedWgViaWireguardGoPeerCpuUs${size}`] = p.peerCpuUs;
        figures[`sourcedWgViaWireguardGoPeerDropShare${size}`] = lost > 0 ? Math.min(1, p.peerSocketDrops / lost) : NaN;
        // the most this path carries with every core busy, ÷ the tunnel's rate: with this gateway, and with a sender that costs nothing
        const tunnel = figures[`sourcedWgTunnelAlternating${size}`];
        const cores = context.cpus.all.length;
        figures[`sourcedWgVsWireguardGoCpuBound${size}`] = ratio(cpuBoundRate(cores, p.gatewayCpuUs + p.peerCpuUs + p.counterCpuUs), tunnel);
        figures[`sourcedWgVsWireguardGoCpuCeiling${size}`] = ratio(cpuBoundRate(cores, p.peerCpuUs + p.counterCpuUs), tunnel);
        pathRows.push([
          `${size} B`, fmtRate(p.pacedAt), fmtPct(lost / Math.max(1, p.sent)), lost > 0 ? fmtPct(Math.min(1, p.peerSocketDrops / lost)) : '—',
          `${Math.round(p.peerReceiveBufferBytes / 1024)} KiB`, `${p.gatewayCpuUs.toFixed(1)} µs`, `${p.peerCpuUs.toFixed(1)} µs`, `${p.counterCpuUs.toFixed(1)} µs`,
          `${fmtRatio(figures[`sourcedWgVsWireguardGoCpuBound${size}`])} / ${fmtRatio(figures[`sourcedWgVsWireguardGoCpuCeiling${size}`])}`,
        ]);
      }
      if (a.failures.length > 0) notes.push(`Some paced trials reported gateway failures (see raw.viaWireguardGoFailures): ${JSON.stringify(a.failures.slice(0, 3))}`);
      const bOverTunnel = PAYLOAD_SIZES.map((size) => ratio(figures[`sourcedWg${size}`], figures[`sourcedWgTunnelAlternating${size}`]));
      notes.push(
        'If (A) sits near the tunnel rate while (B) is well above it, wireguard-go B\'s receive path (TUN writes, no enlarged socket buffer) is the limit of both, ' +
          `not the gateway: (B) ÷ tunnel is ${bOverTunnel.map(fmtRatio).join(' / ')} (64 B / 1200 B), but that ratio compares different receivers and is not the target figure.`,
      );
    }
    return {
      status: 'ok',
      figures,
      raw,
      tables: [
        ...(rowsA.length > 0 ? [{
          caption: '(A) Listener → wireguard-go → counting receiver (namespaces), highest paced rate with < 1 % loss.',
          table: { columns: ['payload', 'median', 'runs', 'loss per run', 'wireguard-go tunnel, alternating searches (runs)', 'ratio'], rows: rowsA },
        }] : []),
        ...(pathRows.length > 0 ? [{
          caption: `(A) where the packets go, one trial at ${PATH_TRIAL_FACTOR} × the rate found: loss, the share of it dropped by wireguard-go's socket ` +
            '(full receive buffer, /proc/net/udp), and CPU time per packet of each process on the path (all share the machine\'s cores).',
          table: {
            columns: [
              'payload', 'paced at', 'loss', 'dropped at wireguard-go\'s socket', 'its receive buffer',
              'gateway CPU / sent', 'wireguard-go CPU / counted', 'counter CPU / counted',
              'most this path carries on every core ÷ tunnel: this gateway / a sender that costs nothing',
            ],
            rows: pathRows,
          },
        }] : []),
        {
          caption: '(B) Listener → decrypting receiver process (loopback), flood.',
          table: { columns: ['payload', 'median', 'runs', 'loss (median)', 'dgram sender loop, alternating trials (runs)', 'ratio'], rows: rowsB },
        },
        {
          caption: '(B) floor: the least work per sourced WireGuard packet, as a bare loop.',
          table: { columns: ['payload', 'envelope floor loop, sealing (runs)', 'floor ÷ dgram sender loop', 'gateway ÷ floor'], rows: floorRows },
        },
        {
          caption: '(B) CPU time per packet of each sending process (its CPU time ÷ datagrams it sent, flood trials).',
          table: { columns: ['payload', 'gateway', 'envelope floor loop', 'dgram sender loop', 'floor ÷ gateway', 'dgram ÷ gateway'], rows: cpuRows },
        }, {
          caption: `(B) CPU time per packet below saturation: each sending process paced at ${PACED_CPU_FRACTION} × the lowest of the three flood rates above `
            + '(same trials\' order and receivers as the flood).',
          table: { columns: ['payload', ...PACED_CPU_COLUMNS], rows: pacedRows },
        },
      ],
      notes: [
        '`sourcedWgVsWireguardGo` is the lower of the two sizes in (A); `sourcedWgVsDgram` the lower in (B).',
        'The floor loop of (B) (bench/agents/envelope-floor.ts) reads the same message bodies and does only what any Node.js WireGuard sender must: ' +
          'parse the envelope and its Message, decode each base64 Data, write the inner IPv4/UDP packet, pad it, seal it with the ChaCha20-Poly1305 the gateway uses ' +
          '(service/wireguard/transport-aead.ts: libsodium when it loads, else node:crypto; the note below names each side\'s) ' +
          'behind a transport header and send it with a completion callback (to a counting receiver: it uses its own random key). ' +
          '"floor ÷ dgram sender loop" is the ceiling this loop reaches on one core; "gateway ÷ floor" the share of it the gateway keeps (the gateway\'s ' +
          'datagrams are counted by the decrypting receiver, the floor\'s by the counting receiver, each on the other core).',
        'In (A) nothing is pinned (wireguard-go uses every core, as in the baseline); in (B) the gateway and the receiver each have their own core.',
        'The most path (A) carries on every core: the machine\'s cores (one CPU-second per second each) ÷ the CPU time per delivered packet of ' +
          'the sending side, wireguard-go B (every thread) and the counter in the path trial, ÷ the tunnel\'s rate; with this gateway as the ' +
          'sending side, and with a sender that costs nothing. The second is the most `sourcedWgVsWireguardGo` can be on this machine with this ' +
          'peer and receiver, whatever the sender: every real sender also pays its sends (the veth and the peer namespace\'s receive path run ' +
          'on the sending core), so the true bound is lower. Both assume wireguard-go B\'s CPU per packet stays what it was at the path trial\'s rate.',
        ...notes,
      ],
    };
  },
};
