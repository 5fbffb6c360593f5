/**
 * IP addresses between their text form and their wire bytes (4 or 16), without going through the
 * socket layer. IPv6 text output is the canonical RFC 5952 form (lower case, longest zero run
 * compressed), the same form node:net reports.
 */
/* eslint-disable no-bitwise -- address bytes and 16-bit groups */
import { isIPv4, isIPv6 } from 'node:net';

/** Parses an IPv4 or IPv6 address into its 4 or 16 bytes; `undefined` when it is neither. */
export function parseIpAddress(text: string): Buffer | undefined {
  if (isIPv4(text)) return parseIPv4(text);
  if (isIPv6(text)) return parseIPv6(text);
  return undefined;
}

function parseIPv4(text: string): Buffer {
  const out = Buffer.allocUnsafe(4);
  const parts = text.split('.');
  for (let i = 0; i < 4; i++) out[i] = Number(parts[i]);
  return out;
}

function parseIPv6(text: string): Buffer | undefined {
  const zone = text.indexOf('%');
  const address = zone >= 0 ? text.slice(0, zone) : text;
  const words: number[] = [];
  const halves = address.split('::');
  const parseHalf = (half: string): number[] | undefined => {
    if (half === '') return [];
    const result: number[] = [];
    const groups = half.split(':');
    for (let i = 0; i < groups.length; i++) {
      const group = groups[i];
      if (group.includes('.')) {
        if (i !== groups.length - 1 || !isIPv4(group)) return undefined;
        const v4 = parseIPv4(group);
        result.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else {
        result.push(parseInt(group, 16));
      }
    }
    return result;
  };
  const head = parseHalf(halves[0]);
  const tail = halves.length > 1 ? parseHalf(halves[1]) : [];
  if (!head || !tail) return undefined;
  words.push(...head);
  if (halves.length > 1) for (let i = head.length + tail.length; i < 8; i++) words.push(0);
  words.push(...tail);
  if (words.length !== 8) return undefined;
  const out = Buffer.allocUnsafe(16);
  for (let i = 0; i < 8; i++) out.writeUInt16BE(words[i], i * 2);
  return out;
}

/** Text of the IPv4 address at `offset`. */
export function formatIPv4(bytes: Uint8Array, offset = 0): string {
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

/** Canonical text (RFC 5952) of the IPv6 address at `offset`. */
export function formatIPv6(bytes: Uint8Array, offset = 0): string {
  const words = new Array<number>(8);
  for (let i = 0; i < 8; i++) words[i] = (bytes[offset + i * 2] << 8) | bytes[offset + i * 2 + 1];
  // IPv4-mapped addresses keep the dotted tail, as node:net prints them.
  if (words[0] === 0 && words[1] === 0 && words[2] === 0 && words[3] === 0 && words[4] === 0 && words[5] === 0xffff) {
    return `::ffff:${formatIPv4(bytes, offset + 12)}`;
  }
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return words.map((w) => w.toString(16)).join(':');
  const head = words.slice(0, bestStart).map((w) => w.toString(16)).join(':');
  const tail = words.slice(bestStart + bestLength).map((w) => w.toString(16)).join(':');
  return `${head}::${tail}`;
}

/** Text of a 4- or 16-byte address. */
export function formatIpAddress(bytes: Uint8Array): string {
  return bytes.length === 4 ? formatIPv4(bytes) : formatIPv6(bytes);
}
