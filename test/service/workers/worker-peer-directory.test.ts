/**
 * A worker thread's view of the fleet directory: claims are posted to the main thread, lookups by
 * endpoint are requests answered once (by the main thread, by a timeout, or when the worker stops).
 */
import { MessageChannel } from 'node:worker_threads';
import type { MainToWorker, WorkerToMain } from '../../../service/workers/worker-messages';
import { WorkerPeerDirectory } from '../../../service/workers/worker-peer-directory';

const KEY = 'hR1Cw6bzGNHWyuPZGuu8/QZfbt7bCDlKOYmVVVK2DTw=';

function directory(options: { lookups?: boolean; timeoutMs?: number } = {}): { peers: WorkerPeerDirectory; posted: WorkerToMain[]; flows: string[] } {
  const posted: WorkerToMain[] = [];
  const flows: string[] = [];
  const peers = new WorkerPeerDirectory({
    post: (message) => posted.push(message),
    lookups: options.lookups ?? true,
    flowClaimed: (listener, address, port, peerKey) => flows.push(`${listener} ${address}:${port} ${peerKey}`),
    timeoutMs: options.timeoutMs,
  });
  return { peers, posted, flows };
}

describe('WorkerPeerDirectory', () => {
  afterEach(() => jest.useRealTimers());

  test('a session\'s claims are posted to the main thread, and the flow claim is handed to the worker\'s flow renewals', () => {
    const { peers, posted, flows } = directory();
    peers.claimPeer('wg', KEY, '192.0.2.7', 40000);
    peers.claimFlow('wg', '192.0.2.7', 40000, KEY);
    expect(posted).toEqual([
      { kind: 'peer', listener: 'wg', peerKey: KEY, address: '192.0.2.7', port: 40000 },
      { kind: 'flow', listener: 'wg', address: '192.0.2.7', port: 40000, peerKey: KEY },
    ]);
    expect(flows).toEqual([`wg 192.0.2.7:40000 ${KEY}`]);
  });

  test('a lookup is a request with an id, answered by the main thread\'s answer of that id', () => {
    const { peers, posted } = directory();
    const answers: Array<string | undefined> = [];
    peers.peerAt('wg', '192.0.2.7', 40000, (key) => answers.push(key));
    peers.peerAt('wg', '192.0.2.8', 40001, (key) => answers.push(key));
    expect(posted).toEqual([
      { kind: 'peer-at', id: 1, listener: 'wg', address: '192.0.2.7', port: 40000 },
      { kind: 'peer-at', id: 2, listener: 'wg', address: '192.0.2.8', port: 40001 },
    ]);
    expect(peers.waitingLookups).toBe(2);
    peers.answered({ kind: 'peer-at', id: 2 });
    peers.answered({ kind: 'peer-at', id: 1, peerKey: KEY });
    // an answer given twice, or for an id never asked, changes nothing
    peers.answered({ kind: 'peer-at', id: 1, peerKey: 'other' });
    peers.answered({ kind: 'peer-at', id: 99, peerKey: 'other' });
    expect(answers).toEqual([undefined, KEY]);
    expect(peers.waitingLookups).toBe(0);
  });

  test('a lookup the main thread\'s directory could not read fails: no answer about the endpoint', () => {
    const { peers } = directory();
    const answers: Array<[string | undefined, boolean | undefined]> = [];
    peers.peerAt('wg', '192.0.2.7', 40000, (key, failed) => answers.push([key, failed]));
    peers.peerAt('wg', '192.0.2.8', 40001, (key, failed) => answers.push([key, failed]));
    peers.answered({ kind: 'peer-at', id: 1, failed: true });
    peers.answered({ kind: 'peer-at', id: 2 });
    expect(answers).toEqual([[undefined, true], [undefined, undefined]]);
  });

  test('a lookup the main thread does not answer in time fails, and the late answer is ignored', () => {
    jest.useFakeTimers();
    const { peers } = directory({ timeoutMs: 1_000 });
    const answers: Array<[string | undefined, boolean | undefined]> = [];
    peers.peerAt('wg', '192.0.2.7', 40000, (key, failed) => answers.push([key, failed]));
    jest.advanceTimersByTime(999);
    expect(answers).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(answers).toEqual([[undefined, true]]);
    peers.answered({ kind: 'peer-at', id: 1, peerKey: KEY });
    expect(answers).toEqual([[undefined, true]]);
    expect(peers.waitingLookups).toBe(0);
  });

  test('a worker that stops fails its waiting lookups and posts nothing more', () => {
    jest.useFakeTimers();
    const { peers, posted } = directory();
    const answers: Array<string | undefined> = [];
    const failures: Array<boolean | undefined> = [];
    peers.peerAt('wg', '192.0.2.7', 40000, (key, failed) => {
      answers.push(key);
      failures.push(failed);
    });
    peers.close();
    expect(answers).toEqual([undefined]);
    expect(failures).toEqual([true]);
    expect(jest.getTimerCount()).toBe(0);
    peers.claimPeer('wg', KEY, '192.0.2.7', 40000);
    peers.claimFlow('wg', '192.0.2.7', 40000, KEY);
    peers.peerAt('wg', '192.0.2.7', 40000, (key) => answers.push(key));
    expect(answers).toEqual([undefined, undefined]);
    expect(posted).toHaveLength(1);
  });

  test('without a directory on the main thread, a lookup is answered at once and nothing is asked', () => {
    const { peers, posted } = directory({ lookups: false });
    const answers: Array<string | undefined> = [];
    peers.peerAt('wg', '192.0.2.7', 40000, (key) => answers.push(key));
    expect(answers).toEqual([undefined]);
    expect(posted).toEqual([]);
    peers.claimPeer('wg', KEY, '192.0.2.7', 40000);
    expect(posted).toHaveLength(1);
  });

  test('a timeout that is not a positive number is refused, naming the value', () => {
    expect(() => directory({ timeoutMs: 0 })).toThrow('WorkerPeerDirectory: timeoutMs must be a number greater than 0, got 0');
  });

  test('requests and answers cross a real MessagePort', async () => {
    const { port1: worker, port2: main } = new MessageChannel();
    try {
      const peers = new WorkerPeerDirectory({ post: (message) => worker.postMessage(message), lookups: true });
      worker.on('message', (message: MainToWorker) => {
        if (message.kind === 'peer-at') peers.answered(message);
      });
      main.on('message', (message: WorkerToMain) => {
        if (message.kind === 'peer-at') main.postMessage({ kind: 'peer-at', id: message.id, peerKey: `${message.address}:${message.port}` } satisfies MainToWorker);
      });
      const key = await new Promise<string | undefined>((done) => peers.peerAt('wg', '192.0.2.7', 40000, done));
      expect(key).toBe('192.0.2.7:40000');
    } finally {
      worker.close();
      main.close();
    }
  });
});
