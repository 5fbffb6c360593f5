/**
 * The gateway's own work per round trip on the AWS-mode Lambda reply path, in one process: the
 * benchmark's Listener with a Lambda destination answered by the in-memory echoing function
 * (bench/lib/echo-lambda.ts), fed by calling the Listener's receive callback directly, one
 * datagram per event-loop turn (as a latency-sensitive client's datagrams arrive), so the
 * socket's receive cost is left out. Per datagram: pipeline, tag, packet JSON, batch of
 * `--count`, Invoke (request, SigV4 signing, answer), the answer's parse, the reply's routing
 * and its send on the Listener's socket (to a socket of this process). The stand-in's own time
 * (parsing the event, writing the answer) is measured as it runs and left out of `gateway…`.
 * `roundTrip…`: from handing a datagram to the Listener to its reply arriving at this process's
 * socket, per round (the gateway's whole path in one process, no other load on its event loop).
 *
 *   npx tsx bench/reply-work.ts [--count 1] [--rounds 5] [--packets 20000]
 *
 * A/B comparisons: run it in each tree back to back, alternating, in the same minute.
 */
import * as dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { handlerStats } from './fixtures/handler-stats';
import { positiveIntegerOption } from './lib/cli-option';
import { echoLambdaClient } from './lib/echo-lambda';
import { BENCH_REGION, buildKit } from './lib/gateway-kit';
import type { ListenerRecord } from '../lib/private/records';
import { DirectLambdaInvoker } from '../service/destinations/lambda-invoker';

async function main(): Promise<void> {
  const count = positiveIntegerOption('count', 1);
  const rounds = positiveIntegerOption('rounds', 5);
  const packets = positiveIntegerOption('packets', 20_000);
  const client = dgram.createSocket('udp4');
  let replies = 0;
  /** When each datagram of the round was handed to the Listener, and how long its reply took to arrive (ms). */
  const handedAt = new Float64Array(packets);
  const roundTrip = new Float64Array(packets);
  client.on('message', (msg: Buffer) => {
    replies++;
    const seq = msg.readUInt32BE(0);
    if (seq < packets) roundTrip[seq] = performance.now() - handedAt[seq];
  });
  await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', resolve));
  const record: ListenerRecord = {
    Name: 'bench',
    Protocol: 'udp',
    Port: 0,
    BindAddress: '127.0.0.1',
    Destinations: [{
      Name: 'echo-lambda',
      Type: 'lambda',
      Arn: `arn:aws:lambda:${BENCH_REGION}:000000000000:function:bench-echo`,
      Batching: count === 1 ? { Count: 1 } : { Count: count, TimeoutInSeconds: 0.001 },
    }],
  };
  const kit = await buildKit({ listener: record, lambdaInvoker: new DirectLambdaInvoker(echoLambdaClient(BENCH_REGION)) });
  const receive = (kit.listener as unknown as { onMessage: (msg: Buffer, rinfo: dgram.RemoteInfo) => void }).onMessage;
  const rinfo: dgram.RemoteInfo = { address: '127.0.0.1', port: client.address().port, family: 'IPv4', size: 64 };
  const stats = handlerStats();
  const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
  const perTrip: number[] = [];
  const gateway: number[] = [];
  const p50: number[] = [];
  const p99: number[] = [];
  for (let round = 0; round <= rounds; round++) {
    stats.reset();
    replies = 0;
    const before = process.cpuUsage();
    for (let sent = 0; sent < packets; sent++) {
      const payload = Buffer.alloc(64, 0x41);
      payload.writeUInt32BE(sent, 0);
      handedAt[sent] = performance.now();
      receive(payload, rinfo);
      await turn();
    }
    const deadline = Date.now() + 5000;
    while (replies < packets && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 1));
    const used = process.cpuUsage(before);
    if (round > 0) { // round 0 warms up
      const us = (used.user + used.system) / packets;
      perTrip.push(us);
      gateway.push(us - (stats.handlerMs * 1000) / packets);
      const sorted = [...roundTrip].sort((a, b) => a - b);
      p50.push(sorted[Math.floor(packets / 2)]);
      p99.push(sorted[Math.floor(packets * 0.99)]);
    }
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(JSON.stringify({
    count,
    medianUs: +median(perTrip).toFixed(2),
    gatewayBestUs: +Math.min(...gateway).toFixed(2),
    gatewayMedianUs: +median(gateway).toFixed(2),
    roundsUs: perTrip.map((v) => +v.toFixed(2)),
    roundTripP50Ms: p50.map((v) => +v.toFixed(3)),
    roundTripP99Ms: p99.map((v) => +v.toFixed(3)),
    replies,
    failures: kit.failures.total,
    failuresByCode: kit.failures.countsByCode(),
  }));
  await kit.close();
  client.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
