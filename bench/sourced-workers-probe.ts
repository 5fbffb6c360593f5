/**
 * Sourced egress over data-plane workers in one process, without a receiver's cost: the bench's
 * sourced kit (the real DeliveryQueueConsumer, SourcedPacketProcessor, UDP Listener and, above one
 * worker, a WorkerPool wired as the service runtime wires it) consuming the in-memory delivery
 * queue, its entries spread over 16 clients that nothing reads (bench/lib/unread-clients.ts), so
 * the kernel hashes some of them to the worker threads' sockets. Per round: the rate, the CPU time
 * per packet of the main thread and of the process, the routed entries' share and how many go to
 * a worker thread per message (the pool's hand-offs, counted at the first worker thread's port).
 * Node.js 22.12 or later above one worker (dgram `reusePort`):
 *
 *   npx -y -p node@22 node --import tsx bench/sourced-workers-probe.ts [--workers 2] [--in-flight 30,60] [--rate 0] [--rounds 4] [--seconds 2]
 *
 * `--in-flight` lists consumer windows of messages to compare, alternating in the same process
 * (so on the same spread of clients; default: the service's, 30 per worker); `--rate` paces the
 * queue in packets per second (0 floods).
 */
import { performance } from 'node:perf_hooks';
import { nonNegativeInteger, positiveInteger, positiveIntegerOption } from './lib/cli-option';
import { BENCH_TOPIC_ARN, buildKit } from './lib/gateway-kit';
import { sourcedBodies } from './lib/memory-queue';
import { mainThreadCpuUs, processCpuUs } from './lib/thread-cpu';
import { startUnreadClients } from './lib/unread-clients';
import { inFlightMessagesFor } from '../service/sourcing/delivery-queue-consumer';

const CLIENTS = 16;
const PACKETS_PER_MESSAGE = 10;

/** The pool's first worker thread, as far as this probe looks at it. */
interface PostingThread {
  postMessage(message: { kind: string; count?: number }, transfer?: unknown): void;
}

async function main(): Promise<void> {
  const workers = positiveIntegerOption('workers', 2);
  const at = process.argv.indexOf('--in-flight');
  const windows = at < 0 ? [inFlightMessagesFor(workers)] : (process.argv[at + 1] ?? '').split(',').map((w) => positiveInteger('in-flight', w));
  const rateAt = process.argv.indexOf('--rate');
  const rate = rateAt < 0 ? 0 : nonNegativeInteger('rate', process.argv[rateAt + 1]);
  const rounds = positiveIntegerOption('rounds', 4);
  const seconds = positiveIntegerOption('seconds', 2);
  const kit = await buildKit({ listener: { Name: 'probe', Protocol: 'udp', Port: 0, BindAddress: '127.0.0.1', Destinations: [] }, sourced: true, workers });
  const clients = await startUnreadClients(CLIENTS, kit.listener.port);
  try {
    const deadline = performance.now() + 10_000;
    const held = (port: number): boolean => kit.gateway.flows.isActive('probe', '127.0.0.1', port) || kit.workers?.pool.holds('probe', '127.0.0.1', port) === true;
    while (!clients.ports.every(held)) {
      if (performance.now() > deadline) throw new Error('the gateway did not hold every client\'s flow within 10 s');
      await new Promise((r) => setTimeout(r, 10));
    }
    let handOffs = 0;
    let routed = 0;
    const thread = (kit.workers?.pool as unknown as { workers?: PostingThread[] } | undefined)?.workers?.[0];
    if (thread) {
      const post = thread.postMessage.bind(thread);
      thread.postMessage = (message, transfer) => {
        if (message.kind === 'send') {
          handOffs++;
          routed += message.count ?? 0;
        }
        post(message, transfer);
      };
    }
    const consumers = windows.map((window) => kit.consumerWithWindow(window));
    kit.queue!.load(sourcedBodies({ topicArn: BENCH_TOPIC_ARN, size: 64, packets: PACKETS_PER_MESSAGE, address: '127.0.0.1', port: clients.ports[0], ports: clients.ports }));
    console.log(JSON.stringify({
      node: process.version,
      workers,
      windows,
      rate,
      clientsOnWorkerThreads: clients.ports.filter((p) => kit.workers?.pool.holds('probe', '127.0.0.1', p) === true).length,
    }));
    for (let trial = 0; trial < (rounds + 1) * consumers.length; trial++) {
      const round = Math.floor(trial / consumers.length);
      // each round in the other order than the last: neither window always runs first
      const which = round % 2 === 0 ? trial % consumers.length : consumers.length - 1 - (trial % consumers.length);
      const consumer = consumers[which];
      handOffs = 0;
      routed = 0;
      const main0 = mainThreadCpuUs();
      const process0 = processCpuUs();
      const started = performance.now();
      kit.queue!.begin({ rate: rate / PACKETS_PER_MESSAGE, maxMessages: Number.MAX_SAFE_INTEGER, durationMs: seconds * 1000 });
      consumer.start();
      while (!(kit.queue!.exhausted && kit.queue!.messagesDeleted >= kit.queue!.messagesHandedOut)) await new Promise((r) => setTimeout(r, 5));
      await consumer.stop();
      const packets = kit.queue!.messagesHandedOut * PACKETS_PER_MESSAGE;
      if (round === 0) continue; // warm-up
      console.log(JSON.stringify({
        round,
        inFlight: windows[which],
        packetsPerSecond: Math.round(packets / ((performance.now() - started) / 1000)),
        mainThreadUsPerPacket: Number(((mainThreadCpuUs() - main0) / packets).toFixed(2)),
        processUsPerPacket: Number(((processCpuUs() - process0) / packets).toFixed(2)),
        routedShare: Number((routed / packets).toFixed(2)),
        entriesPerHandOff: handOffs > 0 ? Number((routed / handOffs).toFixed(1)) : 0,
      }));
    }
  } finally {
    clients.child.kill('SIGKILL');
    await kit.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
