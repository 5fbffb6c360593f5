/**
 * Encoding of `Data` in the packets a destination receives, in its Replies, and in sourced
 * messages.
 *
 * Every Formatter is exact in both directions. A received payload that the destination's
 * Formatter cannot represent is not delivered to that destination: it gets an `InvalidData`
 * failure record instead. Reply and sourced `Data` that is not valid text of its Formatter is
 * refused with `InvalidData` too. Nothing is ever substituted (no `?`, no U+FFFD).
 */
export enum Formatter {
  /** Base64 (RFC 4648, standard alphabet; padded out, padding optional in); carries any payload. */
  BASE64 = 'base64',
  /** Hexadecimal, two characters per byte (lower case out, either case in); carries any payload. */
  HEX = 'hex',
  /**
   * 7-bit ASCII text: payloads of bytes 0x00–0x7F only. A payload with a byte above 0x7F, or a
   * reply/sourced `Data` with a character above U+007F, is refused with `InvalidData`.
   */
  ASCII = 'ascii',
  /**
   * UTF-8 text: payloads that are well-formed UTF-8 only (no overlong forms, surrogates or code
   * points above U+10FFFF). Other payloads, and reply/sourced `Data` holding a lone surrogate, are
   * refused with `InvalidData`.
   */
  UTF8 = 'utf8',
  /**
   * CoAP (RFC 7252) as Proxylity's JSON object: `Data` is the JSON text of `{Version, Type, Code,
   * MessageId, Token, Method, Path, Options: [{Number, Value}], Payload}` with Token, option Values
   * and Payload in base64 (Method and Path on requests; Payload only when there is one). Replies
   * and sourced packets give the same object (JSON text or the object; Code as the code byte or
   * `"2.05"`), and the gateway sends the encoded CoAP message. A payload that is not a well-formed
   * CoAP message, and reply/sourced `Data` that does not describe one, are refused with
   * `InvalidData`.
   */
  COAP = 'coap',
}
