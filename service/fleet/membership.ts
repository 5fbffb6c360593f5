/**
 * Fleet membership (docs/FLEET.md "Membership"): this member's item in the fleet's directory table
 * (`member#<memberId>`: relay endpoint, start time, draining) written at start, refreshed every
 * `refreshSeconds` with a TTL of `itemTtlSeconds`, deleted at stop; and the relay endpoints of
 * other members, read on demand and cached briefly. A member whose relay did not answer is
 * suspect for `suspectMs`: it is treated as gone (its entries wait for a live owner) without any
 * all-to-all heartbeat.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { MemberIdentity } from './member';
import type { RelayPeer } from './relay';
import {
  DIRECTORY_PARTITION_KEY,
  EXPIRES_AT_ATTRIBUTE,
  memberItemKey,
  RELAY_ENDPOINT_ATTRIBUTE,
  SINCE_ATTRIBUTE,
} from '../../lib/private/fleet';
import { inIntegerRange, PORT } from '../../lib/private/limits';

export interface FleetMembershipOptions {
  readonly documents: DynamoDBDocumentClient;
  /** The fleet's directory table. */
  readonly tableName: string;
  readonly self: MemberIdentity;
  /** This member's relay port (a function when it is known only once the relay is bound). */
  readonly relayPort: number | (() => number);
  readonly logger?: Pick<Logger, 'warn' | 'info'>;
  /** Epoch milliseconds. @default Date.now */
  readonly now?: () => number;
  /** @default 60 */
  readonly refreshSeconds?: number;
  /** @default 180 */
  readonly itemTtlSeconds?: number;
  /** How long a member that did not answer is treated as gone. @default 10000 */
  readonly suspectMs?: number;
  /** How long another member's endpoint is cached. @default 15000 */
  readonly peerCacheMs?: number;
}

/** Another member as its item describes it: where its relay listens, and whether it drains. */
export interface FleetPeer extends RelayPeer {
  /** The member drains (SIGTERM): it owns no flow and answers relays NotOwner. */
  readonly draining?: boolean;
}

interface KnownPeer {
  readonly peer: FleetPeer | undefined;
  readonly readAt: number;
}

const DRAINING_ATTRIBUTE = 'draining';
const STARTED_ATTRIBUTE = 'started';

export class FleetMembership {
  private readonly now: () => number;
  private readonly refreshMs: number;
  private readonly ttlSeconds: number;
  private readonly suspectMs: number;
  private readonly peerCacheMs: number;
  private readonly startedAt: number;
  private readonly peers = new Map<string, KnownPeer>();
  private readonly suspects = new Map<string, number>();
  private readonly reading = new Map<string, Array<(peer: FleetPeer | undefined) => void>>();
  private timer?: NodeJS.Timeout;
  private draining = false;
  private stopped = false;

  constructor(private readonly options: FleetMembershipOptions) {
    this.now = options.now ?? Date.now;
    this.refreshMs = (options.refreshSeconds ?? 60) * 1000;
    this.ttlSeconds = options.itemTtlSeconds ?? 180;
    this.suspectMs = options.suspectMs ?? 10_000;
    this.peerCacheMs = options.peerCacheMs ?? 15_000;
    this.startedAt = this.now();
  }

  get memberId(): string {
    return this.options.self.memberId;
  }

  /** Writes this member's item (rejects when the table cannot be written) and keeps it fresh. */
  async start(): Promise<void> {
    await this.announce();
    this.schedule();
  }

  /** Marks this member draining in its item (it owns no flow any more; it still answers relays, NotOwner). */
  async drain(): Promise<void> {
    this.draining = true;
    await this.announce().catch((err) => this.options.logger?.warn('fleet member item not updated', { error: (err as Error).message }));
  }

  /** Stops refreshing and deletes this member's item. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    try {
      const key = { [DIRECTORY_PARTITION_KEY]: memberItemKey(this.memberId) };
      await this.options.documents.send(new DeleteCommand({ TableName: this.options.tableName, Key: key }));
    } catch (err) {
      this.options.logger?.warn('fleet member item not deleted; it expires on its own', { error: (err as Error).message });
    }
  }

  /** The relay endpoint of `memberId` (and whether it drains), or undefined when it has no live item or is suspect. */
  peer(memberId: string, done: (peer: FleetPeer | undefined) => void): void {
    const now = this.now();
    const suspectUntil = this.suspects.get(memberId);
    if (suspectUntil !== undefined) {
      if (suspectUntil > now) return done(undefined);
      this.suspects.delete(memberId);
    }
    const known = this.peers.get(memberId);
    if (known && now - known.readAt < this.peerCacheMs) return done(known.peer);
    const waiting = this.reading.get(memberId);
    if (waiting) {
      waiting.push(done);
      return;
    }
    this.reading.set(memberId, [done]);
    void this.read(memberId).then((peer) => {
      const callbacks = this.reading.get(memberId) ?? [];
      this.reading.delete(memberId);
      for (const callback of callbacks) callback(peer);
    });
  }

  /** `memberId` did not answer a relay: treated as gone for `suspectMs`. */
  suspect(memberId: string): void {
    if (memberId === this.memberId) return;
    this.suspects.set(memberId, this.now() + this.suspectMs);
    this.peers.delete(memberId);
    this.options.logger?.info('fleet member suspect: its relay did not answer', { member: memberId, forMs: this.suspectMs });
  }

  private async read(memberId: string): Promise<FleetPeer | undefined> {
    let peer: FleetPeer | undefined;
    try {
      const key = { [DIRECTORY_PARTITION_KEY]: memberItemKey(memberId) };
      const out = await this.options.documents.send(new GetCommand({ TableName: this.options.tableName, Key: key }));
      peer = peerOf(memberId, out.Item, this.now());
    } catch (err) {
      this.options.logger?.warn('fleet member item not read', { member: memberId, error: (err as Error).message });
      return undefined;
    }
    if (this.peers.size >= 10_000) this.peers.clear();
    this.peers.set(memberId, { peer, readAt: this.now() });
    return peer;
  }

  private async announce(): Promise<void> {
    const { self, relayPort, tableName, documents } = this.options;
    const now = this.now();
    await documents.send(new PutCommand({
      TableName: tableName,
      Item: {
        [DIRECTORY_PARTITION_KEY]: memberItemKey(self.memberId),
        [RELAY_ENDPOINT_ATTRIBUTE]: `${self.address}:${typeof relayPort === 'number' ? relayPort : relayPort()}`,
        [STARTED_ATTRIBUTE]: this.startedAt,
        [SINCE_ATTRIBUTE]: now,
        [DRAINING_ATTRIBUTE]: this.draining,
        [EXPIRES_AT_ATTRIBUTE]: Math.floor(now / 1000) + this.ttlSeconds,
      },
    }));
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.announce()
        .catch((err) => this.options.logger?.warn('fleet member item not refreshed', { error: (err as Error).message }))
        .finally(() => this.schedule());
    }, this.refreshMs);
    this.timer.unref();
  }
}

function peerOf(memberId: string, item: Record<string, unknown> | undefined, now: number): FleetPeer | undefined {
  if (!item) return undefined;
  const expiresAt = item[EXPIRES_AT_ATTRIBUTE];
  if (typeof expiresAt === 'number' && expiresAt * 1000 < now) return undefined;
  const endpoint = item[RELAY_ENDPOINT_ATTRIBUTE];
  if (typeof endpoint !== 'string') return undefined;
  const at = endpoint.lastIndexOf(':');
  const port = Number(endpoint.slice(at + 1));
  if (at <= 0 || !inIntegerRange(port, PORT)) return undefined;
  return { memberId, address: endpoint.slice(0, at), port, ...(item[DRAINING_ATTRIBUTE] === true ? { draining: true } : {}) };
}
