/**
 * Encodings of `Data` (DESIGN.md Formatter): base64, hex, ascii, utf8 and coap, in both directions.
 *
 * Both directions are exact, never lossy. Encoding (bytes → string) refuses bytes the Formatter
 * cannot represent: ascii takes bytes 0x00–0x7F only, utf8 well-formed UTF-8 only (base64 and hex
 * take anything). Decoding (string → bytes) refuses anything that is not exactly the declared
 * encoding. A refusal is an `InvalidData` failure naming what is wrong and where, never the
 * payload itself. coap (coap-formatter.ts) turns a CoAP message into Proxylity's JSON object and
 * back.
 */
import { isAscii, isUtf8 } from 'node:buffer';
import { coapFromData, coapToData } from './coap-formatter';
import type { Failure } from './contracts';
import { FORMATTERS, FormatterName } from '../lib/private/records';

/** The Formatter used when neither the destination, the Listener nor the message names one. */
export const DEFAULT_FORMATTER: FormatterName = 'base64';

/** True when `value` is one of the Formatter names. */
export function isFormatterName(value: unknown): value is FormatterName {
  return typeof value === 'string' && (FORMATTERS as readonly string[]).includes(value);
}

/**
 * Reads an optional Formatter field: `undefined` gives `fallback`, an unknown name an
 * `InvalidMessage` failure listing the allowed names.
 */
export function parseFormatter(value: unknown, fallback: FormatterName = DEFAULT_FORMATTER, field = 'Formatter'): FormatterName | Failure {
  if (value === undefined || value === null) return fallback;
  if (isFormatterName(value)) return value;
  return {
    code: 'InvalidMessage',
    reason: `${field}: ${describe(value)} is not a Formatter (allowed: ${FORMATTERS.join(', ')})`,
  };
}

/**
 * Encodes bytes as a `Data` string, or returns an `InvalidData` failure when `formatter` cannot
 * represent them exactly (ascii: a byte above 0x7F; utf8: bytes that are not well-formed UTF-8).
 * One native pass checks the bytes; nothing is substituted.
 *
 * @param field name of the field in messages
 */
export function encodeData(data: Uint8Array, formatter: FormatterName, field = 'Data'): string | Failure {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  switch (formatter) {
    case 'base64':
      return buf.toString('base64');
    case 'hex':
      // upper-case, as Proxylity writes it; decoding takes either case
      return buf.toString('hex').toUpperCase();
    case 'utf8':
      if (isUtf8(buf)) return buf.toString('utf8');
      return invalidBytes(field, 'not valid utf8', buf, firstInvalidUtf8(buf), 'well-formed UTF-8');
    case 'ascii':
      if (isAscii(buf)) return buf.toString('latin1');
      return invalidBytes(field, 'not ascii', buf, buf.findIndex((b) => b > 0x7f), 'bytes 0x00 to 0x7F');
    case 'coap':
      return coapToData(buf, field);
  }
}

/**
 * Decodes a `Data` value. Returns the bytes, or an `InvalidData` failure when `value` is not a
 * string or is not valid in `formatter`. For coap, `value` is the CoAP object as JSON text or the
 * object itself.
 *
 * @param field name of the field in messages (e.g. `Messages[3].Data`)
 */
export function decodeData(value: unknown, formatter: FormatterName, field = 'Data'): Buffer | Failure {
  if (formatter === 'coap') return coapFromData(value, field, decodeBase64Field);
  if (typeof value !== 'string') {
    return invalid(`${field}: ${value === undefined ? 'missing' : `must be a string, got ${typeName(value)}`} (allowed: ${formatter} text)`);
  }
  switch (formatter) {
    case 'base64':
      return decodeBase64(value, field);
    case 'hex':
      return decodeHex(value, field);
    case 'ascii':
      return decodeAscii(value, field);
    case 'utf8':
      return decodeUtf8(value, field);
  }
}

/** Strict base64 of one field of a structured `Data` (coap's Token, option Value and Payload). */
function decodeBase64Field(value: unknown, field: string): Buffer | Failure {
  if (typeof value !== 'string') return invalid(`${field}: must be a base64 string, got ${typeName(value)} (allowed: base64 text)`);
  return decodeBase64(value, field);
}

/** True when a decode result is a failure rather than bytes. */
export function isFailure(value: Buffer | Failure): value is Failure {
  return !Buffer.isBuffer(value);
}

const BASE64_PATTERN = /^[A-Za-z0-9+/]*$/;

function decodeBase64(text: string, field: string): Buffer | Failure {
  let end = text.length;
  let padding = 0;
  while (end > 0 && text.charCodeAt(end - 1) === 61 /* = */ && padding < 2) {
    end--;
    padding++;
  }
  const decodableLength = end % 4 !== 1 && (padding === 0 || text.length % 4 === 0);
  if (decodableLength) {
    // Fast path, no character loop in JavaScript: for ASCII text (checked natively) Node's decoder
    // skips characters outside the alphabet and stops at an inner '=', so any of them leaves fewer
    // bytes than the length promises; '-' and '_' (base64url, which the decoder also takes) are
    // looked for directly. Wider characters would be truncated to a byte, hence the ASCII check.
    // The checks and the decoder read the whole text, its padding included (the decoder stops
    // there): the text unsliced is a flat string, cheaper to scan and decode than a slice of it.
    if (Buffer.byteLength(text, 'utf8') === text.length && text.indexOf('-') < 0 && text.indexOf('_') < 0) {
      const bytes = Buffer.from(text, 'base64');
      if (bytes.length === Math.floor((end * 3) / 4)) return bytes;
    }
  }
  const body = end === text.length ? text : text.slice(0, end);
  if (!BASE64_PATTERN.test(body)) {
    const at = firstMismatch(body, (c) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 43 || c === 47);
    return invalid(`${field}: not valid base64: ${charAt(text, at)} at index ${at} (allowed: A-Z a-z 0-9 + / and up to two = at the end)`);
  }
  if (!decodableLength) {
    return invalid(`${field}: not valid base64: length ${text.length} with ${padding} padding character(s) cannot be decoded (allowed: groups of 4 characters, the last one padded with = or unpadded)`);
  }
  return Buffer.from(body, 'base64');
}

const HEX_PATTERN = /^[0-9A-Fa-f]*$/;

function decodeHex(text: string, field: string): Buffer | Failure {
  if (!HEX_PATTERN.test(text)) {
    const at = firstMismatch(text, (c) => (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102));
    return invalid(`${field}: not valid hex: ${charAt(text, at)} at index ${at} (allowed: 0-9 a-f A-F)`);
  }
  if (text.length % 2 !== 0) {
    return invalid(`${field}: not valid hex: odd length ${text.length} (allowed: two hex digits per byte)`);
  }
  return Buffer.from(text, 'hex');
}

function decodeAscii(text: string, field: string): Buffer | Failure {
  const at = firstMismatch(text, (c) => c < 128);
  if (at >= 0) {
    return invalid(`${field}: not ascii: ${charAt(text, at)} at index ${at} (allowed: characters U+0000 to U+007F)`);
  }
  return Buffer.from(text, 'latin1');
}

/** With the `u` flag a surrogate pair is one code point, so only lone surrogates match. */
const LONE_SURROGATE = /\p{Cs}/u;

function decodeUtf8(text: string, field: string): Buffer | Failure {
  const match = LONE_SURROGATE.exec(text);
  if (match) {
    const at = match.index;
    return invalid(`${field}: not valid utf8: lone surrogate U+${text.charCodeAt(at).toString(16).toUpperCase()} at index ${at} (allowed: well-formed Unicode text)`);
  }
  return Buffer.from(text, 'utf8');
}

/** An encoding refusal naming the first offending byte and its offset, never the payload. */
function invalidBytes(field: string, problem: string, buf: Buffer, at: number, allowed: string): Failure {
  const byte = `0x${buf[at].toString(16).toUpperCase().padStart(2, '0')}`;
  return invalid(`${field}: payload is ${problem}: byte ${byte} at offset ${at} (allowed: ${allowed}; use Formatter base64 or hex for binary payloads)`);
}

/**
 * Offset of the first byte of the first ill-formed UTF-8 sequence (overlong forms, surrogates and
 * code points above U+10FFFF included); only called once `isUtf8` has said there is one.
 */
/* eslint-disable no-bitwise -- UTF-8 lead and continuation bytes */
function firstInvalidUtf8(buf: Buffer): number {
  let i = 0;
  while (i < buf.length) {
    const b = buf[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    let length: number;
    let min: number;
    let cp: number;
    if (b >= 0xc2 && b <= 0xdf) {
      length = 2; min = 0x80; cp = b & 0x1f;
    } else if (b >= 0xe0 && b <= 0xef) {
      length = 3; min = 0x800; cp = b & 0x0f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      length = 4; min = 0x10000; cp = b & 0x07;
    } else {
      return i;
    }
    if (i + length > buf.length) return i;
    for (let k = 1; k < length; k++) {
      const c = buf[i + k];
      if ((c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += length;
  }
  return buf.length > 0 ? buf.length - 1 : 0;
}
/* eslint-enable no-bitwise */

function firstMismatch(text: string, ok: (code: number) => boolean): number {
  for (let i = 0; i < text.length; i++) if (!ok(text.charCodeAt(i))) return i;
  return -1;
}

/** Names one character without echoing the payload around it. */
function charAt(text: string, index: number): string {
  const code = text.charCodeAt(index);
  const hex = `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  return code >= 0x20 && code < 0x7f ? `character '${text[index]}' (${hex})` : `character ${hex}`;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function describe(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : typeName(value);
  return text.length > 40 ? `${text.slice(0, 37)}…` : text;
}

function invalid(reason: string): Failure {
  return { code: 'InvalidData', reason };
}
