/**
 * Example local handler with the Lambda contract of the gateway (the same code runs as an AWS
 * Lambda function behind a Listener): for each sender in the batch, it replies to every one of
 * that sender's datagrams with how many datagrams the sender sent in this batch, e.g. `count=3`.
 */

// In your own code: import type { ... } from 'cdk-packet-gateway/handler';
import type { FormatterName, Packet, PacketBatch, Replies, Reply } from '../../lib/handler';

/** Encodes reply text in the packet's Formatter (ascii and utf8 carry the text as is). */
function encode(text: string, formatter: FormatterName): string {
  return formatter === 'base64' || formatter === 'hex' ? Buffer.from(text, 'utf8').toString(formatter) : text;
}

export const handler = async (event: PacketBatch): Promise<Replies> => {
  const counts = new Map<string, number>();
  const senderOf = (p: Packet): string => `${p.Remote.PeerKey ?? ''}|${p.Remote.IpAddress}|${p.Remote.Port}`;
  for (const packet of event.Messages) counts.set(senderOf(packet), (counts.get(senderOf(packet)) ?? 0) + 1);
  const now = new Date().toISOString();
  return {
    Replies: event.Messages.map((packet): Reply => ({
      Tag: packet.Tag,
      Data: encode(`count=${counts.get(senderOf(packet))}`, packet.Formatter),
      GeneratedAt: now,
    })),
  };
};
