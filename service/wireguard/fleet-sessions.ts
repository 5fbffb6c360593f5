/**
 * A WireGuard Listener's sessions in a fleet (docs/FLEET.md "WireGuard across members"): it
 * records which member holds each peer's session, and re-establishes a session when a peer speaks
 * to this member without one.
 *
 * Recording: a session established here (a completed handshake, either direction) or moved to a
 * new endpoint claims the peer's directory item (`peer#<listener>#<peerKey>` → owner, endpoint)
 * and the flow item of its endpoint, naming the peer (`peerKey`): how a member finds the peer of an
 * endpoint later. Both only from authenticated traffic (transport data, or the response to our
 * initiation), never from an initiation, which can be replayed from anywhere.
 * A rekey by this member at the same endpoint writes nothing; a session that starts afresh here
 * (no earlier session of the peer was alive in this process) always writes, since another member
 * may have held the peer in between. Claims are coalesced by the directory and never awaited.
 *
 * Re-establishing: a transport message with a receiver index no session here has (the peer's
 * session was held by another member, or by this process before a restart) makes this member look
 * up which peer spoke last from the datagram's source (the `peerKey` of the flow item) and, when
 * the Listener accepts that peer, initiate a handshake to that endpoint at once instead of waiting
 * for the peer's own rekey (up to 120 s). Bounded work for forged or garbage datagrams: one lookup
 * per source endpoint per `endpointIntervalMs`, an unknown endpoint or a refused peer is not asked
 * about again for `negativeTtlMs`, and at most `lookupsPerSecond` lookups per Listener; the device
 * itself sends at most one initiation per peer per Rekey-Timeout (5 s). A lookup the directory could
 * not answer (a read error, no answer in time) says nothing about the endpoint: it is asked again
 * after `endpointIntervalMs`, not `negativeTtlMs`.
 */
import type { Failure } from '../contracts';
import type { InitiationOutcome } from './device';

/** Where a WireGuard Listener records and finds its peers' sessions (the fleet directory). */
export interface PeerDirectory {
  /** This member now holds the session of `peerKey`, reached at `address:port`; never awaited. */
  claimPeer(listener: string, peerKey: string, address: string, port: number): void;
  /** This member owns the flow from `address:port`, from which `peerKey` speaks; never awaited. */
  claimFlow(listener: string, address: string, port: number, peerKey: string): void;
  /**
   * The peer last recorded at `address:port` on `listener`, or undefined when none is. Called once;
   * `failed` is true when the directory could not be asked (a read error, no answer in time), which
   * is not an answer about the endpoint.
   */
  peerAt(listener: string, address: string, port: number, done: PeerAtCallback): void;
}

/** The answer to {@link PeerDirectory.peerAt}: the peer's key, or undefined (none recorded, or `failed`: no answer). */
export type PeerAtCallback = (peerKey: string | undefined, failed?: boolean) => void;

export interface FleetSessionsOptions {
  /** The Listener's name (directory keys). */
  readonly listener: string;
  readonly directory: PeerDirectory;
  /** Initiates a handshake (the Listener's device). */
  readonly initiate: (peerKey: string, address: string, port: number) => InitiationOutcome;
  /** The peer's current endpoint (the Listener's device). */
  readonly endpointOf: (peerKey: string) => { readonly address: string; readonly port: number } | undefined;
  /** A peer named by the directory is refused (its failure record). */
  readonly refused?: (failure: Failure, address: string, port: number, peerKey: string) => void;
  /** A handshake went to a peer that spoke without a session here. */
  readonly initiated?: (peerKey: string, address: string, port: number) => void;
  /** Epoch milliseconds. @default Date.now */
  readonly now?: () => number;
  /** Directory lookups per second (and burst). @default 50 */
  readonly lookupsPerSecond?: number;
  /** Shortest time between two lookups for one source endpoint. @default 5000 */
  readonly endpointIntervalMs?: number;
  /**
   * How long an endpoint without a known, accepted peer is not looked up again (a lookup that
   * failed waits `endpointIntervalMs` instead). @default 30000
   */
  readonly negativeTtlMs?: number;
  /** Source endpoints remembered at once (oldest forgotten first). @default 100000 */
  readonly maxEndpoints?: number;
  /** Peers whose claimed endpoint is remembered at once (oldest forgotten first). @default 1000000 */
  readonly maxClaims?: number;
}

/** Counters, for tests and logs. */
export interface FleetSessionsCounters {
  claims: number;
  lookups: number;
  /** Datagrams without a session whose lookup was skipped (endpoint asked recently, or the lookup rate spent). */
  lookupsSkipped: number;
  initiations: number;
  refusals: number;
  /** Lookups the directory could not answer (read error, no answer in time): asked again after `endpointIntervalMs`. */
  lookupFailures: number;
}

export class FleetSessions {
  readonly counters: FleetSessionsCounters = { claims: 0, lookups: 0, lookupsSkipped: 0, initiations: 0, refusals: 0, lookupFailures: 0 };
  private readonly now: () => number;
  private readonly rate: number;
  private readonly endpointIntervalMs: number;
  private readonly negativeTtlMs: number;
  private readonly maxEndpoints: number;
  private readonly maxClaims: number;
  /** Source endpoint → epoch ms before which it is not looked up again. */
  private readonly quiet = new Map<string, number>();
  /** Peer → `address:port` this member last claimed it at. */
  private readonly claimed = new Map<string, string>();
  private tokens: number;
  private refilledAt: number;

  constructor(private readonly options: FleetSessionsOptions) {
    this.now = options.now ?? Date.now;
    this.rate = positive(options.lookupsPerSecond ?? 50, 'lookupsPerSecond');
    this.endpointIntervalMs = positive(options.endpointIntervalMs ?? 5_000, 'endpointIntervalMs');
    this.negativeTtlMs = positive(options.negativeTtlMs ?? 30_000, 'negativeTtlMs');
    this.maxEndpoints = positive(options.maxEndpoints ?? 100_000, 'maxEndpoints');
    this.maxClaims = positive(options.maxClaims ?? 1_000_000, 'maxClaims');
    this.tokens = this.rate;
    this.refilledAt = this.now();
  }

  /**
   * A session of `peerKey` was established here (`fresh`: no earlier session of the peer was alive
   * in this process) or moved to a new endpoint: claims the peer item when this member had not
   * claimed it at this endpoint, or always when `fresh`.
   */
  sessionAt(peerKey: string, fresh: boolean): void {
    const endpoint = this.options.endpointOf(peerKey);
    if (!endpoint) return;
    const text = `${endpoint.address}:${endpoint.port}`;
    if (!fresh && this.claimed.get(peerKey) === text) return;
    this.claimed.delete(peerKey);
    if (this.claimed.size >= this.maxClaims) this.claimed.delete(this.claimed.keys().next().value as string);
    this.claimed.set(peerKey, text);
    this.counters.claims++;
    this.options.directory.claimPeer(this.options.listener, peerKey, endpoint.address, endpoint.port);
    this.options.directory.claimFlow(this.options.listener, endpoint.address, endpoint.port, peerKey);
  }

  /** A transport message from `address:port` had no session here: find its peer and initiate, within the bounds. */
  sessionUnknown(address: string, port: number): void {
    const now = this.now();
    const key = `${address}#${port}`;
    const quietUntil = this.quiet.get(key);
    if (quietUntil !== undefined && quietUntil > now) {
      this.counters.lookupsSkipped++;
      return;
    }
    if (!this.takeToken(now)) {
      this.counters.lookupsSkipped++;
      return;
    }
    this.quietFor(key, now + this.endpointIntervalMs);
    this.counters.lookups++;
    this.options.directory.peerAt(this.options.listener, address, port, (peerKey, failed) => {
      if (failed === true) {
        // not an answer about the endpoint: the quiet interval set above lets its next datagram ask again
        this.counters.lookupFailures++;
        return;
      }
      if (peerKey === undefined) {
        this.quietFor(key, this.now() + this.negativeTtlMs);
        return;
      }
      const outcome = this.options.initiate(peerKey, address, port);
      if (typeof outcome === 'object') {
        this.counters.refusals++;
        this.quietFor(key, this.now() + this.negativeTtlMs);
        this.options.refused?.(outcome, address, port, peerKey);
        return;
      }
      if (outcome === 'initiated') {
        this.counters.initiations++;
        // the session that follows starts afresh here: its claim is written whatever was claimed before
        this.claimed.delete(peerKey);
        this.options.initiated?.(peerKey, address, port);
      }
    });
  }

  private takeToken(now: number): boolean {
    this.tokens = Math.min(this.rate, this.tokens + ((now - this.refilledAt) / 1000) * this.rate);
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  private quietFor(key: string, until: number): void {
    this.quiet.delete(key);
    if (this.quiet.size >= this.maxEndpoints) this.quiet.delete(this.quiet.keys().next().value as string);
    this.quiet.set(key, until);
  }
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) throw new Error(`FleetSessions: ${name} must be a number greater than 0, got ${String(value)}`);
  return value;
}
