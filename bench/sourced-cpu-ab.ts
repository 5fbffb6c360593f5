/**
 * CPU time per sourced packet of two service trees, measured back to back: the sourced gateway
 * agent of `--base <dir>` (another checkout, e.g. `git archive <commit> | tar -x -C <dir>` with a
 * `node_modules` link) and of this tree, in alternating flood trials (A B B A …) on the same
 * core, with the envelope floor loop between them. Every figure is the sending process's CPU time
 * ÷ the datagrams it sent, so the machine's other load moves both sides alike.
 *
 *   npx tsx bench/sourced-cpu-ab.ts --base /tmp/base [--wireguard] [--size 64] [--runs 6] [--trial-ms 1500] [--rate 0]
 *
 * `--rate N` paces every side at N packets per second (below saturation) instead of flooding.
 *
 * Plain: every sender floods one counting receiver. WireGuard: each gateway has its own decrypting
 * receiver (bench/agents/wg-receiver.ts) and the floor loop seals to the counting receiver, as in
 * scenario 2 (B). Writes nothing.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Agent, useAgentBundles } from './lib/agent';
import { bundleAgents, bundleForNode, removeAgentBundles } from './lib/bundle';
import { positiveInteger } from './lib/cli-option';
import { generateKeyPair } from './lib/netns';
import { median } from './lib/stats';
import { Trial, trial } from './lib/throughput';
import { connectLoopbackReceiver, LOOPBACK_GATEWAY_TUNNEL, LOOPBACK_RECEIVER_TUNNEL } from './lib/wg-loopback-receiver';

interface Options {
  base: string;
  wireguard: boolean;
  size: number;
  packets: number;
  runs: number;
  trialMs: number;
  /** Packets per second offered to every side; 0 floods. */
  rate: number;
}

function parse(argv: readonly string[]): Options {
  const o: Options = { base: '', wireguard: false, size: 64, packets: 10, runs: 6, trialMs: 1500, rate: 0 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = (): string => argv[++i];
    if (a === '--base') o.base = path.resolve(next());
    else if (a === '--wireguard') o.wireguard = true;
    else if (a === '--size') o.size = positiveInteger('size', next());
    else if (a === '--packets') o.packets = positiveInteger('packets', next());
    else if (a === '--runs') o.runs = positiveInteger('runs', next());
    else if (a === '--trial-ms') o.trialMs = positiveInteger('trial-ms', next());
    else if (a === '--rate') o.rate = positiveInteger('rate', next());
    else throw new Error(`unknown option ${a}; allowed: --base dir, --wireguard, --size N, --packets N, --runs N, --trial-ms N, --rate N`);
  }
  if (!o.base || !fs.existsSync(path.join(o.base, 'bench', 'agents', 'sourced-gateway.ts'))) {
    throw new Error(`--base ${JSON.stringify(o.base)} is not a checkout with bench/agents/sourced-gateway.ts`);
  }
  return o;
}

/** Bundles the other tree's agents inside that tree (its node_modules resolve from there). */
function bundleTree(root: string): string {
  const out = path.join(root, 'bench', 'out', `ab-${process.pid}`);
  fs.rmSync(out, { recursive: true, force: true });
  bundleForNode([path.join(root, 'bench', 'agents', 'sourced-gateway.ts')], { outdir: out });
  return out;
}

const INNER = { SourceAddress: LOOPBACK_GATEWAY_TUNNEL, SourcePort: 40000, DestinationAddress: LOOPBACK_RECEIVER_TUNNEL, DestinationPort: 5201 };

interface Side {
  readonly label: string;
  readonly gateway: Agent;
  /** Counts the side's datagrams (the decrypting receiver for WireGuard). */
  readonly counter: Agent;
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  const baseBundles = bundleTree(o.base);
  const ownBundles = bundleAgents();
  const agents: Agent[] = [];
  const start = async (name: string, cpus: number[], bundles = ownBundles): Promise<Agent> => {
    useAgentBundles(bundles);
    const a = await Agent.start(name, { cpus });
    agents.push(a);
    return a;
  };
  try {
    const counter = await start('udp-counter', [1]);
    const { port: counterPort } = await counter.request<{ port: number }>('bind');
    const floor = await start('envelope-floor', [0]);
    await floor.request('open');
    const sides: Side[] = [];
    for (const [label, bundles] of [['base', baseBundles], ['this tree', ownBundles]] as const) {
      const gateway = await start('sourced-gateway', [0], bundles);
      if (!o.wireguard) {
        const { port } = await gateway.request<{ port: number }>('start', {
          listener: { Name: 'bench', Protocol: 'udp', Port: 0, BindAddress: '127.0.0.1', Destinations: [] },
        });
        await counter.request('ping', { host: '127.0.0.1', port });
        await gateway.request('load', { address: '127.0.0.1', port: counterPort, size: o.size, packets: o.packets });
        sides.push({ label, gateway, counter });
        continue;
      }
      const gatewayKey = generateKeyPair();
      const receiverKey = generateKeyPair();
      const receiver = await start('wg-receiver', [1]);
      const { receiverPort } = await connectLoopbackReceiver(gateway, receiver, gatewayKey, receiverKey);
      await gateway.request('load', { address: '127.0.0.1', port: receiverPort, peerKey: receiverKey.publicKey, size: o.size, packets: o.packets, inner: INNER });
      sides.push({ label, gateway, counter: receiver });
    }
    await floor.request('load', {
      address: '127.0.0.1',
      port: counterPort,
      size: o.size,
      packets: o.packets,
      ...(o.wireguard ? { peerKey: generateKeyPair().publicKey, inner: INNER, wireguard: true } : {}),
    });

    const gatewayTrial = (side: Side, ms: number): Promise<Trial> =>
      trial(side.counter, () => side.gateway.request('run', { durationMs: ms, rate: o.rate }, ms + 30_000), undefined, undefined, { agent: side.gateway, per: 'sent' });
    const floorTrial = (ms: number): Promise<Trial> =>
      trial(counter, () => floor.request('run', { durationMs: ms, rate: o.rate }), undefined, undefined, { agent: floor, per: 'sent' });

    for (const side of sides) await gatewayTrial(side, 2000);
    await floorTrial(300);
    const results = new Map<string, Trial[]>([...sides.map((s) => [s.label, []] as [string, Trial[]]), ['floor loop', []]]);
    for (let i = 0; i < o.runs; i++) {
      const order = i % 2 === 0 ? sides : [...sides].reverse();
      results.get(order[0].label)!.push(await gatewayTrial(order[0], o.trialMs));
      results.get('floor loop')!.push(await floorTrial(o.trialMs));
      results.get(order[1].label)!.push(await gatewayTrial(order[1], o.trialMs));
    }
    const load = fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    console.log(`${o.wireguard ? 'WireGuard' : 'plain'} ${o.size} B × ${o.packets}, ${o.rate > 0 ? `paced at ${o.rate}/s` : 'flood'}, ${o.runs} runs of ${o.trialMs} ms, load ${load}`);
    for (const [label, trials] of results) {
      const cpu = trials.map((t) => t.cpuUsPerPacket ?? NaN);
      console.log(`  ${label.padEnd(10)} CPU/packet median ${median(cpu).toFixed(2)} µs (${cpu.map((c) => c.toFixed(2)).join(', ')}); `
        + `rate median ${(median(trials.map((t) => t.rate)) / 1000).toFixed(1)}k/s, loss ${(median(trials.map((t) => t.loss)) * 100).toFixed(2)} %`);
    }
    const [a, b] = sides.map((s) => median(results.get(s.label)!.map((t) => t.cpuUsPerPacket ?? NaN)));
    const f = median(results.get('floor loop')!.map((t) => t.cpuUsPerPacket ?? NaN));
    console.log(`  this tree ÷ base CPU: ${(b / a).toFixed(3)}; floor ÷ base ${(f / a).toFixed(3)}, floor ÷ this tree ${(f / b).toFixed(3)}`);
  } finally {
    await Promise.all(agents.map((a) => a.stop()));
    removeAgentBundles();
    fs.rmSync(path.join(o.base, 'bench', 'out', `ab-${process.pid}`), { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
