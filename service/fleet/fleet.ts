/**
 * This member's part in the Listener fleet (docs/FLEET.md): the relay endpoint, the directory and
 * the membership item, and the two decisions that use them.
 *
 * Sending a sourced entry ({@link Fleet.send}): a flow this member owns is sent from the Listener
 * at once (one Map lookup). Otherwise the owner is looked up (owner cache, then the directory)
 * and the entry is relayed to it; the owner answers with its egress guard's verdict. An entry
 * whose owner is unknown, suspect, or answers NotOwner/Busy waits and is tried again (250 ms,
 * doubling up to 2 s; the own flow table first) until its TtlSeconds (`Expired`) or the retry
 * budget (`NoActiveFlow`) runs out. The SQS message stays in flight meanwhile and is deleted only
 * when every entry is sent or failed, so no entry is lost to an owner change and none is sent
 * twice; the budget stays below the delivery queue's visibility timeout.
 *
 * Serving a relayed entry ({@link Fleet.serve}): sent from the Listener only while this member
 * owns the flow (NotOwner otherwise), through the Listener's own egress rules.
 *
 * Draining ({@link Fleet.drain}, on SIGTERM): the member owns no flow any more. ECS stops a
 * service's task only after deregistering it from the load balancer and waiting the target
 * group's deregistration delay, at whose end the load balancer ends the task's flows (connection
 * termination); a datagram this member sent for them now would leave from the NAT address. So it
 * answers every relay NotOwner (the sender retries through the directory), no longer sends from its
 * own flow table, and is not chosen as an owner by the others; the entries it still holds keep
 * being routed through the directory to the members the clients' next datagrams land on. Entries
 * still waiting when it stops are left unsettled: their message is not deleted and the queue
 * hands it to another member after its visibility timeout.
 * WireGuard: an entry with a PeerKey for a WireGuard Listener belongs to the member holding the
 * peer's session (the peer item, `peer#`), not to the flow of the entry's Remote address; that
 * member encrypts it with its session. Same lookups, retries and answers as for flows.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { flowItemKey, peerItemKey } from '../../lib/private/fleet';
import { canonicalAddress } from '../../lib/private/network';
import type { EgressDatagram, Failure, ListenerHandle, ListenerRegistry, MetricsRecorder, SendCallback } from '../contracts';
import { ClaimRefresh } from './claim-refresh';
import { FleetDirectory } from './directory';
import type { MemberIdentity } from './member';
import { FleetMembership } from './membership';
import type { RegionForwarder } from './region-forwarder';
import { RelayEndpoint, RelayResult } from './relay';
import { RelayAnswer, RelayOutcome, RelayRequest } from './relay-codec';
import type { FlowTable } from '../egress/flow-table';
import type { EntryRouter, RoutedEntry } from '../sourcing/sourced-delivery';

export interface FleetOptions {
  readonly identity: MemberIdentity;
  /** The fleet's reply-tag secret (the relay key is derived from it). */
  readonly secret: Buffer;
  /** Relay UDP port (0: any free port). */
  readonly relayPort: number;
  /** @default 0.0.0.0 */
  readonly relayBindAddress?: string;
  readonly documents: DynamoDBDocumentClient;
  /** The fleet's directory table (directory and member items). */
  readonly directoryTableName: string;
  /**
   * This member's region: written into its claims, and an owner the directory names in another
   * region is never relayed to (its address is in another VPC).
   * @default - claims name no region
   */
  readonly region?: string;
  readonly listeners: ListenerRegistry;
  /** Whether this member holds a client's flow (with data-plane workers: any of its workers). */
  readonly flows: Pick<FlowTable, 'isActive'>;
  readonly metrics: MetricsRecorder;
  readonly logger: Pick<Logger, 'info' | 'warn' | 'debug'>;
  /** Longest wait of an entry for an owner. @default 20000 */
  readonly retryBudgetMs?: number;
  /** Entries waiting for an owner at once; beyond this an entry without owner fails at once. @default 100000 */
  readonly maxWaiting?: number;
  /** Epoch milliseconds. @default Date.now */
  readonly now?: () => number;
  /**
   * Forwards entries whose flow is owned in a peer region to that region's delivery queue.
   * @default - such entries wait for an owner in this region
   */
  readonly forwarder?: RegionForwarder;
  /** Directory claim coalescing. @default 100 */
  readonly directoryFlushMs?: number;
  /** How long a member whose relay did not answer is treated as gone. @default 10000 */
  readonly suspectMs?: number;
}

/** Log message (INFO) when this member starts to drain: the other members own its flows from then on. */
export const DRAINING_LOG_MESSAGE = 'fleet member draining: its flows belong to other members now';

const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 2_000;
/** Socket errors that say an owner's host cannot be reached: it is suspect, as one that does not answer. */
const UNREACHABLE_ERRORS: ReadonlySet<string> = new Set(['EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ECONNREFUSED']);
/** Owners keep their relay answers this much longer than an entry is retried (transit, late first tries). */
const ANSWER_MEMORY_MARGIN_MS = 10_000;

/** One entry on its way to its owner. */
interface Routing {
  readonly listener: ListenerHandle;
  readonly datagram: EgressDatagram;
  readonly entry: RoutedEntry;
  readonly key: string;
  /** The entry's WireGuard peer, when it is routed by its session rather than its flow. */
  readonly peerKey: string | undefined;
  /** Epoch ms: end of the retry budget or the entry's TTL, whichever is first. */
  readonly giveUpAt: number;
  readonly done: SendCallback;
  delayMs: number;
  waiting: boolean;
  /**
   * The relay requestId of every try of this entry, whichever owner it goes to: an owner that
   * already sent it (its answer lost, or late) answers a later try from its answers, never sends
   * twice. Owners keep answers longer than an entry is retried (`answerMemoryMs`).
   */
  requestId: number | undefined;
  /**
   * A try of this entry timed out: an owner may have sent it, so its requestId is kept for every
   * later try. Until then a definite answer that nothing was sent (NotOwner, Busy, …) lets the
   * next try take a new one, which owners that remember such answers serve afresh.
   */
  uncertain: boolean;
  /** The last try's request could not leave this member: the failure the entry ends with if no later try gets through. */
  sendFailure: Failure | undefined;
}

export class Fleet implements EntryRouter {
  readonly relay: RelayEndpoint;
  readonly directory: FleetDirectory;
  readonly membership: FleetMembership;
  /** Writes the items of this member's long-lived flows again before they expire. */
  readonly claims: ClaimRefresh;
  private readonly now: () => number;
  private readonly budgetMs: number;
  private readonly maxWaiting: number;
  private readonly timers = new Map<NodeJS.Timeout, Routing>();
  private stopping = false;
  private draining = false;

  constructor(private readonly options: FleetOptions) {
    this.now = options.now ?? Date.now;
    this.budgetMs = options.retryBudgetMs ?? 20_000;
    this.maxWaiting = options.maxWaiting ?? 100_000;
    const { identity, documents, directoryTableName: tableName, metrics, logger } = options;
    this.relay = new RelayEndpoint({
      memberId: identity.memberId,
      secret: options.secret,
      port: options.relayPort,
      bindAddress: options.relayBindAddress,
      serve: (request, sender, answer) => this.serve(request, sender, answer),
      // the other members retry an entry for at most their retry budget (the fleet's members share
      // it), counted from before this member first received it: its answers outlast those retries
      answerMemoryMs: Math.max(30_000, this.budgetMs + ANSWER_MEMORY_MARGIN_MS),
      metrics,
      now: this.now,
      refused: (reason, from) => logger.debug('relay datagram refused', { reason, from }),
    });
    this.directory = new FleetDirectory({
      documents, tableName, memberId: identity.memberId, region: options.region, metrics, logger, now: this.now, flushMs: options.directoryFlushMs,
    });
    this.membership = new FleetMembership({
      documents, tableName, self: identity, relayPort: () => this.relay.port, logger, now: this.now, suspectMs: options.suspectMs,
    });
    this.claims = new ClaimRefresh({
      holds: (listener, address, port) => !this.draining && options.flows.isActive(listener, address, port),
      reclaim: (listener, address, port, peerKey) => this.directory.claimFlow(listener, address, port, peerKey),
      now: this.now,
    });
  }

  get memberId(): string {
    return this.options.identity.memberId;
  }

  /** Entries waiting for an owner. */
  get waiting(): number {
    return this.timers.size;
  }

  /** Opens the relay port and announces this member. */
  async start(): Promise<void> {
    await this.relay.start();
    await this.membership.start();
    this.claims.start();
    this.options.logger.info('fleet member started', { member: this.memberId, address: this.options.identity.address, relayPort: this.relay.port });
  }

  /** Whether this member drains (it sends for no flow and answers relays NotOwner). */
  get isDraining(): boolean {
    return this.draining;
  }

  /**
   * Marks this member draining: from now on it owns no flow (relays are answered NotOwner, its
   * own entries go to the flows' new owners) and its member item says so.
   */
  async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    this.options.logger.info(DRAINING_LOG_MESSAGE, { member: this.memberId, waiting: this.timers.size });
    await this.membership.drain();
  }

  /**
   * Ends waiting entries: left unsettled after a drain (their message returns through the queue to
   * another member), NoActiveFlow otherwise; writes pending claims, closes the relay, removes the
   * member item.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.claims.stop();
    const now = this.now();
    if (this.draining && this.timers.size > 0) {
      this.options.logger.warn('fleet member stopped with entries still waiting for an owner: their messages return through the delivery queue', { member: this.memberId, entries: this.timers.size });
    }
    for (const [timer, r] of this.timers) {
      clearTimeout(timer);
      if (!this.draining) r.done(this.noOwner(r, now));
    }
    this.timers.clear();
    await this.directory.stop();
    await this.relay.stop();
    await this.membership.stop();
  }

  /**
   * A datagram created a flow new to this member: it is the owner now (`peerKey`: the WireGuard
   * peer that sent it), unless it drains: it then owns no flow.
   */
  claimFlow(listener: string, address: string, port: number, peerKey?: string): void {
    if (this.draining) return;
    this.directory.claimFlow(listener, address, port, peerKey);
    this.claims.claim(listener, address, port, peerKey);
  }

  /** {@link EntryRouter}: sends `datagram` from its flow's owner. */
  send(listener: ListenerHandle, given: EgressDatagram, entry: RoutedEntry, done: SendCallback): void {
    const datagram = canonical(given);
    const peerKey = bySession(listener, datagram);
    if (this.isOwner(listener, datagram, peerKey)) {
      listener.send(datagram, done);
      return;
    }
    const budgetEnd = this.now() + this.budgetMs;
    const routing: Routing = {
      listener,
      datagram,
      entry,
      key: peerKey === undefined ? flowItemKey(listener.name, datagram.address, datagram.port) : peerItemKey(listener.name, peerKey),
      peerKey,
      giveUpAt: entry.deadline > 0 ? Math.min(entry.deadline, budgetEnd) : budgetEnd,
      done,
      delayMs: FIRST_RETRY_MS,
      waiting: false,
      requestId: undefined,
      uncertain: false,
      sendFailure: undefined,
    };
    this.route(routing);
  }

  /** Serves an entry another member relayed here. */
  serve(request: RelayRequest, sender: string, answer: (a: Omit<RelayAnswer, 'requestId'>) => void): void {
    // draining, this member owns no flow, also once its Listeners are closed: the sender retries elsewhere
    if (this.draining) {
      answer({ outcome: RelayOutcome.NotOwner });
      return;
    }
    const listener = this.options.listeners.get(request.listener);
    if (!listener) {
      answer({ outcome: RelayOutcome.Failed, failure: { code: 'SendFailed', reason: `Listener '${request.listener}' is not running on fleet member ${this.memberId}` } });
      return;
    }
    if (request.deadline > 0 && this.now() > request.deadline) {
      answer({ outcome: RelayOutcome.Failed, failure: { code: 'Expired', reason: `TtlSeconds elapsed at ${new Date(request.deadline).toISOString()} before the entry reached its flow's owner; not sent` } });
      return;
    }
    const datagram = canonical({ data: request.data, address: request.address, port: request.port, peerKey: request.peerKey, inner: request.inner });
    if (!this.isOwner(listener, datagram, bySession(listener, datagram))) {
      answer({ outcome: RelayOutcome.NotOwner });
      return;
    }
    this.options.logger.debug('relayed entry sent for another member', { from: sender, messageId: request.messageId, index: request.index });
    listener.send(
      datagram,
      (failure) => answer(failure ? { outcome: RelayOutcome.Failed, failure } : { outcome: RelayOutcome.Sent }),
    );
  }

  /**
   * Whether this member sends `datagram` itself: it holds the peer's session (`peerKey`), or else
   * owns the flow. A draining member owns nothing.
   */
  private isOwner(listener: ListenerHandle, datagram: EgressDatagram, peerKey: string | undefined): boolean {
    if (this.draining) return false;
    if (peerKey !== undefined) return listener.holdsSession!(peerKey);
    return this.options.flows.isActive(listener.name, datagram.address, datagram.port);
  }

  private route(r: Routing): void {
    if (this.isOwner(r.listener, r.datagram, r.peerKey)) {
      r.listener.send(r.datagram, r.done);
      return;
    }
    this.directory.lookup(r.key, (owner, region) => {
      if (region !== undefined) {
        // the flow's owner is in another region, out of the relay's reach: the entry goes to that
        // region's delivery queue when it may (a peer region, a message without EgressRegion not
        // forwarded before), else it waits for a datagram that makes a member of this region the
        // owner (docs/FLEET.md "Global")
        this.options.logger.debug('flow owned in another region', { region, owner, messageId: r.entry.messageId, index: r.entry.index });
        this.directory.forget(r.key);
        const forwarder = this.options.forwarder;
        const notification = r.entry.notification;
        if (forwarder && notification && forwarder.reaches(region)) {
          forwarder.forward(region, notification, r.entry.index, (failure) => (failure ? this.later(r) : r.done(undefined)));
          return;
        }
        this.later(r);
        return;
      }
      if (owner === undefined || owner === this.memberId) {
        // this member no longer holds the flow (expired, or draining): read the directory again next time
        if (owner !== undefined) this.directory.forget(r.key);
        this.later(r);
        return;
      }
      this.membership.peer(owner, (peer) => {
        // a draining member owns no flow: wait for the client's next datagram to name a live owner
        if (!peer || peer.draining) {
          this.directory.forget(r.key);
          this.later(r);
          return;
        }
        const { datagram, entry } = r;
        r.requestId ??= this.relay.newRequestId();
        this.relay.request(peer, {
          deadline: entry.deadline,
          listener: r.listener.name,
          address: datagram.address,
          port: datagram.port,
          peerKey: datagram.peerKey,
          inner: datagram.inner,
          messageId: entry.messageId,
          index: entry.index,
          data: datagram.data,
        }, (result) => this.relayed(r, owner, result), r.requestId);
      });
    });
  }

  private relayed(r: Routing, owner: string, result: RelayResult): void {
    switch (result.outcome) {
      case RelayOutcome.Sent:
        r.done(undefined);
        return;
      case RelayOutcome.Failed:
        r.done(result.failure);
        return;
      case 'Timeout':
        r.uncertain = true;
        r.sendFailure = undefined;
        this.membership.suspect(owner);
        this.directory.forget(r.key);
        this.later(r);
        return;
      case 'SendError':
        // this member could not send the request: the owner is suspect only when its host is
        // unreachable; after a local error (ENOBUFS, …) it is tried again like any owner
        this.options.logger.debug('relay request not sent', { owner, code: result.code, reason: result.failure.reason, messageId: r.entry.messageId, index: r.entry.index });
        if (UNREACHABLE_ERRORS.has(result.code)) this.membership.suspect(owner);
        r.sendFailure = result.failure;
        this.directory.forget(r.key);
        this.later(r);
        return;
      case RelayOutcome.NotOwner:
        this.notSent(r);
        this.directory.forget(r.key);
        this.later(r);
        return;
      default:
        this.notSent(r);
        this.later(r);
    }
  }

  /** An owner answered that it sent nothing: unless a try timed out, the next try takes a new requestId. */
  private notSent(r: Routing): void {
    r.sendFailure = undefined;
    if (!r.uncertain) r.requestId = undefined;
  }

  /** Tries `r` again after its back-off, or ends it when its time is up. */
  private later(r: Routing): void {
    const now = this.now();
    if (this.stopping || now + r.delayMs > r.giveUpAt || (!r.waiting && this.timers.size >= this.maxWaiting)) {
      r.done(this.noOwner(r, now));
      return;
    }
    r.waiting = true;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.route(r);
    }, r.delayMs);
    this.timers.set(timer, r);
    r.delayMs = Math.min(r.delayMs * 2, MAX_RETRY_MS);
  }

  private noOwner(r: Routing, now: number): Failure {
    const { datagram, listener, entry } = r;
    if (r.sendFailure !== undefined) return r.sendFailure;
    if (entry.deadline > 0 && now + r.delayMs > entry.deadline) {
      return { code: 'Expired', reason: `TtlSeconds elapsed at ${new Date(entry.deadline).toISOString()} while no fleet member owned the flow from ${datagram.address}:${datagram.port} to Listener ${listener.name}; not sent` };
    }
    if (r.peerKey !== undefined) {
      return {
        code: 'NoSession',
        reason: `no fleet member holds a session of peer ${r.peerKey} on Listener ${listener.name}`
          + (this.stopping ? ' (this member is stopping)' : ` (waited ${Math.round(this.budgetMs / 1000)} s): the peer must have spoken to the Listener recently (persistent keepalive ≤ 25 s)`),
      };
    }
    return {
      code: 'NoActiveFlow',
      reason: `no fleet member owns a flow from ${datagram.address}:${datagram.port} to Listener ${listener.name}`
        + (this.stopping ? ' (this member is stopping)' : ` (waited ${Math.round(this.budgetMs / 1000)} s): the client must have sent to the Listener recently (keepalive ≤ 25 s)`),
    };
  }
}

/**
 * `datagram` with its address in canonical text (lib/private/network.ts), the spelling flows and
 * directory claims are keyed by: `::ffff:203.0.113.5`, a written-out or upper-case IPv6 address
 * find their flow's owner like the address a client's datagram came from. A text that is no
 * address is left as it is (the Listener refuses it).
 */
function canonical(datagram: EgressDatagram): EgressDatagram {
  const address = typeof datagram.address === 'string' ? canonicalAddress(datagram.address) : undefined;
  return address === undefined || address === datagram.address ? datagram : { ...datagram, address };
}

/** The PeerKey an entry is routed by (a WireGuard Listener's entry naming its peer), or undefined: routed by its flow. */
function bySession(listener: ListenerHandle, datagram: EgressDatagram): string | undefined {
  return listener.holdsSession !== undefined && typeof datagram.peerKey === 'string' && datagram.peerKey !== '' ? datagram.peerKey : undefined;
}
