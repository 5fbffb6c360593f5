/**
 * Gateway under test for sourced egress: a Listener (plain UDP or WireGuard) with the real
 * SourcedPacketProcessor and DeliveryQueueConsumer, fed SNS-envelope messages by an in-memory
 * delivery queue. Every datagram it sends is counted by a separate receiver process.
 *
 * Bodies are unsigned. A `load` with `signed` also signs a copy of each envelope as SNS signs it
 * (SignatureVersion 2, RSA-2048, a certificate made for the run by the openssl CLI, as the tests
 * make theirs), and a `run` with `signed` hands out those through a consumer that checks every
 * signature, as in AWS.
 *
 * `start` with `workers` above 1 (Node.js 22.12 or later) runs that many data-plane workers, the
 * main thread included, as the service does: this file is then also the entry of the worker
 * threads (the pool starts them from the running bundle).
 */
import { performance } from 'node:perf_hooks';
import type { ListenerRecord } from '../../lib/private/records';
import { isDataPlaneWorkerThread, runDataPlaneWorkerThread } from '../../service/workers/data-plane-worker';
import { makeSigningIdentity, signEnvelope, SigningIdentity } from '../../test/service/sourcing/sns-signing';
import { num, serve } from '../lib/agent-runtime';
import { BENCH_TOPIC_ARN, buildKit, Kit } from '../lib/gateway-kit';
import { BENCH_SIGNING_CERT_URL, sourcedBodies, sourcedBodiesFromArgs } from '../lib/memory-queue';

let kit: Kit | undefined;
let packetsPerMessage = 1;
/** The loaded bodies, and (after a `load` with `signed`) the same bodies signed. */
let bodies: string[] = [];
let signedBodies: string[] | undefined;
let signing: SigningIdentity | undefined;

if (isDataPlaneWorkerThread()) {
  runDataPlaneWorkerThread();
} else {
  serve({
    start: async (args) => {
      const record = args.listener as ListenerRecord;
      kit = await buildKit({
        listener: record,
        sourced: true,
        requireActiveFlow: args.requireActiveFlow !== false,
        deniedNetworks: (args.deniedNetworks as string[] | undefined) ?? ['10.0.0.0/16'],
        local: args.local !== false,
        workers: num(args, 'workers', 1),
      });
      return { port: kit.listener.port, address: kit.listener.address, publicKey: kit.listener.publicKey, workers: kit.workers?.pool.count ?? 1 };
    },
    /** Of the clients at `address` and `ports`, how many the main thread holds a flow of, and how many a worker thread. */
    owners: (args) => {
      if (!kit) throw new Error('start first');
      const address = String(args.address);
      const ports = (args.ports as unknown[]).map(Number);
      const name = kit.listener.name;
      return {
        main: ports.filter((port) => kit!.gateway.flows.isActive(name, address, port)).length,
        workerThreads: ports.filter((port) => kit!.workers?.pool.holds(name, address, port) === true).length,
      };
    },
    /**
     * Builds the pool of SNS envelopes: `packets` entries each, Data of `size` bytes, all to one
     * remote (or to `ports` in turn); `signed: true` also signs a copy of each, for the runs that ask for `signed`.
     */
    load: (args) => {
      if (!kit?.queue) throw new Error('start first');
      const options = sourcedBodiesFromArgs(BENCH_TOPIC_ARN, args);
      packetsPerMessage = options.packets;
      bodies = sourcedBodies(options);
      signedBodies = undefined;
      if (args.signed === true) {
        const identity = (signing ??= makeSigningIdentity());
        signedBodies = bodies.map((body) => JSON.stringify(signEnvelope(JSON.parse(body) as Record<string, unknown>, identity, BENCH_SIGNING_CERT_URL, '2')));
      }
      return { bodyBytes: bodies[0].length };
    },
    /**
     * One trial (`signed`: of the signed bodies, through the consumer that checks each signature, as
     * in AWS; else of the unsigned ones): hands out messages (paced at `rate` packets/s, or as fast as the consumer takes
     * them) for `durationMs`, waits until the gateway has handled every one, reports the counts.
     */
    run: async (args) => {
      const k = kit;
      if (!k?.queue || !k.consumer || bodies.length === 0) throw new Error('start and load first');
      const signed = args.signed === true;
      if (signed && !signedBodies) throw new Error('load with signed first');
      const c = signed ? k.verifyingConsumer(signing!.certificatePem) : k.consumer;
      k.queue.load(signed ? signedBodies! : bodies);
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
}
