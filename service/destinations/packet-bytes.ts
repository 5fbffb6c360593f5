/**
 * Packets as the byte records of write APIs that take blobs (Kinesis, Firehose): each packet's
 * JSON as UTF-8, views of one buffer per batch rather than a buffer per packet.
 */
import type { QueuedPacket } from './packet';

/**
 * The UTF-8 bytes of each packet's JSON followed by `suffix`, as views of one buffer (one
 * allocation per batch rather than per packet).
 */
export function packetBytes(batch: readonly QueuedPacket[], suffix: string): Uint8Array[] {
  const suffixBytes = Buffer.byteLength(suffix);
  let total = 0;
  for (const p of batch) total += p.bytes + suffixBytes;
  const buf = Buffer.allocUnsafe(total);
  const views: Uint8Array[] = new Array(batch.length);
  let offset = 0;
  for (let i = 0; i < batch.length; i++) {
    const start = offset;
    offset += buf.write(batch[i].json, offset, 'utf8');
    if (suffixBytes > 0) offset += buf.write(suffix, offset, 'utf8');
    views[i] = buf.subarray(start, offset);
  }
  return views;
}
