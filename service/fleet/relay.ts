/**
 * The relay endpoint of one fleet member (docs/FLEET.md "Relay"): a UDP socket on the relay port
 * that sends sourced entries to the members owning their flows and serves the entries other
 * members send here.
 *
 * Sending: each request is retried every `retryMs` until `tries` datagrams went unanswered
 * (`Timeout`); at most `maxInFlight` requests per member are unanswered at a time, up to
 * `maxQueued` more wait behind them, and a request beyond that is answered `Busy` at once (the
 * caller retries later; nothing is dropped silently). A request whose datagram would exceed the
 * largest UDP datagram fails `PayloadTooLarge` before anything is sent, and a local send error
 * ends it at once (`SendError`) instead of waiting for answers that cannot come. One timer serves every request.
 *
 * Receiving: datagrams that fail the MAC, are older or newer than `maxSkewMs`, or repeat a
 * (sender, boot, sequence) already seen are refused without an answer. A retried request (same
 * requestId) is answered from the answers already given (not at all while it is still being
 * sent), never served twice; the answers are kept `answerMemoryMs` (relay-answers.ts).
 */
import { createSocket, RemoteInfo, Socket } from 'node:dgram';
import { MetricDimension, MetricName } from '../../lib/private/metrics';
import type { Failure, MetricsRecorder } from '../contracts';
import { RelayAnswers } from './relay-answers';
import {
  DecodedRelay, deriveRelayKey, extendSequence, MAX_RELAY_DATAGRAM_BYTES, RelayAnswer, RelayCodec, RelayOutcome, RelayRequest,
  relayRequestBytes, SEQUENCE_MODULUS,
} from './relay-codec';
import { ReplayWindow } from '../wireguard/replay-window';

/** Where another member's relay listens. */
export interface RelayPeer {
  readonly memberId: string;
  readonly address: string;
  readonly port: number;
}

/** The end of one relayed request. */
export type RelayResult =
  | { readonly outcome: RelayOutcome.Sent | RelayOutcome.NotOwner | RelayOutcome.Busy }
  | { readonly outcome: RelayOutcome.Failed; readonly failure: NonNullable<RelayAnswer['failure']> }
  | { readonly outcome: 'Timeout' }
  /**
   * This member's socket could not send the request (`code`: the system error, e.g. EHOSTUNREACH
   * for an owner whose host is gone, ENOBUFS): the owner never saw it.
   */
  | { readonly outcome: 'SendError'; readonly code: string; readonly failure: Failure };

/** A request to serve, and how to answer it (exactly once). */
export type RelayServer = (request: RelayRequest, sender: string, answer: (answer: Omit<RelayAnswer, 'requestId'>) => void) => void;

export interface RelayEndpointOptions {
  readonly memberId: string;
  /** The fleet's reply-tag secret; the relay key is derived from it. */
  readonly secret: Buffer;
  /** UDP port (0: any free port). */
  readonly port: number;
  /** @default 0.0.0.0 */
  readonly bindAddress?: string;
  /** Serves requests of other members. */
  readonly serve: RelayServer;
  readonly metrics: MetricsRecorder;
  /** Epoch milliseconds. @default Date.now */
  readonly now?: () => number;
  /** @default 250 */
  readonly retryMs?: number;
  /** Datagrams per request before it times out. @default 3 */
  readonly tries?: number;
  /** Unanswered requests per member. @default 1024 */
  readonly maxInFlight?: number;
  /** Requests waiting per member behind the in-flight window. @default 4096 */
  readonly maxQueued?: number;
  /** Largest clock difference accepted between members. @default 30000 */
  readonly maxSkewMs?: number;
  /**
   * How long the answers given to another member's requests are kept at least, to answer its
   * retries of the same requestId: longer than that member retries an entry.
   * @default 30000
   */
  readonly answerMemoryMs?: number;
  /** First sequence number this endpoint sends (tests start near the 32-bit wrap). @default 0 */
  readonly firstSequence?: number;
  /** Called with every refused datagram's reason (logs, tests). */
  readonly refused?: (reason: string, from: string) => void;
}

interface Pending {
  readonly requestId: number;
  readonly to: RelayPeer;
  readonly request: Omit<RelayRequest, 'requestId' | 'to'>;
  readonly done: (result: RelayResult) => void;
  readonly startedAt: number;
  tries: number;
  nextAt: number;
}

interface Lane {
  readonly inFlight: Map<number, Pending>;
  readonly queued: Pending[];
}

interface SenderState {
  readonly boot: number;
  readonly window: ReplayWindow;
  /** Highest sequence number accepted (extended past 32 bits); -1 before the first. */
  highest: number;
  /** Answers given to its requests, by requestId. */
  readonly answers: RelayAnswers;
}

/** Distinct senders remembered for replay protection and served answers. */
const MAX_SENDERS = 4096;
/** Answers per generation of one sender's {@link RelayAnswers}: ≈ 4,300 requests/s kept 30 s. */
const MAX_ANSWERS = 131_072;
const TICK_MS = 25;
const SEQUENCE_LIMIT = Number.MAX_SAFE_INTEGER;

export class RelayEndpoint {
  private readonly codec: RelayCodec;
  private readonly now: () => number;
  private readonly retryMs: number;
  private readonly tries: number;
  private readonly maxInFlight: number;
  private readonly maxQueued: number;
  private readonly maxSkewMs: number;
  private readonly answerMemoryMs: number;
  /** When every sender's answers were last aged ({@link ageAnswers}). */
  private answersAgedAt: number;
  private readonly boot: number;
  /** Datagrams sent: the next one's sequence number (its low 32 bits on the wire). */
  private sequence: number;
  private nextRequestId = 1;
  private socket?: Socket;
  private timer?: NodeJS.Timeout;
  private readonly lanes = new Map<string, Lane>();
  /** Every in-flight request by requestId: an answer is matched by its id, whoever answers it. */
  private readonly inFlight = new Map<number, Pending>();
  private readonly senders = new Map<string, SenderState>();
  private inFlightTotal = 0;

  constructor(private readonly options: RelayEndpointOptions) {
    this.codec = new RelayCodec(deriveRelayKey(options.secret));
    this.now = options.now ?? Date.now;
    this.retryMs = options.retryMs ?? 250;
    this.tries = Math.max(1, options.tries ?? 3);
    this.maxInFlight = Math.max(1, options.maxInFlight ?? 1024);
    this.maxQueued = Math.max(0, options.maxQueued ?? 4096);
    this.maxSkewMs = options.maxSkewMs ?? 30_000;
    this.answerMemoryMs = options.answerMemoryMs ?? 30_000;
    this.answersAgedAt = this.now();
    this.sequence = options.firstSequence ?? 0;
    this.boot = this.now();
  }

  /** The bound port. */
  get port(): number {
    const address = this.socket?.address();
    return address ? address.port : this.options.port;
  }

  get memberId(): string {
    return this.options.memberId;
  }

  /** Requests unanswered or waiting, over every member. */
  get pending(): number {
    let n = 0;
    for (const lane of this.lanes.values()) n += lane.inFlight.size + lane.queued.length;
    return n;
  }

  async start(): Promise<void> {
    if (this.socket) return;
    const socket = createSocket({ type: 'udp4' });
    socket.on('message', (msg, rinfo) => this.receive(msg, rinfo));
    socket.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(this.options.port, this.options.bindAddress ?? '0.0.0.0', () => {
        socket.off('error', reject);
        resolve();
      });
    });
    this.socket = socket;
  }

  /** Closes the socket; unanswered and waiting requests end with `Timeout`. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const lane of this.lanes.values()) {
      for (const p of [...lane.inFlight.values(), ...lane.queued]) p.done({ outcome: 'Timeout' });
      lane.inFlight.clear();
      lane.queued.length = 0;
    }
    this.inFlight.clear();
    this.inFlightTotal = 0;
    const socket = this.socket;
    this.socket = undefined;
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  /** A requestId for {@link request}: give it to every retry of one entry, so its owner serves it once. */
  newRequestId(): number {
    const id = this.nextRequestId;
    this.nextRequestId = this.nextRequestId >= 0xffffffff ? 1 : this.nextRequestId + 1;
    return id;
  }

  /**
   * Sends `request` to `to`; `done` is called exactly once with the owner's answer, `Busy`,
   * `Timeout`, a failure found before any answer (`PayloadTooLarge`), or `SendError`.
   * `requestId`: the one of an earlier try of the same entry (the owner answers it from the answer
   * it gave), at most one request in flight at a time with it; a new one by default.
   */
  request(to: RelayPeer, request: Omit<RelayRequest, 'requestId' | 'to'>, done: (result: RelayResult) => void, requestId = this.newRequestId()): void {
    const now = this.now();
    const bytes = relayRequestBytes(this.options.memberId, to.memberId, request);
    if (bytes > MAX_RELAY_DATAGRAM_BYTES) {
      const overhead = bytes - request.data.length;
      this.options.metrics.increment(MetricName.RelayFailures, 1, { [MetricDimension.Reason]: 'PayloadTooLarge' });
      done({
        outcome: RelayOutcome.Failed,
        failure: {
          code: 'PayloadTooLarge',
          reason: `payload of ${request.data.length} bytes cannot be relayed to fleet member ${to.memberId}, which owns the flow: `
            + `the relay datagram would be ${bytes} bytes, above ${MAX_RELAY_DATAGRAM_BYTES} (largest relayable payload of this entry: ${MAX_RELAY_DATAGRAM_BYTES - overhead} bytes)`,
        },
      });
      return;
    }
    let lane = this.lanes.get(to.memberId);
    if (!lane) {
      lane = { inFlight: new Map(), queued: [] };
      this.lanes.set(to.memberId, lane);
    }
    const pending: Pending = { requestId, to, request, done, startedAt: now, tries: 0, nextAt: now };
    if (lane.inFlight.size < this.maxInFlight) {
      this.launch(lane, pending);
    } else if (lane.queued.length < this.maxQueued) {
      lane.queued.push(pending);
    } else {
      this.options.metrics.increment(MetricName.RelayFailures, 1, { [MetricDimension.Reason]: 'QueueFull' });
      done({ outcome: RelayOutcome.Busy });
    }
  }

  private launch(lane: Lane, p: Pending): void {
    lane.inFlight.set(p.requestId, p);
    this.inFlight.set(p.requestId, p);
    this.inFlightTotal++;
    this.transmit(p);
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(), TICK_MS);
      this.timer.unref();
    }
  }

  private transmit(p: Pending): void {
    const now = this.now();
    p.tries++;
    p.nextAt = now + this.retryMs;
    let datagram: Buffer;
    try {
      datagram = this.codec.encodeRequest(this.header(now), { ...p.request, requestId: p.requestId, to: p.to.memberId });
    } catch (err) {
      this.finish(p, { outcome: RelayOutcome.Failed, failure: { code: 'SendFailed', reason: `relay request cannot be encoded: ${(err as Error).message}` } });
      return;
    }
    // an error of this member's socket (EMSGSIZE, ENOBUFS, a bad address, …) fails the request:
    // the owner never saw it, so it is no owner that does not answer
    const failed = (err: Error | null): void => {
      if (!err || this.lanes.get(p.to.memberId)?.inFlight.get(p.requestId) !== p) return;
      this.options.metrics.increment(MetricName.RelayFailures, 1, { [MetricDimension.Reason]: 'SendFailed' });
      const code = (err as NodeJS.ErrnoException).code ?? 'unknown';
      this.finish(p, {
        outcome: 'SendError',
        code,
        failure: { code: 'SendFailed', reason: `relay request to fleet member ${p.to.memberId} at ${p.to.address}:${p.to.port} could not be sent: ${err.message}` },
      });
    };
    try {
      this.socket?.send(datagram, p.to.port, p.to.address, failed);
    } catch (err) {
      failed(err as Error);
    }
  }

  private tick(): void {
    const now = this.now();
    for (const lane of this.lanes.values()) {
      for (const p of lane.inFlight.values()) {
        if (p.nextAt > now) continue;
        if (p.tries >= this.tries) {
          this.options.metrics.increment(MetricName.RelayFailures, 1, { [MetricDimension.Reason]: 'Timeout' });
          this.finish(p, { outcome: 'Timeout' });
        } else {
          this.transmit(p);
        }
      }
    }
    if (this.inFlightTotal === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** Ends an in-flight request and lets the next queued one of its member go. */
  private finish(p: Pending, result: RelayResult): void {
    const lane = this.lanes.get(p.to.memberId);
    // only while `p` itself is in flight (a later try of the same entry may carry its requestId)
    if (!lane || lane.inFlight.get(p.requestId) !== p) return;
    lane.inFlight.delete(p.requestId);
    this.inFlight.delete(p.requestId);
    this.inFlightTotal--;
    const next = lane.queued.shift();
    if (next) this.launch(lane, next);
    p.done(result);
  }

  private header(now: number): { boot: number; sequence: number; sentAt: number; sender: string } {
    // the counter goes on past 2^32; receivers restore it from its low 32 bits (extendSequence)
    const sequence = this.sequence % SEQUENCE_MODULUS;
    this.sequence++;
    return { boot: this.boot, sequence, sentAt: now, sender: this.options.memberId };
  }

  private receive(msg: Buffer, rinfo: RemoteInfo): void {
    const decoded = this.codec.decode(msg);
    const from = `${rinfo.address}:${rinfo.port}`;
    if (typeof decoded === 'string') return this.refuse(decoded, from);
    const { header } = decoded;
    const now = this.now();
    if (Math.abs(now - header.sentAt) > this.maxSkewMs) return this.refuse(`stale: sent ${now - header.sentAt} ms ago`, from);
    const state = this.fresh(header.sender, header.boot, header.sequence, now);
    if (!state) return this.refuse('replayed', from);
    if (now - this.answersAgedAt >= this.answerMemoryMs) this.ageAnswers(now);
    if (decoded.request) this.serveRequest(decoded, state.answers, rinfo, now);
    else this.answered(decoded.answer!, now);
  }

  /**
   * Ages every sender's answers, at most once per `answerMemoryMs`: those of a member that left
   * (a replaced task is a new sender) are dropped within about three times that, instead of
   * staying until {@link MAX_SENDERS} other senders push its state out.
   */
  private ageAnswers(now: number): void {
    this.answersAgedAt = now;
    for (const state of this.senders.values()) state.answers.expire(now);
  }

  /**
   * Records (sender, boot, sequence) and returns the sender's state; undefined when seen before or
   * from an older boot of the sender. A sender's new boot replaces its state (one per sender).
   */
  private fresh(sender: string, boot: number, wireSequence: number, now: number): SenderState | undefined {
    let state = this.senders.get(sender);
    if (!state || boot > state.boot) {
      if (!state && this.senders.size >= MAX_SENDERS) this.senders.delete(this.senders.keys().next().value as string);
      state = { boot, window: new ReplayWindow(), highest: -1, answers: new RelayAnswers(this.answerMemoryMs, MAX_ANSWERS, now) };
      this.senders.set(sender, state);
    } else if (boot < state.boot) {
      return undefined;
    }
    const sequence = extendSequence(state.highest, wireSequence);
    if (!state.window.accept(sequence, SEQUENCE_LIMIT)) return undefined;
    if (sequence > state.highest) state.highest = sequence;
    return state;
  }

  private serveRequest(decoded: DecodedRelay, answers: RelayAnswers, rinfo: RemoteInfo, now: number): void {
    const request = decoded.request!;
    const { requestId } = request;
    if (answers.has(requestId)) {
      // a retry: the answer given, none while the first try is still being sent
      const given = answers.get(requestId);
      if (given) this.reply(rinfo, requestId, given);
      return;
    }
    if (request.to !== this.options.memberId) {
      // meant for an earlier member at this address (a task replaced in place): not ours to send,
      // and not remembered: the sender's next try of the entry may be meant for this member
      this.reply(rinfo, requestId, { outcome: RelayOutcome.NotOwner });
      return;
    }
    answers.begin(requestId, now);
    this.options.metrics.increment(MetricName.RelayServed);
    let answered = false;
    const answer = (a: Omit<RelayAnswer, 'requestId'>): void => {
      if (answered) return;
      answered = true;
      // nothing was sent on NotOwner or Busy: a later try of the entry (the flow has come here
      // meanwhile) is served afresh
      if (a.outcome === RelayOutcome.NotOwner || a.outcome === RelayOutcome.Busy) answers.forget(requestId);
      else answers.settle(requestId, a);
      this.reply(rinfo, requestId, a);
    };
    try {
      this.options.serve(request, decoded.header.sender, answer);
    } catch (err) {
      answer({ outcome: RelayOutcome.Failed, failure: { code: 'SendFailed', reason: `relay request could not be served: ${(err as Error).message}` } });
    }
  }

  private reply(rinfo: RemoteInfo, requestId: number, a: Omit<RelayAnswer, 'requestId'>): void {
    const datagram = this.codec.encodeAnswer(this.header(this.now()), { ...a, requestId });
    this.socket?.send(datagram, rinfo.port, rinfo.address);
  }

  private answered(answer: RelayAnswer, now: number): void {
    const p = this.inFlight.get(answer.requestId);
    if (!p) return;
    const { metrics } = this.options;
    metrics.observe(MetricName.RelayLatencyMs, now - p.startedAt);
    switch (answer.outcome) {
      case RelayOutcome.Sent:
        metrics.increment(MetricName.Relayed);
        return this.finish(p, { outcome: RelayOutcome.Sent });
      case RelayOutcome.Failed:
        return this.finish(p, { outcome: RelayOutcome.Failed, failure: answer.failure! });
      case RelayOutcome.NotOwner:
        metrics.increment(MetricName.RelayFailures, 1, { [MetricDimension.Reason]: 'NotOwner' });
        return this.finish(p, { outcome: RelayOutcome.NotOwner });
      default:
        metrics.increment(MetricName.RelayFailures, 1, { [MetricDimension.Reason]: 'Busy' });
        return this.finish(p, { outcome: RelayOutcome.Busy });
    }
  }

  private refuse(reason: string, from: string): void {
    this.options.metrics.increment(MetricName.RelayFailures, 1, { [MetricDimension.Reason]: 'Refused' });
    this.options.refused?.(reason, from);
  }
}

