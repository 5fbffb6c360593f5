import { ExpressionError } from '../../../lib/private/binary-expression';
import { compilePacketArgument, DEFAULT_ARGUMENT_FORMATTER } from '../../../service/destinations/packet-argument';
import { encodeData } from '../../../service/formatter';

const payload = Buffer.from([0x01, 0x02, 0x03, 0x04, 0x68, 0x69, 0xff]);

describe('packet arguments: the bytes an expression selects, rendered with the argument Formatter', () => {
  test("Proxylity's Kinesis example: [0:4] with the default hex Formatter", () => {
    const key = compilePacketArgument({ expression: '[0:4]' }, 'PartitionKeyExpression');
    expect(DEFAULT_ARGUMENT_FORMATTER).toBe('hex');
    expect(String(key(payload)).toLowerCase()).toBe('01020304');
    expect(key(payload)).toBe(encodeData(payload.subarray(0, 4), 'hex'));
  });

  test("Proxylity's SQS example: [0:1] as hex and [1:] as base64", () => {
    const group = compilePacketArgument({ expression: '[0:1]', formatter: 'hex' }, 'MessageGroupIdExpression');
    const dedup = compilePacketArgument({ expression: '[1:]', formatter: 'base64' }, 'MessageDeduplicationIdExpression');
    expect(group(payload)).toBe('01');
    expect(dedup(payload)).toBe(payload.subarray(1).toString('base64'));
  });

  test('text Formatters render the bytes as text', () => {
    expect(compilePacketArgument({ expression: '[4:6]', formatter: 'utf8' }, 'TenantIdExpression')(payload)).toBe('hi');
    expect(compilePacketArgument({ expression: '[4:6]', formatter: 'ascii' }, 'TenantIdExpression')(payload)).toBe('hi');
  });

  test('bytes the Formatter cannot represent give InvalidData naming the argument, never a throw', () => {
    const tenant = compilePacketArgument({ expression: '[-1]', formatter: 'utf8' }, 'TenantIdExpression');
    expect(tenant(payload)).toEqual({
      code: 'InvalidData',
      reason: 'TenantIdExpression: payload is not valid utf8: byte 0xFF at offset 0 (allowed: well-formed UTF-8; use Formatter base64 or hex for binary payloads)',
    });
  });

  test('an empty selection renders as an empty string', () => {
    expect(compilePacketArgument({ expression: '[10:]', formatter: 'base64' }, 'PartitionKeyExpression')(payload)).toBe('');
  });

  test('a payload shorter than the expression expects picks the other branch', () => {
    const group = compilePacketArgument({ expression: '[0] == 0xFE ? [3:5] : ([0] == 0xFD ? [5:7] : 0xFFFF)', formatter: 'hex' }, 'MessageGroupIdExpression');
    expect(group(Buffer.from([0xfd, 0, 0, 0, 0, 0x0a, 0x0b]))).toBe('0a0b');
    expect(String(group(Buffer.alloc(0))).toLowerCase()).toBe('ffff');
  });

  test('an expression that does not parse fails at configuration with the column', () => {
    expect(() => compilePacketArgument({ expression: '[0:' }, 'PartitionKeyExpression')).toThrow(ExpressionError);
    expect(() => compilePacketArgument({ expression: '[0:' }, 'PartitionKeyExpression'))
      .toThrow('PartitionKeyExpression: "[0:" at column 4: expected an offset such as 4 or -2, or \']\', found the end of the expression');
  });
});
