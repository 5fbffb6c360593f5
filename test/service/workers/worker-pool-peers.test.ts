/**
 * The worker pool's main-thread side of the workers' WireGuard sessions, with stand-in threads (no
 * Node.js 22 needed): a worker's session claims reach the main thread's directory and name the
 * worker as the peer's owner (pushes by PeerKey go there first); a worker's lookups by endpoint are
 * answered from the main thread's directory under the request's id; a worker that exits is not
 * answered, holds no client, and its sends pass on to the next worker.
 */
import type { EgressDatagram, Failure, ListenerHandle } from '../../../service/contracts';
import type { PeerAtCallback, PeerDirectory } from '../../../service/wireguard/fleet-sessions';
import { FLOW_HELD_MS } from '../../../service/workers/worker-messages';
import { WorkerPool, WorkerThread } from '../../../service/workers/worker-pool';
import { capturingLogger } from '../helpers';
import { StandInThread } from './stand-in-thread';

const KEY = 'hR1Cw6bzGNHWyuPZGuu8/QZfbt7bCDlKOYmVVVK2DTw=';
const OTHER = 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=';

interface Setup {
  readonly pool: WorkerPool;
  readonly threads: StandInThread[];
  readonly claims: string[];
  readonly flows: string[];
  readonly lookups: Array<{ address: string; port: number; done: PeerAtCallback }>;
  readonly mainSent: EgressDatagram[];
  readonly listener: ListenerHandle;
  clock: number;
}

async function setup(options: { count?: number; directory?: boolean } = {}): Promise<Setup> {
  const threads: StandInThread[] = [];
  const claims: string[] = [];
  const flows: string[] = [];
  const lookups: Setup['lookups'] = [];
  const mainSent: EgressDatagram[] = [];
  const mainSessions = new Set<string>();
  const listener: ListenerHandle = {
    name: 'wg',
    protocol: 'wg',
    address: '127.0.0.1',
    port: 51820,
    send: (datagram, done) => {
      mainSent.push(datagram);
      done?.({ code: 'NoSession', reason: 'not the main thread\'s peer' });
    },
    holdsSession: (peerKey) => mainSessions.has(peerKey),
  };
  const directory: Pick<PeerDirectory, 'claimPeer' | 'peerAt'> = {
    claimPeer: (name, peerKey, address, port) => claims.push(`${name} ${peerKey} ${address}:${port}`),
    peerAt: (_name, address, port, done) => lookups.push({ address, port, done }),
  };
  const s: Setup = {
    threads,
    claims,
    flows,
    lookups,
    mainSent,
    listener,
    clock: 1_000_000,
    pool: undefined as unknown as WorkerPool,
  };
  const pool = new WorkerPool({
    count: options.count ?? 3,
    logger: capturingLogger().logger,
    workerData: { mode: 'local', region: 'us-east-1', host: '127.0.0.1' },
    onWorkerFlow: (name, address, port, peerKey) => flows.push(`${name} ${address}:${port}${peerKey !== undefined ? ` ${peerKey}` : ''}`),
    ...(options.directory === false ? {} : { peerDirectory: directory }),
    startThread: (data) => {
      const thread = new StandInThread(data);
      threads.push(thread);
      return thread as unknown as WorkerThread;
    },
    now: () => s.clock,
  });
  (s as { pool: WorkerPool }).pool = pool;
  await pool.start();
  return s;
}

function push(s: Setup, datagram: Partial<EgressDatagram> = {}): Promise<Failure | undefined> {
  return new Promise((done) => s.pool.send(s.listener, {
    data: Buffer.from('pushed'), address: '198.51.100.9', port: 9, peerKey: KEY, ...datagram,
  }, { messageId: 'm', index: 0, deadline: 0 }, done));
}

/** Lets the stand-in threads' messages (setImmediate) arrive. */
const turn = (): Promise<void> => new Promise((done) => setImmediate(done));

describe('worker pool: WireGuard sessions of worker threads', () => {
  test('a worker\'s session claim reaches the main thread\'s directory, and pushes by PeerKey go to that worker first', async () => {
    const s = await setup();
    s.threads[1].say({ kind: 'peer', listener: 'wg', peerKey: KEY, address: '192.0.2.7', port: 40000 });
    expect(s.claims).toEqual([`wg ${KEY} 192.0.2.7:40000`]);
    expect(s.pool.workerOfPeer('wg', KEY)).toBe(2);

    // the Remote names no flow any worker holds: the peer's worker is still the one asked
    const result = push(s);
    expect(await s.threads[0].sends()).toEqual([]);
    expect(s.mainSent).toEqual([]);
    const [send] = await s.threads[1].sends();
    expect(send).toMatchObject({ listener: 'wg', peerKey: KEY, address: '198.51.100.9', port: 9 });
    s.threads[1].sent(send.id);
    await expect(result).resolves.toBeUndefined();
    await s.pool.stop(100);
  });

  test('a worker\'s flow report names its peer: the fleet claims the flow with the PeerKey, and the peer is the worker\'s', async () => {
    const s = await setup();
    s.threads[0].say({ kind: 'flow', listener: 'wg', address: '192.0.2.7', port: 40000, peerKey: KEY });
    s.threads[0].say({ kind: 'flow', listener: 'wg', address: '192.0.2.8', port: 40001 });
    // a renewal is not a new claim
    s.threads[0].say({ kind: 'flow', listener: 'wg', address: '192.0.2.7', port: 40000, peerKey: KEY, renewed: true });
    expect(s.flows).toEqual([`wg 192.0.2.7:40000 ${KEY}`, 'wg 192.0.2.8:40001']);
    expect(s.pool.workerOfPeer('wg', KEY)).toBe(1);
    expect(s.pool.holdsPeer('wg', KEY)).toBe(true);
    expect(s.pool.holdsPeer('wg', OTHER)).toBe(false);
    await s.pool.stop(100);
  });

  test('a session stays a worker\'s while the worker renews the flow of its endpoint, and not after', async () => {
    const s = await setup();
    s.threads[0].say({ kind: 'peer', listener: 'wg', peerKey: KEY, address: '192.0.2.7', port: 40000 });
    s.threads[0].say({ kind: 'flow', listener: 'wg', address: '192.0.2.7', port: 40000 });
    s.clock += FLOW_HELD_MS + 1;
    expect(s.pool.holdsPeer('wg', KEY)).toBe(false);
    s.threads[0].say({ kind: 'flow', listener: 'wg', address: '192.0.2.7', port: 40000, renewed: true });
    expect(s.pool.holdsPeer('wg', KEY)).toBe(true);
    s.clock += FLOW_HELD_MS + 1;
    expect(s.pool.holdsPeer('wg', KEY)).toBe(false);
    await s.pool.stop(100);
  });

  test('the Listeners the fleet relay serves hold a session when the main thread or any worker does', async () => {
    const s = await setup();
    const relayed = s.pool.listenersOf({ get: () => s.listener, list: () => [s.listener] }).get('wg')!;
    expect(relayed.holdsSession!(KEY)).toBe(false);
    s.threads[1].say({ kind: 'peer', listener: 'wg', peerKey: KEY, address: '192.0.2.7', port: 40000 });
    expect(relayed.holdsSession!(KEY)).toBe(true);
    await s.pool.stop(100);
  });

  test('the main thread\'s own session of a peer makes the pool forget the worker that held it', async () => {
    const s = await setup();
    s.threads[1].say({ kind: 'peer', listener: 'wg', peerKey: KEY, address: '192.0.2.7', port: 40000 });
    s.pool.notePeer(0, 'wg', KEY);
    expect(s.pool.workerOfPeer('wg', KEY)).toBeUndefined();
    s.threads[1].say({ kind: 'flow', listener: 'wg', address: '192.0.2.7', port: 40000, peerKey: KEY });
    s.pool.noteFlow(0, 'wg', '192.0.2.7', 40000, KEY);
    expect(s.pool.workerOfPeer('wg', KEY)).toBeUndefined();
    expect(s.pool.holds('wg', '192.0.2.7', 40000)).toBe(false);
    expect(s.pool.knownOwners).toBe(0);
    await s.pool.stop(100);
  });

  test('a worker\'s lookup by endpoint is answered from the main thread\'s directory, under its id', async () => {
    const s = await setup();
    s.threads[0].say({ kind: 'peer-at', id: 7, listener: 'wg', address: '192.0.2.7', port: 40000 });
    s.threads[1].say({ kind: 'peer-at', id: 7, listener: 'wg', address: '192.0.2.8', port: 40001 });
    expect(s.lookups.map((l) => `${l.address}:${l.port}`)).toEqual(['192.0.2.7:40000', '192.0.2.8:40001']);
    s.lookups[1].done(OTHER);
    s.lookups[0].done(undefined);
    expect(s.threads[0].received).toEqual([{ kind: 'peer-at', id: 7 }]);
    expect(s.threads[1].received).toEqual([{ kind: 'peer-at', id: 7, peerKey: OTHER }]);
    await s.pool.stop(100);
  });

  test('a lookup the main thread\'s directory could not read is answered as failed, not as "no peer known"', async () => {
    const s = await setup();
    s.threads[0].say({ kind: 'peer-at', id: 3, listener: 'wg', address: '192.0.2.7', port: 40000 });
    s.lookups[0].done(undefined, true);
    expect(s.threads[0].received).toEqual([{ kind: 'peer-at', id: 3, failed: true }]);
    await s.pool.stop(100);
  });

  test('without a directory, a worker\'s lookup is answered "no peer known" at once', async () => {
    const s = await setup({ directory: false });
    s.threads[0].say({ kind: 'peer-at', id: 1, listener: 'wg', address: '192.0.2.7', port: 40000 });
    expect(s.threads[0].received).toEqual([{ kind: 'peer-at', id: 1 }]);
    await s.pool.stop(100);
  });

  test('a worker that exits gets no answer, holds no client, and its sends pass on to the next worker', async () => {
    const s = await setup();
    s.threads[0].say({ kind: 'peer', listener: 'wg', peerKey: KEY, address: '192.0.2.7', port: 40000 });
    s.threads[0].say({ kind: 'peer-at', id: 3, listener: 'wg', address: '192.0.2.7', port: 40000 });
    const inFlight = push(s);
    expect(await s.threads[0].sends()).toHaveLength(1);

    s.threads[0].exit(1);
    await turn();
    s.lookups[0].done(KEY);
    expect(s.threads[0].received.filter((m) => m.kind === 'peer-at')).toEqual([]);
    expect(s.pool.workerOfPeer('wg', KEY)).toBeUndefined();
    expect(s.pool.holdsPeer('wg', KEY)).toBe(false);

    // the send in flight went on: the main thread's Listener (NoSession), then worker 2
    expect(s.mainSent).toHaveLength(1);
    const [send] = await s.threads[1].sends();
    s.threads[1].sent(send.id);
    await expect(inFlight).resolves.toBeUndefined();

    // a later push tries worker 1 no more: main thread, worker 2, never the exited thread
    const later = push(s, { peerKey: OTHER });
    expect(await s.threads[0].sends()).toHaveLength(1);
    const second = (await s.threads[1].sends())[1];
    s.threads[1].sent(second.id, 'NoSession', 'no session here');
    await expect(later).resolves.toMatchObject({ code: 'NoSession' });
    await s.pool.stop(100);
  });

  test('a stale renewal from the worker a peer roamed away from does not take the peer back; a renewal nobody contests records its worker', async () => {
    const s = await setup({ count: 3 });
    s.threads[0].say({ kind: 'flow', listener: 'wg', address: '192.0.2.7', port: 40000, peerKey: KEY });
    // the peer roams to an endpoint the kernel hashes to worker 2
    s.threads[1].say({ kind: 'peer', listener: 'wg', peerKey: KEY, address: '192.0.2.8', port: 40001 });
    s.threads[1].say({ kind: 'flow', listener: 'wg', address: '192.0.2.8', port: 40001, peerKey: KEY });
    // worker 1's old flow still lives for its idle time and is renewed
    s.threads[0].say({ kind: 'flow', listener: 'wg', address: '192.0.2.7', port: 40000, peerKey: KEY, renewed: true });
    expect(s.pool.workerOfPeer('wg', KEY)).toBe(2);

    const result = push(s);
    expect(await s.threads[0].sends()).toEqual([]);
    const [send] = await s.threads[1].sends();
    expect(send).toMatchObject({ peerKey: KEY });
    s.threads[1].sent(send.id);
    await expect(result).resolves.toBeUndefined();

    // a renewal of a flow and peer no report names (forgotten) makes its worker their owner again
    s.threads[0].say({ kind: 'flow', listener: 'wg', address: '192.0.2.9', port: 40002, peerKey: OTHER, renewed: true });
    expect(s.pool.workerOfPeer('wg', OTHER)).toBe(1);
    expect(s.pool.holds('wg', '192.0.2.9', 40002)).toBe(true);
    await s.pool.stop(100);
  });

  test('a stale renewal from the worker a peer roamed away from does not take the peer back from the main thread', async () => {
    const s = await setup({ count: 3 });
    s.threads[0].say({ kind: 'flow', listener: 'wg', address: '192.0.2.7', port: 40000, peerKey: KEY });
    // the peer roams to an endpoint the kernel hashes to the main thread
    s.pool.notePeer(0, 'wg', KEY);
    s.pool.noteFlow(0, 'wg', '192.0.2.8', 40001, KEY);
    // worker 1's old flow still lives for its idle time and is renewed
    s.threads[0].say({ kind: 'flow', listener: 'wg', address: '192.0.2.7', port: 40000, peerKey: KEY, renewed: true });
    expect(s.pool.workerOfPeer('wg', KEY)).toBeUndefined();
    expect(s.pool.holdsPeer('wg', KEY)).toBe(false);
    // the main thread holds the peer's session now: a push is sent there, by no worker
    (s.listener as { send: ListenerHandle['send'] }).send = (datagram, done) => {
      s.mainSent.push(datagram);
      done?.(undefined);
    };
    await expect(push(s)).resolves.toBeUndefined();
    expect(s.mainSent).toHaveLength(1);
    expect(await s.threads[0].sends()).toEqual([]);
    expect(await s.threads[1].sends()).toEqual([]);

    // a new report from a worker (the peer roamed there again) makes it the owner once more
    s.threads[1].say({ kind: 'peer', listener: 'wg', peerKey: KEY, address: '192.0.2.10', port: 40003 });
    expect(s.pool.workerOfPeer('wg', KEY)).toBe(2);
    await s.pool.stop(100);
  });
});
