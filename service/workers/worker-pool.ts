/**
 * The main thread's side of the data-plane workers: starts workers 1..N-1 (the main thread's own
 * Gateway is worker 0), learns which worker owns each flow (a worker reports the flows its
 * datagrams start) and hands each sourced datagram to its owner over the worker's MessagePort,
 * bytes transferred (the datagrams of one event-loop turn in one message per worker). An owner
 * that turns out not to hold the client (NoActiveFlow, NoSession, UnknownPeer) passes the datagram
 * to the next worker, so no entry fails while another worker could send it. The RSA operations of
 * the delivery queue's SNS signature checks are made on the worker threads the same way. A worker is an owner in the fleet's sense (docs/FLEET.md), one process down:
 * the WireGuard sessions a worker establishes are claimed in the fleet directory through the main
 * thread, and its lookups of a peer by endpoint are answered from the main thread's directory.
 *
 * Who owns a client: the main thread's own clients are in its Gateway's FlowTable and its
 * Listeners' sessions; this pool remembers only the clients of worker threads 1..N-1 (flows and
 * WireGuard peers, from the workers' reports), and forgets one as soon as the main thread reports
 * it. A client the pool does not name is the main thread's (or nobody's).
 */
import type { KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Logger } from '@aws-lambda-powertools/logger';
import { SendBatchWriter } from './send-batch';
import {
  DATA_PLANE_WORKER_ROLE, DataPlaneWorkerData, FLOW_HELD_MS, MainToWorker, PeerAtRequest, SignatureCheckRequest, WorkerToMain,
} from './worker-messages';
import type { EgressDatagram, FailureCode, ListenerHandle, ListenerRegistry, SendCallback } from '../contracts';
import { describeError } from '../process-errors';
import { checkSignature, SignatureCheck, SignatureCheckUnavailable } from '../sourcing/sns-message-verifier';
import type { EntryRouter, RoutedEntry } from '../sourcing/sourced-delivery';
import type { PeerDirectory } from '../wireguard/fleet-sessions';

/** What the pool uses of a worker thread. */
export type WorkerThread = Pick<Worker, 'postMessage' | 'on' | 'once' | 'terminate'>;

/** Failures that mean "not this worker's client": the next worker is tried. */
const NOT_OWNED: ReadonlySet<FailureCode> = new Set<FailureCode>(['NoActiveFlow', 'NoSession', 'UnknownPeer']);

/**
 * Owners remembered at most, by default; the least recently reported are forgotten first (a
 * forgotten owner costs a try, not a packet).
 */
const MAX_OWNERS = 262_144;

/** Longest wait for a worker to bind its Listeners. */
const START_TIMEOUT_MS = 30_000;

export interface WorkerPoolOptions {
  /** Workers in all, the main thread included (≥ 2). */
  readonly count: number;
  /** What each worker is started with, but its role and index. */
  readonly workerData: Omit<DataPlaneWorkerData, 'role' | 'index'>;
  readonly logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** How the main thread sends its own clients' datagrams (the fleet, when on). @default - the Listener's own send */
  readonly mainRouter?: EntryRouter;
  /**
   * Whether this member drains (docs/FLEET.md): every datagram then goes to the main router (the
   * fleet), which sends for no flow of this member's. @default - never
   */
  readonly draining?: () => boolean;
  /**
   * A worker thread's datagram started a flow, or a worker's WireGuard session claimed the flow of
   * its endpoint (`peerKey`): the fleet claims it for this member.
   */
  readonly onWorkerFlow?: (listener: string, address: string, port: number, peerKey?: string) => void;
  /**
   * A worker thread failed, once per worker: an exception or rejection escaped in it (the thread
   * runs on until the pool stops it), or it ended (or emitted `error`) after it started while the
   * pool was not stopping. The task should stop (docs/DESIGN.md "Data-plane workers").
   * @default - the failure is logged only
   */
  readonly onWorkerFailed?: (worker: number, reason: string) => void;
  /**
   * The main thread's fleet directory: the workers' WireGuard sessions are claimed in it and their
   * lookups of a peer by endpoint answered from it. @default - none: lookups are answered "no peer known"
   */
  readonly peerDirectory?: Pick<PeerDirectory, 'claimPeer' | 'peerAt'>;
  /** Owners (flows and peers) remembered at most; the least recently reported go first. @default 262144 */
  readonly maxOwners?: number;
  /** Starts a worker thread. @default - a `node:worker_threads` Worker running the data plane */
  readonly startThread?: (workerData: DataPlaneWorkerData) => WorkerThread;
  /** Epoch milliseconds. @default Date.now */
  readonly now?: () => number;
}

/** Who owns a client, and when it last said so. */
interface Owner {
  readonly worker: number;
  /** Epoch ms of the worker's latest report (0 for peers learned from a send). */
  at: number;
  /** A WireGuard peer's endpoint, when reported: the session is held while the worker holds its flow. */
  address?: string;
  port?: number;
}

/** How a worker names itself a client's owner (see `own`). */
type Claim = 'report' | 'renewal' | 'sent';

/**
 * Entry of a send that did not come from a message (a relay this member serves for another fleet
 * member): sent from the Listener, never routed by the fleet again.
 */
const RELAYED_ENTRY: RoutedEntry = Object.freeze({ messageId: '', index: 0, deadline: 0 });

interface PendingSend {
  readonly listener: ListenerHandle;
  readonly datagram: EgressDatagram;
  readonly entry: RoutedEntry;
  readonly done: SendCallback;
  /** The worker thought to own the client, tried first. */
  readonly owner: number;
  /** Workers tried so far: the owner, then the others in index order. */
  tries: number;
  /** Worker trying now. */
  at: number;
}

export class WorkerPool implements EntryRouter {
  private readonly workers: WorkerThread[] = [];
  /** Worker threads that exited (by index). */
  private readonly exited = new Set<number>();
  /** Worker threads reported failed (by index): each is reported once. */
  private readonly failed = new Set<number>();
  /** Worker thread (1..N-1) owning a client, by flow key (`listener\0address\0port`) or peer key (`listener\0peerKey`). */
  private readonly owners = new Map<string, Owner>();
  /**
   * Clients the main thread took from a worker thread (a peer that roamed to the main thread's
   * socket), by the same keys, in report order, at most `maxOwners`: a renewal from the worker that
   * held one (its old flow still active there) is stale and does not take it back.
   */
  private readonly takenByMain = new Map<string, number>();
  private readonly now: () => number;
  private readonly maxOwners: number;
  private readonly pending = new Map<number, PendingSend>();
  /**
   * Sends routed to each worker thread (by index − 1) in this turn of the event loop, posted in one
   * message per worker at its end (the check phase): a message per datagram cost the main thread
   * about 1.5 times as much per datagram, at ten a turn (bench/OPTIMIZATIONS.md, "Worker hand-offs
   * in batches").
   */
  private readonly outbox: Array<SendBatchWriter | undefined> = [];
  private postScheduled = false;
  private nextId = 1;
  /** Signature checks given to each worker thread (by index − 1) in this turn, posted with its sends. */
  private readonly checkOutbox: Array<OutgoingChecks | undefined> = [];
  /** Signature checks a worker thread is making, by id. */
  private readonly checking = new Map<number, PendingCheck>();
  /** The worker thread the next signature check goes to (round robin over 1..N-1). */
  private nextChecker = 0;
  private stopping = false;

  public constructor(private readonly options: WorkerPoolOptions) {
    if (!Number.isInteger(options.count) || options.count < 2) throw new Error(`a worker pool needs at least 2 workers, got ${String(options.count)}`);
    this.now = options.now ?? Date.now;
    this.maxOwners = options.maxOwners ?? MAX_OWNERS;
    if (!Number.isInteger(this.maxOwners) || this.maxOwners < 1) {
      throw new Error(`maxOwners must be a whole number ≥ 1, got ${String(options.maxOwners)}`);
    }
  }

  /** Whether a worker thread (not the main thread) holds the client's flow, by its latest reports. */
  public holds(listener: string, address: string, port: number): boolean {
    const owner = this.owners.get(flowKey(listener, address, port));
    return owner !== undefined && owner.worker !== 0 && this.now() - owner.at <= FLOW_HELD_MS;
  }

  /**
   * Whether a worker thread (not the main thread) holds the WireGuard session of `key`, by its
   * latest reports: of the session, or of the flow of the session's endpoint.
   */
  public holdsPeer(listener: string, key: string): boolean {
    const owner = this.owners.get(peerKey(listener, key));
    if (owner === undefined) return false;
    const now = this.now();
    if (now - owner.at <= FLOW_HELD_MS) return true;
    if (owner.address === undefined || owner.port === undefined) return false;
    const flow = this.owners.get(flowKey(listener, owner.address, owner.port));
    return flow !== undefined && flow.worker === owner.worker && now - flow.at <= FLOW_HELD_MS;
  }

  /** The worker thread a push by `key` goes to first (undefined: the main thread's Listener). */
  public workerOfPeer(listener: string, key: string): number | undefined {
    return this.owners.get(peerKey(listener, key))?.worker;
  }

  /**
   * `registry`'s Listeners, each sending through the worker that owns the client: what the fleet
   * relay serves other members with.
   */
  public listenersOf(registry: ListenerRegistry): ListenerRegistry {
    const through = (listener: ListenerHandle): ListenerHandle => ({
      name: listener.name,
      protocol: listener.protocol,
      address: listener.address,
      port: listener.port,
      publicKey: listener.publicKey,
      send: (datagram, done) => this.send(listener, datagram, RELAYED_ENTRY, done ?? ignore),
      // a session any worker holds is this member's
      ...(listener.holdsSession !== undefined
        ? { holdsSession: (key: string) => listener.holdsSession!(key) || this.holdsPeer(listener.name, key) }
        : {}),
    });
    return {
      get: (name) => {
        const listener = registry.get(name);
        return listener ? through(listener) : undefined;
      },
      list: () => registry.list().map(through),
    };
  }

  /** Workers in all, the main thread included. */
  public get count(): number {
    return this.options.count;
  }

  /** Flows and peers whose owner is known. */
  public get knownOwners(): number {
    return this.owners.size;
  }

  /** Starts workers 1..N-1 and waits until each has bound its Listeners; on a failure stops the others and rejects. */
  public async start(): Promise<void> {
    const startThread = this.options.startThread ?? startDataPlaneThread;
    const starts: Array<Promise<void>> = [];
    for (let index = 1; index < this.options.count; index++) {
      const data: DataPlaneWorkerData = { ...this.options.workerData, role: DATA_PLANE_WORKER_ROLE, index };
      const worker = startThread(data);
      this.workers.push(worker);
      starts.push(this.started(worker, index));
    }
    try {
      await Promise.all(starts);
    } catch (err) {
      await this.stop(1_000);
      throw err;
    }
    this.options.logger.info('data-plane workers started', { workers: this.options.count });
  }

  /**
   * `worker` started a flow (`peerKey`: the WireGuard peer speaking from it): it owns it now. The
   * main thread (0) reports its own so that the pool forgets a worker thread that held it before.
   * `renewed`: the worker says again that a flow it started lives on; that confirms the worker as
   * the owner (or records it when none is known) but never takes the flow or the peer from another
   * worker that reported it since (a peer that roamed to another worker's socket).
   */
  public noteFlow(worker: number, listener: string, address: string, port: number, key?: string, renewed = false): void {
    const at = this.now();
    const claim: Claim = renewed ? 'renewal' : 'report';
    this.own(flowKey(listener, address, port), worker, at, claim);
    if (key !== undefined) this.own(peerKey(listener, key), worker, at, claim, address, port);
  }

  /**
   * `worker` established a session of the WireGuard peer `key` (reached at `address:port`): pushes
   * by its PeerKey go there.
   */
  public notePeer(worker: number, listener: string, key: string, address?: string, port?: number): void {
    this.own(peerKey(listener, key), worker, this.now(), 'report', address, port);
  }

  /** {@link EntryRouter}: sends `datagram` from the worker that owns its client. */
  public send(listener: ListenerHandle, datagram: EgressDatagram, entry: RoutedEntry, done: SendCallback): void {
    if (this.options.draining?.() === true) {
      this.attempt({ listener, datagram, entry, done, owner: 0, tries: this.options.count, at: 0 });
      return;
    }
    const owner = ((datagram.peerKey !== undefined ? this.owners.get(peerKey(listener.name, datagram.peerKey)) : undefined)
      ?? this.owners.get(flowKey(listener.name, datagram.address, datagram.port)))?.worker
      ?? 0;
    this.attempt({ listener, datagram, entry, done, owner, tries: 1, at: owner });
  }

  /**
   * A {@link SignatureCheck} made on the worker threads, in turn, so that the SNS signature checks
   * of the delivery queue the main thread consumes are spread over the task's cores (the checks of
   * one turn go to a worker in one message, posted at the turn's end after its sends). Made on the calling thread when no
   * worker thread runs; a check whose worker exits or stops first is unavailable (the message is
   * received again later).
   */
  public readonly checkSignature: SignatureCheck = (digest, text, key, signature) => {
    const worker = this.checker();
    if (worker === undefined) return checkSignature(digest, text, key, signature);
    return new Promise<boolean>((resolve, reject) => {
      const id = this.nextId++;
      this.checking.set(id, { worker, resolve, reject });
      let batch = this.checkOutbox[worker - 1];
      if (batch === undefined) this.checkOutbox[worker - 1] = batch = new OutgoingChecks();
      batch.add(id, digest, text, signature, key);
      this.schedulePost();
    });
  };

  /** Stops every worker's data plane within `deadlineMs` (then ends the threads); one that exited already is not waited for. */
  public async stop(deadlineMs: number): Promise<void> {
    this.stopping = true;
    this.postBatches(); // the sends routed so far reach their workers before the stop
    await Promise.all(this.workers
      .filter((_worker, i) => !this.exited.has(i + 1))
      .map((worker) => stopWorker(worker, deadlineMs)));
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.done({ code: 'SendFailed', reason: 'the data-plane worker owning the client stopped before sending' });
    }
    this.checksUnavailable(undefined, 'the data-plane workers stopped before checking');
  }

  /** The worker thread that makes the next signature check, in turn; none once stopping or when none runs. */
  private checker(): number | undefined {
    if (this.stopping) return undefined;
    const threads = this.workers.length;
    for (let tried = 0; tried < threads; tried++) {
      const worker = (this.nextChecker++ % threads) + 1;
      if (!this.exited.has(worker)) return worker;
    }
    return undefined;
  }

  /** The checks `worker` (every worker: undefined) was making will not be answered. */
  private checksUnavailable(worker: number | undefined, reason: string): void {
    for (const [id, check] of this.checking) {
      if (worker !== undefined && check.worker !== worker) continue;
      this.checking.delete(id);
      check.reject(new SignatureCheckUnavailable(reason));
    }
  }

  private attempt(p: PendingSend): void {
    if (p.at === 0) {
      // a relay this member serves is sent from its Listener (or answered), never routed again
      const router = p.entry === RELAYED_ENTRY ? undefined : this.options.mainRouter;
      const done: SendCallback = (failure) => this.completed(p, failure?.code, failure?.reason, failure?.target);
      if (router) router.send(p.listener, p.datagram, p.entry, done);
      else p.listener.send(p.datagram, done);
      return;
    }
    if (this.exited.has(p.at)) {
      this.completed(p, 'NoActiveFlow', `data-plane worker ${p.at} exited`, undefined);
      return;
    }
    const id = this.nextId++;
    let batch = this.outbox[p.at - 1];
    if (batch === undefined) this.outbox[p.at - 1] = batch = new SendBatchWriter();
    try {
      // the bytes are copied: the caller may reuse its buffer once send returns
      batch.add(id, p.listener.name, p.datagram);
    } catch (err) {
      p.done({ code: 'SendFailed', reason: `the datagram could not be handed to data-plane worker ${p.at}: ${(err as Error).message}` });
      return;
    }
    this.pending.set(id, p);
    this.schedulePost();
  }

  /** Posts the turn's batches at its end. */
  private schedulePost(): void {
    if (!this.postScheduled) {
      this.postScheduled = true;
      setImmediate(this.postBatches);
    }
  }

  /**
   * Posts each worker's batch of sends, then of signature checks, one message each (a worker that
   * exited meanwhile has had its sends failed and its checks made unavailable).
   */
  private readonly postBatches = (): void => {
    this.postScheduled = false;
    for (let i = 0; i < this.workers.length; i++) {
      const sends = this.outbox[i];
      const checks = this.checkOutbox[i];
      this.outbox[i] = undefined;
      this.checkOutbox[i] = undefined;
      if (this.exited.has(i + 1)) continue;
      if (sends) {
        const { batch, transfer } = sends.finish();
        this.workers[i].postMessage(batch satisfies MainToWorker, transfer);
      }
      if (checks) this.workers[i].postMessage({ kind: 'check', keys: checks.keys, checks: checks.checks } satisfies MainToWorker);
    }
  };

  /** Completes the pending send `id` with a worker's outcome (an id no longer pending is ignored). */
  private settle(id: number, code: string | undefined, reason: string | undefined, target: string | undefined): void {
    const p = this.pending.get(id);
    if (p === undefined) return;
    this.pending.delete(id);
    this.completed(p, code, reason, target);
  }

  private completed(p: PendingSend, code: string | undefined, reason: string | undefined, target: string | undefined): void {
    if (code === undefined) {
      if (p.at !== 0 && p.datagram.peerKey !== undefined) this.own(peerKey(p.listener.name, p.datagram.peerKey), p.at, 0, 'sent');
      p.done(undefined);
      return;
    }
    if (NOT_OWNED.has(code as FailureCode) && !this.stopping) {
      if (p.tries < this.options.count) {
        // after the owner, the others in index order, skipping the owner
        p.at = p.tries - 1 < p.owner ? p.tries - 1 : p.tries;
        p.tries++;
        this.attempt(p);
        return;
      }
    }
    p.done({ code: code as FailureCode, reason: reason ?? code, ...(target !== undefined ? { target } : {}) });
  }

  /**
   * Records `worker` as a client's owner; the main thread (0) is never recorded: its entry goes
   * (remembered in {@link takenByMain}). `claim`: a `report` (a new flow or session) makes `worker`
   * the owner; a `renewal` confirms the owner it names, or records it where none is known, but never
   * displaces another worker, the main thread included; a
   * `sent` (the worker sent to the peer) makes it the owner without reordering an entry it holds
   * (the send path stays a lookup). A report or renewal moves the entry to the end, so the
   * least recently reported owner is the one forgotten at {@link WorkerPoolOptions.maxOwners}.
   */
  private own(key: string, worker: number, at: number, claim: Claim, address?: string, port?: number): void {
    if (worker === 0) {
      // taken from a worker thread: that worker's later renewal of it is stale
      if (this.owners.delete(key) || this.takenByMain.delete(key)) {
        this.takenByMain.set(key, at);
        if (this.takenByMain.size > this.maxOwners) this.takenByMain.delete(this.takenByMain.keys().next().value!);
      }
      return;
    }
    const owner = this.owners.get(key);
    if (owner === undefined && claim === 'renewal' && this.takenByMain.has(key)) return;
    if (owner !== undefined && owner.worker === worker) {
      if (at > owner.at) owner.at = at;
      // a renewal names the flow it renews, which is the peer's endpoint only when none is known
      if (address !== undefined && (claim === 'report' || owner.address === undefined)) {
        owner.address = address;
        owner.port = port;
      }
      if (claim !== 'sent') {
        this.owners.delete(key);
        this.owners.set(key, owner);
      }
      return;
    }
    if (owner !== undefined && claim === 'renewal') return;
    this.owners.delete(key);
    this.takenByMain.delete(key);
    this.owners.set(key, address === undefined ? { worker, at } : { worker, at, address, port });
    if (this.owners.size > this.maxOwners) this.owners.delete(this.owners.keys().next().value!);
  }

  /** Reports `worker`'s failure, once. */
  private fail(worker: number, reason: string): void {
    if (this.failed.has(worker)) return;
    this.failed.add(worker);
    this.options.onWorkerFailed?.(worker, reason);
  }

  /**
   * Handles `worker`'s messages and end; resolves once it is ready. After that, its end (or
   * `error`) while the pool is not stopping, and its report of an escaped error, are its failure.
   */
  private started(worker: WorkerThread, index: number): Promise<void> {
    let ready = false;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`data-plane worker ${index} did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
      timer.unref();
      worker.on('message', (message: WorkerToMain) => {
        switch (message.kind) {
          case 'ready':
            clearTimeout(timer);
            ready = true;
            resolve();
            break;
          case 'start-failed':
            clearTimeout(timer);
            reject(new Error(`data-plane worker ${index} could not start: ${message.error}`));
            break;
          case 'flow':
            this.noteFlow(index, message.listener, message.address, message.port, message.peerKey, message.renewed === true);
            if (message.renewed !== true) this.options.onWorkerFlow?.(message.listener, message.address, message.port, message.peerKey);
            break;
          case 'peer':
            this.notePeer(index, message.listener, message.peerKey, message.address, message.port);
            this.options.peerDirectory?.claimPeer(message.listener, message.peerKey, message.address, message.port);
            break;
          case 'peer-at':
            this.answerPeerAt(worker, index, message);
            break;
          case 'failed':
            if (ready) {
              this.fail(index, `${message.origin}: ${message.error}`);
            } else {
              clearTimeout(timer);
              reject(new Error(`data-plane worker ${index} failed while starting: ${message.origin}: ${message.error}`));
            }
            break;
          case 'checked':
            for (const result of message.results) {
              const check = this.checking.get(result.id);
              if (!check) continue;
              this.checking.delete(result.id);
              if ('valid' in result) check.resolve(result.valid);
              else check.reject(new Error(result.error));
            }
            break;
          case 'sent':
            for (const id of message.sent) this.settle(id, undefined, undefined, undefined);
            for (const failure of message.failures) this.settle(failure.id, failure.code, failure.reason, failure.target);
            break;
          default:
            break;
        }
      });
      worker.on('error', (err: unknown) => {
        clearTimeout(timer);
        const { error } = describeError(err);
        this.options.logger.error('data-plane worker failed', { worker: index, error });
        reject(new Error(`data-plane worker ${index} failed: ${error}`));
        if (ready && !this.stopping) this.fail(index, `error: ${error}`);
      });
      worker.on('exit', (code) => {
        clearTimeout(timer);
        if (!this.stopping) this.options.logger.error('data-plane worker exited', { worker: index, code });
        reject(new Error(`data-plane worker ${index} exited with code ${code}`));
        this.exited.add(index);
        this.forgetOwnersOf(index);
        this.failPendingOf(index);
        this.checksUnavailable(index, `data-plane worker ${index} exited before checking`);
        if (ready && !this.stopping) this.fail(index, `exited with code ${code}`);
      });
    });
  }

  /** A worker's lookup of the peer at an endpoint, answered from the main thread's directory (unless the worker exited meanwhile). */
  private answerPeerAt(worker: WorkerThread, index: number, request: PeerAtRequest): void {
    const answer = (key: string | undefined, failed?: boolean): void => {
      if (this.exited.has(index)) return;
      const found = failed === true ? { failed: true as const } : key !== undefined ? { peerKey: key } : {};
      worker.postMessage({ kind: 'peer-at', id: request.id, ...found } satisfies MainToWorker);
    };
    const directory = this.options.peerDirectory;
    if (directory) directory.peerAt(request.listener, request.address, request.port, answer);
    else answer(undefined);
  }

  /** An exited worker holds no client any more. */
  private forgetOwnersOf(index: number): void {
    for (const [key, owner] of this.owners) if (owner.worker === index) this.owners.delete(key);
  }

  private failPendingOf(index: number): void {
    for (const [id, p] of this.pending) {
      if (p.at !== index) continue;
      this.pending.delete(id);
      this.completed(p, 'NoActiveFlow', `data-plane worker ${index} exited`, undefined);
    }
  }
}

/** A signature check a worker thread is making. */
interface PendingCheck {
  readonly worker: number;
  readonly resolve: (valid: boolean) => void;
  readonly reject: (err: Error) => void;
}

/** The signature checks given to one worker thread in one turn, and the distinct keys they use. */
class OutgoingChecks {
  readonly checks: SignatureCheckRequest[] = [];
  readonly keys: KeyObject[] = [];

  add(id: number, digest: string, text: string, signature: string, key: KeyObject): void {
    let at = this.keys.indexOf(key);
    if (at < 0) at = this.keys.push(key) - 1;
    this.checks.push({ id, digest, text, signature, key: at });
  }
}

function ignore(): void {
  // a send nobody waits for
}

function flowKey(listener: string, address: string, port: number): string {
  return `${listener}\0${address}\0${port}`;
}

function peerKey(listener: string, key: string): string {
  return `${listener}\0${key}`;
}

/** Asks a worker to stop and waits for it (at most `deadlineMs` and a margin), then ends the thread. */
function stopWorker(worker: WorkerThread, deadlineMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const finish = (): void => {
      clearTimeout(timer);
      void worker.terminate().then(() => resolve(), () => resolve());
    };
    const timer = setTimeout(finish, deadlineMs + 1_000);
    worker.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    worker.on('message', (message: WorkerToMain) => {
      if (message.kind === 'stopped') finish();
    });
    try {
      worker.postMessage({ kind: 'stop', deadlineMs } satisfies MainToWorker);
    } catch {
      finish();
    }
  });
}

/** Starts a data-plane worker thread (what {@link WorkerPoolOptions.startThread} defaults to). */
export function startDataPlaneThread(workerData: DataPlaneWorkerData): WorkerThread {
  const { file, execArgv } = workerEntry();
  return new Worker(file, { workerData, ...(execArgv ? { execArgv } : {}) });
}

/**
 * The file a worker thread runs: from the TypeScript sources, worker-entry.ts under tsx; from the
 * bundle (assets/service/index.js), the bundle itself, whose main.ts starts a worker's data plane.
 */
function workerEntry(): { file: string; execArgv?: string[] } {
  if (__filename.endsWith('.ts')) return { file: join(__dirname, 'worker-entry.ts'), execArgv: ['--import', 'tsx'] };
  return { file: __filename };
}
