/**
 * The global lab's stand-in for DynamoDB global-table replication of the fleet directory: each
 * "region" has its own dynalite with its own directory table, and this replicator copies writes
 * between them. Every `intervalMs` (default 200 ms) it scans every table and puts into each other
 * table the items that are missing there or older there, last writer wins by the item's own time
 * attribute (`since`, which every directory item carries); an item deleted in one table since the
 * previous scan is deleted in the others where they still hold the version it had. Replication lag
 * is therefore one interval plus a scan and a put (about 200–400 ms in the lab), where a global
 * table typically takes under a second. Not modelled: conflicts within one interval resolved by
 * DynamoDB's own timestamps, TTL deletions (the lab never runs long enough).
 */
import { DeleteItemCommand, DynamoDBClient, PutItemCommand, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { DIRECTORY_PARTITION_KEY, SINCE_ATTRIBUTE } from '../../lib/private/fleet';

type Item = Record<string, AttributeValue>;

/** One region's directory table and where its DynamoDB is. */
export interface ReplicaTable {
  readonly region: string;
  readonly endpoint: string;
  readonly tableName: string;
}

export interface ReplicatorOptions {
  readonly tables: readonly ReplicaTable[];
  /** Milliseconds between rounds. @default 200 */
  readonly intervalMs?: number;
}

export interface Replicator {
  /** Completed rounds. */
  readonly rounds: number;
  /** Resolves after the next complete round (every write made before the call is replicated then). */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

/** The version of an item: its `since` (milliseconds), 0 without one. */
export function versionOf(item: Item | undefined): number {
  const since = item?.[SINCE_ATTRIBUTE];
  return since && 'N' in since && since.N !== undefined ? Number(since.N) : 0;
}

/** A change to make in one table: put an item, or delete a key. */
export type ReplicaChange = { readonly put: Item } | { readonly delete: string };

/**
 * What one round changes in each table (by index), from every table's items now and the items
 * each had at the previous round: newest version wins; a key that vanished from a table since the
 * previous round is deleted where the version it had is still held.
 */
export function replicationPlan(now: ReadonlyArray<ReadonlyMap<string, Item>>, before: ReadonlyArray<ReadonlyMap<string, Item>>): ReplicaChange[][] {
  const plan: ReplicaChange[][] = now.map(() => []);
  const keys = new Set<string>();
  for (const table of now) for (const key of table.keys()) keys.add(key);
  for (const table of before) for (const key of table.keys()) keys.add(key);
  for (const key of keys) {
    let newest: Item | undefined;
    for (const table of now) {
      const item = table.get(key);
      if (item && (!newest || versionOf(item) > versionOf(newest))) newest = item;
    }
    const deletedAt = now.findIndex((table, i) => !table.has(key) && before[i]?.has(key));
    if (deletedAt >= 0) {
      const gone = versionOf(before[deletedAt].get(key));
      // a newer write elsewhere outlives the delete; copies of the deleted version go
      if (!newest || versionOf(newest) <= gone) {
        now.forEach((table, i) => {
          if (table.has(key)) plan[i].push({ delete: key });
        });
        continue;
      }
    }
    if (!newest) continue;
    now.forEach((table, i) => {
      const item = table.get(key);
      if (!item || versionOf(item) < versionOf(newest)) plan[i].push({ put: newest });
    });
  }
  return plan;
}

export function startReplicator(options: ReplicatorOptions): Replicator {
  const intervalMs = options.intervalMs ?? 200;
  const clients = options.tables.map((t) => new DynamoDBClient({
    region: t.region,
    endpoint: t.endpoint,
    credentials: { accessKeyId: 'fleet', secretAccessKey: 'fleet' },
  }));
  let before: Array<Map<string, Item>> = options.tables.map(() => new Map());
  let rounds = 0;
  let stopped = false;
  let waiters: Array<{ after: number; done: () => void }> = [];

  const scan = async (index: number): Promise<Map<string, Item>> => {
    const items = new Map<string, Item>();
    let start: Item | undefined;
    do {
      const tableName = options.tables[index].tableName;
      const out = await clients[index].send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: start, ConsistentRead: true }));
      for (const item of out.Items ?? []) items.set(item[DIRECTORY_PARTITION_KEY].S!, item);
      start = out.LastEvaluatedKey;
    } while (start);
    return items;
  };
  const round = async (): Promise<void> => {
    const now = await Promise.all(options.tables.map((_, i) => scan(i)));
    const plan = replicationPlan(now, before);
    await Promise.all(plan.map(async (changes, i) => {
      for (const change of changes) {
        const tableName = options.tables[i].tableName;
        if ('put' in change) {
          await clients[i].send(new PutItemCommand({ TableName: tableName, Item: change.put }));
          now[i].set(change.put[DIRECTORY_PARTITION_KEY].S!, change.put);
        } else {
          await clients[i].send(new DeleteItemCommand({ TableName: tableName, Key: { [DIRECTORY_PARTITION_KEY]: { S: change.delete } } }));
          now[i].delete(change.delete);
        }
      }
    }));
    before = now;
  };
  const loop = (async () => {
    while (!stopped) {
      const started = Date.now();
      try {
        await round();
        rounds++;
        const ready = waiters.filter((w) => rounds > w.after);
        waiters = waiters.filter((w) => rounds <= w.after);
        ready.forEach((w) => w.done());
      } catch {
        // an API server going away at the end of a run; the next round tries again
      }
      await new Promise((done) => setTimeout(done, Math.max(0, intervalMs - (Date.now() - started))));
    }
  })();
  return {
    get rounds() {
      return rounds;
    },
    // a round already running may have scanned before the write: wait for the one after it
    settled: () => new Promise<void>((done) => waiters.push({ after: rounds + 1, done })),
    async stop() {
      stopped = true;
      await loop;
      waiters.forEach((w) => w.done());
      clients.forEach((c) => c.destroy());
    },
  };
}
