/**
 * Binary range expressions: Proxylity's small language that picks bytes out of a packet's payload
 * for a destination argument (`PartitionKeyExpression`, `MessageGroupIdExpression`,
 * `MessageDeduplicationIdExpression`, `TenantIdExpression`).
 *
 * ```text
 * expression := condition '?' expression ':' expression      (right-associative)
 *             | value
 * condition  := value ('==' | '=' | '!=') value
 * value      := range | hex | '(' expression ')'
 * range      := '[' offset ']'                                 one byte
 *             | '[' offset? ':' offset? ']'                    bytes start (inclusive) to end (exclusive)
 * offset     := '-'? decimal digits                            negative counts from the end of the payload
 * hex        := '0x' hex digits                                bytes, big-endian; an odd digit count gets a leading 0
 * ```
 *
 * Examples: `[0:4]`, `[1:]`, `[:-2]`, `[0]`, `[0] == 0xFE ? [3:5] : ([0] = 0xFD ? [5:7] : 0xFFFF)`.
 *
 * Semantics (evaluation never throws): offsets clamp to the payload like Python slices, so a range
 * outside the payload is empty rather than an error, and an index past the end is an empty value.
 * `==`/`=` are equal when both sides have the same length and bytes; `!=` is the opposite. Whitespace
 * between tokens is ignored. An expression yields bytes: a comparison is only allowed as the
 * condition of a ternary, and a ternary's condition must be a comparison; both are checked when
 * parsing.
 *
 * An expression is parsed once, at configuration time ({@link parseBinaryExpression}; errors are
 * {@link ExpressionError}s naming the column and what was expected). Evaluating it per packet
 * allocates only the result (a view of the payload or of a literal); comparisons allocate nothing.
 * Pure: no CDK import.
 */
import { MAX_UDP_PAYLOAD_BYTES } from './limits';

/** Longest expression text, in characters. */
export const MAX_BINARY_EXPRESSION_LENGTH = 1024;

/** What a valid expression looks like, for messages. */
export const BINARY_EXPRESSION_ALLOWED = 'a binary range expression such as [0:4], [1:], [0] or [0] == 0xFE ? [3:5] : 0xFFFF';

/** A syntax or type error in an expression: `column` is 1-based, `expected` says what would have been valid there. */
export class ExpressionError extends Error {
  public readonly column: number;
  public readonly expected: string;
  public readonly expression: string;

  /** @param field names the argument in the message (`PartitionKeyExpression: "[0:" at column 4: …`) */
  public constructor(expression: string, column: number, expected: string, found: string, field?: string) {
    super(`${field === undefined ? '' : `${field}: `}${JSON.stringify(expression)} at column ${column}: expected ${expected}, found ${found}`);
    this.name = 'ExpressionError';
    this.expression = expression;
    this.column = column;
    this.expected = expected;
  }
}

/** A parsed expression, ready to be evaluated against any number of payloads. */
export interface BinaryExpression {
  /** The text it was parsed from. */
  readonly text: string;
  /** The selected bytes: a view of `payload` or of a literal of the expression (do not write to it). */
  evaluate(payload: Uint8Array): Uint8Array;
}

/**
 * Parses `text`, or throws an {@link ExpressionError} naming the column of the first problem and
 * what was expected there.
 *
 * @param field names the argument in error messages, e.g. `PartitionKeyExpression`
 */
export function parseBinaryExpression(text: string, field?: string): BinaryExpression {
  if (typeof text !== 'string') {
    throw new ExpressionError(String(text), 1, 'a string', typeof text, field);
  }
  if (text.length > MAX_BINARY_EXPRESSION_LENGTH) {
    throw new ExpressionError(text.slice(0, 40) + '…', MAX_BINARY_EXPRESSION_LENGTH + 1, `at most ${MAX_BINARY_EXPRESSION_LENGTH} characters`, `${text.length} characters`, field);
  }
  const parser = new Parser(text, field);
  const root = parser.parseValueExpression();
  parser.expectEnd();
  return new CompiledExpression(text, root);
}

/** The problem with `text` as a message (`"…" at column N: expected …, found …`), or undefined when it parses. */
export function binaryExpressionProblem(text: string): string | undefined {
  try {
    parseBinaryExpression(text);
    return undefined;
  } catch (error) {
    if (error instanceof ExpressionError) return error.message;
    throw error;
  }
}

// ---- syntax tree ---------------------------------------------------------------------------

/**
 * A node that yields bytes. Resolving writes the bytes' place into a span (source, start, end)
 * owned by the caller, so nothing is allocated while evaluating.
 */
type ValueNode = RangeNode | LiteralNode | TernaryNode;

interface RangeNode {
  readonly kind: 'range';
  /** `[n]`: one byte at n. */
  readonly index: boolean;
  readonly start: number | undefined;
  readonly end: number | undefined;
}

interface LiteralNode {
  readonly kind: 'literal';
  readonly bytes: Uint8Array;
}

interface TernaryNode {
  readonly kind: 'ternary';
  readonly condition: ComparisonNode;
  readonly then: ValueNode;
  readonly otherwise: ValueNode;
}

interface ComparisonNode {
  readonly kind: 'comparison';
  readonly negate: boolean;
  readonly left: ValueNode;
  readonly right: ValueNode;
  /** Scratch spans of the two sides, reused by every evaluation (evaluation is synchronous). */
  readonly leftSpan: Span;
  readonly rightSpan: Span;
}

type Node = ValueNode | ComparisonNode;

interface Span {
  source: Uint8Array;
  start: number;
  end: number;
}

const EMPTY = new Uint8Array(0);

function newSpan(): Span {
  return { source: EMPTY, start: 0, end: 0 };
}

// ---- evaluation ----------------------------------------------------------------------------

class CompiledExpression implements BinaryExpression {
  private readonly span = newSpan();

  public constructor(public readonly text: string, private readonly root: ValueNode) {}

  public evaluate(payload: Uint8Array): Uint8Array {
    const span = this.span;
    resolve(this.root, payload, span);
    const result = span.source.subarray(span.start, span.end);
    span.source = EMPTY;
    return result;
  }
}

function resolve(node: ValueNode, payload: Uint8Array, out: Span): void {
  switch (node.kind) {
    case 'literal':
      out.source = node.bytes;
      out.start = 0;
      out.end = node.bytes.length;
      return;
    case 'range': {
      const length = payload.length;
      out.source = payload;
      if (node.index) {
        const at = clamp(node.start!, length);
        const inside = node.start! < length && node.start! >= -length;
        out.start = at;
        out.end = inside ? at + 1 : at;
        return;
      }
      const start = node.start === undefined ? 0 : clamp(node.start, length);
      const end = node.end === undefined ? length : clamp(node.end, length);
      out.start = start;
      out.end = end > start ? end : start;
      return;
    }
    case 'ternary':
      resolve(test(node.condition, payload) ? node.then : node.otherwise, payload, out);
      return;
  }
}

/** An offset as a position in [0, length]: negative offsets count from the end. */
function clamp(offset: number, length: number): number {
  if (offset < 0) {
    const from = length + offset;
    return from < 0 ? 0 : from;
  }
  return offset > length ? length : offset;
}

function test(node: ComparisonNode, payload: Uint8Array): boolean {
  const a = node.leftSpan;
  const b = node.rightSpan;
  resolve(node.left, payload, a);
  resolve(node.right, payload, b);
  let equal = a.end - a.start === b.end - b.start;
  if (equal) {
    const offset = b.start - a.start;
    for (let i = a.start; i < a.end; i++) {
      if (a.source[i] !== b.source[i + offset]) {
        equal = false;
        break;
      }
    }
  }
  a.source = EMPTY;
  b.source = EMPTY;
  return equal !== node.negate;
}

// ---- parsing -------------------------------------------------------------------------------

const VALUE_START = "'[', '(' or a hex literal such as 0xFE";

class Parser {
  private pos = 0;

  public constructor(private readonly text: string, private readonly field: string | undefined) {}

  /** An expression that must yield bytes (the whole expression, a ternary's branches). */
  public parseValueExpression(): ValueNode {
    const start = this.skipSpace();
    const node = this.parseExpression();
    if (node.kind === 'comparison') {
      this.skipSpace();
      throw this.error("'?' after the comparison (an expression yields bytes: a comparison is only a ternary's condition)", this.pos, start);
    }
    return node;
  }

  public expectEnd(): void {
    this.skipSpace();
    if (this.pos < this.text.length) {
      throw this.error("the end of the expression, '?', '==', '=' or '!='", this.pos);
    }
  }

  /** expression := condition '?' expression ':' expression | operand */
  private parseExpression(): Node {
    this.skipSpace();
    const first = this.parseOperand();
    this.skipSpace();
    if (this.peek() !== '?') return first;
    if (first.kind !== 'comparison') {
      throw this.error("'==', '=' or '!=' before '?' (a ternary's condition is a comparison)", this.pos);
    }
    this.pos++;
    const then = this.parseValueExpression();
    this.skipSpace();
    if (this.peek() !== ':') throw this.error("':' of the ternary", this.pos);
    this.pos++;
    const otherwise = this.parseValueExpression();
    return { kind: 'ternary', condition: first, then, otherwise };
  }

  /** operand := primary (('==' | '=' | '!=') primary)? */
  private parseOperand(): Node {
    const left = this.parsePrimary();
    this.skipSpace();
    const op = this.comparisonOperator();
    if (op === undefined) return left;
    if (left.kind === 'comparison') {
      throw this.error("'?' (comparisons do not chain: use a ternary)", this.pos);
    }
    this.pos += op.length;
    const rightAt = this.skipSpace();
    const right = this.parsePrimary();
    if (right.kind === 'comparison') {
      throw this.error('bytes to compare, not a comparison', rightAt, this.pos);
    }
    this.skipSpace();
    if (this.comparisonOperator() !== undefined) {
      throw this.error("'?' (comparisons do not chain: use a ternary)", this.pos);
    }
    return { kind: 'comparison', negate: op === '!=', left, right, leftSpan: newSpan(), rightSpan: newSpan() };
  }

  private comparisonOperator(): '==' | '=' | '!=' | undefined {
    const c = this.peek();
    if (c === '=') return this.text.charAt(this.pos + 1) === '=' ? '==' : '=';
    if (c === '!') {
      if (this.text.charAt(this.pos + 1) === '=') return '!=';
      throw this.error("'!=' ('!' alone is not an operator)", this.pos);
    }
    return undefined;
  }

  /** primary := range | hex | '(' expression ')' */
  private parsePrimary(): Node {
    this.skipSpace();
    const c = this.peek();
    if (c === '[') return this.parseRange();
    if (c === '(') {
      this.pos++;
      const inner = this.parseExpression();
      this.skipSpace();
      if (this.peek() !== ')') throw this.error("')'", this.pos);
      this.pos++;
      return inner;
    }
    if (c === '0' && (this.text.charAt(this.pos + 1) === 'x' || this.text.charAt(this.pos + 1) === 'X')) return this.parseHex();
    throw this.error(VALUE_START, this.pos);
  }

  private parseRange(): RangeNode {
    this.pos++; // '['
    this.skipSpace();
    const start = this.peek() === ':' ? undefined : this.parseOffset("an offset such as 0, 4 or -2, or ':'");
    this.skipSpace();
    if (this.peek() === ']') {
      this.pos++;
      return { kind: 'range', index: true, start, end: undefined };
    }
    if (this.peek() !== ':') throw this.error("':' or ']'", this.pos);
    this.pos++;
    this.skipSpace();
    const end = this.peek() === ']' ? undefined : this.parseOffset("an offset such as 4 or -2, or ']'");
    this.skipSpace();
    if (this.peek() !== ']') throw this.error("']'", this.pos);
    this.pos++;
    return { kind: 'range', index: false, start, end };
  }

  private parseOffset(expected: string): number {
    const begin = this.pos;
    let negative = false;
    if (this.peek() === '-') {
      negative = true;
      this.pos++;
    }
    const digitsAt = this.pos;
    while (isDigit(this.text.charCodeAt(this.pos))) this.pos++;
    if (this.pos === digitsAt) throw this.error(negative ? 'a digit after -' : expected, this.pos);
    const magnitude = Number(this.text.slice(digitsAt, this.pos));
    if (magnitude > MAX_UDP_PAYLOAD_BYTES) {
      throw this.error(`an offset from -${MAX_UDP_PAYLOAD_BYTES} to ${MAX_UDP_PAYLOAD_BYTES} (the largest UDP payload)`, begin, this.pos);
    }
    return negative ? -magnitude : magnitude;
  }

  private parseHex(): LiteralNode {
    this.pos += 2; // 0x
    const digitsAt = this.pos;
    while (isHexDigit(this.text.charCodeAt(this.pos))) this.pos++;
    if (this.pos === digitsAt) throw this.error('hex digits after 0x', this.pos);
    const digits = this.text.slice(digitsAt, this.pos);
    const odd = digits.length % 2;
    const bytes = new Uint8Array((digits.length + odd) / 2);
    for (let i = 0; i < digits.length; i++) {
      const nibble = hexValue(digits.charCodeAt(i));
      const at = i + odd;
      // eslint-disable-next-line no-bitwise -- two nibbles per byte
      bytes[at >> 1] |= at % 2 === 0 ? nibble * 16 : nibble;
    }
    return { kind: 'literal', bytes };
  }

  private peek(): string {
    return this.text.charAt(this.pos);
  }

  private skipSpace(): number {
    while (this.pos < this.text.length && isSpace(this.text.charCodeAt(this.pos))) this.pos++;
    return this.pos;
  }

  /** An error at `at` (0-based) naming what was expected and what is there (or, with `until`, the text from `at`). */
  private error(expected: string, at: number, until?: number): ExpressionError {
    let found: string;
    if (until !== undefined && until > at) {
      found = JSON.stringify(this.text.slice(at, until).trimEnd());
    } else if (at >= this.text.length) {
      found = 'the end of the expression';
    } else {
      found = `'${this.text.charAt(at)}'`;
    }
    return new ExpressionError(this.text, at + 1, expected, found, this.field);
  }
}

function hexValue(code: number): number {
  if (code <= 57) return code - 48;
  if (code <= 70) return code - 55;
  return code - 87;
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

function isHexDigit(code: number): boolean {
  return isDigit(code) || (code >= 65 && code <= 70) || (code >= 97 && code <= 102);
}

function isSpace(code: number): boolean {
  return code === 32 || code === 9 || code === 10 || code === 13;
}
