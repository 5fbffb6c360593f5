/**
 * Gateway under test for the memory scenario (started with --expose-gc):
 * - flows: the real Gateway with a UDP Listener and a counting handler; clients open flows by
 *   sending to it; memory is read after garbage collection;
 * - sessions: the WireGuard device (the state a WireGuard Listener keeps per peer), fed handshake
 *   and transport datagrams from initiators in another process.
 */
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { MetricName } from '../../lib/private/metrics';
import type { ListenerRecord } from '../../lib/private/records';
import { WireGuardDevice } from '../../service/wireguard/device';
import { generatePrivateKey } from '../../service/wireguard/keys';
import { num, serve } from '../lib/agent-runtime';
import { buildKit, Kit } from '../lib/gateway-kit';
import { settledMemory } from '../lib/heap';
import { FIXTURES_DIR } from '../lib/paths';

let kit: Kit | undefined;
let device: WireGuardDevice | undefined;
let delivered = 0;
let dropped = 0;
const dropCodes: Record<string, number> = {};

/** A datagram crossing between the agents: base64 bytes and the address it came from or goes to. */
interface WireItem {
  readonly index: number;
  readonly data: string;
  readonly address: string;
  readonly port: number;
}

serve({
  flowsStart: async () => {
    const record: ListenerRecord = {
      Name: 'bench',
      Protocol: 'udp',
      Port: 0,
      BindAddress: '127.0.0.1',
      // MetricsEnabled: the destination counts what it delivered (PacketsIn), which is how a step
      // knows its datagrams are through; the handler itself runs in a worker thread of its own
      Destinations: [{ Name: 'count', Type: 'local', Module: path.join(FIXTURES_DIR, 'counting-handler.ts'), MetricsEnabled: true }],
    };
    kit = await buildKit({ listener: record });
    return { port: kit.listener.port };
  },
  /**
   * Waits until the clients' datagrams have arrived and every one that arrived has left the
   * gateway (delivered, dropped or failed; bounded: `datagrams` expected, or nothing new for
   * 500 ms), then reads memory. A step must settle in about a second: flows expire after the
   * load balancer's idle timeout (120 s), so a slow step would lose the flows of earlier ones.
   */
  flowsSettle: async (args) => {
    const k = kit;
    if (!k) throw new Error('flowsStart first');
    const target = num(args, 'datagrams');
    const deadline = performance.now() + num(args, 'timeoutMs', 60_000);
    let last = -1;
    let quietSince = performance.now();
    while (performance.now() < deadline) {
      const received = k.metrics.total(MetricName.DatagramsIn);
      const handled = handledCount(k);
      if (received !== last) {
        last = received;
        quietSince = performance.now();
      }
      const drained = handled >= received;
      if (drained && (received >= target || performance.now() - quietSince > 500)) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const memory = await settledMemory();
    return { memory, handled: handledCount(k), datagramsIn: k.metrics.total(MetricName.DatagramsIn), flows: k.gateway.flows.size };
  },
  memory: () => settledMemory(),
  wgStart: () => {
    device = new WireGuardDevice({
      privateKey: generatePrivateKey(),
      allowUnknownPeers: true,
      maxUnknownPeers: 1_000_000,
      // the setup completes 100k handshakes as fast as it can; without this the device (rightly)
      // answers with cookie replies under load, which changes nothing about per-session state
      handshakeLoadThreshold: 1_000_000_000,
      sourceHandshakesPerSecond: 1_000_000_000,
      sourceHandshakeBurst: 1_000_000_000,
      // On a busy machine a client's confirming keepalive can come more than the default 15 s after
      // its handshake, and the setup can outlast 3 × Reject-After-Time (9 min, when idle sessions
      // are erased): sessions are held until the last reading, as long as the setup takes. Neither
      // limit changes what a session holds.
      halfOpenPeerTimeoutMs: 3_600_000,
      timers: { rekeyAfterTimeMs: 3_500_000, rejectAfterTimeMs: 3_600_000 },
      output: {
        transmit: (datagram, address, port, done) => {
          outbox.push({ index: current, data: datagram.toString('base64'), address, port });
          done?.(undefined);
        },
        deliver: () => {
          delivered++;
        },
        reportFailure: (failure) => {
          dropped++;
          dropCodes[failure.code] = (dropCodes[failure.code] ?? 0) + 1;
        },
      },
    });
    return { publicKey: device.publicKey };
  },
  /** Feeds datagrams to the device; returns what it transmitted in answer, tagged with the item's index. */
  wgFeed: (args) => {
    const d = device;
    if (!d) throw new Error('wgStart first');
    const items = args.items as WireItem[];
    outbox = [];
    for (const item of items) {
      current = item.index;
      d.receive(Buffer.from(item.data, 'base64'), item.address, item.port);
    }
    const out = outbox;
    outbox = [];
    return { items: out, delivered, dropped, dropCodes, handshakes: d.counters.handshakesCompleted };
  },
  wgPeers: () => ({ peers: device?.peerKeys().length ?? 0, handshakes: device?.counters.handshakesCompleted ?? 0, delivered, dropped, dropCodes }),
}, async () => {
  device?.close();
  await kit?.close();
});

/** Datagrams that left the gateway: delivered to the destination, dropped, or failed. */
function handledCount(k: Kit): number {
  return k.metrics.total(MetricName.PacketsIn) + k.metrics.total(MetricName.PacketsDropped) + k.failures.total;
}

let outbox: WireItem[] = [];
let current = -1;
