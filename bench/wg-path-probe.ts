/**
 * `npx tsx bench/wg-path-probe.ts [--size N] [--rates a,b,c] [--trial-ms N]`: where sourced
 * WireGuard packets go on the way from the gateway's Listener (namespace A) through wireguard-go
 * (namespace B) to the counting receiver behind it — the path of scenario 2 (A).
 *
 * For each paced rate it reports, per trial: packets the gateway sent, the gateway's CPU time per
 * packet, packets that reached namespace B's veth, datagrams wireguard-go's socket took in and
 * dropped for want of receive buffer (`/proc/net/udp` drops column), datagrams the counting
 * receiver's socket dropped, and datagrams counted. Prints only; writes nothing.
 */
import { Agent, useAgentBundles } from './lib/agent';
import { bundleAgents, removeAgentBundles } from './lib/bundle';
import { generateKeyPair } from './lib/netns';
import { cpuTimeUs, drain } from './lib/throughput';
import { addWireguardGoA, createBed, destroyBed, INNER_PORT, startGatewayListener, TUNNEL_A, TUNNEL_B, UNDERLAY_A, UNDERLAY_B, WG_PORT_A, WG_PORT_B, WgBed } from './lib/wg-lab';
import { processCpuUs, sealedDatagramBytes, socketMemory, udpSocketDrops, vethRxPackets } from './lib/wg-path';
import { HEADLINE_PACKETS_PER_MESSAGE } from './scenarios/sourced-plain';

interface Options {
  size: number;
  rates: number[];
  trialMs: number;
  packets: number;
  /** Measure the wireguard-go tunnel (a dgram sender into wireguard-go A) instead of the gateway. */
  tunnel: boolean;
  /**
   * Measure a raw dgram sender loop in namespace A sending datagrams of the size of a sealed
   * packet straight to wireguard-go B's port (which discards them): the cost of the send itself.
   */
  raw: boolean;
}

function parseArgs(argv: readonly string[]): Options {
  const o: Options = {
    size: 1200, rates: [10_000, 20_000, 30_000, 40_000, 60_000], trialMs: 1500, packets: HEADLINE_PACKETS_PER_MESSAGE, tunnel: false, raw: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i + 1];
    if (argv[i] === '--raw') {
      o.raw = true;
      continue;
    }
    if (argv[i] === '--tunnel') {
      o.tunnel = true;
      continue;
    }
    if (argv[i] === '--size') o.size = Number(v);
    else if (argv[i] === '--rates') o.rates = v.split(',').map(Number);
    else if (argv[i] === '--trial-ms') o.trialMs = Number(v);
    else if (argv[i] === '--packets') o.packets = Number(v);
    else throw new Error(`unknown option ${argv[i]}; allowed: --size N, --rates a,b, --trial-ms N, --packets N, --tunnel, --raw`);
    i++;
  }
  return o;
}

/** The sending side of the path under test: `run` sends paced for a trial, `pid`/`cpuUs` measure it. */
interface Sender {
  run(rate: number, durationMs: number): Promise<{ sent: number; elapsedMs: number; failures?: number }>;
  cpuUs(): Promise<number>;
}

async function gatewaySender(bed: WgBed, o: Options, agents: Agent[]): Promise<Sender> {
  const gateway = await startGatewayListener(bed, (g) => agents.push(g));
  await gateway.request('load', {
    address: UNDERLAY_B,
    port: WG_PORT_B,
    peerKey: bed.keyB.publicKey,
    size: o.size,
    packets: o.packets,
    inner: { SourceAddress: TUNNEL_A, SourcePort: 40000, DestinationAddress: TUNNEL_B, DestinationPort: INNER_PORT },
  });
  const sender: Sender = {
    run: (rate, durationMs) => gateway.request('run', { rate, durationMs }, 60_000),
    cpuUs: () => cpuTimeUs(gateway),
  };
  await sender.run(5000, 1000);
  return sender;
}

async function tunnelSender(bed: WgBed, o: Options, agents: Agent[]): Promise<Sender> {
  const wgA = await addWireguardGoA(bed);
  const udp = await Agent.start('udp-sender', { netns: bed.nsA });
  agents.push(udp);
  await udp.request('open', { address: TUNNEL_A });
  await udp.request('run', { host: TUNNEL_B, port: INNER_PORT, size: 64, rate: 100, durationMs: 200 });
  await bed.counter.request('waitFor', { count: 1, timeoutMs: 8000 }, 15_000);
  const sender: Sender = {
    run: (rate, durationMs) => udp.request('run', { host: TUNNEL_B, port: INNER_PORT, size: o.size, rate, durationMs }, 60_000),
    cpuUs: async () => (await cpuTimeUs(udp)) + processCpuUs(wgA.pid),
  };
  await sender.run(5000, 1000);
  return sender;
}

async function rawSender(bed: WgBed, o: Options, agents: Agent[]): Promise<Sender> {
  const udp = await Agent.start('udp-sender', { netns: bed.nsA });
  agents.push(udp);
  await udp.request('open', { address: UNDERLAY_A });
  const sealed = sealedDatagramBytes(o.size);
  return {
    run: (rate, durationMs) => udp.request('run', { host: UNDERLAY_B, port: WG_PORT_B, size: sealed, rate, durationMs }, 60_000),
    cpuUs: () => cpuTimeUs(udp),
  };
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  useAgentBundles(bundleAgents());
  let bed: WgBed | undefined;
  const agents: Agent[] = [];
  try {
    bed = await createBed(generateKeyPair());
    const sender = o.raw ? await rawSender(bed, o, agents) : o.tunnel ? await tunnelSender(bed, o, agents) : await gatewaySender(bed, o, agents);
    console.log(`${o.raw ? 'raw dgram sender (sealed-packet size)' : o.tunnel ? 'wireguard-go tunnel' : 'gateway Listener'} → wireguard-go B, ${o.size} B${o.tunnel ? '' : `, ${o.packets} packets per message`}, ${o.trialMs} ms trials`);
    console.log(`socket buffers: wireguard-go B :${WG_PORT_B} ${socketMemory(bed.nsB, WG_PORT_B)}; sender side :${WG_PORT_A} ${o.tunnel || !o.raw ? socketMemory(bed.nsA, WG_PORT_A) : '-'}`);
    console.log('CPU µs per packet sent: "send" = the sending side (gateway, or dgram sender + wireguard-go A); "wgB" and "ctr" per packet counted');
    console.log('paced   sent/s   send µs  wgB µs  ctr µs  vethB     wgIn      wgDrops  ctrDrops  counted   loss     gateway failures');
    for (const rate of o.rates) {
      const counter = bed.counter;
      await counter.request('reset');
      const snapshot = async (): Promise<{ sockets: Map<number, number>; veth: number; cpu: number; wgB: number; ctr: number }> => ({
        sockets: udpSocketDrops(bed!.nsB),
        veth: vethRxPackets(bed!.nsB),
        cpu: await sender.cpuUs(),
        wgB: processCpuUs(bed!.wgB.pid),
        ctr: await cpuTimeUs(counter),
      });
      const before = await snapshot();
      const r = await sender.run(rate, o.trialMs);
      const stats = await drain(counter);
      const after = await snapshot();
      const drops = (port: number): number => (after.sockets.get(port) ?? 0) - (before.sockets.get(port) ?? 0);
      const veth = after.veth - before.veth;
      const wgDrops = drops(WG_PORT_B);
      const perCounted = (us: number): string => (us / Math.max(1, stats.count)).toFixed(2);
      console.log([
        String(rate).padEnd(7),
        String(Math.round((r.sent * 1000) / r.elapsedMs)).padEnd(8),
        ((after.cpu - before.cpu) / r.sent).toFixed(2).padEnd(8),
        perCounted(after.wgB - before.wgB).padEnd(7),
        perCounted(after.ctr - before.ctr).padEnd(7),
        String(veth).padEnd(9),
        String(veth - wgDrops).padEnd(9),
        String(wgDrops).padEnd(8),
        String(drops(INNER_PORT)).padEnd(9),
        String(stats.count).padEnd(9),
        `${((1 - stats.count / r.sent) * 100).toFixed(2)} %`.padEnd(8),
        String(r.failures ?? '-'),
      ].join(' '));
    }
  } finally {
    await destroyBed(bed, agents);
    removeAgentBundles();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
