/**
 * The sourced gateway's own work per packet above the socket, in one process: the benchmark's
 * plain UDP Listener, SourcedPacketProcessor and DeliveryQueueConsumer reading the in-memory
 * delivery queue (as bench/agents/sourced-gateway.ts), with the Listener socket's `send` replaced
 * by one that completes on the next tick (as dgram's callback comes after the send), so the
 * `sendto` itself (the same for any sender) is left out. Beside it, the floor loop's work with the
 * same stand-in send: parse the envelope and its message, decode each `Data`, send with a
 * callback. CPU time ÷ packets, median of several rounds each, alternating.
 *
 *   npx tsx bench/sourced-work.ts [--size 64] [--packets 10] [--rounds 7] [--messages 20000]
 *
 * A/B comparisons: bundle this script (esbuild, as the bench bundles its agents) in each tree and
 * run the two back to back, alternating, on the same core (bench/OPTIMIZATIONS.md).
 */
import * as dgram from 'node:dgram';
import { positiveIntegerOption } from './lib/cli-option';
import { BENCH_TOPIC_ARN, buildKit } from './lib/gateway-kit';
import { sourcedBodies } from './lib/memory-queue';
import { median } from './lib/stats';
import { processCpuUs } from './lib/thread-cpu';

type SendCallback = (err: Error | null, bytes?: number) => void;

/** A socket `send` that sends nothing and completes on the next tick. */
function stubSend(counter: { sent: number }): (data: Buffer, port: number, address: string, done?: SendCallback) => void {
  return (data, _port, _address, done) => {
    counter.sent++;
    if (done) process.nextTick(done, null, data.length);
  };
}

async function main(): Promise<void> {
  const size = positiveIntegerOption('size', 64);
  const packets = positiveIntegerOption('packets', 10);
  const rounds = positiveIntegerOption('rounds', 7);
  const messages = positiveIntegerOption('messages', 20_000);
  const kit = await buildKit({ listener: { Name: 'bench', Protocol: 'udp', Port: 0, BindAddress: '127.0.0.1', Destinations: [] }, sourced: true });
  const client = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', resolve));
  const clientPort = client.address().port;
  // the client's flow (sends to clients without one are refused, as in AWS mode)
  client.send(Buffer.from('ping'), kit.listener.port, '127.0.0.1');
  await new Promise((r) => setTimeout(r, 50));
  const counter = { sent: 0 };
  const socket = (kit.listener as unknown as { socket: dgram.Socket }).socket;
  (socket as unknown as { send: unknown }).send = stubSend(counter);
  const bodies = sourcedBodies({ topicArn: BENCH_TOPIC_ARN, size, packets, address: '127.0.0.1', port: clientPort });
  const queue = kit.queue!;
  const consumer = kit.consumer!;
  queue.load(bodies);

  const gatewayRound = async (): Promise<number> => {
    const sentBefore = counter.sent;
    queue.begin({ rate: 0, maxMessages: messages, durationMs: 600_000 });
    const before = processCpuUs();
    consumer.start();
    while (!(queue.exhausted && queue.messagesDeleted >= queue.messagesHandedOut)) await new Promise((r) => setTimeout(r, 2));
    const used = processCpuUs() - before;
    await consumer.stop();
    // the queue may hand out a few more than asked (receives overlap)
    const expected = queue.messagesHandedOut * packets;
    if (counter.sent - sentBefore !== expected) throw new Error(`sent ${counter.sent - sentBefore} of ${expected}`);
    return used / expected;
  };

  const floorSend = stubSend(counter);
  let completed = 0;
  const onSent = (err: Error | null): void => {
    if (!err) completed++;
  };
  const floorRound = async (): Promise<number> => {
    completed = 0;
    const before = processCpuUs();
    for (let m = 0; m < messages;) {
      // a few messages per event-loop turn, as the consumer gets them from a receive
      for (const end = Math.min(messages, m + 10); m < end; m++) {
        const envelope = JSON.parse(bodies[m % bodies.length]) as { Message: string };
        const entries = (JSON.parse(envelope.Message) as { Messages: Array<{ Data: string; Remote: { Address: string; Port: number } }> }).Messages;
        for (let e = 0; e < entries.length; e++) {
          const entry = entries[e];
          floorSend(Buffer.from(entry.Data, 'base64'), entry.Remote.Port, entry.Remote.Address, onSent);
        }
      }
      await new Promise((r) => setImmediate(r));
    }
    while (completed < messages * packets) await new Promise((r) => setImmediate(r));
    return (processCpuUs() - before) / (messages * packets);
  };

  await gatewayRound();
  await floorRound();
  const gateway: number[] = [];
  const floor: number[] = [];
  for (let i = 0; i < rounds; i++) {
    gateway.push(await gatewayRound());
    floor.push(await floorRound());
  }
  const g = median(gateway);
  const f = median(floor);
  console.log(JSON.stringify({
    size,
    packets,
    gatewayNsPerPacket: Math.round(g * 1000),
    floorNsPerPacket: Math.round(f * 1000),
    beyondFloorNs: Math.round((g - f) * 1000),
    gatewayRounds: gateway.map((v) => Math.round(v * 1000)),
    floorRounds: floor.map((v) => Math.round(v * 1000)),
  }));
  client.close();
  await kit.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
