/**
 * Gateway under test for sourced egress: a Listener (plain UDP or WireGuard) with the real
 * SourcedPacketProcessor and DeliveryQueueConsumer, fed SNS-envelope messages by an in-memory
 * delivery queue. Every datagram it sends is counted by a separate receiver process.
 *
 * Bodies are unsigned unless `load` asks for `signed`: then each envelope is signed as SNS signs
 * it (SignatureVersion 2, RSA-2048, a certificate made for the run by the openssl CLI, as the
 * tests make theirs) and a consumer that checks every signature takes them, as in AWS.
 */
import { performance } from 'node:perf_hooks';
import type { ListenerRecord } from '../../lib/private/records';
import type { DeliveryQueueConsumer } from '../../service/sourcing/delivery-queue-consumer';
import { makeSigningIdentity, signEnvelope, SigningIdentity } from '../../test/service/sourcing/sns-signing';
import { num, serve } from '../lib/agent-runtime';
import { BENCH_TOPIC_ARN, buildKit, Kit } from '../lib/gateway-kit';
import { BENCH_SIGNING_CERT_URL, sourcedBodies, sourcedBodiesFromArgs } from '../lib/memory-queue';

let kit: Kit | undefined;
let packetsPerMessage = 1;
/** The consumer of the loaded bodies: the unsigned one, or the verifying one for signed bodies. */
let consumer: DeliveryQueueConsumer | undefined;
let signing: SigningIdentity | undefined;

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
  /**
   * Builds the pool of SNS envelopes: `packets` entries each, Data of `size` bytes, all to one
   * remote; `signed: true` signs them and has the verifying consumer take them.
   */
  load: (args) => {
    if (!kit?.queue) throw new Error('start first');
    const options = sourcedBodiesFromArgs(BENCH_TOPIC_ARN, args);
    packetsPerMessage = options.packets;
    let bodies = sourcedBodies(options);
    if (args.signed === true) {
      const identity = (signing ??= makeSigningIdentity());
      bodies = bodies.map((body) => JSON.stringify(signEnvelope(JSON.parse(body) as Record<string, unknown>, identity, BENCH_SIGNING_CERT_URL, '2')));
      consumer = kit.verifyingConsumer(identity.certificatePem);
    } else {
      consumer = kit.consumer;
    }
    kit.queue.load(bodies);
    return { bodyBytes: bodies[0].length };
  },
  /**
   * One trial: hands out messages (paced at `rate` packets/s, or as fast as the consumer takes
   * them) for `durationMs`, waits until the gateway has handled every one, reports the counts.
   */
  run: async (args) => {
    const k = kit;
    const c = consumer;
    if (!k?.queue || !c) throw new Error('start and load first');
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
    c.start();
    const deadline = started + durationMs + 15_000;
    while (performance.now() < deadline && !(k.queue.exhausted && k.queue.messagesDeleted >= k.queue.messagesHandedOut)) {
      await new Promise((r) => setTimeout(r, 5));
    }
    const handledAt = performance.now();
    await c.stop();
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
