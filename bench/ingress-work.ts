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
 * A/B comparisons of two trees: bench/ingress-cpu-ab.ts (both in one process, alternating).
 */
import { positiveIntegerOption } from './lib/cli-option';
import { startIngressWork } from './lib/ingress-work-kit';

async function main(): Promise<void> {
  const size = positiveIntegerOption('size', 64);
  const rounds = positiveIntegerOption('rounds', 5);
  const packets = positiveIntegerOption('packets', 120_000);
  const work = await startIngressWork(size);
  const perPacket: number[] = [];
  /** CPU time the counting stand-in recorded for itself, per packet. */
  const standIn: number[] = [];
  for (let round = 0; round <= rounds; round++) {
    const r = await work.round(packets);
    if (round > 0) { // round 0 warms up
      perPacket.push(r.cpuUs);
      standIn.push(r.standInUs);
    }
  }
  const sorted = [...perPacket].sort((a, b) => a - b);
  const gateway = perPacket.map((v, i) => v - standIn[i]).sort((a, b) => a - b);
  const { metrics, failures } = work.kit;
  console.log(JSON.stringify({
    size,
    bestUs: +sorted[0].toFixed(3),
    medianUs: +sorted[Math.floor(sorted.length / 2)].toFixed(3),
    gatewayBestUs: +gateway[0].toFixed(3),
    gatewayMedianUs: +gateway[Math.floor(gateway.length / 2)].toFixed(3),
    standInMedianUs: +[...standIn].sort((a, b) => a - b)[Math.floor(standIn.length / 2)].toFixed(3),
    roundsUs: perPacket.map((v) => +v.toFixed(3)),
    datagramsIn: metrics.total('DatagramsIn'),
    dropped: metrics.total('PacketsDropped'),
    failures: failures.total,
  }));
  await work.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
