/**
 * Limits and text patterns of the gateway's contracts, each with the human "allowed" text its
 * error messages quote. The constructs (lib/), the registration function (lambda/) and the data
 * plane (service/) all check against these, so a limit is written exactly once. Pure: no CDK
 * import.
 */

/** An inclusive numeric range and how messages describe it. */
export interface NumericRange {
  readonly min: number;
  readonly max: number;
  /** What is allowed, for messages, e.g. `integer 1–65535`. */
  readonly allowed: string;
}

/** A text pattern and how messages describe it. */
export interface TextPattern {
  readonly pattern: RegExp;
  /** What is allowed, for messages, e.g. `1–64 characters of A-Z a-z 0-9 _ -`. */
  readonly allowed: string;
}

function integerRange(min: number, max: number): NumericRange {
  return { min, max, allowed: `integer ${min}–${max}` };
}

/** True when `value` is an integer within `range`. */
export function inIntegerRange(value: unknown, range: NumericRange): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= range.min && value <= range.max;
}

/** True when `value` is a finite number within `range` (fractions allowed). */
export function inNumberRange(value: unknown, range: NumericRange): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= range.min && value <= range.max;
}

/** True when `value` is a string matching `text`. */
export function matches(value: unknown, text: TextPattern): value is string {
  return typeof value === 'string' && text.pattern.test(value);
}

// ---- numbers -------------------------------------------------------------------------------

/** A UDP port. */
export const PORT = integerRange(1, 65_535);

/** Largest UDP payload over IPv4 (65535 − 20 bytes IP header − 8 bytes UDP header). */
export const MAX_UDP_PAYLOAD_BYTES = 65_507;

/** A Listener's `MaxPayloadBytes`: largest payload of a reply or sourced packet. */
export const PAYLOAD_BYTES = integerRange(1, MAX_UDP_PAYLOAD_BYTES);

/** A Listener's `ReplyTagTtlSeconds`: how long a reply Tag stays valid. */
export const REPLY_TAG_TTL_SECONDS = integerRange(1, 3600);

/** `Batching.Count`: packets per batch. */
export const BATCH_COUNT = integerRange(1, 10_000);

/** `Batching.TimeoutInSeconds`: longest wait of a packet for its batch, fractions allowed. */
export const BATCH_TIMEOUT_SECONDS: NumericRange = { min: 0, max: 60, allowed: 'number of seconds 0–60, fractions allowed' };

/** `Batching.SizeInBytes`: largest serialized batch (Lambda's synchronous payload limit is 6 MB). */
export const BATCH_SIZE_BYTES = integerRange(1024, 6 * 1024 * 1024);

/** A destination's `MaxQueuedPackets`. */
export const MAX_QUEUED_PACKETS = integerRange(1, 1_000_000);

/** A destination's `MaxInFlightBatches`. */
export const MAX_IN_FLIGHT_BATCHES = integerRange(1, 1000);

// ---- names and identifiers -------------------------------------------------------------------

/** A Listener name (also the Listener's key in the configuration table). */
export const NAME: TextPattern = { pattern: /^[A-Za-z0-9_-]{1,64}$/, allowed: '1–64 characters of A-Z a-z 0-9 _ -' };

/** A destination name within a Listener. */
export const DESTINATION_NAME: TextPattern = { pattern: /^[A-Za-z0-9_.-]{1,64}$/, allowed: '1–64 characters of A-Z a-z 0-9 _ . -' };

/** A DNS host name (the Listener's `Domain`, a peer endpoint's host). */
export const DOMAIN: TextPattern = {
  pattern: /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/,
  allowed: 'DNS labels of A-Z a-z 0-9 - separated by dots, up to 253 characters',
};

/** A WireGuard key: 32 bytes in standard base64 (44 characters; the last digit before `=` carries no spare bits). */
export const WIREGUARD_KEY: TextPattern = { pattern: /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/, allowed: '44 characters of base64 encoding 32 bytes' };

/** An AWS region name. */
export const REGION: TextPattern = { pattern: /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/, allowed: 'a region name such as us-east-1' };

/** A 12-digit AWS account id. */
export const ACCOUNT: TextPattern = { pattern: /^\d{12}$/, allowed: 'a 12-digit AWS account id' };

/** An `sts:ExternalId` value. */
export const EXTERNAL_ID: TextPattern = { pattern: /^[A-Za-z0-9+=,.@:/_-]{2,1224}$/, allowed: '2–1224 characters of A-Z a-z 0-9 + = , . @ : / _ -' };

/** An environment variable name. */
export const ENVIRONMENT_VARIABLE_NAME: TextPattern = { pattern: /^[A-Za-z_][A-Za-z0-9_]*$/, allowed: 'A-Z a-z 0-9 _, not starting with a digit' };

/** A JavaScript identifier (the export name of a local handler). */
export const IDENTIFIER: TextPattern = { pattern: /^[A-Za-z_$][A-Za-z0-9_$]*$/, allowed: 'a JavaScript identifier' };

