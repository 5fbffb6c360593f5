/**
 * The fleet's directory of owners (docs/FLEET.md "Ownership and the directory"): which member
 * owns a flow (Listener, client address, port) or a WireGuard peer, kept as items in the fleet's
 * directory table (not the configuration table) under the `flow#` and `peer#` key prefixes.
 *
 * Writes happen only when ownership changes (a flow new to this member): claims are coalesced by
 * key and written with BatchWriteItem (≤ 25 items) every `flushMs`, never awaited by the caller.
 * Lookups go to a bounded LRU owner cache first; misses of the same turn of the event loop are
 * read together with one BatchGetItem (≤ 100 keys). Items carry a TTL (`expiresAt`, epoch s).
 *
 * WireGuard: a flow item of a WireGuard Listener also names the peer that spoke from the flow
 * (`peerKey`), so a member that receives a datagram of a session it does not hold can find the
 * peer from the datagram's source ({@link FleetDirectory.peerAt}) and initiate a handshake; the
 * peer item (`peer#`) names the member holding the peer's session, for pushes by PeerKey.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { BatchGetCommand, BatchWriteCommand, DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import {
  DIRECTORY_PARTITION_KEY,
  ENDPOINT_ATTRIBUTE,
  EXPIRES_AT_ATTRIBUTE,
  flowItemKey,
  OWNER_MEMBER_ATTRIBUTE,
  PEER_KEY_ATTRIBUTE,
  OWNER_REGION_ATTRIBUTE,
  peerItemKey,
  SINCE_ATTRIBUTE,
} from '../../lib/private/fleet';
import { MetricName } from '../../lib/private/metrics';
import type { MetricsRecorder } from '../contracts';
import type { PeerAtCallback } from '../wireguard/fleet-sessions';

export interface FleetDirectoryOptions {
  readonly documents: DynamoDBDocumentClient;
  /** The fleet's directory table. */
  readonly tableName: string;
  /** This member: the owner its claims name. */
  readonly memberId: string;
  /**
   * This member's region, written into its claims and compared with the region of the owners it
   * reads (a directory shared by several regions' fleets).
   * @default - claims name no region, and every owner read is taken as this region's
   */
  readonly region?: string;
  readonly metrics: MetricsRecorder;
  readonly logger?: Pick<Logger, 'warn'>;
  /** Epoch milliseconds. @default Date.now */
  readonly now?: () => number;
  /** Longest wait of a claim before its write. @default 100 */
  readonly flushMs?: number;
  /** Owners kept in the cache. @default 100000 */
  readonly cacheSize?: number;
  /** Lifetime of an item. @default 604800 (7 days) */
  readonly itemTtlSeconds?: number;
  /** Claims waiting to be written; beyond this the oldest is dropped (the next datagram claims it again). @default 100000 */
  readonly maxPendingClaims?: number;
}

/** The owner of a flow or peer, as the directory records it. */
export interface DirectoryOwner {
  readonly member: string;
  /** The owner's region; undefined when the item names none (a directory of one region). */
  readonly region?: string;
}

/** Receives the owner of a key: undefined when none is recorded; `region` set only for an owner of another region. */
export type OwnerCallback = (owner: string | undefined, region?: string) => void;

interface Claim {
  readonly key: string;
  readonly since: number;
  readonly extra?: Record<string, unknown>;
}

const WRITE_BATCH = 25;
const READ_BATCH = 100;

export class FleetDirectory {
  private readonly documents: DynamoDBDocumentClient;
  private readonly now: () => number;
  private readonly flushMs: number;
  private readonly cacheSize: number;
  private readonly ttlSeconds: number;
  private readonly maxPending: number;
  private readonly claims = new Map<string, Claim>();
  private readonly cache = new Map<string, DirectoryOwner>();
  private flushTimer?: NodeJS.Timeout;
  private readonly writing = new Set<Promise<void>>();
  private lookups = new Map<string, OwnerCallback[]>();
  private lookupScheduled = false;
  private writesCount = 0;

  constructor(private readonly options: FleetDirectoryOptions) {
    this.documents = options.documents;
    this.now = options.now ?? Date.now;
    this.flushMs = options.flushMs ?? 100;
    this.cacheSize = Math.max(1, options.cacheSize ?? 100_000);
    this.ttlSeconds = options.itemTtlSeconds ?? 7 * 24 * 3600;
    this.maxPending = Math.max(1, options.maxPendingClaims ?? 100_000);
  }

  /** Items written since start (tests, benchmarks). */
  get writes(): number {
    return this.writesCount;
  }

  /**
   * This member now owns the flow: written within `flushMs`, never awaited. `peerKey` names the
   * WireGuard peer that spoke from it (WireGuard Listeners).
   */
  claimFlow(listener: string, address: string, port: number, peerKey?: string): void {
    this.claim(flowItemKey(listener, address, port), peerKey === undefined ? undefined : { [PEER_KEY_ATTRIBUTE]: peerKey });
  }

  /** This member now holds the WireGuard session of `peerKey`, reached at `address:port`. */
  claimPeer(listener: string, peerKey: string, address: string, port: number): void {
    this.claim(peerItemKey(listener, peerKey), { [ENDPOINT_ATTRIBUTE]: `${address}:${port}` });
  }

  /**
   * The WireGuard peer last recorded at `address:port` on `listener` (the `peerKey` of the flow
   * item), or undefined; `failed` when the read failed (logged), which says nothing about the
   * endpoint. One eventually consistent GetItem per call, never cached: callers bound how often
   * they ask (service/wireguard/fleet-sessions.ts).
   */
  peerAt(listener: string, address: string, port: number, done: PeerAtCallback): void {
    const get = new GetCommand({
      TableName: this.options.tableName,
      Key: { [DIRECTORY_PARTITION_KEY]: flowItemKey(listener, address, port) },
      ProjectionExpression: '#p, #x',
      ExpressionAttributeNames: { '#p': PEER_KEY_ATTRIBUTE, '#x': EXPIRES_AT_ATTRIBUTE },
    });
    this.documents.send(get).then(
      (out) => {
        const peerKey = out.Item?.[PEER_KEY_ATTRIBUTE];
        const expiresAt = out.Item?.[EXPIRES_AT_ATTRIBUTE];
        const live = typeof expiresAt !== 'number' || expiresAt * 1000 >= this.now();
        done(typeof peerKey === 'string' && live ? peerKey : undefined);
      },
      (err: Error) => {
        this.options.logger?.warn('fleet directory read failed', { error: err.message });
        done(undefined, true);
      },
    );
  }

  /**
   * The owner of a directory key (cache, then a batched read); undefined when none is recorded.
   * An owner in another region comes with that region (`done(member, region)`).
   */
  lookup(key: string, done: OwnerCallback): void {
    this.options.metrics.increment(MetricName.OwnerLookups);
    const cached = this.cache.get(key);
    if (cached !== undefined) {
      this.options.metrics.increment(MetricName.OwnerCacheHits);
      this.cache.delete(key);
      this.cache.set(key, cached);
      this.answer(done, cached);
      return;
    }
    const waiting = this.lookups.get(key);
    if (waiting) {
      waiting.push(done);
      return;
    }
    this.lookups.set(key, [done]);
    if (!this.lookupScheduled) {
      this.lookupScheduled = true;
      setImmediate(() => void this.readBatch());
    }
  }

  /** The owner of `key` from a strongly consistent read, bypassing the cache (after a NotOwner answer). */
  async lookupConsistent(key: string): Promise<string | undefined> {
    this.options.metrics.increment(MetricName.OwnerLookups);
    try {
      const get = new GetCommand({ TableName: this.options.tableName, Key: { [DIRECTORY_PARTITION_KEY]: key }, ConsistentRead: true });
      const out = await this.documents.send(get);
      const owner = ownerOf(out.Item);
      if (owner) this.remember(key, owner);
      return owner?.member;
    } catch (err) {
      this.options.logger?.warn('fleet directory read failed', { error: (err as Error).message });
      return undefined;
    }
  }

  /** Drops `key` from the cache (its cached owner answered NotOwner, or is dead). */
  forget(key: string): void {
    this.cache.delete(key);
  }

  /** Writes every waiting claim. */
  async flush(): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    while (this.claims.size > 0) this.writeBatch();
    while (this.writing.size > 0) await Promise.all([...this.writing]);
  }

  async stop(): Promise<void> {
    await this.flush();
  }

  private claim(key: string, extra?: Record<string, unknown>): void {
    this.cache.delete(key);
    this.claims.delete(key);
    if (this.claims.size >= this.maxPending) this.claims.delete(this.claims.keys().next().value as string);
    this.claims.set(key, { key, since: this.now(), extra });
    if (this.claims.size >= WRITE_BATCH) this.writeBatch();
    if (!this.flushTimer && this.claims.size > 0) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = undefined;
        while (this.claims.size > 0) this.writeBatch();
      }, this.flushMs);
      this.flushTimer.unref();
    }
  }

  private writeBatch(): void {
    const batch: Claim[] = [];
    for (const claim of this.claims.values()) {
      batch.push(claim);
      if (batch.length === WRITE_BATCH) break;
    }
    for (const claim of batch) this.claims.delete(claim.key);
    if (batch.length === 0) return;
    const work = this.write(batch).finally(() => this.writing.delete(work));
    this.writing.add(work);
  }

  private async write(batch: readonly Claim[]): Promise<void> {
    const { memberId, tableName } = this.options;
    let requests = batch.map((c) => ({
      PutRequest: {
        Item: {
          [DIRECTORY_PARTITION_KEY]: c.key,
          [OWNER_MEMBER_ATTRIBUTE]: memberId,
          ...(this.options.region !== undefined ? { [OWNER_REGION_ATTRIBUTE]: this.options.region } : {}),
          [SINCE_ATTRIBUTE]: c.since,
          [EXPIRES_AT_ATTRIBUTE]: Math.floor(c.since / 1000) + this.ttlSeconds,
          ...c.extra,
        },
      },
    }));
    for (let attempt = 0; attempt < 4 && requests.length > 0; attempt++) {
      try {
        const out = await this.documents.send(new BatchWriteCommand({ RequestItems: { [tableName]: requests } }));
        const written = requests.length - (out.UnprocessedItems?.[tableName]?.length ?? 0);
        this.writesCount += written;
        requests = (out.UnprocessedItems?.[tableName] ?? []) as typeof requests;
      } catch (err) {
        if (attempt === 3) {
          this.options.logger?.warn('fleet directory write failed; the flows are claimed again by their next datagram after expiry', { items: requests.length, error: (err as Error).message });
          return;
        }
      }
      if (requests.length > 0) await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
    }
  }

  private async readBatch(): Promise<void> {
    this.lookupScheduled = false;
    const lookups = this.lookups;
    this.lookups = new Map();
    const keys = [...lookups.keys()];
    for (let i = 0; i < keys.length; i += READ_BATCH) {
      const chunk = keys.slice(i, i + READ_BATCH);
      const owners = await this.read(chunk);
      for (const key of chunk) {
        const owner = owners.get(key);
        if (owner) this.remember(key, owner);
        for (const done of lookups.get(key) ?? []) this.answer(done, owner);
      }
    }
  }

  private async read(keys: readonly string[]): Promise<Map<string, DirectoryOwner>> {
    const { tableName } = this.options;
    const owners = new Map<string, DirectoryOwner>();
    let wanted: Array<Record<string, unknown>> = keys.map((k) => ({ [DIRECTORY_PARTITION_KEY]: k }));
    for (let attempt = 0; attempt < 3 && wanted.length > 0; attempt++) {
      try {
        const out = await this.documents.send(new BatchGetCommand({
          RequestItems: {
            [tableName]: {
              Keys: wanted,
              ProjectionExpression: '#k, #o, #r',
              ExpressionAttributeNames: { '#k': DIRECTORY_PARTITION_KEY, '#o': OWNER_MEMBER_ATTRIBUTE, '#r': OWNER_REGION_ATTRIBUTE },
            },
          },
        }));
        for (const item of out.Responses?.[tableName] ?? []) {
          const owner = ownerOf(item);
          if (owner) owners.set(item[DIRECTORY_PARTITION_KEY] as string, owner);
        }
        wanted = (out.UnprocessedKeys?.[tableName]?.Keys ?? []) as typeof wanted;
      } catch (err) {
        this.options.logger?.warn('fleet directory read failed', { keys: wanted.length, error: (err as Error).message });
        return owners;
      }
    }
    return owners;
  }

  /** Calls `done` with the member, and the region when it is another region than this member's. */
  private answer(done: OwnerCallback, owner: DirectoryOwner | undefined): void {
    if (owner === undefined) {
      done(undefined);
      return;
    }
    const foreign = owner.region !== undefined && this.options.region !== undefined && owner.region !== this.options.region;
    if (foreign) done(owner.member, owner.region);
    else done(owner.member);
  }

  private remember(key: string, owner: DirectoryOwner): void {
    this.cache.delete(key);
    if (this.cache.size >= this.cacheSize) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(key, owner);
  }
}

function ownerOf(item: Record<string, unknown> | undefined): DirectoryOwner | undefined {
  const member = item?.[OWNER_MEMBER_ATTRIBUTE];
  if (typeof member !== 'string') return undefined;
  const expiresAt = item?.[EXPIRES_AT_ATTRIBUTE];
  if (typeof expiresAt === 'number' && expiresAt * 1000 < Date.now()) return undefined;
  const region = item?.[OWNER_REGION_ATTRIBUTE];
  return typeof region === 'string' ? { member, region } : { member };
}
