/**
 * Failure records of sourced packets (dead-letter queues, delivery log groups): the bounded copy
 * of a published entry they carry, how they are serialized within a size limit, and the fields
 * that identify one when it cannot be written.
 */
import type { FailureContext } from '../contracts';

/** Longest `Data` text copied into a record (more than any valid payload's base64 or hex text). */
export const MAX_RECORDED_DATA_CHARS = 160 * 1024;
/** Longest text of any other field copied into a record. */
export const MAX_RECORDED_FIELD_CHARS = 256;

/** Fields of a published entry, and of its `Remote` and `Inner`, that a record carries. */
const ENTRY_FIELDS = ['Data', 'Formatter', 'TtlSeconds'] as const;
const REMOTE_FIELDS = ['Address', 'IP', 'Port', 'PeerKey'] as const;
const INNER_FIELDS = ['SourceAddress', 'SourcePort', 'DestinationAddress', 'DestinationPort', 'Version', 'Protocol'] as const;

/**
 * The copy of a published entry a failure record carries: only the fields of the sourced-packet
 * contract, each a string (truncated), number, boolean or null; anything else (a nested object or
 * array where a scalar belongs, an entry that is not an object) is recorded by its type name.
 * The result is at most two levels deep and bounded in size, so serializing it cannot throw
 * however the publisher nested the original.
 */
export function recordedEntry(entry: unknown): unknown {
  if (!isPlainObject(entry)) return recordedScalar(entry, MAX_RECORDED_FIELD_CHARS);
  const out: Record<string, unknown> = {};
  for (const field of ENTRY_FIELDS) {
    if (entry[field] !== undefined) out[field] = recordedScalar(entry[field], field === 'Data' ? MAX_RECORDED_DATA_CHARS : MAX_RECORDED_FIELD_CHARS);
  }
  const remote = recordedObject(entry.Remote, REMOTE_FIELDS);
  if (remote !== undefined) out.Remote = remote;
  const inner = recordedObject(entry.Inner, INNER_FIELDS);
  if (inner !== undefined) out.Inner = inner;
  return out;
}

/** A published message body as a record carries it: the text (at most `maxChars`), or its type name. */
export function recordedMessage(message: unknown, maxChars = MAX_RECORDED_DATA_CHARS * 2): string {
  return typeof message === 'string' ? truncate(message, maxChars) : typeName(message);
}

function recordedObject(value: unknown, fields: readonly string[]): unknown {
  if (value === undefined) return undefined;
  if (!isPlainObject(value)) return recordedScalar(value, MAX_RECORDED_FIELD_CHARS);
  const out: Record<string, unknown> = {};
  for (const field of fields) if (value[field] !== undefined) out[field] = recordedScalar(value[field], MAX_RECORDED_FIELD_CHARS);
  return out;
}

function recordedScalar(value: unknown, maxChars: number): string | number | boolean | null {
  if (typeof value === 'string') return truncate(value, maxChars);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return value;
  return typeName(value);
}

function truncate(text: string, maxChars: number): string {
  return text.length > maxChars ? `${text.slice(0, maxChars)}…` : text;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'array' : typeof value;
}

/** Record fields that carry the original message; left out of records that would be too long. */
const BULKY_FIELDS = ['entry', 'message'];

/** JSON of `record`, without its bulky fields (and saying so) when it would exceed `maxBytes`. */
export function serializeFailureRecord(record: Record<string, unknown>, maxBytes: number): string {
  let text: string | undefined;
  let why = `the record exceeded ${maxBytes} bytes`;
  try {
    text = JSON.stringify(record);
  } catch (err) {
    // Records are built from bounded fields; this only guards against a caller that was not.
    why = `it could not be serialized (${(err as Error)?.name ?? 'error'})`;
  }
  if (text !== undefined && Buffer.byteLength(text) <= maxBytes) return text;
  const slim: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record)) if (!BULKY_FIELDS.includes(k)) slim[k] = typeof v === 'object' && v !== null ? typeName(v) : v;
  slim.omitted = `the original message was left out: ${why}`;
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
