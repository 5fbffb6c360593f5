import { Lazy, Stack } from 'aws-cdk-lib';
import { IAM_ROLE_ARN, NETWORK_LOAD_BALANCER_ARN, SQS_QUEUE_ARN } from '../../../lib/private/arn';
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
    expect(() => validateArn(scope, 'queue', 'arn:aws:sqs:eu-west-1:123456789012:q', SQS_QUEUE_ARN)).not.toThrow();
    expect(() => validateArn(scope, 'queue', 'arn:x:sqs:eu-west-1:123456789012:q', SQS_QUEUE_ARN)).toThrow('S: queue must be an ARN of sqs, got "arn:x:sqs:eu-west-1:123456789012:q"');
  });

  test.each([
    ['an account that is not 12 digits', 'arn:aws:sqs:eu-west-1:1234:q', SQS_QUEUE_ARN],
    ['no region', 'arn:aws:sqs::123456789012:q', SQS_QUEUE_ARN],
    ['a region in capitals', 'arn:aws:sqs:EU-WEST-1:123456789012:q', SQS_QUEUE_ARN],
    ['a queue name with a slash', 'arn:aws:sqs:eu-west-1:123456789012:a/b', SQS_QUEUE_ARN],
    ['a partition that is not AWS', 'arn:azure:sqs:eu-west-1:123456789012:q', SQS_QUEUE_ARN],
    ['a role with a region', 'arn:aws:iam:eu-west-1:123456789012:role/r', IAM_ROLE_ARN],
    ['a role without a name', 'arn:aws:iam::123456789012:role/', IAM_ROLE_ARN],
    ['an IAM user', 'arn:aws:iam::123456789012:user/u', IAM_ROLE_ARN],
    ['a load balancer without its id', 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/net/gw', NETWORK_LOAD_BALANCER_ARN],
    ['a load balancer id that is not 16 hex digits', 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/net/gw/xyz', NETWORK_LOAD_BALANCER_ARN],
    ['a load balancer name ending in a hyphen', 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/net/gw-/0123456789abcdef', NETWORK_LOAD_BALANCER_ARN],
    ['a load balancer without an account', 'arn:aws:elasticloadbalancing:eu-west-1::loadbalancer/net/gw/0123456789abcdef', NETWORK_LOAD_BALANCER_ARN],
  ])('fails for %s, naming the value and what is allowed: %s', (_name, value, arn) => {
    expect(() => validateArn(scope, 'prop', value, arn))
      .toThrow(`S: prop must be an ARN of ${arn.service}${arn.resourcePrefix ? ` (${arn.resourcePrefix}…)` : ''}, got ${JSON.stringify(value)} (allowed: ${arn.allowed})`);
  });

  test('well-formed ARNs of every partition pass, and tokens are left for deploy time', () => {
    expect(() => validateArn(scope, 'prop', 'arn:aws-cn:sqs:cn-north-1:123456789012:q.fifo', SQS_QUEUE_ARN)).not.toThrow();
    expect(() => validateArn(scope, 'prop', 'arn:aws-us-gov:iam::123456789012:role/path/r', IAM_ROLE_ARN)).not.toThrow();
    expect(() => validateArn(scope, 'prop', 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/net/gw-1/50dc6c495c0c9188', NETWORK_LOAD_BALANCER_ARN)).not.toThrow();
    expect(() => validateArn(scope, 'prop', Lazy.string({ produce: () => 'queue' }), SQS_QUEUE_ARN)).not.toThrow();
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
