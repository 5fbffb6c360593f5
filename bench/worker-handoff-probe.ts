/**
 * The main thread's cost of handing sourced datagrams to the data-plane worker that owns their
 * client: a WorkerPool with one real worker thread (service/workers/data-plane-worker.ts, its own
 * UDP Listener on a SO_REUSEPORT socket, local mode) that owns the flows of a few client sockets;
 * the main thread routes datagrams to them through the pool (`send`, as the SourcedPacketProcessor
 * does), `--per-turn` datagrams per event-loop turn (as a notification's entries arrive), at most
 * 2,000 in flight. Measured per datagram: the main thread's CPU time (its own thread only, from
 * /proc/self/task), the process's, and the rate the worker completed them at. The clients are
 * sockets of a child process whose event loop is blocked once they are bound: nothing reads them
 * (their receive buffers overflow, which costs the sender nothing), so neither this process nor
 * its main thread pays a receive per datagram. Node.js 22.12 or later (dgram `reusePort`):
 *
 *   npx -y -p node@22 node --import tsx bench/worker-handoff-probe.ts [--datagrams 200000] [--size 64] [--per-turn 10] [--rounds 5]
 */
import type { ChildProcess } from 'node:child_process';
import * as dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import type { Failure, ListenerHandle } from '../service/contracts';
import { positiveIntegerOption } from './lib/cli-option';
import { startProbeWorkerPool } from './lib/probe-worker-pool';
import { median } from './lib/stats';
import { mainThreadCpuUs, processCpuUs } from './lib/thread-cpu';
import { startUnreadClients } from './lib/unread-clients';

const CLIENTS = 8;
const IN_FLIGHT = 2_000;

async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  const { port } = s.address();
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

async function main(): Promise<void> {
  const datagrams = positiveIntegerOption('datagrams', 200_000);
  const perTurn = positiveIntegerOption('per-turn', 10);
  const rounds = positiveIntegerOption('rounds', 5);
  const size = positiveIntegerOption('size', 64);
  const port = await freeUdpPort();
  const { pool, close } = await startProbeWorkerPool(2, [{ Name: 'probe', Protocol: 'udp', Port: port, BindAddress: '127.0.0.1', Destinations: [] }]);
  let child: ChildProcess | undefined;
  try {
    const clients = await startUnreadClients(CLIENTS, port);
    child = clients.child;
    const clientPorts = clients.ports;
    const deadline = performance.now() + 10_000;
    while (!clientPorts.every((p) => pool.holds('probe', '127.0.0.1', p))) {
      if (performance.now() > deadline) throw new Error('the worker did not report the clients\' flows within 10 s');
      await new Promise((r) => setTimeout(r, 10));
    }
    // the main thread holds no client: the pool routes every datagram to the worker
    const mainListener: ListenerHandle = {
      name: 'probe',
      protocol: 'udp',
      address: '127.0.0.1',
      port,
      send: (_d, done) => done?.({ code: 'NoActiveFlow', reason: 'not the main thread\'s client' }),
    };
    const payload = Buffer.alloc(size, 7);

    const round = async (): Promise<{ mainUs: number; processUs: number; rate: number }> => {
      let routed = 0;
      let completed = 0;
      let failed: Failure | undefined;
      let wake: (() => void) | undefined;
      const done = (failure: Failure | undefined): void => {
        completed++;
        if (failure) failed ??= failure;
        if (wake && (routed - completed < IN_FLIGHT / 2 || completed === datagrams)) {
          const w = wake;
          wake = undefined;
          w();
        }
      };
      const mainBefore = mainThreadCpuUs();
      const processBefore = processCpuUs();
      const started = performance.now();
      while (routed < datagrams) {
        for (let k = 0; k < perTurn && routed < datagrams; k++, routed++) {
          pool.send(mainListener, { data: payload, address: '127.0.0.1', port: clientPorts[routed % CLIENTS] }, { messageId: 'm', index: k, deadline: 0 }, done);
        }
        if (routed - completed >= IN_FLIGHT) await new Promise<void>((resolve) => (wake = resolve));
        else await new Promise((r) => setImmediate(r));
      }
      while (completed < datagrams) await new Promise<void>((resolve) => (wake = resolve));
      const elapsed = performance.now() - started;
      if (failed) throw new Error(`a routed datagram failed: ${failed.code}: ${failed.reason}`);
      return {
        mainUs: (mainThreadCpuUs() - mainBefore) / datagrams,
        processUs: (processCpuUs() - processBefore) / datagrams,
        rate: datagrams / (elapsed / 1000),
      };
    };

    await round(); // warm-up
    const results = [];
    for (let i = 0; i < rounds; i++) results.push(await round());
    console.log(JSON.stringify({
      node: process.version,
      datagrams,
      size,
      perTurn,
      mainThreadUsPerDatagram: Number(median(results.map((r) => r.mainUs)).toFixed(2)),
      processUsPerDatagram: Number(median(results.map((r) => r.processUs)).toFixed(2)),
      datagramsPerSecond: Math.round(median(results.map((r) => r.rate))),
      rounds: results.map((r) => ({ main: Number(r.mainUs.toFixed(2)), process: Number(r.processUs.toFixed(2)), rate: Math.round(r.rate) })),
    }));
  } finally {
    child?.kill('SIGKILL');
    await close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
