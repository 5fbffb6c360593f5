/**
 * Delivery of a batch through a service's batch-write API (SNS PublishBatch, Kinesis PutRecords,
 * Firehose PutRecordBatch, EventBridge PutEvents): the packets are split into calls within the
 * API's entry and byte limits, the calls run concurrently up to a bound, and the entries the
 * service reports as failed (and only those) are sent again, with backoff, a bounded number of
 * times. A call that fails as a whole fails its entries at once: the SDK has already retried it
 * when the error was retryable (throttling, 5xx).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { PacketDeliveryFailure } from './destination';

/** What one call of a batch-write API may carry. */
export interface BatchCallLimits {
  readonly maxEntries: number;
  /** Largest sum of {@link BatchWriteOptions.sizeOf} over the entries of one call. */
  readonly maxBytes: number;
}

/** An entry of a call that the service did not accept. */
export interface EntryFailure {
  /** Index of the packet in the delivered batch. */
  readonly index: number;
  readonly reason: string;
  /** The service may accept it when sent again (throttling, internal error), as opposed to a rejection of the entry itself. */
  readonly retriable: boolean;
}

/**
 * Sends the packets at `indices` (indexes into the delivered batch, ascending) in one call and
 * resolves with the entries the service did not accept. Rejects when the call failed as a whole.
 */
export type BatchCall = (indices: readonly number[]) => Promise<readonly EntryFailure[]>;

export interface BatchWriteOptions {
  readonly limits: BatchCallLimits;
  /** Calls in flight at once for one batch. @default DEFAULT_MAX_CONCURRENT_CALLS */
  readonly maxConcurrentCalls?: number;
  /** Sends of an entry the service keeps failing, the first included. @default DEFAULT_ENTRY_ATTEMPTS */
  readonly attempts?: number;
  /** Wait before the first resend; doubled for each further one, with jitter. @default DEFAULT_RETRY_DELAY_MS */
  readonly retryDelayMs?: number;
  /** Bytes the packet at `index` adds to a call, as the API counts them. */
  sizeOf(index: number): number;
  /** The reason recorded for every entry of a call that failed as a whole. */
  callFailureReason(err: unknown): string;
}

/** Options a destination passes through to {@link writeBatch} (tests shorten the waits). */
export type BatchRetryOptions = Pick<BatchWriteOptions, 'maxConcurrentCalls' | 'attempts' | 'retryDelayMs'>;

export const DEFAULT_MAX_CONCURRENT_CALLS = 8;
export const DEFAULT_ENTRY_ATTEMPTS = 3;
export const DEFAULT_RETRY_DELAY_MS = 100;

/**
 * Writes packets `0 … count-1` of a batch through `call` and resolves with those that were not
 * delivered after the retries, in index order (empty when all were).
 */
export async function writeBatch(count: number, call: BatchCall, options: BatchWriteOptions): Promise<PacketDeliveryFailure[]> {
  const attempts = Math.max(1, options.attempts ?? DEFAULT_ENTRY_ATTEMPTS);
  const delayMs = options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
  const failed: PacketDeliveryFailure[] = [];
  let pending: number[] = [];
  for (let i = 0; i < count; i++) pending.push(i);
  for (let attempt = 1; pending.length > 0; attempt++) {
    const calls = splitIntoCalls(pending, options.sizeOf, options.limits);
    const results = await runBounded(calls, options.maxConcurrentCalls ?? DEFAULT_MAX_CONCURRENT_CALLS, async (indices) => {
      try {
        return await call(indices);
      } catch (err) {
        const reason = options.callFailureReason(err);
        return indices.map((index) => ({ index, reason, retriable: false }));
      }
    });
    const again: number[] = [];
    for (const result of results) {
      for (const f of result) {
        if (f.retriable && attempt < attempts) again.push(f.index);
        else failed.push({ index: f.index, reason: attempt > 1 ? `${f.reason} (after ${attempt} attempts)` : f.reason });
      }
    }
    pending = again.sort((a, b) => a - b);
    if (pending.length > 0 && delayMs > 0) await sleep(delayMs * 2 ** (attempt - 1) * (0.5 + Math.random() / 2));
  }
  return failed.sort((a, b) => a.index - b.index);
}

/**
 * Splits `indices` into calls of at most `limits.maxEntries` entries and `limits.maxBytes` bytes,
 * in order. An entry larger than `maxBytes` on its own makes a call of one (the service rejects it
 * and says why).
 */
export function splitIntoCalls(indices: readonly number[], sizeOf: (index: number) => number, limits: BatchCallLimits): number[][] {
  const calls: number[][] = [];
  let current: number[] = [];
  let bytes = 0;
  for (const index of indices) {
    const size = sizeOf(index);
    if (current.length > 0 && (current.length >= limits.maxEntries || bytes + size > limits.maxBytes)) {
      calls.push(current);
      current = [];
      bytes = 0;
    }
    current.push(index);
    bytes += size;
  }
  if (current.length > 0) calls.push(current);
  return calls;
}

/** `fn` over `items` with at most `limit` in flight; results in the order of `items`. */
async function runBounded<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  const workers: Promise<void>[] = [];
  for (let w = 0; w < Math.min(Math.max(1, limit), items.length); w++) workers.push(worker());
  await Promise.all(workers);
  return results;
}

/** `(<name>): <message>` of an SDK error, for reasons. */
export function describeError(err: unknown): string {
  const e = err as { name?: string; message?: string } | undefined;
  return `(${e?.name ?? 'Error'}): ${e?.message ?? String(err)}`;
}
