/**
 * The whole data-plane service in local mode, started the way service/main.ts starts it
 * (`startService`, through service/local-service.ts), with as many data-plane workers as PACKET_GATEWAY_WORKERS asks (worker
 * threads need Node.js 22.12 or later: the scenario runs this agent on such a Node.js). One UDP
 * Listener on a fixed port, shared by the workers' sockets (SO_REUSEPORT), delivering to the
 * thread-counting local handler. Answers `reset`/`stats` like the counting receiver, summing the
 * handler threads' count files; `stats` also lists the packets of each thread, which shows how
 * the kernel spread the clients over the workers.
 *
 * This file is also the entry of the service's worker threads when it runs bundled (the worker
 * pool starts its threads from the running bundle).
 */
import * as dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceEnvironment } from '../../lib/private/service-environment';
import { startLocalService } from '../../service/local-service';
import { createLogger } from '../../service/observability/logger';
import type { RunningService } from '../../service/runtime';
import { isDataPlaneWorkerThread, runDataPlaneWorkerThread } from '../../service/workers/data-plane-worker';
import { parseWorkerCount } from '../../service/workers/worker-count';
import { serve } from '../lib/agent-runtime';
import { FIXTURES_DIR } from '../lib/paths';
import { countsOf, readThreadCounts, startGeneration, THREAD_COUNTS_DIR_VARIABLE } from '../lib/thread-counts';

let service: RunningService | undefined;
let dir: string | undefined;
/** The generation of the count files, one per reset (bench/lib/thread-counts.ts). */
let generation = 0;

/** A UDP port free on 127.0.0.1 now (the workers' sockets must all bind the same one). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const port = s.address().port;
      s.close(() => resolve(port));
    });
  });
}

if (isDataPlaneWorkerThread()) {
  runDataPlaneWorkerThread();
} else {
  serve({
    /** Starts the service; resolves with the Listener's port and the workers running. */
    start: async () => {
      const workers = parseWorkerCount(process.env[ServiceEnvironment.Workers] ?? '1');
      const port = await freePort();
      dir = mkdtempSync(join(tmpdir(), 'pgb-workers-'));
      // the handler threads (worker threads of this process) see this process's environment
      process.env[THREAD_COUNTS_DIR_VARIABLE] = dir;
      startGeneration(dir, generation);
      service = await startLocalService({
        document: {
          Listeners: [{
            Name: 'bench',
            Protocol: 'udp',
            Port: port,
            BindAddress: '127.0.0.1',
            Formatter: 'base64',
            Destinations: [{ Name: 'counter', Type: 'local', Module: join(FIXTURES_DIR, 'thread-counting-handler.ts'), Batching: { Count: 100, TimeoutInSeconds: 0.02 } }],
          }],
        },
        logger: createLogger({ level: 'SILENT', local: true }),
        logLevel: 'SILENT',
        metricsIntervalSeconds: 0,
        workers,
      });
      const listener = service.gateway.get('bench');
      if (!listener) throw new Error('the benchmark Listener did not start');
      return { port: listener.port, workers: service.workers, node: process.version };
    },
    reset: () => {
      if (dir) startGeneration(dir, ++generation);
      return {};
    },
    /** Packets since the reset, summed over the handler threads, with the packets of each. */
    stats: () => ({ bytes: 0, ...countsOf(dir ? readThreadCounts(dir) : [], generation) }),
  }, async () => {
    await service?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
}
