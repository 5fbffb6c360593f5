/**
 * A real data-plane worker thread whose code throws (Node.js 22.12 or later: run
 * `npx -y -p node@22 node node_modules/jest/bin/jest.js test/service/workers`): the escaped
 * exception is caught in the thread and reported to the pool as the worker's failure, the other
 * sends of the batch that threw still leave, the thread runs on (it still sends for its clients),
 * and the pool's stop drains it: the batch it had queued
 * is delivered and its reply sent.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Failure, ListenerHandle } from '../../../service/contracts';
import { SendBatchWriter } from '../../../service/workers/send-batch';
import { dgramHasReusePort } from '../../../service/workers/worker-count';
import type { MainToWorker } from '../../../service/workers/worker-messages';
import { startDataPlaneThread, WorkerPool, WorkerThread } from '../../../service/workers/worker-pool';
import { capturingLogger, eventually, freePort, UdpClient } from '../helpers';

const HANDLER = resolve(__dirname, '..', 'fixtures', 'thread-echo-handler.cjs');

const withReusePort = dgramHasReusePort() ? describe : describe.skip;

withReusePort(`a data-plane worker thread that fails${dgramHasReusePort() ? '' : ' (skipped: dgram has no reusePort on this Node.js, before 22.12; CI runs it on Node 22)'}`, () => {
  let dir: string;
  let port: number;
  let pool: WorkerPool | undefined;
  let client: UdpClient | undefined;
  const threads: WorkerThread[] = [];
  const failures: string[] = [];
  // the main thread holds no client here
  const mainListener: ListenerHandle = {
    name: 'relay',
    protocol: 'udp',
    address: '127.0.0.1',
    port: 0,
    send: (_datagram, done) => done?.({ code: 'NoActiveFlow', reason: 'not the main thread\'s client' }),
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pg-worker-failure-'));
    port = await freePort();
    const configPath = join(dir, 'gateway.json');
    writeFileSync(configPath, JSON.stringify({
      Listeners: [{
        Name: 'relay',
        Protocol: 'udp',
        Port: port,
        BindAddress: '127.0.0.1',
        // a batch that waits: only the stop delivers it
        Destinations: [{ Name: 'echo', Type: 'local', Module: HANDLER, Batching: { Count: 100, TimeoutInSeconds: 60 } }],
      }],
    }));
    pool = new WorkerPool({
      count: 2,
      logger: capturingLogger().logger,
      onWorkerFailed: (worker, reason) => failures.push(`${worker} ${reason}`),
      startThread: (data) => {
        const thread = startDataPlaneThread(data);
        threads.push(thread);
        return thread;
      },
      workerData: { mode: 'local', region: 'us-east-1', host: '127.0.0.1', configPath, watchConfig: false, metricsIntervalSeconds: 0, logLevel: 'SILENT' },
    });
    await pool.start();
  }, 60_000);

  afterAll(async () => {
    await client?.close();
    await pool?.stop(2_000);
    rmSync(dir, { recursive: true, force: true });
  });

  test('its exception is reported as its failure, it still sends, and the stop delivers what it had queued', async () => {
    client = await UdpClient.open();
    await client.send('queued', port);
    await eventually(() => pool!.holds('relay', '127.0.0.1', client!.port), 10_000, 'the pool to hear of the flow');

    // a batch the worker's code cannot read past its first datagram: its message handler throws,
    // after sending that datagram
    const writer = new SendBatchWriter();
    writer.add(2, 'relay', { data: Buffer.from('beside the defect'), address: '127.0.0.1', port: client.port });
    const { batch, transfer } = writer.finish();
    threads[0].postMessage({ ...batch, ends: [batch.ends[0] + 3] } satisfies MainToWorker, transfer);
    await eventually(() => failures.length > 0, 10_000, 'the worker\'s failure');
    expect(failures).toEqual([expect.stringMatching(/^1 uncaughtException: Error: malformed send batch/)]);
    await client.waitFor(1, 5_000);
    expect(client.received.map((r) => r.data.toString())).toEqual(['beside the defect']);

    // the thread runs on: a relayed datagram leaves from it
    const relayed = pool!.listenersOf({ get: () => mainListener, list: () => [mainListener] });
    const sent = await new Promise<Failure | undefined>((done) => relayed.get('relay')!.send({ data: Buffer.from('pushed'), address: '127.0.0.1', port: client!.port }, done));
    expect(sent).toBeUndefined();
    await client.waitFor(2, 5_000);
    expect(client.received.map((r) => r.data.toString())).toEqual(['beside the defect', 'pushed']);

    // the stop drains it: the queued batch is delivered and its reply sent
    await pool!.stop(5_000);
    await client.waitFor(3, 5_000);
    expect(client.received[2].data.toString()).toMatch(/^\d+:queued$/);
    expect(failures).toHaveLength(1);
  }, 30_000);
});
