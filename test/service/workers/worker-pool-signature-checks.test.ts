/**
 * SNS signature checks spread over the worker threads, with stand-in threads (no Node.js 22
 * needed): the checks of one turn go to the worker threads in turn, one message per worker with
 * the keys they use; the answers settle each check; a worker that exits or a pool that stops
 * leaves its checks unavailable (the message is received again later); with no worker thread
 * running, the check is made on the calling thread.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { SignatureCheckUnavailable } from '../../../service/sourcing/sns-message-verifier';
import type { CheckBatch } from '../../../service/workers/worker-messages';
import { WorkerPool, WorkerThread } from '../../../service/workers/worker-pool';
import { capturingLogger } from '../helpers';
import { StandInThread } from './stand-in-thread';

const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
const TEXT = 'Message\nhello\nMessageId\nm\nTimestamp\nt\nTopicArn\narn\nType\nNotification\n';
const SIGNATURE = sign('sha256', Buffer.from(TEXT, 'utf8'), privateKey).toString('base64');

async function started(count: number): Promise<{ pool: WorkerPool; threads: StandInThread[] }> {
  const threads: StandInThread[] = [];
  const pool = new WorkerPool({
    count,
    logger: capturingLogger().logger,
    workerData: { mode: 'local', region: 'us-east-1', host: '127.0.0.1' },
    startThread: (data) => {
      const thread = new StandInThread(data);
      threads.push(thread);
      return thread as unknown as WorkerThread;
    },
  });
  await pool.start();
  return { pool, threads };
}

/** The check batches posted to `thread` so far, once the pool has posted this turn's. */
async function checkBatches(thread: StandInThread): Promise<CheckBatch[]> {
  await new Promise((resolve) => setImmediate(resolve));
  return thread.received.filter((m): m is CheckBatch => m.kind === 'check');
}

describe('worker pool: SNS signature checks', () => {
  test('the checks of one turn go to the worker threads in turn, one message each with the keys they use; the answers settle them', async () => {
    const { pool, threads } = await started(3);
    const checks = [publicKey, publicKey, other, publicKey].map((key) => pool.checkSignature('sha256', TEXT, key, SIGNATURE) as Promise<boolean>);
    const [first] = await checkBatches(threads[0]);
    const [second] = await checkBatches(threads[1]);
    expect(first.checks.map((c) => [c.digest, c.text, c.signature, c.key])).toEqual([['sha256', TEXT, SIGNATURE, 0], ['sha256', TEXT, SIGNATURE, 1]]);
    // each key once per batch, by identity (the stand-in receives what was posted, uncloned)
    expect(first.keys).toHaveLength(2);
    expect(first.keys[0]).toBe(publicKey);
    expect(first.keys[1]).toBe(other);
    expect(second.keys).toHaveLength(1);
    expect(second.keys[0]).toBe(publicKey);
    expect(second.checks).toHaveLength(2);

    threads[0].say({ kind: 'checked', results: [{ id: first.checks[0].id, valid: true }, { id: first.checks[1].id, valid: false }] });
    threads[1].say({ kind: 'checked', results: [{ id: second.checks[0].id, valid: true }, { id: second.checks[1].id, error: 'unsupported key' }] });
    await expect(checks[0]).resolves.toBe(true);
    await expect(checks[2]).resolves.toBe(false);
    await expect(checks[1]).resolves.toBe(true);
    await expect(checks[3]).rejects.toThrow('unsupported key');
    await pool.stop(100);
  });

  test('a worker that exits leaves its checks unavailable; later ones go to the workers that run, then to the calling thread', async () => {
    const { pool, threads } = await started(3);
    const lost = pool.checkSignature('sha256', TEXT, publicKey, SIGNATURE) as Promise<boolean>;
    await checkBatches(threads[0]);
    threads[0].exit(1);
    await expect(lost).rejects.toThrow(new SignatureCheckUnavailable('data-plane worker 1 exited before checking'));

    const next = pool.checkSignature('sha256', TEXT, publicKey, SIGNATURE) as Promise<boolean>;
    const [batch] = await checkBatches(threads[1]);
    threads[1].say({ kind: 'checked', results: [{ id: batch.checks[0].id, valid: true }] });
    await expect(next).resolves.toBe(true);

    threads[1].exit(1);
    // no worker thread runs: made here, at once
    expect(pool.checkSignature('sha256', TEXT, publicKey, SIGNATURE)).toBe(true);
    expect(pool.checkSignature('sha256', `${TEXT}x`, publicKey, SIGNATURE)).toBe(false);
    await pool.stop(100);
  });

  test('a stop leaves the checks in progress unavailable, and checks after it are made on the calling thread', async () => {
    const { pool, threads } = await started(2);
    const pending = expect(pool.checkSignature('sha256', TEXT, publicKey, SIGNATURE)).rejects.toBeInstanceOf(SignatureCheckUnavailable);
    await pool.stop(100);
    // posted before the stop, never answered
    expect(threads[0].received.map((m) => m.kind)).toEqual(['check', 'stop']);
    await pending;
    expect(pool.checkSignature('sha256', TEXT, publicKey, SIGNATURE)).toBe(true);
  });
});
