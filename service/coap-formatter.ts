/**
 * The `coap` Formatter: a CoAP message (RFC 7252, over UDP) as Proxylity's JSON object, in both
 * directions.
 *
 * ```jsonc
 * { "Version": 1, "Type": 0, "Code": 1, "MessageId": 4711, "Token": "AQID",
 *   "Method": "GET", "Path": "/time",                       // requests only
 *   "Options": [{ "Number": 11, "Value": "dGltZQ==" }],
 *   "Payload": "aGk=" }                                     // only when there is a payload
 * ```
 *
 * Inbound (bytes → `Data`): `Data` is this object as JSON text (a string, as Proxylity delivers
 * it). `Code` is the code byte (`1` is 0.01 GET, `69` is 2.05 Content); `Token`, option `Value`s
 * and `Payload` are base64; `Options` are in wire order, Uri-Path included; `Path` is `/` followed by
 * the Uri-Path segments joined with `/`.
 *
 * Outbound (reply or sourced `Data` → bytes): the same object, as JSON text or as an object.
 * `Type` and `MessageId` are required; `Code` is the code byte or `"c.dd"` text (`"2.05"`), and
 * may be left out when `Method` names a request; `Version` defaults to 1 (the only version),
 * `Token` to empty, a missing option `Value` to empty. Options are written in ascending `Number`
 * order (repeated options keep their order); when no Uri-Path option is given, `Path` becomes
 * Uri-Path options.
 *
 * Anything else — a truncated header, token or option, a reserved nibble (15), a token longer
 * than 8 bytes, a payload marker with no payload, fields of the wrong type — is an `InvalidData`
 * failure naming the problem and where; nothing here throws on bad input.
 */
import { isUtf8 } from 'node:buffer';
import type { Failure } from './contracts';

/** One CoAP option: its number and raw value. */
export interface CoapOption {
  readonly Number: number;
  /** Base64 of the option's bytes. */
  readonly Value: string;
}

/** A CoAP message as the `coap` Formatter delivers it in `Data`. */
export interface CoapMessage {
  readonly Version: number;
  /** 0 Confirmable, 1 Non-confirmable, 2 Acknowledgement, 3 Reset. */
  readonly Type: number;
  /** The code byte: class × 32 + detail (1 = 0.01 GET, 69 = 2.05 Content). */
  readonly Code: number;
  readonly MessageId: number;
  /** Base64 of the token (0–8 bytes). */
  readonly Token: string;
  /** GET, POST, PUT, DELETE, FETCH, PATCH or iPATCH, for requests. */
  readonly Method?: string;
  /** `/` and the Uri-Path segments, for requests. */
  readonly Path?: string;
  readonly Options: readonly CoapOption[];
  /** Base64 of the payload; absent when there is none. */
  readonly Payload?: string;
}

/** Decodes a base64 field strictly (the Formatter module's decoder). */
export type Base64FieldDecoder = (value: unknown, field: string) => Buffer | Failure;

const VERSION = 1;
const MAX_TOKEN_BYTES = 8;
const PAYLOAD_MARKER = 0xff;
const URI_PATH = 11;
const MAX_OPTION_NUMBER = 65_535;
/** Largest option value length the 14 nibble can express: 65535 + 269. */
const MAX_OPTION_VALUE_BYTES = 65_535 + 269;

/** Request methods by code detail (class 0); RFC 7252 §12.1.1 and RFC 8132. */
const METHODS = ['', 'GET', 'POST', 'PUT', 'DELETE', 'FETCH', 'PATCH', 'iPATCH'] as const;

const ALLOWED_IN = 'a CoAP message (RFC 7252): 4-byte header with version 1, a token of up to 8 bytes, options, and 0xFF before a non-empty payload; use Formatter base64 or hex for other payloads';
const ALLOWED_OUT = 'a CoAP object {Type, Code, MessageId, Token, Options:[{Number, Value}], Payload} as JSON text or an object, with Token, Value and Payload in base64';

/**
 * Decodes a CoAP message. Returns the JSON object, or an `InvalidData` failure naming the problem
 * and its byte offset.
 *
 * @param field name of the field in messages
 */
export function parseCoap(bytes: Uint8Array, field = 'Data'): CoapMessage | Failure {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 4) return invalidIn(field, `${buf.length} byte(s) is shorter than the 4-byte header`, 0);
  const first = buf[0];
  // eslint-disable-next-line no-bitwise -- header bit fields
  const version = first >> 6, type = (first >> 4) & 0x03, tokenLength = first & 0x0f;
  if (version !== VERSION) return invalidIn(field, `version ${version} (only version 1 exists)`, 0);
  if (tokenLength > MAX_TOKEN_BYTES) return invalidIn(field, `token length ${tokenLength} (at most ${MAX_TOKEN_BYTES}; 9–15 are reserved)`, 0);
  const code = buf[1];
  const messageId = buf.readUInt16BE(2);
  if (code === 0 && buf.length > 4) return invalidIn(field, 'an Empty message (code 0.00) with bytes after the header', 4);
  const tokenEnd = 4 + tokenLength;
  if (tokenEnd > buf.length) return invalidIn(field, `token of ${tokenLength} bytes is truncated (${buf.length - 4} left)`, 4);

  const options: CoapOption[] = [];
  const segments: string[] = [];
  let number = 0;
  let at = tokenEnd;
  let payload: Buffer | undefined;
  while (at < buf.length) {
    const start = at;
    const head = buf[at++];
    if (head === PAYLOAD_MARKER) {
      if (at === buf.length) return invalidIn(field, 'payload marker 0xFF with no payload after it', start);
      payload = buf.subarray(at);
      break;
    }
    // eslint-disable-next-line no-bitwise -- option header nibbles
    const delta = readExtended(buf, at, head >> 4);
    if (delta.error !== undefined) return invalidIn(field, `option delta ${delta.error}`, start);
    at = delta.next;
    // eslint-disable-next-line no-bitwise -- option header nibbles
    const length = readExtended(buf, at, head & 0x0f);
    if (length.error !== undefined) return invalidIn(field, `option length ${length.error}`, start);
    at = length.next;
    number += delta.value;
    if (number > MAX_OPTION_NUMBER) return invalidIn(field, `option number ${number} (at most ${MAX_OPTION_NUMBER})`, start);
    if (at + length.value > buf.length) {
      return invalidIn(field, `option ${number} value of ${length.value} bytes is truncated (${buf.length - at} left)`, start);
    }
    const value = buf.subarray(at, at + length.value);
    at += length.value;
    if (number === URI_PATH) {
      // Uri-Path is a string option (RFC 7252 §3.2): UTF-8, never substituted.
      if (!isUtf8(value)) return invalidIn(field, 'Uri-Path option that is not UTF-8', start);
      segments.push(value.toString('utf8'));
    }
    options.push({ Number: number, Value: value.toString('base64') });
  }

  // eslint-disable-next-line no-bitwise -- code class and detail
  const isRequest = code >> 5 === 0 && (code & 0x1f) > 0;
  // eslint-disable-next-line no-bitwise -- code detail
  const method = isRequest ? (METHODS[code & 0x1f] ?? undefined) : undefined;
  return {
    Version: version,
    Type: type,
    Code: code,
    MessageId: messageId,
    Token: buf.toString('base64', 4, tokenEnd),
    ...(isRequest ? { Method: method ?? `0.${String(code).padStart(2, '0')}`, Path: '/' + segments.join('/') } : {}),
    Options: options,
    ...(payload === undefined ? {} : { Payload: payload.toString('base64') }),
  };
}

/** Decodes a CoAP message into `Data` text (the JSON object as a string), or an `InvalidData` failure. */
export function coapToData(bytes: Uint8Array, field = 'Data'): string | Failure {
  const message = parseCoap(bytes, field);
  return isCoapMessage(message) ? JSON.stringify(message) : message;
}

function isCoapMessage(value: CoapMessage | Failure): value is CoapMessage {
  return (value as Failure).code === undefined;
}

interface Extended {
  readonly value: number;
  readonly next: number;
  readonly error?: string;
}

/** An option delta or length: nibble 0–12 as is, 13 → one more byte + 13, 14 → two more bytes + 269, 15 reserved. */
function readExtended(buf: Buffer, at: number, nibble: number): Extended {
  if (nibble < 13) return { value: nibble, next: at };
  if (nibble === 13) {
    if (at + 1 > buf.length) return { value: 0, next: at, error: 'nibble 13 needs 1 more byte (truncated)' };
    return { value: buf[at] + 13, next: at + 1 };
  }
  if (nibble === 14) {
    if (at + 2 > buf.length) return { value: 0, next: at, error: 'nibble 14 needs 2 more bytes (truncated)' };
    return { value: buf.readUInt16BE(at) + 269, next: at + 2 };
  }
  return { value: 0, next: at, error: 'nibble 15 is reserved (only the whole byte 0xFF, the payload marker, may hold it)' };
}

/**
 * Encodes a CoAP message from `Data` (JSON text of the object, or the object itself). Returns the
 * bytes, or an `InvalidData` failure naming the field that is wrong and what is allowed.
 *
 * @param field name of the field in messages (e.g. `Replies[0].Data`)
 * @param decodeBase64 the Formatter module's strict base64 decoder, for Token, Value and Payload
 */
export function coapFromData(value: unknown, field: string, decodeBase64: Base64FieldDecoder): Buffer | Failure {
  let message: unknown = value;
  if (typeof value === 'string') {
    try {
      message = JSON.parse(value);
    } catch (error) {
      return invalidOut(field, `is not JSON (${(error as Error).message})`);
    }
  }
  if (typeof message !== 'object' || message === null || Array.isArray(message)) {
    return invalidOut(field, value === undefined ? 'is missing' : `is ${kind(message)}, not a CoAP object`);
  }
  const m = message as Record<string, unknown>;

  if (m.Version !== undefined && m.Version !== VERSION) return invalidOut(`${field}.Version`, `${show(m.Version)} is not a CoAP version`, '1 (the only version), or leave it out');
  const type = m.Type;
  if (!isInteger(type, 0, 3)) return invalidOut(`${field}.Type`, `${show(type)} is not a message type`, '0 Confirmable, 1 Non-confirmable, 2 Acknowledgement, 3 Reset');
  const code = codeOf(m.Code, m.Method);
  if (typeof code !== 'number') return invalidOut(`${field}.${code.field}`, code.problem, code.allowed);
  const messageId = m.MessageId;
  if (!isInteger(messageId, 0, 0xffff)) return invalidOut(`${field}.MessageId`, `${show(messageId)} is not a message id`, 'integer 0–65535');

  let token: Buffer = EMPTY;
  if (m.Token !== undefined && m.Token !== null) {
    const decoded = decodeBase64(m.Token, `${field}.Token`);
    if (!Buffer.isBuffer(decoded)) return decoded;
    if (decoded.length > MAX_TOKEN_BYTES) return invalidOut(`${field}.Token`, `is ${decoded.length} bytes long`, `at most ${MAX_TOKEN_BYTES} bytes, base64`);
    token = decoded;
  }

  const options: WireOption[] = [];
  if (m.Options !== undefined && m.Options !== null) {
    if (!Array.isArray(m.Options)) return invalidOut(`${field}.Options`, `is ${kind(m.Options)}`, 'an array of {Number, Value}');
    for (let i = 0; i < m.Options.length; i++) {
      const path = `${field}.Options[${i}]`;
      const option: unknown = m.Options[i];
      if (typeof option !== 'object' || option === null || Array.isArray(option)) return invalidOut(path, `is ${kind(option)}`, 'an object {Number, Value}');
      const o = option as Record<string, unknown>;
      if (!isInteger(o.Number, 0, MAX_OPTION_NUMBER)) return invalidOut(`${path}.Number`, `${show(o.Number)} is not an option number`, 'integer 0–65535');
      let bytes: Buffer = EMPTY;
      if (o.Value !== undefined && o.Value !== null) {
        const decoded = decodeBase64(o.Value, `${path}.Value`);
        if (!Buffer.isBuffer(decoded)) return decoded;
        if (decoded.length > MAX_OPTION_VALUE_BYTES) return invalidOut(`${path}.Value`, `is ${decoded.length} bytes long`, `at most ${MAX_OPTION_VALUE_BYTES} bytes, base64`);
        bytes = decoded;
      }
      if (o.Number === URI_PATH && !isUtf8(bytes)) return invalidOut(`${path}.Value`, 'is not UTF-8', 'UTF-8 text, base64: Uri-Path is a string option');
      options.push({ number: o.Number, value: bytes });
    }
  }
  if (m.Path !== undefined && m.Path !== null && !options.some((o) => o.number === URI_PATH)) {
    if (typeof m.Path !== 'string' || LONE_SURROGATE.test(m.Path)) return invalidOut(`${field}.Path`, `is ${kind(m.Path)}`, 'a path such as "/sensors/temp"');
    for (const segment of m.Path.split('/')) {
      if (segment !== '') options.push({ number: URI_PATH, value: Buffer.from(segment, 'utf8') });
    }
  }

  let payload: Buffer = EMPTY;
  if (m.Payload !== undefined && m.Payload !== null) {
    const decoded = decodeBase64(m.Payload, `${field}.Payload`);
    if (!Buffer.isBuffer(decoded)) return decoded;
    payload = decoded;
  }
  if (code === 0 && (token.length > 0 || options.length > 0 || payload.length > 0)) {
    return invalidOut(field, 'is an Empty message (Code 0) with a Token, Options or a Payload', 'no Token, Options or Payload in an Empty message');
  }
  return serializeCoap(type, code, messageId, token, options, payload);
}

const EMPTY = Buffer.alloc(0);

/** With the `u` flag a surrogate pair is one code point, so only lone surrogates (not UTF-8 encodable) match. */
const LONE_SURROGATE = /\p{Cs}/u;

interface WireOption {
  readonly number: number;
  readonly value: Buffer;
}

function serializeCoap(type: number, code: number, messageId: number, token: Buffer, options: readonly WireOption[], payload: Buffer): Buffer {
  // A stable sort keeps repeated options in the order given.
  const sorted = options.map((o, i) => ({ ...o, i })).sort((a, b) => a.number - b.number || a.i - b.i);
  let size = 4 + token.length + (payload.length > 0 ? 1 + payload.length : 0);
  let previous = 0;
  for (const o of sorted) {
    size += 1 + extendedBytes(o.number - previous) + extendedBytes(o.value.length) + o.value.length;
    previous = o.number;
  }
  const out = Buffer.allocUnsafe(size);
  // eslint-disable-next-line no-bitwise -- header bit fields
  out[0] = (VERSION << 6) | (type << 4) | token.length;
  out[1] = code;
  out.writeUInt16BE(messageId, 2);
  let at = 4 + token.copy(out, 4);
  previous = 0;
  for (const o of sorted) {
    const delta = o.number - previous;
    previous = o.number;
    const head = at++;
    const deltaNibble = writeExtended(out, at, delta);
    at += extendedBytes(delta);
    const lengthNibble = writeExtended(out, at, o.value.length);
    at += extendedBytes(o.value.length);
    out[head] = deltaNibble * 16 + lengthNibble;
    at += o.value.copy(out, at);
  }
  if (payload.length > 0) {
    out[at++] = PAYLOAD_MARKER;
    payload.copy(out, at);
  }
  return out;
}

function extendedBytes(value: number): number {
  return value < 13 ? 0 : value < 269 ? 1 : 2;
}

/** Writes the extended bytes of `value` at `at` and returns its nibble. */
function writeExtended(out: Buffer, at: number, value: number): number {
  if (value < 13) return value;
  if (value < 269) {
    out[at] = value - 13;
    return 13;
  }
  out.writeUInt16BE(value - 269, at);
  return 14;
}

const CODE_ALLOWED = 'the code byte 0–255, or "c.dd" with class 0–7 and detail 00–31 such as "2.05"';

/** The code byte from `Code` (a byte or `"c.dd"`) or, without it, from `Method`; otherwise what is wrong. */
function codeOf(code: unknown, method: unknown): number | { field: string; problem: string; allowed: string } {
  if (code === undefined || code === null) {
    if (method === undefined || method === null) return { field: 'Code', problem: 'is missing', allowed: `${CODE_ALLOWED}; or a Method for a request` };
    const detail = typeof method === 'string' ? METHODS.findIndex((m, i) => i > 0 && m.toUpperCase() === method.toUpperCase()) : -1;
    if (detail < 0) return { field: 'Method', problem: `${show(method)} is not a request method`, allowed: METHODS.slice(1).join(', ') };
    return detail;
  }
  if (isInteger(code, 0, 255)) return code;
  if (typeof code === 'string') {
    const match = /^([0-7])\.([0-3][0-9])$/.exec(code);
    if (match && Number(match[2]) <= 31) return Number(match[1]) * 32 + Number(match[2]);
  }
  return { field: 'Code', problem: `${show(code)} is not a CoAP code`, allowed: CODE_ALLOWED };
}

function isInteger(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

function kind(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return 'text with a lone surrogate';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function show(value: unknown): string {
  const text = value === undefined ? 'missing' : JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 37)}…` : text;
}

function invalidIn(field: string, problem: string, offset: number): Failure {
  return { code: 'InvalidData', reason: `${field}: payload is not valid CoAP: ${problem} at offset ${offset} (allowed: ${ALLOWED_IN})` };
}

function invalidOut(path: string, problem: string, allowed = ALLOWED_OUT): Failure {
  return { code: 'InvalidData', reason: `${path}: ${problem} (allowed: ${allowed})` };
}
