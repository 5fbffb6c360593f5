/**
 * The lab's request/response function: answers every packet of an Invoke with one reply carrying
 * the same Data and Tag (the Lambda contract of a Packet Gateway destination).
 */

/** Name of the function in the lab's Lambda Invoke API. */
export const ECHO_FUNCTION = 'echo';

/** One inbound packet as far as the echo needs it. */
interface EchoPacket {
  readonly Tag?: unknown;
  readonly Data?: unknown;
}

/** `{"Messages":[…]}` → `{"Replies":[{Tag, Data}…]}`; anything else → no replies. */
export function echoHandler(event: unknown): { Replies: Array<{ Tag: string; Data: string }> } {
  const messages = (event as { Messages?: unknown } | null)?.Messages;
  if (!Array.isArray(messages)) return { Replies: [] };
  const replies: Array<{ Tag: string; Data: string }> = [];
  for (const m of messages as EchoPacket[]) {
    if (typeof m?.Tag === 'string' && typeof m.Data === 'string') replies.push({ Tag: m.Tag, Data: m.Data });
  }
  return { Replies: replies };
}
