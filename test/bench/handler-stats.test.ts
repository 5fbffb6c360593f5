/**
 * The benchmark handlers' counters: a local handler runs in a worker thread of its own, and the
 * agent hosting the gateway reads and resets its counters over a BroadcastChannel.
 */
import { join } from 'node:path';
import { collectHandlerStats, handlerStats, resetHandlerStats } from '../../bench/fixtures/handler-stats';
import { localHandlerContext } from '../../service/local/local-destination';
import { LocalHandlerWorker } from '../../service/local/local-handler-worker';
import { loadHandlerModule, LoadedHandlerModule } from '../../service/local/local-module-loader';

const event = (n: number): string => JSON.stringify({ Messages: Array.from({ length: n }, (_, i) => ({ Tag: `T${i}`, Data: 'QQ==' })) });

describe('handler counters of a local handler thread', () => {
  let loaded: LoadedHandlerModule;
  let worker: LocalHandlerWorker;

  beforeAll(async () => {
    loaded = await loadHandlerModule(join(__dirname, '..', '..', 'bench', 'fixtures', 'echo-handler.ts'), 'handler', process.cwd());
    worker = new LocalHandlerWorker(loaded.file, 'handler', loaded.esm, localHandlerContext('echo', 'us-east-1'));
  });
  afterAll(async () => {
    await worker.close();
    loaded.dispose();
  });

  test('the agent reads the handler thread\'s counts, and resets them', async () => {
    await worker.invoke(event(3), 'r1', 5000);
    await worker.invoke(event(2), 'r2', 5000);
    // the handler ran in its own thread: this thread's counters saw nothing
    expect(handlerStats().packets).toBe(0);
    const stats = await collectHandlerStats(true);
    expect(stats).toMatchObject({ packets: 5, batches: 2 });
    expect(stats.handlerMs).toBeGreaterThanOrEqual(0);
    expect(stats.spanMs).toBeGreaterThanOrEqual(0);
    await resetHandlerStats(true);
    expect(await collectHandlerStats(true)).toMatchObject({ packets: 0, batches: 0 });
    await worker.invoke(event(1), 'r3', 5000);
    expect(await collectHandlerStats(true)).toMatchObject({ packets: 1, batches: 1 });
  }, 20_000);

  test('counts made in this thread (an in-process destination) are added, without asking the handler thread', async () => {
    await resetHandlerStats(true);
    handlerStats().record(4, 0);
    expect(await collectHandlerStats(false)).toMatchObject({ packets: 4, batches: 1 });
    await worker.invoke(event(2), 'r4', 5000);
    expect(await collectHandlerStats(true)).toMatchObject({ packets: 6, batches: 2 });
    handlerStats().reset();
  }, 20_000);
});
