/**
 * Replies streamed by a response-streaming Lambda function (InvokeWithResponseStream), parsed as
 * the bytes arrive so that each reply goes to its client as soon as it is complete.
 *
 * The stream is JSON text in one of these shapes (docs/DESIGN.md "Streamed replies"):
 * - reply objects one after another (`{"Tag":…,"Data":…}`), separated by whitespace or newlines
 *   (newline-delimited JSON) and optionally commas; `null` values are skipped;
 * - `{"Replies":[…]}` — the buffered response shape, which a function that is not written for
 *   streaming also produces: each entry of the array is routed as soon as it is complete, not
 *   when the object closes;
 * - a bare array of reply objects (`[…]`), routed entry by entry the same way.
 * A value that is not valid JSON, or not a reply, is reported (ReplyInvalid) and the parser goes
 * on with the next value: one bad reply never drops the others. Chunks may split a value, or a
 * UTF-8 character, anywhere.
 */

/** What the parser finds. */
export interface ReplyStreamHandler {
  /** A reply entry (object, or null), in stream order. */
  reply(entry: unknown): void;
  /** A value that is not JSON, or a stream that ended inside a value. */
  invalid(reason: string): void;
}

/** Longest streamed value, in characters; a longer one is reported and skipped to the next line. */
export const MAX_STREAMED_VALUE_CHARS = 1024 * 1024;

/** `{"Replies":[` with any whitespace; sticky so it is tried at one position only. */
const WRAPPER_PREFIX = /\{\s*"Replies"\s*:\s*\[/y;
const WRAPPER_PREFIX_COMPACT = '{"Replies":[';

type Mode = 'top' | 'array' | 'closing';

export class ReplyStreamParser {
  private readonly decoder = new TextDecoder('utf-8');
  private text = '';
  private pos = 0;
  /** Start of the value being read, -1 between values. */
  private start = -1;
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** The value being read is a number or literal (ends at a delimiter). */
  private primitive = false;
  private mode: Mode = 'top';
  /** The array being read is the `Replies` of a `{"Replies":[` object (its `}` follows). */
  private wrapped = false;
  /** Skipping an oversized value up to the next newline. */
  private skipping = false;
  private values = 0;

  public constructor(private readonly handler: ReplyStreamHandler) {}

  /** Parses a chunk of the stream. */
  public push(chunk: Uint8Array): void {
    this.text += this.decoder.decode(chunk, { stream: true });
    this.scan(false);
  }

  /** The stream ended: reports a value left incomplete. */
  public end(): void {
    this.text += this.decoder.decode();
    this.scan(true);
    if (this.start >= 0) {
      if (this.primitive) this.emit(this.text.slice(this.start));
      else if (this.mode === 'closing') this.handler.invalid('the streamed {"Replies":[…]} object was not closed');
      else this.handler.invalid(`the stream ended inside streamed value ${this.values + 1}`);
    } else if (this.mode === 'array') {
      this.handler.invalid('the stream ended inside the streamed Replies array');
    }
    this.text = '';
    this.pos = 0;
    this.start = -1;
  }

  private scan(final: boolean): void {
    const text = this.text;
    let pos = this.pos;
    while (pos < text.length) {
      if (this.start < 0) {
        const c = text.charCodeAt(pos);
        if (this.skipping) {
          if (c === NEWLINE) this.skipping = false;
          pos++;
          continue;
        }
        if (isSpace(c) || c === COMMA) {
          pos++;
          continue;
        }
        if (this.mode === 'array' && c === CLOSE_BRACKET) {
          pos++;
          if (this.wrapped) this.begin(pos, 1, 'closing');
          else this.mode = 'top';
          continue;
        }
        if (this.mode === 'top' && c === OPEN_BRACKET) {
          this.mode = 'array';
          this.wrapped = false;
          pos++;
          continue;
        }
        if (this.mode === 'top' && c === OPEN_BRACE) {
          WRAPPER_PREFIX.lastIndex = pos;
          if (WRAPPER_PREFIX.test(text)) {
            pos = WRAPPER_PREFIX.lastIndex;
            this.mode = 'array';
            this.wrapped = true;
            continue;
          }
          if (!final && mayBecomeWrapper(text, pos)) break;
        }
        if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
          this.handler.invalid(`unexpected ${text[pos]} between streamed values`);
          pos++;
          continue;
        }
        this.begin(pos, 0, this.mode);
        this.primitive = c !== OPEN_BRACE && c !== OPEN_BRACKET && c !== QUOTE;
        if (this.primitive) {
          pos++;
          continue;
        }
      }
      // inside a value
      const c = text.charCodeAt(pos);
      let end = -1;
      if (this.inString) {
        if (this.escaped) {this.escaped = false;} else if (c === BACKSLASH) {this.escaped = true;} else if (c === QUOTE) {
          this.inString = false;
          if (this.depth === 0) end = pos + 1;
        }
      } else if (this.primitive) {
        if (isSpace(c) || c === COMMA || c === CLOSE_BRACKET || c === CLOSE_BRACE || c === OPEN_BRACE || c === OPEN_BRACKET || c === QUOTE) end = pos;
      } else if (c === QUOTE) {
        this.inString = true;
      } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        this.depth++;
      } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        this.depth--;
        if (this.depth === 0) end = pos + 1;
      }
      if (end >= 0) {
        const value = text.slice(this.start, end);
        this.start = -1;
        if (this.mode === 'closing') this.mode = 'top';
        else this.emit(value);
        pos = end;
        continue;
      }
      pos++;
      if (pos - this.start > MAX_STREAMED_VALUE_CHARS) {
        this.handler.invalid(`streamed value ${++this.values} is longer than ${MAX_STREAMED_VALUE_CHARS} characters; skipped to the next line`);
        this.start = -1;
        this.skipping = true;
        if (this.mode === 'closing') this.mode = 'top';
      }
    }
    // keep only what is still needed
    const keepFrom = this.start >= 0 ? this.start : pos;
    this.text = text.slice(keepFrom);
    this.pos = pos - keepFrom;
    if (this.start >= 0) this.start = 0;
  }

  /** Starts reading a value at `pos` with `depth` containers already open. */
  private begin(pos: number, depth: number, mode: Mode): void {
    this.start = pos;
    this.depth = depth;
    this.inString = false;
    this.escaped = false;
    this.primitive = false;
    this.mode = mode;
  }

  private emit(json: string): void {
    const index = ++this.values;
    let value: unknown;
    try {
      value = JSON.parse(json);
    } catch (err) {
      this.handler.invalid(`streamed value ${index} is not JSON (${(err as Error).message}); allowed: reply objects, or {"Replies":[…]}`);
      return;
    }
    if (this.mode === 'array') {
      this.handler.reply(value);
      return;
    }
    if (value === null) return;
    if (typeof value === 'object' && !Array.isArray(value) && 'Replies' in value) {
      const replies = (value as { Replies: unknown }).Replies;
      if (Array.isArray(replies)) for (const entry of replies) this.handler.reply(entry);
      else if (replies !== null) this.handler.invalid(`streamed value ${index}: Replies must be an array`);
      return;
    }
    this.handler.reply(value);
  }
}

/** True while the text at `pos` could still grow into `{"Replies":[` (whitespace aside). */
function mayBecomeWrapper(text: string, pos: number): boolean {
  let compact = '';
  for (let i = pos; i < text.length && compact.length < WRAPPER_PREFIX_COMPACT.length; i++) {
    const c = text.charCodeAt(i);
    if (isSpace(c)) continue;
    compact += text[i];
    if (!WRAPPER_PREFIX_COMPACT.startsWith(compact)) return false;
  }
  return compact.length < WRAPPER_PREFIX_COMPACT.length;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === NEWLINE || c === 0x0d || c === 0x09;
}

const NEWLINE = 0x0a;
const COMMA = 0x2c;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
