/**
 * The payload of a queued packet, read back from its JSON: destinations that compute a value
 * from the payload at delivery (a Kinesis partition key) use it. `Data` is the last field of the
 * packet JSON (packet.ts), so its value is the text after the last `,"Data":`, which cannot occur
 * inside a JSON string (its quotes would be escaped).
 */
import type { QueuedPacket } from './packet';
import type { FormatterName } from '../../lib/private/records';
import { decodeData, isFailure } from '../formatter';

const DATA_FIELD = ',"Data":';

/** The payload bytes of `packet`, whose `Data` is encoded with `formatter`; undefined when `Data` cannot be read back. */
export function payloadOfPacket(packet: QueuedPacket, formatter: FormatterName): Buffer | undefined {
  const json = packet.json;
  const at = json.lastIndexOf(DATA_FIELD);
  if (at < 0 || json.charCodeAt(json.length - 1) !== 0x7d /* } */) return undefined;
  const start = at + DATA_FIELD.length;
  let text: unknown;
  if (formatter === 'base64' || formatter === 'hex') {
    // Written without escapes: "…"
    text = json.slice(start + 1, json.length - 2);
  } else {
    try {
      text = JSON.parse(json.slice(start, json.length - 1));
    } catch {
      return undefined;
    }
  }
  const data = decodeData(text, formatter);
  return isFailure(data) ? undefined : data;
}
