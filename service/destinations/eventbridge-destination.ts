/**
 * Amazon EventBridge: one event per packet, the packet object as the event's `detail`, with
 * `source` `proxylity` and `detail-type` `udp-gateway-packet-ingress` unless the destination sets
 * `Arguments.EventSource` / `EventDetailType` (Proxylity's values, so rules written for it match).
 * `PutEvents` with up to 10 entries and 256 KiB per call (entry sizes as EventBridge counts them);
 * entries EventBridge reports as failed for throttling or an internal error are put again, alone,
 * a bounded number of times; what still fails is reported per packet.
 *
 * Entries name the bus by ARN, so a bus of another account (whose policy allows the fleet) works.
 */
import { EventBridgeClient, PutEventsCommand, PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { BatchRetryOptions, describeError, EntryFailure, writeBatch } from './batch-write';
import type { Destination, DestinationContext, DeliveryResult } from './destination';
import { destinationArn } from './destination-arn';
import type { QueuedPacket } from './packet';
import { EVENT_BUS_ARN } from '../../lib/private/arn';
import type { ResolvedDestinationRecord } from '../../lib/private/records';

/** EventBridge limits per PutEvents call. */
export const EVENTBRIDGE_MAX_ENTRIES = 10;
export const EVENTBRIDGE_MAX_REQUEST_BYTES = 256 * 1024;

/** `source` and `detail-type` of the events, as Proxylity sends them. */
export const DEFAULT_EVENT_SOURCE = 'proxylity';
export const DEFAULT_EVENT_DETAIL_TYPE = 'udp-gateway-packet-ingress';

/** Bytes EventBridge counts for an entry's `Time`, which it adds when the entry has none. */
const ENTRY_TIME_BYTES = 14;

/** Error codes of entries that may be accepted when put again. */
const RETRIABLE_ENTRY_ERRORS = new Set(['ThrottlingException', 'InternalFailure', 'InternalException']);

export class EventBridgeDestination implements Destination {
  public readonly type = 'eventbridge' as const;
  public readonly name: string;
  private readonly busArn: string;
  private readonly source: string;
  private readonly detailType: string;
  private readonly fixedEntryBytes: number;

  /** `region`: the region `client` sends to; the bus must be in it. */
  public constructor(
    record: ResolvedDestinationRecord,
    private readonly client: EventBridgeClient,
    region: string,
    private readonly retry: BatchRetryOptions = {},
  ) {
    this.name = record.Name;
    this.busArn = destinationArn(record, EVENT_BUS_ARN, 'an EventBridge event bus ARN', region).arn;
    this.source = record.Arguments?.EventSource ?? DEFAULT_EVENT_SOURCE;
    this.detailType = record.Arguments?.EventDetailType ?? DEFAULT_EVENT_DETAIL_TYPE;
    this.fixedEntryBytes = ENTRY_TIME_BYTES + Buffer.byteLength(this.source) + Buffer.byteLength(this.detailType);
  }

  public async deliver(batch: readonly QueuedPacket[]): Promise<DeliveryResult> {
    const failed = await writeBatch(batch.length, (indices) => this.put(batch, indices), {
      ...this.retry,
      limits: { maxEntries: EVENTBRIDGE_MAX_ENTRIES, maxBytes: EVENTBRIDGE_MAX_REQUEST_BYTES },
      sizeOf: (i) => this.fixedEntryBytes + batch[i].bytes,
      callFailureReason: (err) => `EventBridge PutEvents failed ${describeError(err)}`,
    });
    return failed.length > 0 ? { failed } : {};
  }

  private async put(batch: readonly QueuedPacket[], indices: readonly number[]): Promise<EntryFailure[]> {
    const entries: PutEventsRequestEntry[] = indices.map((i) => ({
      EventBusName: this.busArn,
      Source: this.source,
      DetailType: this.detailType,
      Detail: batch[i].json,
    }));
    const out = await this.client.send(new PutEventsCommand({ Entries: entries }));
    const failures: EntryFailure[] = [];
    // Result entries are in the order of the request's entries.
    out.Entries?.forEach((r, n) => {
      if (r.ErrorCode) {
        failures.push({
          index: indices[n],
          reason: `EventBridge rejected the event (${r.ErrorCode}): ${r.ErrorMessage ?? 'no message'}`,
          retriable: RETRIABLE_ENTRY_ERRORS.has(r.ErrorCode),
        });
      }
    });
    return failures;
  }
}

/** Creates an EventBridge destination using the shared client. */
export function createEventBridgeDestination(record: ResolvedDestinationRecord, _listener: unknown, context: DestinationContext): Destination {
  return new EventBridgeDestination(record, context.eventBridgeClient(), context.region);
}
