/**
 * Gateway under test for sourced egress: a Listener (plain UDP or WireGuard) with the real
 * SourcedPacketProcessor and DeliveryQueueConsumer, fed SNS-envelope messages by an in-memory
 * delivery queue. Every datagram it sends is counted by a separate receiver process.
 */
import { performance } from 'node:perf_hooks';
import type { ListenerRecord } from '../../lib/private/records';
import { num, serve } from '../lib/agent-runtime';
import { BENCH_TOPIC_ARN, buildKit, Kit } from '../lib/gateway-kit';
import { sourcedBodies, sourcedBodiesFromArgs } from '../lib/memory-queue';

let kit: Kit | undefined;
let packetsPerMessage = 1;

serve({
  start: async (args) => {
    const record = args.listener as ListenerRecord;
    kit = await buildKit({
      listener: record,
      sourced: true,
      requireActiveFlow: args.requireActiveFlow !== false,
      deniedNetworks: (args.deniedNetworks as string[] | undefined) ?? ['10.0.0.0/16'],
      local: args.local !== false,
    });
    return { port: kit.listener.port, address: kit.listener.address, publicKey: kit.listener.publicKey };
  },
  /** Builds the pool of SNS envelopes: `packets` entries each, Data of `size` bytes, all to one remote. */
  load: (args) => {
    if (!kit?.queue) throw new Error('start first');
    const options = sourcedBodiesFromArgs(BENCH_TOPIC_ARN, args);
    packetsPerMessage = options.packets;
    const bodies = sourcedBodies(options);
    kit.queue.load(bodies);
    return { bodyBytes: bodies[0].length };
  },
  /**
   * One trial: hands out messages (paced at `rate` packets/s, or as fast as the consumer takes
   * them) for `durationMs`, waits until the gateway has handled every one, reports the counts.
   */
  run: async (args) => {
    const k = kit;
    if (!k?.queue || !k.consumer) throw new Error('start and load first');
    const packetRate = num(args, 'rate', 0);
    const durationMs = num(args, 'durationMs');
    const maxPackets = num(args, 'maxPackets', 50_000_000);
    const failuresBefore = k.failures.total;
    const sentBefore = k.metrics.total('SourcedSent');
    const started = performance.now();
    k.queue.begin({
      rate: packetRate > 0 ? packetRate / packetsPerMessage : 0,
      maxMessages: Math.ceil(maxPackets / packetsPerMessage),
      durationMs,
    });
    k.consumer.start();
    const deadline = started + durationMs + 15_000;
    while (performance.now() < deadline && !(k.queue.exhausted && k.queue.messagesDeleted >= k.queue.messagesHandedOut)) {
      await new Promise((r) => setTimeout(r, 5));
    }
    const handledAt = performance.now();
    await k.consumer.stop();
    const messages = k.queue.messagesHandedOut;
    return {
      sent: messages * packetsPerMessage,
      gatewaySent: k.metrics.total('SourcedSent') - sentBefore,
      failures: k.failures.total - failuresBefore,
      failuresByCode: k.failures.countsByCode(),
      messages,
      deleted: k.queue.messagesDeleted,
      requests: k.queue.requests,
      // the producer's own rate: messages were handed out over this span (the tail after it is draining)
      elapsedMs: Math.max(1, k.queue.handOutSpanMs),
      totalMs: handledAt - started,
    };
  },
}, async () => {
  await kit?.close();
});
