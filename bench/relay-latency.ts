/**
 * Relay round trip between two fleet members on loopback (docs/BENCHMARKS.md "Fleet relay"):
 * `npx tsx bench/relay-latency.ts`. One request at a time for latency, then 50,000 pipelined
 * (the in-flight window of 1,024) for throughput; 64-byte payloads, the owner answers Sent.
 * `npm run bench` measures the hop across two processes, with CPU per relayed packet (scenario
 * `relay-hop`, bench/scenarios/relay-hop.ts); this script is the quick one-process look.
 */
import { RelayEndpoint } from '../service/fleet/relay';
import { RelayOutcome } from '../service/fleet/relay-codec';

const NO_METRICS = { increment: (): void => undefined, observe: (): void => undefined };

async function main(): Promise<void> {
  const secret = Buffer.alloc(32, 1);
  const owner = new RelayEndpoint({ memberId: 'b', secret, port: 0, bindAddress: '127.0.0.1', serve: (_r, _s, answer) => answer({ outcome: RelayOutcome.Sent }), metrics: NO_METRICS });
  const holder = new RelayEndpoint({ memberId: 'a', secret, port: 0, bindAddress: '127.0.0.1', serve: () => undefined, metrics: NO_METRICS });
  await holder.start();
  await owner.start();
  const peer = { memberId: 'b', address: '127.0.0.1', port: owner.port };
  const request = { deadline: 0, listener: 'udp-main', address: '198.51.100.2', port: 40000, messageId: 'message', index: 0, data: Buffer.alloc(64) };
  const one = (): Promise<number> => new Promise((resolve) => {
    const started = process.hrtime.bigint();
    holder.request(peer, request, () => resolve(Number(process.hrtime.bigint() - started) / 1e6));
  });
  for (let i = 0; i < 2000; i++) await one();
  const latencies: number[] = [];
  for (let i = 0; i < 10_000; i++) latencies.push(await one());
  latencies.sort((x, y) => x - y);
  const quantile = (p: number): string => latencies[Math.floor(p * latencies.length)].toFixed(3);
  const count = 50_000;
  const started = Date.now();
  let answered = 0;
  await new Promise<void>((resolve) => {
    for (let i = 0; i < count; i++) holder.request(peer, request, () => (++answered === count ? resolve() : undefined));
  });
  const seconds = (Date.now() - started) / 1000;
  console.log(`round trip ms: p50 ${quantile(0.5)} p99 ${quantile(0.99)}; pipelined: ${count} in ${seconds.toFixed(2)} s = ${Math.round(count / seconds)}/s`);
  await holder.stop();
  await owner.stop();
}

void main();
