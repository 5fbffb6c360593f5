import {
  IAM_ROLE_ARN, LAMBDA_FUNCTION, LOG_GROUP_ARN, logGroupLocationFromArn, parseArn, queueLocationFromArn, SECRET_ARN, SNS_TOPIC_ARN, SQS_QUEUE_ARN,
  stackEnvironment, topicRegion,
} from '../../../lib/private/arn';

describe('parseArn', () => {
  test('splits an ARN; the resource keeps its colons', () => {
    expect(parseArn('arn:aws:logs:eu-west-1:123456789012:log-group:/a/b:*')).toEqual({
      partition: 'aws', service: 'logs', region: 'eu-west-1', account: '123456789012', resource: 'log-group:/a/b:*',
    });
    expect(parseArn('arn:aws:iam::123456789012:role/x')).toMatchObject({ service: 'iam', region: '', resource: 'role/x' });
  });
  test.each(['', 'not-an-arn', 'arn:aws:sns:us-east-1:1', 'arn::sns:us-east-1:123456789012:t', 'arn:gcp:sns:us-east-1:123456789012:t', 'urn:aws:sns:us-east-1:123456789012:t'])(
    'rejects %j',
    (value) => {
      expect(parseArn(value)).toBeUndefined();
    },
  );
});

describe('resource patterns', () => {
  test.each([
    [LAMBDA_FUNCTION, 'arn:aws:lambda:us-east-1:123456789012:function:fn', true],
    [LAMBDA_FUNCTION, 'fn:live', true],
    [LAMBDA_FUNCTION, 'arn:aws:lambda:us-east-1:123456789012:layer:x', false],
    [SQS_QUEUE_ARN, 'arn:aws:sqs:us-east-1:123456789012:q.fifo', true],
    [SQS_QUEUE_ARN, 'arn:aws:sqs:us-east-1:123456789012:a/b', false],
    [SNS_TOPIC_ARN, 'arn:aws-cn:sns:cn-north-1:123456789012:t', true],
    [SNS_TOPIC_ARN, 'arn:aws:sns:us-east-1:12345:t', false],
    [LOG_GROUP_ARN, 'arn:aws:logs:us-east-1:123456789012:log-group:/a/b:*', true],
    [SECRET_ARN, 'arn:aws:secretsmanager:us-east-1:123456789012:secret:k-AbCdEf', true],
    [SECRET_ARN, 'arn:aws:secretsmanager:us-east-1:123456789012:parameter:k', false],
    [IAM_ROLE_ARN, 'arn:aws:iam::123456789012:role/packet-gateway/x', true],
    [IAM_ROLE_ARN, 'arn:aws:iam::123456789012:user/x', false],
  ])('%o matches %s: %s', (text, value, expected) => {
    expect(text.pattern.test(value)).toBe(expected);
    expect(text.allowed.length).toBeGreaterThan(0);
  });
});

describe('queue location from ARN', () => {
  test('builds the regional queue URL', () => {
    expect(queueLocationFromArn('arn:aws:sqs:eu-west-1:123456789012:dlq')).toEqual({
      region: 'eu-west-1',
      queueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/dlq',
    });
    expect(queueLocationFromArn('arn:aws-cn:sqs:cn-north-1:123456789012:q.fifo').queueUrl).toBe('https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q.fifo');
    expect(queueLocationFromArn('arn:aws-cn:sqs:cn-north-1:123456789012:q').queueUrl).toBe('https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q');
  });
  test.each(['arn:aws:sns:us-east-1:123456789012:topic', 'not-an-arn', 'arn:aws:sqs:us-east-1:12345:q', 'arn:aws:sqs:us-east-1:123456789012:a/b'])(
    'rejects %s, naming it',
    (arn) => {
      expect(() => queueLocationFromArn(arn)).toThrow(arn);
    },
  );
  test('with an endpoint, the queue URL is on that endpoint (local API servers, FIPS, VPC endpoints)', () => {
    expect(queueLocationFromArn('arn:aws:sqs:eu-west-1:123456789012:dlq', 'http://127.0.0.1:4566/')).toEqual({
      region: 'eu-west-1',
      queueUrl: 'http://127.0.0.1:4566/123456789012/dlq',
    });
    expect(queueLocationFromArn('arn:aws:sqs:us-east-1:123456789012:q.fifo', 'https://sqs-fips.us-east-1.amazonaws.com').queueUrl)
      .toBe('https://sqs-fips.us-east-1.amazonaws.com/123456789012/q.fifo');
  });
  test('the error names the value and what is allowed', () => {
    expect(() => queueLocationFromArn('arn:aws:sns:us-east-1:123456789012:t'))
      .toThrow('"arn:aws:sns:us-east-1:123456789012:t" is not an SQS queue ARN (allowed: arn:<partition>:sqs:<region>:<account>:<queue>)');
  });
});

describe('log groups', () => {
  test('region, account and name of a log group ARN, with or without :*', () => {
    expect(logGroupLocationFromArn('arn:aws:logs:eu-west-1:123456789012:log-group:/pg/delivery:*')).toEqual({ region: 'eu-west-1', account: '123456789012', name: '/pg/delivery' });
    expect(logGroupLocationFromArn('arn:aws:logs:eu-west-1:123456789012:log-group:app')).toEqual({ region: 'eu-west-1', account: '123456789012', name: 'app' });
    expect(logGroupLocationFromArn('arn:aws:logs:eu-west-1:123456789012:log-group:app:log-stream:x')).toBeUndefined();
    expect(logGroupLocationFromArn('arn:aws:sqs:eu-west-1:123456789012:q')).toBeUndefined();
  });
});

describe('topics and stacks', () => {
  test('region of a topic ARN', () => {
    expect(topicRegion('arn:aws:sns:eu-west-1:123456789012:t')).toBe('eu-west-1');
    expect(topicRegion('arn:aws:sqs:eu-west-1:123456789012:t')).toBeUndefined();
  });
  test('environment of a stack id', () => {
    expect(stackEnvironment('arn:aws:cloudformation:us-west-2:123456789012:stack/app/1')).toEqual({ region: 'us-west-2', account: '123456789012' });
    expect(() => stackEnvironment('arn:aws:sns:us-west-2:123456789012:t')).toThrow('StackId "arn:aws:sns:us-west-2:123456789012:t" is not a CloudFormation stack ARN');
  });
});
