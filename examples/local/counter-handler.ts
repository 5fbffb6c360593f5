/**
 * Example local handler with the Lambda contract of the gateway (the same code runs as an AWS
 * Lambda function behind a Listener): for each sender in the batch, it replies to every one of
 * that sender's datagrams with how many datagrams the sender sent in this batch, e.g. `count=3`.
 */

type Formatter = 'base64' | 'hex' | 'ascii' | 'utf8';

interface Packet {
  Tag: string;
  Remote: { IpAddress: string; Port: number; PeerKey?: string };
  Formatter: Formatter;
  Data: string;
}

interface Reply {
  Tag: string;
  Data: string;
  GeneratedAt: string;
}

/** Encodes reply text in the packet's Formatter (ascii and utf8 carry the text as is). */
function encode(text: string, formatter: Formatter): string {
  return formatter === 'base64' || formatter === 'hex' ? Buffer.from(text, 'utf8').toString(formatter) : text;
}

export const handler = async (event: { Messages: Packet[] }): Promise<{ Replies: Reply[] }> => {
  const counts = new Map<string, number>();
  const senderOf = (p: Packet): string => `${p.Remote.PeerKey ?? ''}|${p.Remote.IpAddress}|${p.Remote.Port}`;
  for (const packet of event.Messages) counts.set(senderOf(packet), (counts.get(senderOf(packet)) ?? 0) + 1);
  const now = new Date().toISOString();
  return {
    Replies: event.Messages.map((packet) => ({
      Tag: packet.Tag,
      Data: encode(`count=${counts.get(senderOf(packet))}`, packet.Formatter),
      GeneratedAt: now,
    })),
  };
};
