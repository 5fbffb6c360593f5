/**
 * A worker thread's {@link PeerDirectory}: the main thread's fleet directory, over the worker's
 * MessagePort. Claims are posted and never answered (the main thread records the worker as the
 * peer's owner among its workers and writes the fleet's items); a lookup by endpoint (`peerAt`) is
 * a request with an id, answered by the main thread, or failed (no answer about the endpoint) after
 * {@link PEER_AT_TIMEOUT_MS} or when the worker stops. Every callback is called exactly once.
 *
 * Claims are posted with or without a fleet: they are how the main thread learns which worker
 * holds each WireGuard session, so that pushes by PeerKey go to that worker. Lookups leave the
 * worker only when the main thread has a directory to ask (`lookups`).
 */
import { PEER_AT_TIMEOUT_MS, PeerAtAnswer, WorkerToMain } from './worker-messages';
import type { PeerAtCallback, PeerDirectory } from '../wireguard/fleet-sessions';

export interface WorkerPeerDirectoryOptions {
  /** Posts a message to the main thread. */
  readonly post: (message: WorkerToMain) => void;
  /** Whether the main thread has a directory to look peers up in. */
  readonly lookups: boolean;
  /** A flow was claimed for a WireGuard peer (the worker's renewals follow it with its PeerKey). */
  readonly flowClaimed?: (listener: string, address: string, port: number, peerKey: string) => void;
  /** @default PEER_AT_TIMEOUT_MS */
  readonly timeoutMs?: number;
}

interface Waiting {
  readonly done: PeerAtCallback;
  readonly timer: NodeJS.Timeout;
}

export class WorkerPeerDirectory implements PeerDirectory {
  private readonly waiting = new Map<number, Waiting>();
  private readonly timeoutMs: number;
  private nextId = 1;
  private closed = false;

  constructor(private readonly options: WorkerPeerDirectoryOptions) {
    this.timeoutMs = options.timeoutMs ?? PEER_AT_TIMEOUT_MS;
    if (!Number.isFinite(this.timeoutMs) || this.timeoutMs <= 0) {
      throw new Error(`WorkerPeerDirectory: timeoutMs must be a number greater than 0, got ${String(options.timeoutMs)}`);
    }
  }

  /** Lookups waiting for the main thread's answer. */
  get waitingLookups(): number {
    return this.waiting.size;
  }

  claimPeer(listener: string, peerKey: string, address: string, port: number): void {
    if (this.closed) return;
    this.options.post({ kind: 'peer', listener, peerKey, address, port });
  }

  claimFlow(listener: string, address: string, port: number, peerKey: string): void {
    if (this.closed) return;
    this.options.post({ kind: 'flow', listener, address, port, peerKey });
    this.options.flowClaimed?.(listener, address, port, peerKey);
  }

  peerAt(listener: string, address: string, port: number, done: PeerAtCallback): void {
    if (!this.options.lookups || this.closed) {
      done(undefined);
      return;
    }
    const id = this.nextId++;
    const timer = setTimeout(() => this.settle(id, undefined, true), this.timeoutMs);
    timer.unref();
    this.waiting.set(id, { done, timer });
    this.options.post({ kind: 'peer-at', id, listener, address, port });
  }

  /** The main thread's answer to a lookup; one that timed out already, or is unknown, is ignored. */
  answered(answer: PeerAtAnswer): void {
    this.settle(answer.id, answer.peerKey, answer.failed === true);
  }

  /** The worker stops: waiting lookups fail, and nothing more is posted. */
  close(): void {
    this.closed = true;
    for (const id of [...this.waiting.keys()]) this.settle(id, undefined, true);
  }

  private settle(id: number, peerKey: string | undefined, failed: boolean): void {
    const waiting = this.waiting.get(id);
    if (!waiting) return;
    this.waiting.delete(id);
    clearTimeout(waiting.timer);
    if (failed) waiting.done(undefined, true);
    else waiting.done(peerKey);
  }
}
