/**
 * Encoding of `Data` in the packets a destination receives, in its Replies, and in sourced
 * messages.
 */
export enum Formatter {
  /** Base64 (RFC 4648); safe for any payload. */
  BASE64 = 'base64',
  /** Lower-case hexadecimal, two characters per byte. */
  HEX = 'hex',
  /** 7-bit ASCII text; payloads with other bytes are rejected. */
  ASCII = 'ascii',
  /** UTF-8 text; payloads that are not valid UTF-8 are rejected. */
  UTF8 = 'utf8',
}
