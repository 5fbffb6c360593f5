/**
 * Amazon SQS: one packet per message, `SendMessageBatch` with up to 10 messages and 256 KiB per
 * call. Entries SQS rejects are reported per packet; the others are delivered. FIFO queues get
 * the client endpoint as message group and the packet's Tag as deduplication id.
 *
 * Proxylity's SQS `Arguments`: `SendRaw` sends the packet's `Data` (the payload in the
 * destination's Formatter) as the body instead of the packet's JSON; `UseMessageAttributes` adds
 * the String/Number attributes `LocalDomain`, `LocalPort`, `RemoteAddress` and `RemotePort`;
 * `MessageGroupIdExpression` / `MessageDeduplicationIdExpression` (binary range expressions over
 * the payload, compiled once) with their Formatters (default hex) replace the default group and
 * deduplication ids (a group id is sent to standard queues too: fair queues). A packet whose body
 * would be empty, or whose computed id is not a valid SQS id (1–128 characters of letters, digits
 * and punctuation), is a failed packet naming the reason; the others are sent.
 *
 * The queue URL is where the SDK sends each request, signed with the fleet's credentials, so it is
 * never taken from the record: it is built from the queue (the record's `Arn`, or the queue its
 * validated `QueueUrl` names) on the endpoint the SDK resolves for the client: AWS's regional
 * endpoint, or the configured endpoint (`AWS_ENDPOINT_URL_SQS`, a client `endpoint`) in tests
 * and labs.
 */
import { MessageAttributeValue, SendMessageBatchCommand, SendMessageBatchRequestEntry, SQSClient } from '@aws-sdk/client-sqs';
import { Destination, DestinationContext, DeliveryResult, PacketDeliveryFailure } from './destination';
import type { QueuedPacket } from './packet';
import { PacketArgument, packetArgumentOf } from './packet-argument';
import { awsSqsEndpointRegion, queueLocationFromArn, queueOfUrl, SQS_QUEUE_URL_ALLOWED } from '../../lib/private/arn';
import { formatEndpoint } from '../../lib/private/network';
import type { FormatterName, ListenerRecord, ResolvedDestinationRecord } from '../../lib/private/records';
import { SQS_MESSAGE_ID } from '../../lib/private/validate-destination-arguments';
import { sqsEndpointUrl } from '../aws-clients';
import { decodeData, isFailure } from '../formatter';
import { destinationFormatter } from '../ingress/ingress-pipeline';

/** SQS limits per SendMessageBatch call. */
export const SQS_MAX_ENTRIES = 10;
export const SQS_MAX_BATCH_BYTES = 256 * 1024;

/** The queue of an SQS destination record: its account and name, and its URL on AWS's regional endpoint when the record names one. */
interface DestinationQueue {
  readonly account: string;
  readonly name: string;
  readonly awsUrl?: string;
}

function queueOfRecord(record: ResolvedDestinationRecord): DestinationQueue {
  if (record.Arn) {
    const { queueUrl } = queueLocationFromArn(record.Arn);
    const [, , , , account, name] = record.Arn.split(':');
    return { awsUrl: queueUrl, account, name };
  }
  if (record.QueueUrl) {
    // Only the path is used: the request goes to the endpoint the SDK resolves (validated records name AWS's, or a configured one).
    let origin = '';
    try {
      origin = new URL(record.QueueUrl).origin;
    } catch {
      // reported below
    }
    const queue = queueOfUrl(record.QueueUrl, origin ? [origin] : []);
    if (!queue) throw new Error(`destination ${record.Name}: QueueUrl ${JSON.stringify(record.QueueUrl)} is not the URL of an SQS queue (allowed: ${SQS_QUEUE_URL_ALLOWED})`);
    return { account: queue.account, name: queue.name, awsUrl: queue.region ? `https://${queue.host}/${queue.account}/${queue.name}` : undefined };
  }
  throw new Error(`destination ${record.Name}: Arn or QueueUrl is required for Type sqs`);
}

/** One message of a batch, ready to send. */
interface PreparedEntry {
  readonly entry: SendMessageBatchRequestEntry;
  /** Body and attribute bytes, as SQS counts them against 256 KiB. */
  readonly bytes: number;
}

export class SqsDestination implements Destination {
  public readonly type = 'sqs' as const;
  public readonly name: string;
  private readonly queue: DestinationQueue;
  private readonly fifo: boolean;
  private readonly sendRaw: boolean;
  private readonly useAttributes: boolean;
  /** `UseMessageAttributes`: the attributes every message of this Listener shares. */
  private readonly localAttributes?: { readonly domain: MessageAttributeValue; readonly port: MessageAttributeValue; readonly bytes: number };
  private readonly formatter: FormatterName;
  private readonly groupId?: PacketArgument;
  private readonly deduplicationId?: PacketArgument;
  private queueUrl?: Promise<string>;

  /** `listener` gives the destination's Formatter and the `LocalDomain`/`LocalPort` attributes. @default - base64, no local attributes */
  public constructor(record: ResolvedDestinationRecord, private readonly client: SQSClient, listener?: ListenerRecord) {
    this.name = record.Name;
    this.queue = queueOfRecord(record);
    this.fifo = this.queue.name.endsWith('.fifo');
    const args = record.Arguments ?? {};
    this.sendRaw = args.SendRaw === true;
    this.useAttributes = args.UseMessageAttributes === true;
    this.formatter = listener ? destinationFormatter(listener, record.Formatter) : record.Formatter ?? 'base64';
    if (this.useAttributes && listener) {
      const domain = listener.Domain ?? listener.Name;
      const port = String(listener.Port);
      this.localAttributes = {
        domain: { DataType: 'String', StringValue: domain },
        port: { DataType: 'Number', StringValue: port },
        bytes: attributeBytes('LocalDomain', 'String', domain) + attributeBytes('LocalPort', 'Number', port),
      };
    }
    this.groupId = packetArgumentOf(args, 'MessageGroupId');
    this.deduplicationId = packetArgumentOf(args, 'MessageDeduplicationId');
  }

  public async deliver(batch: readonly QueuedPacket[]): Promise<DeliveryResult> {
    let queueUrl: string;
    try {
      queueUrl = await (this.queueUrl ??= this.resolveQueueUrl().catch((err: unknown) => {
        this.queueUrl = undefined; // resolve again with the next batch
        throw err;
      }));
    } catch (err) {
      const reason = `the SQS endpoint could not be resolved: ${(err as Error)?.message ?? String(err)}`;
      return { failed: batch.map((_, index) => ({ index, reason })) };
    }
    const failed: PacketDeliveryFailure[] = [];
    const prepared: PreparedEntry[] = [];
    for (let index = 0; index < batch.length; index++) {
      const entry = this.prepare(batch[index], index);
      if (typeof entry === 'string') failed.push({ index, reason: entry });
      else prepared.push(entry);
    }
    const calls: Promise<PacketDeliveryFailure[]>[] = [];
    let start = 0;
    while (start < prepared.length) {
      let end = start;
      let bytes = 0;
      while (end < prepared.length && end - start < SQS_MAX_ENTRIES && (end === start || bytes + prepared[end].bytes <= SQS_MAX_BATCH_BYTES)) {
        bytes += prepared[end].bytes;
        end++;
      }
      calls.push(this.sendChunk(queueUrl, prepared.slice(start, end)));
      start = end;
    }
    for (const f of await Promise.all(calls)) failed.push(...f);
    return failed.length > 0 ? { failed } : {};
  }

  /** The message of packet `index`, or why it cannot be sent. */
  private prepare(p: QueuedPacket, index: number): PreparedEntry | string {
    const body = this.sendRaw ? p.data : p.json;
    if (body.length === 0) return 'SendRaw: the payload is empty and SQS does not accept an empty message body';
    let bytes = this.sendRaw ? Buffer.byteLength(body, 'utf8') : p.bytes;
    let attributes: Record<string, MessageAttributeValue> | undefined;
    if (this.useAttributes) {
      const port = String(p.remotePort);
      attributes = {
        ...(this.localAttributes ? { LocalDomain: this.localAttributes.domain, LocalPort: this.localAttributes.port } : {}),
        RemoteAddress: { DataType: 'String', StringValue: p.remoteAddress },
        RemotePort: { DataType: 'Number', StringValue: port },
      };
      bytes += (this.localAttributes?.bytes ?? 0) + attributeBytes('RemoteAddress', 'String', p.remoteAddress) + attributeBytes('RemotePort', 'Number', port);
    }
    let groupId: string | undefined;
    let deduplicationId: string | undefined;
    if (this.groupId || this.deduplicationId) {
      const payload = decodeData(p.data, this.formatter);
      if (isFailure(payload)) return `the payload could not be read back from Data for the message ids: ${payload.reason}`;
      if (this.groupId) {
        const id = messageId(this.groupId, payload, 'MessageGroupIdExpression');
        if (id.problem !== undefined) return id.problem;
        groupId = id.value;
      }
      if (this.deduplicationId && this.fifo) {
        const id = messageId(this.deduplicationId, payload, 'MessageDeduplicationIdExpression');
        if (id.problem !== undefined) return id.problem;
        deduplicationId = id.value;
      }
    }
    if (this.fifo) {
      groupId ??= formatEndpoint(p.remoteAddress, p.remotePort);
      deduplicationId ??= p.tag.slice(-64);
    }
    return {
      entry: {
        Id: String(index),
        MessageBody: body,
        ...(attributes ? { MessageAttributes: attributes } : {}),
        ...(groupId !== undefined ? { MessageGroupId: groupId } : {}),
        ...(deduplicationId !== undefined ? { MessageDeduplicationId: deduplicationId } : {}),
      },
      bytes,
    };
  }

  private async sendChunk(queueUrl: string, chunk: readonly PreparedEntry[]): Promise<PacketDeliveryFailure[]> {
    try {
      const out = await this.client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: chunk.map((e) => e.entry) }));
      return (out.Failed ?? []).map((f) => ({
        index: Number(f.Id),
        reason: `SQS rejected the message (${f.Code ?? 'unknown code'}${f.SenderFault ? ', sender fault' : ''}): ${f.Message ?? 'no message'}`,
      }));
    } catch (err) {
      const e = err as { name?: string; message?: string };
      const reason = `SQS SendMessageBatch failed (${e?.name ?? 'Error'}): ${e?.message ?? String(err)}`;
      return chunk.map((e2) => ({ index: Number(e2.entry.Id), reason }));
    }
  }

  /**
   * The queue's URL on the endpoint the SDK resolves for the client: the queue's AWS URL when that
   * is an AWS SQS endpoint, else the same account and queue on the configured endpoint.
   */
  private async resolveQueueUrl(): Promise<string> {
    let endpoint: URL;
    try {
      endpoint = new URL(await sqsEndpointUrl(this.client));
    } catch (err) {
      if (this.queue.awsUrl) return this.queue.awsUrl;
      throw err;
    }
    if (this.queue.awsUrl && awsSqsEndpointRegion(endpoint.hostname)) return this.queue.awsUrl;
    return `${endpoint.origin}${endpoint.pathname.replace(/\/+$/, '')}/${this.queue.account}/${this.queue.name}`;
  }
}

/** Bytes SQS counts for a message attribute: its name, data type and value. */
function attributeBytes(name: string, dataType: string, value: string): number {
  return name.length + dataType.length + Buffer.byteLength(value, 'utf8');
}

/** A computed group or deduplication id, or why it is not a valid SQS id. */
function messageId(argument: PacketArgument, payload: Uint8Array, what: string): { readonly value?: string; readonly problem?: string } {
  const value = argument(payload);
  if (typeof value !== 'string') return { problem: value.reason };
  if (!SQS_MESSAGE_ID.pattern.test(value)) {
    const shown = value.length > 40 ? `${JSON.stringify(value.slice(0, 37))}… (${value.length} characters)` : JSON.stringify(value);
    return { problem: `${what} gave ${shown}, which is not an SQS message id (allowed: ${SQS_MESSAGE_ID.allowed})` };
  }
  return { value };
}

/** Creates an SQS destination using the shared client (the one of the record's Role when it has one). */
export function createSqsDestination(record: ResolvedDestinationRecord, listener: ListenerRecord, context: DestinationContext): Destination {
  return new SqsDestination(record, context.sqsClient(record.Role), listener);
}
