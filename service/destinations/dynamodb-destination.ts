/**
 * Amazon DynamoDB: one item per packet, written with `BatchWriteItem` (at most 25 puts per call;
 * an item is at most 400 KB, so 25 stay far under the 16 MB a call may carry), chunks in parallel.
 *
 * Item layout (docs/COMPATIBILITY.md): every field of the packet is an attribute of the same name
 * (`Tag`, `Remote` and `Local` as maps, `ReceivedAt`, `IngressRegion`, `Formatter`, `Inner` when
 * present, `Data`), plus the table's keys, both strings:
 * - partition key (`Arguments.PartitionKeyAttribute`, default `pk`): the client and the Listener,
 *   `<Remote.IpAddress>:<Remote.Port>|<Local.Domain>:<Local.Port>` (IPv6 addresses in brackets);
 * - sort key (`Arguments.SortKeyAttribute`, default `sk`): `<ReceivedAt>#<Tag>`, so items of one
 *   client sort by arrival (to the millisecond; packets of one millisecond sort by Tag), and two
 *   packets of one millisecond never overwrite each other.
 *
 * Items DynamoDB returns as `UnprocessedItems` (throttling) are written again, with exponential
 * backoff and jitter, a bounded number of times; those still unprocessed are failed packets. A
 * call that fails as a whole (after the SDK's own retries) fails the packets of its chunk.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Destination, DestinationContext, DeliveryResult, PacketDeliveryFailure } from './destination';
import type { InboundPacket, QueuedPacket } from './packet';
import { DYNAMODB_TABLE_ARN, tableLocationFromArn } from '../../lib/private/arn';
import { formatEndpoint } from '../../lib/private/network';
import type { ResolvedDestinationRecord } from '../../lib/private/records';
import { DYNAMODB_DEFAULT_PARTITION_KEY, DYNAMODB_DEFAULT_SORT_KEY } from '../../lib/private/validate-destination-arguments';

/** Puts per BatchWriteItem call. */
export const DYNAMODB_MAX_BATCH_ITEMS = 25;

/** Waits before writing unprocessed items again, milliseconds (before jitter); their count bounds the retries. */
export const DYNAMODB_RETRY_DELAYS_MS: readonly number[] = [50, 100, 200, 400, 800];

export interface DynamoDbDestinationOptions {
  /** Waits before each retry of unprocessed items, milliseconds. @default DYNAMODB_RETRY_DELAYS_MS */
  readonly retryDelaysMs?: readonly number[];
}

type Item = Record<string, unknown>;

export class DynamoDbDestination implements Destination {
  public readonly type = 'dynamodb' as const;
  public readonly name: string;
  public readonly tableName: string;
  private readonly documents: DynamoDBDocumentClient;
  private readonly partitionKey: string;
  private readonly sortKey: string;
  private readonly retryDelaysMs: readonly number[];

  public constructor(record: ResolvedDestinationRecord, client: DynamoDBClient, options: DynamoDbDestinationOptions = {}) {
    this.name = record.Name;
    const table = record.Arn === undefined ? undefined : tableLocationFromArn(record.Arn);
    if (!table) throw new Error(`Arn ${JSON.stringify(record.Arn)} is not a DynamoDB table ARN (allowed: ${DYNAMODB_TABLE_ARN.allowed})`);
    this.tableName = table.name;
    this.partitionKey = record.Arguments?.PartitionKeyAttribute ?? DYNAMODB_DEFAULT_PARTITION_KEY;
    this.sortKey = record.Arguments?.SortKeyAttribute ?? DYNAMODB_DEFAULT_SORT_KEY;
    this.documents = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
    this.retryDelaysMs = options.retryDelaysMs ?? DYNAMODB_RETRY_DELAYS_MS;
  }

  public async deliver(batch: readonly QueuedPacket[]): Promise<DeliveryResult> {
    const calls: Promise<PacketDeliveryFailure[]>[] = [];
    for (let start = 0; start < batch.length; start += DYNAMODB_MAX_BATCH_ITEMS) {
      const end = Math.min(batch.length, start + DYNAMODB_MAX_BATCH_ITEMS);
      const items = new Map<string, { readonly index: number; readonly item: Item }>();
      for (let i = start; i < end; i++) {
        const item = this.itemOf(batch[i]);
        items.set(item[this.sortKey] as string, { index: i, item });
      }
      calls.push(this.write(items));
    }
    const failed = (await Promise.all(calls)).flat();
    return failed.length > 0 ? { failed } : {};
  }

  /** The item of a packet: its fields and the two keys. */
  public itemOf(p: QueuedPacket): Item {
    const packet = JSON.parse(p.json) as InboundPacket;
    return {
      [this.partitionKey]: `${formatEndpoint(packet.Remote.IpAddress, packet.Remote.Port)}|${packet.Local.Domain}:${packet.Local.Port}`,
      [this.sortKey]: `${packet.ReceivedAt}#${packet.Tag}`,
      ...packet,
    };
  }

  /** Writes the items (keyed by sort key value), retrying what DynamoDB leaves unprocessed; the packets that failed. */
  private async write(items: Map<string, { readonly index: number; readonly item: Item }>): Promise<PacketDeliveryFailure[]> {
    let pending = [...items.values()].map((e) => e.item);
    for (let attempt = 0; ; attempt++) {
      let unprocessed: Item[];
      try {
        const out = await this.documents.send(new BatchWriteCommand({
          RequestItems: { [this.tableName]: pending.map((Item) => ({ PutRequest: { Item } })) },
        }));
        unprocessed = (out.UnprocessedItems?.[this.tableName] ?? []).map((r) => r.PutRequest?.Item).filter((i): i is Item => i !== undefined);
      } catch (err) {
        const e = err as { name?: string; message?: string };
        const reason = `DynamoDB BatchWriteItem failed (${e?.name ?? 'Error'}): ${e?.message ?? String(err)}`;
        return pending.map((item) => ({ index: items.get(item[this.sortKey] as string)!.index, reason }));
      }
      if (unprocessed.length === 0) return [];
      if (attempt >= this.retryDelaysMs.length) {
        const reason = `DynamoDB left the item unprocessed after ${attempt + 1} BatchWriteItem calls (throughput exceeded)`;
        return unprocessed.map((item) => ({ index: items.get(item[this.sortKey] as string)?.index ?? -1, reason })).filter((f) => f.index >= 0);
      }
      pending = unprocessed;
      await sleep(this.retryDelaysMs[attempt] * (0.5 + Math.random() / 2));
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Creates a DynamoDB destination with the client of the table's region. */
export function createDynamoDbDestination(record: ResolvedDestinationRecord, _listener: unknown, context: DestinationContext): Destination {
  const table = record.Arn === undefined ? undefined : tableLocationFromArn(record.Arn);
  if (!table) throw new Error(`Arn ${JSON.stringify(record.Arn)} is not a DynamoDB table ARN (allowed: ${DYNAMODB_TABLE_ARN.allowed})`);
  return new DynamoDbDestination(record, context.dynamoDbClient(table.region));
}
