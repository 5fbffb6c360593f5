/**
 * The payload of a queued packet, decoded from its `Data` (kept beside the packet JSON when it
 * was queued): destinations that compute a value from the payload at delivery (a Kinesis
 * partition key) use it.
 */
import type { QueuedPacket } from './packet';
import type { FormatterName } from '../../lib/private/records';
import { decodeData, isFailure } from '../formatter';

/** The payload bytes of `packet`, whose `Data` is encoded with `formatter`; undefined when `Data` cannot be decoded. */
export function payloadOfPacket(packet: QueuedPacket, formatter: FormatterName): Buffer | undefined {
  const data = decodeData(packet.data, formatter);
  return isFailure(data) ? undefined : data;
}
