/**
 * Which worker the pool sends from, with stand-in threads (no Node.js 22 needed): the owners it
 * remembers are bounded, and the one forgotten is the least recently reported; an entry this
 * member serves for another fleet member (a relay) is sent from the main thread's Listener when
 * the main thread is tried, never handed back to the fleet's router.
 */
import type { EgressDatagram, Failure, ListenerHandle } from '../../../service/contracts';
import type { EntryRouter } from '../../../service/sourcing/sourced-delivery';
import { WorkerPool, WorkerPoolOptions, WorkerThread } from '../../../service/workers/worker-pool';
import { capturingLogger } from '../helpers';
import { StandInThread } from './stand-in-thread';

const KEY = 'hR1Cw6bzGNHWyuPZGuu8/QZfbt7bCDlKOYmVVVK2DTw=';

interface Setup {
  readonly pool: WorkerPool;
  readonly threads: StandInThread[];
  /** What the main thread's Listener was asked to send. */
  readonly mainSent: EgressDatagram[];
  /** What the main router (the fleet) was asked to send. */
  readonly routed: EgressDatagram[];
  readonly listener: ListenerHandle;
}

async function setup(count: number, options: Partial<WorkerPoolOptions> = {}): Promise<Setup> {
  const threads: StandInThread[] = [];
  const mainSent: EgressDatagram[] = [];
  const routed: EgressDatagram[] = [];
  const listener: ListenerHandle = {
    name: 'l',
    protocol: 'wg',
    address: '127.0.0.1',
    port: 51820,
    send: (datagram, done) => {
      mainSent.push(datagram);
      done?.(undefined);
    },
    holdsSession: () => false,
  };
  const mainRouter: EntryRouter = {
    send: (_listener, datagram, _entry, done) => {
      routed.push(datagram);
      done({ code: 'NoActiveFlow', reason: 'the fleet found no owner' });
    },
  };
  const pool = new WorkerPool({
    count,
    logger: capturingLogger().logger,
    workerData: { mode: 'local', region: 'us-east-1', host: '127.0.0.1' },
    mainRouter,
    startThread: (data) => {
      const thread = new StandInThread(data);
      threads.push(thread);
      return thread as unknown as WorkerThread;
    },
    now: () => 1_000_000,
    ...options,
  });
  await pool.start();
  return { pool, threads, mainSent, routed, listener };
}

function flow(s: Setup, port: number, renewed = false): void {
  s.threads[0].say({ kind: 'flow', listener: 'l', address: '192.0.2.7', port, ...(renewed ? { renewed } : {}) });
}

describe('worker pool: owners remembered', () => {
  test('at the bound, the least recently reported owner is forgotten: a renewed flow outlives flows reported before its renewal', async () => {
    const s = await setup(2, { maxOwners: 4 });
    flow(s, 1000);
    flow(s, 1001);
    flow(s, 1002);
    flow(s, 1000, true);
    // three more: the bound forgets two, the two flows not renewed
    flow(s, 1003);
    flow(s, 1004);
    flow(s, 1005);
    expect(s.pool.knownOwners).toBe(4);
    expect(s.pool.holds('l', '192.0.2.7', 1000)).toBe(true);
    expect(s.pool.holds('l', '192.0.2.7', 1001)).toBe(false);
    expect(s.pool.holds('l', '192.0.2.7', 1002)).toBe(false);

    // still worker 1's: a send for it goes there first, not to the main thread
    const sent = new Promise<Failure | undefined>((done) => s.pool.send(s.listener, { data: Buffer.from('x'), address: '192.0.2.7', port: 1000 }, { messageId: 'm', index: 0, deadline: 0 }, done));
    const [send] = await s.threads[0].sends();
    expect(send).toMatchObject({ address: '192.0.2.7', port: 1000 });
    s.threads[0].sent(send.id);
    await expect(sent).resolves.toBeUndefined();
    expect(s.routed).toEqual([]);
    await s.pool.stop(100);
  });

  test('a bound that is not a whole number of owners is refused, naming it', () => {
    expect(() => new WorkerPool({
      count: 2, maxOwners: 0, logger: capturingLogger().logger, workerData: { mode: 'local', region: 'us-east-1', host: '127.0.0.1' },
    })).toThrow('maxOwners must be a whole number ≥ 1, got 0');
  });
});

describe('worker pool: relays this member serves', () => {
  test('a relayed entry whose owner is the main thread is sent from the main thread\'s Listener, not routed by the fleet again', async () => {
    const s = await setup(2);
    const relayed = s.pool.listenersOf({ get: () => s.listener, list: () => [s.listener] }).get('l')!;
    const failure = await new Promise<Failure | undefined>((done) => relayed.send({ data: Buffer.from('r'), address: '192.0.2.9', port: 9 }, done));
    expect(failure).toBeUndefined();
    expect(s.mainSent.map((d) => d.port)).toEqual([9]);
    expect(s.routed).toEqual([]);

    // a sourced entry of this member's own is still the fleet's to route
    const own = new Promise<Failure | undefined>((done) => s.pool.send(s.listener, { data: Buffer.from('o'), address: '192.0.2.9', port: 10 }, { messageId: 'm', index: 0, deadline: 0 }, done));
    expect(s.routed.map((d) => d.port)).toEqual([10]);
    // the fleet found no owner: worker 1 is tried next
    const [send] = await s.threads[0].sends();
    s.threads[0].sent(send.id);
    await expect(own).resolves.toBeUndefined();
    expect(s.mainSent.map((d) => d.port)).toEqual([9]);
    await s.pool.stop(100);
  });

  test('a relayed push whose worker answers NoSession goes on to the main thread\'s Listener, not to the fleet', async () => {
    const s = await setup(2);
    s.threads[0].say({ kind: 'peer', listener: 'l', peerKey: KEY, address: '192.0.2.7', port: 40000 });
    const relayed = s.pool.listenersOf({ get: () => s.listener, list: () => [s.listener] }).get('l')!;
    const result = new Promise<Failure | undefined>((done) => relayed.send({ data: Buffer.from('r'), address: '192.0.2.7', port: 40000, peerKey: KEY }, done));
    const [send] = await s.threads[0].sends();
    s.threads[0].sent(send.id, 'NoSession', 'no session here');
    await expect(result).resolves.toBeUndefined();
    expect(s.mainSent.map((d) => d.peerKey)).toEqual([KEY]);
    expect(s.routed).toEqual([]);
    await s.pool.stop(100);
  });
});

describe('worker pool: sends of one turn travel together', () => {
  function route(s: Setup, port: number): Promise<Failure | undefined> {
    return new Promise((done) => s.pool.send(s.listener, { data: Buffer.from(`d${port}`), address: '192.0.2.7', port }, { messageId: 'm', index: 0, deadline: 0 }, done));
  }

  test('the datagrams routed to a worker in one turn reach it in one message, in order; the outcomes come back in one too', async () => {
    const s = await setup(3);
    for (const port of [1, 2, 3]) flow(s, port);
    s.threads[1].say({ kind: 'flow', listener: 'l', address: '192.0.2.7', port: 4 });
    const sends = [1, 4, 2, 3].map((port) => route(s, port));
    const [first, second] = [await s.threads[0].sends(), await s.threads[1].sends()];
    expect(s.threads[0].received.filter((m) => m.kind === 'send')).toHaveLength(1);
    expect(first.map((r) => [r.port, Buffer.from(r.data).toString()])).toEqual([[1, 'd1'], [2, 'd2'], [3, 'd3']]);
    expect(second.map((r) => r.port)).toEqual([4]);

    // one batch of outcomes: the first sent, the second not this worker's (tried elsewhere), the third failed
    s.threads[0].outcomes([first[0].id], [{ id: first[1].id, code: 'NoActiveFlow', reason: 'gone' }, { id: first[2].id, code: 'SendFailed', reason: 'EPERM' }]);
    s.threads[1].sent(second[0].id);
    await expect(sends[0]).resolves.toBeUndefined();
    await expect(sends[1]).resolves.toBeUndefined();
    await expect(sends[3]).resolves.toEqual({ code: 'SendFailed', reason: 'EPERM' });
    // the main thread (the fleet: no owner), then worker 2, for the entry worker 1 did not hold
    expect(s.routed.map((d) => d.port)).toEqual([2]);
    const retried = (await s.threads[1].sends()).slice(1);
    expect(retried.map((r) => r.port)).toEqual([2]);
    s.threads[1].sent(retried[0].id);
    await expect(sends[2]).resolves.toBeUndefined();
    await s.pool.stop(100);
  });

  test('a stop posts the sends routed in its turn before asking the workers to stop', async () => {
    const s = await setup(2);
    flow(s, 5);
    const sent = route(s, 5);
    const stopped = s.pool.stop(100);
    expect(s.threads[0].received.map((m) => m.kind)).toEqual(['send', 'stop']);
    await stopped;
    await expect(sent).resolves.toEqual({ code: 'SendFailed', reason: 'the data-plane worker owning the client stopped before sending' });
  });

  test('the sends of a worker that exits before its batch is posted go on to the next worker, and nothing is posted to it', async () => {
    const s = await setup(3);
    flow(s, 6);
    const sent = route(s, 6);
    s.threads[0].exit(1);
    expect(await s.threads[0].sends()).toEqual([]);
    const [send] = await s.threads[1].sends();
    expect(send.port).toBe(6);
    s.threads[1].sent(send.id);
    await expect(sent).resolves.toBeUndefined();
    await s.pool.stop(100);
  });
});
