import { Lazy, Stack } from 'aws-cdk-lib';
import { PORT } from '../../../lib/private/limits';
import { validateArn, validateBinaryExpression, validateCidrs, validateIntegerRange, validateName, validateRegion } from '../../../lib/private/validation';
import { testApp } from '../../support/cdk-app';

describe('construct-side validation delegates to the shared contracts', () => {
  const scope = new Stack(testApp(), 'S');

  test('a region ends in one or two digits, as in the record validator', () => {
    expect(() => validateRegion(scope, 'region', 'eu-west-1')).not.toThrow();
    expect(() => validateRegion(scope, 'region', 'ap-southeast-12')).not.toThrow();
    expect(() => validateRegion(scope, 'region', 'us-east-100')).toThrow('S: region must be an AWS region name such as "eu-west-1", got "us-east-100"');
  });

  test('a CIDR has a prefix; the message names the value and the problem', () => {
    expect(() => validateCidrs(scope, 'clientRestrictions', ['203.0.113.0/24', '2001:db8::/32'])).not.toThrow();
    expect(() => validateCidrs(scope, 'clientRestrictions', ['203.0.113.7']))
      .toThrow('S: clientRestrictions must hold CIDR blocks such as "203.0.113.0/24" or "2001:db8::/32", got "203.0.113.7": is not a CIDR (the prefix is missing: write 203.0.113.7/32 for one address)');
  });

  test('names, ranges and ARNs use the shared limits and parser', () => {
    expect(() => validateName(scope, 'listenerName', 'a b')).toThrow('S: listenerName must be 1–64 characters of A-Z a-z 0-9 _ -, got "a b"');
    expect(() => validateIntegerRange(scope, 'port', 65536, PORT)).toThrow('S: port must be an integer from 1 to 65535, got 65536');
    expect(() => validateArn(scope, 'queue', 'arn:aws:sqs:eu-west-1:123456789012:q', 'sqs')).not.toThrow();
    expect(() => validateArn(scope, 'queue', 'arn:x:sqs:eu-west-1:123456789012:q', 'sqs')).toThrow('S: queue must be an ARN of sqs, got "arn:x:sqs:eu-west-1:123456789012:q"');
  });
});

describe('binary range expressions at synth', () => {
  const scope = new Stack(testApp(), 'S');

  test('a bad expression fails naming the property and the column; tokens and valid expressions pass', () => {
    expect(() => validateBinaryExpression(scope, 'partitionKeyExpression', '[0:4]')).not.toThrow();
    expect(() => validateBinaryExpression(scope, 'partitionKeyExpression', undefined)).not.toThrow();
    expect(() => validateBinaryExpression(scope, 'partitionKeyExpression', Lazy.string({ produce: () => '[' }))).not.toThrow();
    expect(() => validateBinaryExpression(scope, 'partitionKeyExpression', '[0:'))
      .toThrow('S: partitionKeyExpression must be a binary range expression such as [0:4], [1:], [0] or [0] == 0xFE ? [3:5] : 0xFFFF: "[0:" at column 4: expected an offset such as 4 or -2, or \']\', found the end of the expression');
  });
});
