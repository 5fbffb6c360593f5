/**
 * Failure records of sourced packets (dead-letter queues, delivery log groups): how they are
 * serialized within a size limit, and the fields that identify one when it cannot be written.
 */
import type { FailureContext } from '../contracts';

/** Record fields that carry the original message; left out of records that would be too long. */
const BULKY_FIELDS = ['entry', 'message'];

/** JSON of `record`, without its bulky fields (and saying so) when it would exceed `maxBytes`. */
export function serializeFailureRecord(record: Record<string, unknown>, maxBytes: number): string {
  const text = JSON.stringify(record);
  if (Buffer.byteLength(text) <= maxBytes) return text;
  const slim: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record)) if (!BULKY_FIELDS.includes(k)) slim[k] = v;
  slim.omitted = `the original message was left out: the record exceeded ${maxBytes} bytes`;
  return JSON.stringify(slim);
}

/** The identifying fields of a failure record, for reporting a record that could not be written. */
export function failureContextOf(record: Record<string, unknown>): FailureContext {
  const str = (k: string): string | undefined => (typeof record[k] === 'string' ? (record[k] as string) : undefined);
  return {
    listener: str('listener'),
    topicArn: str('topicArn'),
    messageId: str('messageId'),
    index: typeof record.index === 'number' ? record.index : undefined,
    remote: str('remote'),
  };
}
