/**
 * Scenario 9: sourced egress over data-plane workers. The sourced gateway of scenario 1 (the real
 * DeliveryQueueConsumer, SourcedPacketProcessor and UDP Listener, the in-memory delivery queue)
 * with one data-plane worker, and with two: the main thread consumes the queue, and each entry
 * leaves from the thread whose socket the kernel hashed its client to (the main thread sends its
 * own; the others go through the WorkerPool, one message per worker per event-loop turn). The
 * clients are many sockets of one counting process, each of which opened its flow first.
 * Node.js 22.12 or later (dgram `reusePort`).
 */
import { missingModules } from './modules';
import { HEADLINE_PACKETS_PER_MESSAGE } from './sourced-plain';
import { Agent } from '../lib/agent';
import { reusePortNode } from '../lib/reuse-port-node';
import { Scenario, ScenarioContext, ScenarioResult } from '../lib/scenario';
import { fmtPct, fmtRate, fmtRatio, fmtUs, median, ratio } from '../lib/stats';
import { medianCpuUs, sleep, Trial, trial } from '../lib/throughput';
import { compareWorkerCounts, WORKER_EVEN_FRACTION, WORKER_PACED_FRACTION } from '../lib/worker-comparison';

/** Payload of every datagram. */
const SIZE = 64;
/** Client sockets (source ports) of the counting receiver. */
const CLIENTS = 16;
/** The worker counts compared. */
const WORKERS = [1, 2] as const;

interface Owners {
  readonly main: number;
  readonly workerThreads: number;
}

interface RunningGateway {
  readonly agent: Agent;
  readonly owners: Owners;
}

export const sourcedWorkers: Scenario = {
  id: 'sourced-workers',
  title: 'Scenario 9: sourced egress over data-plane workers',
  description:
    `Scenario 1's sourced path (SNS-envelope messages of ${HEADLINE_PACKETS_PER_MESSAGE} packets of ${SIZE} B from the in-memory delivery queue, the real ` +
    'DeliveryQueueConsumer, SourcedPacketProcessor and UDP Listener) with one data-plane worker, then two (worker threads, Node.js 22: ' +
    'dgram reusePort). The packets go to ' + `${CLIENTS} client sockets of one counting process, each of which opened its flow first, so the kernel hashed ` +
    'each client to one worker\'s socket. The main thread consumes the queue and parses every message; it sends the entries of the ' +
    'clients it holds, and hands the others to the worker thread that holds them (the WorkerPool: one message per worker per event-loop ' +
    'turn). Rate = datagrams counted per second. Flood trials of 1 and 2 workers alternate (ABBA), each with the CPU time per packet of ' +
    `the whole gateway process (every thread); then both are paced at ${WORKER_PACED_FRACTION} × the 1-worker flood rate, and at an even load per worker ` +
    `(1 worker at ${WORKER_EVEN_FRACTION} × its flood rate, 2 workers at twice that). Reported, no target.`,
  async run(context: ScenarioContext): Promise<ScenarioResult> {
    const missing = missingModules(['service/workers/worker-pool.ts', 'service/sourcing/sourced-packet-processor.ts', 'service/sourcing/delivery-queue-consumer.ts']);
    if (missing) return { status: 'pending', reason: missing };
    const node = reusePortNode();
    if (node.path === undefined) return { status: 'skipped', reason: node.reason };
    context.log(`   gateway on Node.js ${node.version} (${node.path})`);
    const counter = await Agent.start('port-spread-counter', { cpus: context.cpus.partner });
    const gateways = new Map<number, RunningGateway>();
    try {
      const { ports } = await counter.request<{ ports: number[] }>('bind', { clients: CLIENTS });
      for (const workers of WORKERS) {
        const agent = await Agent.start('sourced-gateway', { node: node.path, startTimeoutMs: 60_000 });
        gateways.set(workers, { agent, owners: { main: 0, workerThreads: 0 } });
        const started = await agent.request<{ port: number; workers: number }>('start', {
          listener: { Name: 'bench', Protocol: 'udp', Port: 0, BindAddress: '127.0.0.1', Destinations: [] },
          workers,
        }, 60_000);
        if (started.workers !== workers) {
          return { status: 'failed', reason: `${workers} data-plane worker(s) asked, ${started.workers} started on Node.js ${node.version}` };
        }
        await counter.request('ping', { host: '127.0.0.1', port: started.port });
        const owners = await waitForOwners(agent, ports);
        if (owners.main + owners.workerThreads < CLIENTS) {
          return { status: 'failed', reason: `after 10 s the gateway with ${workers} worker(s) held ${owners.main + owners.workerThreads} of the ${CLIENTS} clients' flows` };
        }
        await agent.request('load', { address: '127.0.0.1', port: ports[0], ports, size: SIZE, packets: HEADLINE_PACKETS_PER_MESSAGE });
        gateways.set(workers, { agent, owners });
      }
      const one = gateways.get(1)!;
      const two = gateways.get(2)!;
      const run = (g: RunningGateway, durationMs: number, rate: number): Promise<Trial> =>
        trial(counter, () => g.agent.request('run', { durationMs, rate }, durationMs + 30_000), undefined, undefined, { agent: g.agent, per: 'sent' });
      const { flood1, flood2, paced1, paced2, rate1, rate2, pacedAt, even1, even2, evenAt } = await compareWorkerCounts(
        context, (ms, rate) => run(one, ms, rate), (ms, rate) => run(two, ms, rate));
      const figures: Record<string, number> = {
        sourcedWorkerScaling: ratio(rate2, rate1),
        sourcedWorkersRate1: rate1,
        sourcedWorkersRate2: rate2,
        sourcedWorkersFloodCpuUs1: medianCpuUs(flood1),
        sourcedWorkersFloodCpuUs2: medianCpuUs(flood2),
        sourcedWorkerScalingPerCpu: ratio(medianCpuUs(flood1), medianCpuUs(flood2)),
        sourcedWorkersPacedRate: pacedAt,
        sourcedWorkersPacedCpuUs1: medianCpuUs(paced1),
        sourcedWorkersPacedCpuUs2: medianCpuUs(paced2),
        sourcedWorkerScalingPerCpuPaced: ratio(medianCpuUs(paced1), medianCpuUs(paced2)),
        sourcedWorkersEvenRate: evenAt,
        sourcedWorkersEvenCpuUs1: medianCpuUs(even1),
        sourcedWorkersEvenCpuUs2: medianCpuUs(even2),
        sourcedWorkerScalingPerCpuEven: ratio(medianCpuUs(even1), medianCpuUs(even2)),
        sourcedWorkersClientsOnWorkerThread: two.owners.workerThreads / CLIENTS,
      };
      const row = (
        workers: number, g: RunningGateway, floods: readonly Trial[], paced: readonly Trial[], even: readonly Trial[],
      ): Array<string | number> => [
        workers,
        `${g.owners.main} / ${g.owners.workerThreads}`,
        fmtRate(median(floods.map((t) => t.rate))),
        floods.map((t) => fmtRate(t.rate)).join(', '),
        fmtPct(median(floods.map((t) => t.loss))),
        fmtUs(medianCpuUs(floods)),
        `${fmtUs(medianCpuUs(paced))} (${fmtPct(Math.max(...paced.map((t) => t.loss)))} loss)`,
        `${fmtUs(medianCpuUs(even))} at ${fmtRate(workers * evenAt)} (${fmtPct(Math.max(...even.map((t) => t.loss)))} loss)`,
      ];
      return {
        status: 'ok',
        figures,
        raw: {
          node: node.version,
          clients: CLIENTS,
          size: SIZE,
          owners: Object.fromEntries([...gateways].map(([w, g]) => [w, g.owners])),
          pacedAt,
          flood1,
          flood2,
          paced1,
          paced2,
          evenAt,
          even1,
          even2,
        },
        tables: [{
          table: {
            columns: [
              'workers', 'clients held: main thread / worker thread', 'median (flood)', 'runs', 'loss (median)', 'CPU per packet (flood)',
              `CPU per packet (paced at ${fmtRate(pacedAt)})`, `CPU per packet (paced at ${fmtRate(evenAt)} per worker)`,
            ],
            rows: [row(1, one, flood1, paced1, even1), row(2, two, flood2, paced2, even2)],
          },
        }, {
          table: {
            columns: ['throughput 2 ÷ 1 workers (flood)', 'packets per CPU-second 2 ÷ 1 workers (flood)', 'the same, paced at one rate', 'the same, at an even load per worker'],
            rows: [[
              fmtRatio(figures.sourcedWorkerScaling), fmtRatio(figures.sourcedWorkerScalingPerCpu), fmtRatio(figures.sourcedWorkerScalingPerCpuPaced),
              fmtRatio(figures.sourcedWorkerScalingPerCpuEven),
            ]],
          },
        }],
        notes: [
          `The gateway ran on Node.js ${node.version} in both configurations (the bench and the counting receiver on ${process.version}); nothing of the gateway is pinned, ` +
            `the counting receiver is pinned to CPU ${context.cpus.partner?.join(',') ?? '(not pinned)'}.`,
          'With one worker the main thread sends every entry itself, as in scenario 1 (which pins it to one core). With two, it still consumes the ' +
            'queue and parses every message (the signature check, off in these trials, would go to the worker thread), sends the entries of the ' +
            'clients its own socket received, and hands the rest to the worker thread.',
          'How to read the throughput ratio: it reaches 2 only when each worker has a core of its own and the receiver a third. On a 2-core ' +
            'machine the counting receiver (and the kernel\'s loopback delivery, which runs on the sending core) takes most of a core, so the ' +
            'figure there is a floor, not the data plane\'s scaling. Packets per CPU-second (every thread of the gateway process) does not ' +
            'depend on the cores the receiver takes: below 1 it is what the hand-offs to the worker thread cost.',
        ],
      };
    } finally {
      await Promise.all([counter.stop(), ...[...gateways.values()].map((g) => g.agent.stop())]);
    }
  },
};

/** Waits (at most 10 s) until the gateway holds every client's flow; answers who holds them. */
async function waitForOwners(agent: Agent, ports: readonly number[]): Promise<Owners> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const owners = await agent.request<Owners>('owners', { address: '127.0.0.1', ports });
    if (owners.main + owners.workerThreads >= ports.length || Date.now() > deadline) return owners;
    await sleep(20);
  }
}
