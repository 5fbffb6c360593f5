/**
 * The ingress gateway's own work per datagram above the socket, in one process: the benchmark's
 * Listener with its Lambda destination (bench/lib/counting-lambda.ts), fed by calling the
 * Listener's receive callback directly in bursts of 64 (as the flood sender sends them), so the
 * socket's own receive cost (the same for any receiver) is left out and what remains is the
 * gateway's work: pipeline, tag, packet JSON, batching, Invoke (request, SigV4 signing, answer)
 * and the counting stand-in, whose cost per packet is measured after each round (`gateway…`
 * figures leave it out). CPU time ÷ packets counted, best and median of several rounds.
 *
 *   npx tsx bench/ingress-work.ts [--size 64] [--rounds 5] [--packets 120000]
 *
 * A/B comparisons: bundle this script (esbuild, as the bench bundles its agents) in each tree and
 * run the two back to back, alternating, in the same minute (bench/OPTIMIZATIONS.md).
 */
import type { RemoteInfo } from 'node:dgram';
import { handlerStats } from './fixtures/handler-stats';
import { positiveIntegerOption } from './lib/cli-option';
import { countingCpuUsPerPacket, countingLambdaClient } from './lib/counting-lambda';
import { BENCH_REGION, buildKit } from './lib/gateway-kit';
import type { ListenerRecord } from '../lib/private/records';
import { DirectLambdaInvoker } from '../service/destinations/lambda-invoker';

const BURST = 64;

async function main(): Promise<void> {
  const size = positiveIntegerOption('size', 64);
  const rounds = positiveIntegerOption('rounds', 5);
  const packets = positiveIntegerOption('packets', 120_000);
  const record: ListenerRecord = {
    Name: 'bench',
    Protocol: 'udp',
    Port: 0,
    BindAddress: '127.0.0.1',
    Destinations: [{ Name: 'counting-lambda', Type: 'lambda', Arn: `arn:aws:lambda:${BENCH_REGION}:000000000000:function:bench-counter` }],
  };
  const kit = await buildKit({ listener: record, lambdaInvoker: new DirectLambdaInvoker(countingLambdaClient(BENCH_REGION)) });
  const receive = (kit.listener as unknown as { onMessage: (msg: Buffer, rinfo: RemoteInfo) => void }).onMessage;
  const rinfo: RemoteInfo = { address: '127.0.0.1', port: 40000, family: 'IPv4', size };
  const stats = handlerStats();
  const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
  const perPacket: number[] = [];
  /** CPU time the counting stand-in recorded for itself, per packet. */
  const standIn: number[] = [];
  for (let round = 0; round <= rounds; round++) {
    stats.reset();
    const before = process.cpuUsage();
    for (let sent = 0; sent < packets; sent += BURST) {
      // a fresh buffer per datagram, as the socket hands over
      for (let i = 0; i < BURST; i++) receive(Buffer.allocUnsafeSlow(size), rinfo);
      await turn();
    }
    const sent = Math.ceil(packets / BURST) * BURST;
    while (stats.packets < sent) await new Promise((resolve) => setTimeout(resolve, 1));
    const used = process.cpuUsage(before);
    if (round > 0) { // round 0 warms up
      perPacket.push((used.user + used.system) / sent);
      standIn.push(countingCpuUsPerPacket());
    }
  }
  const sorted = [...perPacket].sort((a, b) => a - b);
  const gateway = perPacket.map((v, i) => v - standIn[i]).sort((a, b) => a - b);
  console.log(JSON.stringify({
    size,
    bestUs: +sorted[0].toFixed(3),
    medianUs: +sorted[Math.floor(sorted.length / 2)].toFixed(3),
    gatewayBestUs: +gateway[0].toFixed(3),
    gatewayMedianUs: +gateway[Math.floor(gateway.length / 2)].toFixed(3),
    standInMedianUs: +[...standIn].sort((a, b) => a - b)[Math.floor(standIn.length / 2)].toFixed(3),
    roundsUs: perPacket.map((v) => +v.toFixed(3)),
    datagramsIn: kit.metrics.total('DatagramsIn'),
    dropped: kit.metrics.total('PacketsDropped'),
    failures: kit.failures.total,
  }));
  await kit.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
