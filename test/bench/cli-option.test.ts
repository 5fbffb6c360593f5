import { nonNegativeInteger, oneOf, positiveInteger, positiveIntegerOption } from '../../bench/lib/cli-option';

describe('bench command-line options', () => {
  test('a positive integer is taken; anything else is refused, naming the option and the value', () => {
    expect(positiveInteger('runs', '5')).toBe(5);
    for (const bad of ['0', '-1', '1.5', 'five', '', undefined]) {
      expect(() => positiveInteger('runs', bad)).toThrow(`--runs ${bad} is not valid (allowed: a positive integer)`);
    }
  });

  test('an integer of 0 or more allows 0 (a batching window of 0) and refuses the rest', () => {
    expect(nonNegativeInteger('timeout-ms', '0')).toBe(0);
    expect(nonNegativeInteger('timeout-ms', '50')).toBe(50);
    for (const bad of ['-1', '0.5', 'zero', '', ' ', undefined]) {
      expect(() => nonNegativeInteger('timeout-ms', bad)).toThrow(`--timeout-ms ${bad} is not valid (allowed: an integer of 0 or more)`);
    }
  });

  test('one of a list names the allowed values when refusing', () => {
    expect(oneOf('destination', 'local', ['local', 'echo-lambda'])).toBe('local');
    expect(() => oneOf('destination', 'lambda', ['local', 'echo-lambda'])).toThrow('--destination lambda is not valid (allowed: local, echo-lambda)');
    expect(() => oneOf('destination', undefined, ['local'])).toThrow('--destination undefined is not valid (allowed: local)');
  });

  test('an option absent from the command line takes its fallback; a present one is checked', () => {
    expect(positiveIntegerOption('rounds', 5, ['node', 'x'])).toBe(5);
    expect(positiveIntegerOption('rounds', 5, ['node', 'x', '--rounds', '7'])).toBe(7);
    expect(() => positiveIntegerOption('rounds', 5, ['node', 'x', '--rounds'])).toThrow('--rounds undefined is not valid');
  });
});
