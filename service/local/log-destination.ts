/**
 * `log`: prints every packet it receives as one structured log line. It is a sink the user
 * configures to see traffic (local mode, debugging), so unlike the service's own logs it shows
 * the packet's Data, shortened to {@link LOG_DATA_MAX_CHARS} characters, plus `text` when the
 * payload is printable ASCII.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { formatEndpoint } from '../../lib/private/network';
import type { DestinationRecord, ListenerRecord } from '../../lib/private/records';
import { Destination, DestinationContext, DeliveryResult } from '../destinations/destination';
import type { InboundPacket, QueuedPacket } from '../destinations/packet';
import { decodeData, isFailure } from '../formatter';

export const LOG_DATA_MAX_CHARS = 200;

/** Log message (INFO) of each packet the `log` destination prints. */
export const PACKET_LOG_MESSAGE = 'packet';

export class LogDestination implements Destination {
  public readonly type = 'log' as const;

  public constructor(public readonly name: string, private readonly listener: string, private readonly logger: Logger) {}

  public async deliver(batch: readonly QueuedPacket[]): Promise<DeliveryResult> {
    for (const queued of batch) {
      const packet = JSON.parse(queued.json) as InboundPacket;
      const bytes = decodeData(packet.Data, packet.Formatter);
      const text = isFailure(bytes) ? undefined : printable(bytes);
      this.logger.info(PACKET_LOG_MESSAGE, {
        listener: this.listener,
        destination: this.name,
        remote: formatEndpoint(packet.Remote.IpAddress, packet.Remote.Port),
        ...(packet.Remote.PeerKey ? { peerKey: packet.Remote.PeerKey } : {}),
        receivedAt: packet.ReceivedAt,
        bytes: isFailure(bytes) ? undefined : bytes.length,
        formatter: packet.Formatter,
        data: packet.Data.length > LOG_DATA_MAX_CHARS ? `${packet.Data.slice(0, LOG_DATA_MAX_CHARS)}…` : packet.Data,
        ...(text === undefined ? {} : { text }),
      });
    }
    return {};
  }
}

export function createLogDestination(record: DestinationRecord, listener: ListenerRecord, context: DestinationContext): Destination {
  return new LogDestination(record.Name, listener.Name, context.logger);
}

/** The payload as text when every byte is printable ASCII (or tab/newline), shortened. */
function printable(bytes: Buffer): string | undefined {
  const n = Math.min(bytes.length, LOG_DATA_MAX_CHARS);
  for (let i = 0; i < n; i++) {
    const c = bytes[i];
    if ((c < 0x20 || c > 0x7e) && c !== 0x09 && c !== 0x0a && c !== 0x0d) return undefined;
  }
  const text = bytes.toString('latin1', 0, n);
  return bytes.length > n ? `${text}…` : text;
}
