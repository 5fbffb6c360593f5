import fc from 'fast-check';
import {
  BINARY_EXPRESSION_ALLOWED, binaryExpressionProblem, ExpressionError, MAX_BINARY_EXPRESSION_LENGTH, parseBinaryExpression,
} from '../../../lib/private/binary-expression';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const run = (expression: string, payload: number[]): string => hex(parseBinaryExpression(expression).evaluate(Uint8Array.from(payload)));

function errorOf(expression: string): ExpressionError {
  try {
    parseBinaryExpression(expression);
  } catch (error) {
    if (error instanceof ExpressionError) return error;
    throw error;
  }
  throw new Error(`${expression} parsed`);
}

describe('binary range expressions: evaluation', () => {
  const payload = [0x01, 0x02, 0x03, 0x04, 0x68, 0x69];

  test('slices select start (inclusive) to end (exclusive); open ends run to the payload edges', () => {
    expect(run('[0:4]', payload)).toBe('01020304');
    expect(run('[1:]', payload)).toBe('0203046869');
    expect(run('[:2]', payload)).toBe('0102');
    expect(run('[:]', payload)).toBe('010203046869');
    expect(run(' [ 2 : 3 ] ', payload)).toBe('03');
  });

  test('negative offsets count from the end of the payload', () => {
    expect(run('[:-2]', payload)).toBe('01020304');
    expect(run('[-2:]', payload)).toBe('6869');
    expect(run('[-1]', payload)).toBe('69');
    expect(run('[-6]', payload)).toBe('01');
  });

  test('ranges outside the payload are empty or clamped, never an error', () => {
    expect(run('[0]', [])).toBe('');
    expect(run('[6]', payload)).toBe('');
    expect(run('[-7]', payload)).toBe('');
    expect(run('[4:100]', payload)).toBe('6869');
    expect(run('[5:2]', payload)).toBe('');
    expect(run('[-100:1]', payload)).toBe('01');
    expect(run('[10:20]', payload)).toBe('');
  });

  test('an index selects one byte', () => {
    expect(run('[0]', payload)).toBe('01');
    expect(run('[5]', payload)).toBe('69');
  });

  test('hex literals are bytes, big-endian, in either case; an odd digit count gets a leading zero', () => {
    expect(run('0xFFFF', payload)).toBe('ffff');
    expect(run('0Xab', payload)).toBe('ab');
    expect(run('0xABC', payload)).toBe('0abc');
    expect(run('0x0', payload)).toBe('00');
  });

  test("the MAVLink example from Proxylity's documentation selects SYSID and COMPID by version", () => {
    const expression = '[0] == 0xFE ? [3:5] : ([0] == 0xFD ? [5:7] : 0xFFFF)';
    const v1 = [0xfe, 0x09, 0x00, 0x01, 0x01, 0x00];
    const v2 = [0xfd, 0x09, 0x00, 0x00, 0x00, 0x2a, 0xbe, 0x00];
    expect(run(expression, v1)).toBe('0101');
    expect(run(expression, v2)).toBe('2abe');
    expect(run(expression, [0x55, 0x01])).toBe('ffff');
    expect(run(expression.replace(/==/g, '='), v2)).toBe('2abe');
  });

  test('comparisons need equal length and bytes; != is the opposite; ternaries nest to the right', () => {
    expect(run('[0:2] == 0x0102 ? 0x01 : 0x00', payload)).toBe('01');
    expect(run('[0:2] == 0x01 ? 0x01 : 0x00', payload)).toBe('00');
    expect(run('[0] != 0x01 ? 0x01 : 0x00', payload)).toBe('00');
    expect(run('[9] == 0x00 ? 0x01 : 0x00', payload)).toBe('00');
    expect(run('[9] == [10:] ? 0x01 : 0x00', payload)).toBe('01');
    expect(run('[0] == 0x02 ? 0xAA : [1] == 0x02 ? 0xBB : 0xCC', payload)).toBe('bb');
    expect(run('([0] == 0x01) ? ([1:3]) : 0x00', payload)).toBe('0203');
    expect(run('([0] == 0x01 ? [1] : [2]) == 0x02 ? 0x11 : 0x22', payload)).toBe('11');
  });

  test('a range result is a view of the payload, not a copy', () => {
    const bytes = Uint8Array.from(payload);
    const result = parseBinaryExpression('[1:3]').evaluate(bytes);
    expect(result.buffer).toBe(bytes.buffer);
    expect(result.byteOffset).toBe(1);
  });

  test('one parsed expression evaluates many payloads independently', () => {
    const expression = parseBinaryExpression('[0] == 0x01 ? [1:] : [0]');
    expect(hex(expression.evaluate(Uint8Array.from([1, 2, 3])))).toBe('0203');
    expect(hex(expression.evaluate(Uint8Array.from([9, 2, 3])))).toBe('09');
    expect(hex(expression.evaluate(Uint8Array.from([1])))).toBe('');
  });
});

describe('binary range expressions: errors name the column and what was expected', () => {
  test.each([
    ['', 1, "'[', '(' or a hex literal such as 0xFE", 'the end of the expression'],
    ['[0:', 4, "an offset such as 4 or -2, or ']'", 'the end of the expression'],
    ['[a]', 2, "an offset such as 0, 4 or -2, or ':'", "'a'"],
    ['[]', 2, "an offset such as 0, 4 or -2, or ':'", "']'"],
    ['[-]', 3, 'a digit after -', "']'"],
    ['[0', 3, "':' or ']'", 'the end of the expression'],
    ['[1:2', 5, "']'", 'the end of the expression'],
    ['0x', 3, 'hex digits after 0x', 'the end of the expression'],
    ['0xZZ', 3, 'hex digits after 0x', "'Z'"],
    ['(([0])', 7, "')'", 'the end of the expression'],
    ['[0] [1]', 5, "the end of the expression, '?', '==', '=' or '!='", "'['"],
    ['[0] == 0x01 ? [1]', 18, "':' of the ternary", 'the end of the expression'],
    ['[0] ? [1] : [2]', 5, "'==', '=' or '!=' before '?' (a ternary's condition is a comparison)", "'?'"],
    ['[0] == [1] == [2] ? [1] : [2]', 12, "'?' (comparisons do not chain: use a ternary)", "'='"],
    ['[0] ! 0x01', 5, "'!=' ('!' alone is not an operator)", "'!'"],
    ['12', 1, "'[', '(' or a hex literal such as 0xFE", "'1'"],
    ['[70000]', 2, 'an offset from -65507 to 65507 (the largest UDP payload)', '"70000"'],
  ])('%j: column %d', (expression, column, expected, found) => {
    const error = errorOf(expression);
    expect(error.column).toBe(column);
    expect(error.expected).toBe(expected);
    expect(error.message).toBe(`${JSON.stringify(expression)} at column ${column}: expected ${expected}, found ${found}`);
  });

  test('an expression must yield bytes: a comparison alone is refused where it ends', () => {
    const error = errorOf('[0] == 0x01');
    expect(error.column).toBe(12);
    expect(error.message).toContain("expected '?' after the comparison");
  });

  test('a comparison cannot be compared', () => {
    const error = errorOf('[0] == ([1] == [2]) ? [1] : [2]');
    expect(error.column).toBe(8);
    expect(error.message).toBe('"[0] == ([1] == [2]) ? [1] : [2]" at column 8: expected bytes to compare, not a comparison, found "([1] == [2])"');
  });

  test('the field name leads the message when given', () => {
    expect(() => parseBinaryExpression('[0:', 'PartitionKeyExpression'))
      .toThrow('PartitionKeyExpression: "[0:" at column 4: expected an offset such as 4 or -2, or \']\', found the end of the expression');
  });

  test('overlong expressions are refused', () => {
    const long = '[0]'.padEnd(MAX_BINARY_EXPRESSION_LENGTH + 1, ' ');
    expect(errorOf(long).expected).toBe(`at most ${MAX_BINARY_EXPRESSION_LENGTH} characters`);
    expect(() => parseBinaryExpression('[0]'.padEnd(MAX_BINARY_EXPRESSION_LENGTH, ' '))).not.toThrow();
  });

  test('binaryExpressionProblem gives the message, or undefined for a valid expression', () => {
    expect(binaryExpressionProblem('[0:4]')).toBeUndefined();
    expect(binaryExpressionProblem('[0:')).toBe('"[0:" at column 4: expected an offset such as 4 or -2, or \']\', found the end of the expression');
    expect(BINARY_EXPRESSION_ALLOWED).toContain('[0:4]');
  });
});

// ---- property-based: a random syntax tree, printed, parses and evaluates like a slow reference ----

type Ast =
  | { readonly kind: 'index'; readonly at: number }
  | { readonly kind: 'slice'; readonly start?: number; readonly end?: number }
  | { readonly kind: 'hex'; readonly digits: string }
  | { readonly kind: 'paren'; readonly inner: Ast }
  | { readonly kind: 'ternary'; readonly left: Ast; readonly op: '==' | '=' | '!='; readonly right: Ast; readonly then: Ast; readonly otherwise: Ast };

/** Slow and obviously correct: arrays, `Array.prototype.slice` (same clamping as the language), string comparison. */
function reference(ast: Ast, payload: readonly number[]): number[] {
  switch (ast.kind) {
    case 'index': {
      const value = ast.at >= 0 ? payload[ast.at] : payload[payload.length + ast.at];
      return value === undefined ? [] : [value];
    }
    case 'slice':
      return payload.slice(ast.start ?? 0, ast.end ?? payload.length);
    case 'hex': {
      const digits = ast.digits.length % 2 === 1 ? `0${ast.digits}` : ast.digits;
      const bytes: number[] = [];
      for (let i = 0; i < digits.length; i += 2) bytes.push(parseInt(digits.slice(i, i + 2), 16));
      return bytes;
    }
    case 'paren':
      return reference(ast.inner, payload);
    case 'ternary': {
      const same = JSON.stringify(reference(ast.left, payload)) === JSON.stringify(reference(ast.right, payload));
      return reference((ast.op === '!=' ? !same : same) ? ast.then : ast.otherwise, payload);
    }
  }
}

function print(ast: Ast, space: string): string {
  switch (ast.kind) {
    case 'index':
      return `[${space}${ast.at}${space}]`;
    case 'slice':
      return `[${ast.start ?? ''}${space}:${space}${ast.end ?? ''}]`;
    case 'hex':
      return `0x${ast.digits}`;
    case 'paren':
      return `(${space}${print(ast.inner, space)}${space})`;
    case 'ternary':
      // Operands of a comparison and the whole ternary are parenthesized where needed.
      return `${operand(ast.left, space)} ${ast.op} ${operand(ast.right, space)}${space}?${space}${print(ast.then, space)}${space}:${space}${print(ast.otherwise, space)}`;
  }
}

function operand(ast: Ast, space: string): string {
  return ast.kind === 'ternary' ? `(${print(ast, space)})` : print(ast, space);
}

const offset = fc.integer({ min: -40, max: 40 });
const { ast: astArbitrary } = fc.letrec<{ ast: Ast }>((tie) => ({
  ast: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    offset.map((at): Ast => ({ kind: 'index', at })),
    fc.record({ start: fc.option(offset, { nil: undefined }), end: fc.option(offset, { nil: undefined }) })
      .map(({ start, end }): Ast => ({ kind: 'slice', start, end })),
    fc.stringMatching(/^[0-9a-fA-F]{1,9}$/).map((digits): Ast => ({ kind: 'hex', digits })),
    tie('ast').map((inner): Ast => ({ kind: 'paren', inner })),
    fc.record({
      left: tie('ast'), op: fc.constantFrom<'==' | '=' | '!='>('==', '=', '!='), right: tie('ast'), then: tie('ast'), otherwise: tie('ast'),
    }).map((parts): Ast => ({ kind: 'ternary', ...parts })),
  ),
}));
const payloadArbitrary = fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 48 });

describe('binary range expressions: properties', () => {
  test('every printed syntax tree parses and evaluates to what the reference evaluator computes', () => {
    fc.assert(
      fc.property(astArbitrary, fc.constantFrom('', ' ', '  ', '\t'), fc.array(payloadArbitrary, { minLength: 1, maxLength: 4 }), (ast, space, payloads) => {
        const expression = parseBinaryExpression(print(ast, space));
        for (const payload of payloads) {
          expect(Array.from(expression.evaluate(Uint8Array.from(payload)))).toEqual(reference(ast, payload));
        }
      }),
      { numRuns: 2000 },
    );
  });

  test('random text either parses or throws an ExpressionError with a column inside it; evaluation never throws', () => {
    const alphabet = fc.constantFrom('[', ']', ':', '-', '0', '1', '9', 'x', 'F', '=', '!', '?', '(', ')', ' ', 'a', '0x');
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 30 }).map((parts) => parts.join('')), payloadArbitrary, (text, payload) => {
        let expression;
        try {
          expression = parseBinaryExpression(text);
        } catch (error) {
          expect(error).toBeInstanceOf(ExpressionError);
          const column = (error as ExpressionError).column;
          expect(column).toBeGreaterThanOrEqual(1);
          expect(column).toBeLessThanOrEqual(text.length + 1);
          return;
        }
        expect(() => expression.evaluate(Uint8Array.from(payload))).not.toThrow();
      }),
      { numRuns: 5000 },
    );
  });
});
