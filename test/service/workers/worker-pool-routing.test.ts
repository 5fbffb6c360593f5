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
    const [send] = s.threads[0].sends();
    expect(send).toMatchObject({ address: '192.0.2.7', port: 1000 });
    s.threads[0].say({ kind: 'sent', id: send.id });
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
    const [send] = s.threads[0].sends();
    s.threads[0].say({ kind: 'sent', id: send.id });
    await expect(own).resolves.toBeUndefined();
    expect(s.mainSent.map((d) => d.port)).toEqual([9]);
    await s.pool.stop(100);
  });

  test('a relayed push whose worker answers NoSession goes on to the main thread\'s Listener, not to the fleet', async () => {
    const s = await setup(2);
    s.threads[0].say({ kind: 'peer', listener: 'l', peerKey: KEY, address: '192.0.2.7', port: 40000 });
    const relayed = s.pool.listenersOf({ get: () => s.listener, list: () => [s.listener] }).get('l')!;
    const result = new Promise<Failure | undefined>((done) => relayed.send({ data: Buffer.from('r'), address: '192.0.2.7', port: 40000, peerKey: KEY }, done));
    const [send] = s.threads[0].sends();
    s.threads[0].say({ kind: 'sent', id: send.id, code: 'NoSession', reason: 'no session here' });
    await expect(result).resolves.toBeUndefined();
    expect(s.mainSent.map((d) => d.peerKey)).toEqual([KEY]);
    expect(s.routed).toEqual([]);
    await s.pool.stop(100);
  });
});
