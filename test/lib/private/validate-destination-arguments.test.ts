import type { DestinationRecord, ListenerRecord } from '../../../lib/private/records';
import { parseS3KeyFormat, S3ObjectKeys } from '../../../lib/private/s3-object-key';
import { validateConfigDocument, validateListenerRecord } from '../../../lib/private/validate-records';

function listener(...destinations: object[]): ListenerRecord {
  return { Name: 'telemetry', Protocol: 'udp', Port: 5555, Destinations: destinations as DestinationRecord[] };
}

const LOG_GROUP = 'arn:aws:logs:eu-west-1:123456789012:log-group:/udp/telemetry';
const BUCKET = 'arn:aws:s3:::packet-archive';
const TABLE = 'arn:aws:dynamodb:eu-west-1:123456789012:table/packets';
const QUEUE = 'arn:aws:sqs:eu-west-1:123456789012:telemetry';
const FIFO = 'arn:aws:sqs:eu-west-1:123456789012:telemetry.fifo';

describe('write-only destination records', () => {
  test('CloudWatch Logs, S3 and DynamoDB destinations with their Arguments are valid', () => {
    expect(validateListenerRecord(listener(
      { Name: 'audit', Type: 'logs', Arn: LOG_GROUP },
      { Name: 'audit2', Type: 'logs', Arn: `${LOG_GROUP}:*` },
      { Name: 'archive', Type: 's3', Arn: BUCKET, Arguments: { KeyPrefix: 'udp/', KeyFormat: '{yyyy}/{MM}/{unique}.ndjson' } },
      { Name: 'store', Type: 'dynamodb', Arn: TABLE, Arguments: { PartitionKeyAttribute: 'Flow', SortKeyAttribute: 'Arrival' } },
      {
        Name: 'queue',
        Type: 'sqs',
        Arn: FIFO,
        Arguments: {
          SendRaw: true,
          UseMessageAttributes: true,
          MessageGroupIdExpression: '[0:1]',
          MessageGroupIdFormatter: 'hex',
          MessageDeduplicationIdExpression: '[1:]',
          MessageDeduplicationIdFormatter: 'base64',
        },
      },
    ))).toEqual([]);
  });

  test('fails when the Arn is missing or names another kind of resource', () => {
    expect(validateListenerRecord(listener(
      { Name: 'a', Type: 'logs' },
      { Name: 'b', Type: 's3', Arn: 'arn:aws:s3:::Bad_Bucket' },
      { Name: 'c', Type: 'dynamodb', Arn: QUEUE },
    ))).toEqual([
      'Listener.Destinations[0].Arn: missing (required; allowed: arn:<partition>:logs:<region>:<account>:log-group:<name>)',
      'Listener.Destinations[1].Arn: "arn:aws:s3:::Bad_Bucket" is not an S3 bucket ARN (allowed: arn:<partition>:s3:::<bucket>)',
      'Listener.Destinations[2].Arn: "arn:aws:sqs:eu-west-1:123456789012:telemetry" is not a DynamoDB table ARN (allowed: arn:<partition>:dynamodb:<region>:<account>:table/<name>)',
    ]);
  });

  test('fails for an argument of another destination type, and for an unknown argument', () => {
    expect(validateListenerRecord(listener(
      { Name: 'a', Type: 'logs', Arn: LOG_GROUP, Arguments: { SendRaw: true } },
      { Name: 'b', Type: 'lambda', Arn: 'fn', Arguments: { KeyPrefix: 'x/' } },
      { Name: 'c', Type: 's3', Arn: BUCKET, Arguments: { Prefix: 'x/' } },
    ))).toEqual([
      'Listener.Destinations[0].Arguments.SendRaw: true is not an argument of Type logs, but of Type sqs (allowed: no Arguments for Type logs)',
      'Listener.Destinations[1].Arguments.KeyPrefix: "x/" is not an argument of Type lambda, but of Type s3 '
        + '(allowed: the arguments of Type lambda: InvocationType, UseResponseStreaming, TenantId, TenantIdExpression, TenantIdFormatter)',
      'Listener.Destinations[2].Arguments.Prefix: unknown argument of Type s3 (allowed: the arguments of Type s3: KeyPrefix, KeyFormat)',
    ]);
  });

  test('fails for SQS arguments of the wrong type, expressions that do not parse, and a deduplication id on a standard queue', () => {
    expect(validateListenerRecord(listener({
      Name: 'q',
      Type: 'sqs',
      Arn: QUEUE,
      Arguments: {
        SendRaw: 'yes', MessageGroupIdExpression: '[0:4', MessageGroupIdFormatter: 'binary', MessageDeduplicationIdExpression: '[0:4]',
      },
    }))).toEqual([
      'Listener.Destinations[0].Arguments.SendRaw: "yes" is not a boolean (allowed: true or false)',
      `Listener.Destinations[0].Arguments.MessageDeduplicationIdExpression: is set for the standard queue ${QUEUE} (allowed: only for FIFO queues, whose names end in .fifo)`,
      expect.stringMatching(/^Listener\.Destinations\[0\]\.Arguments\.MessageGroupIdExpression: "\[0:4" at column 5: expected /),
      'Listener.Destinations[0].Arguments.MessageGroupIdFormatter: "binary" is not a Formatter for an argument (allowed: base64, hex, ascii, utf8)',
    ]);
  });

  test('fails for a key format without {unique}, with an unknown placeholder, and for key attributes that collide', () => {
    const errors = validateConfigDocument({
      Listeners: [listener(
        { Name: 'a', Type: 's3', Arn: BUCKET, Arguments: { KeyFormat: '{yyyy}/{MM}/batch.ndjson' } },
        { Name: 'b', Type: 's3', Arn: BUCKET, Arguments: { KeyFormat: '{yyyy}/{month}/{unique}' } },
        { Name: 'c', Type: 'dynamodb', Arn: TABLE, Arguments: { PartitionKeyAttribute: 'Data' } },
        { Name: 'd', Type: 'dynamodb', Arn: TABLE, Arguments: { PartitionKeyAttribute: 'k', SortKeyAttribute: 'k' } },
      )],
    });
    expect(errors).toEqual([
      expect.stringMatching(/^Listeners\[0\]\.Destinations\[0\]\.Arguments\.KeyFormat: "\{yyyy\}\/\{MM\}\/batch\.ndjson" has no \{unique\} placeholder, so objects could overwrite each other \(allowed: /),
      expect.stringMatching(/^Listeners\[0\]\.Destinations\[1\]\.Arguments\.KeyFormat: "\{yyyy\}\/\{month\}\/\{unique\}" has an unknown placeholder \{month\} at column 8 \(allowed: /),
      expect.stringMatching(/^Listeners\[0\]\.Destinations\[2\]\.Arguments\.PartitionKeyAttribute: "Data" is not a key attribute name \(allowed: 1–255 characters of A-Z a-z 0-9 _ \. -, other than Tag, Remote/),
      'Listeners[0].Destinations[3].Arguments.SortKeyAttribute: "k" is also the partition key attribute (allowed: a name other than "k")',
    ]);
  });
});

describe('S3 object keys', () => {
  test('placeholders are replaced with the UTC time, names and the unique suffix', () => {
    const keys = new S3ObjectKeys('in/', '{listener}/{destination}/{yyyy}{MM}{dd}T{HH}{mm}{ss}Z-{task}-{unique}.ndjson', { listener: 'l', destination: 'd', task: 'host-1' });
    expect(keys.key(Date.UTC(2026, 0, 2, 3, 4, 5, 6), 'abc')).toBe('in/l/d/20260102T030405Z-host-1-abc.ndjson');
  });

  test('malformed formats are reported with their column', () => {
    expect(parseS3KeyFormat('a{unique')).toEqual({ problem: expect.stringMatching(/^has an unclosed \{ at column 2 /) });
    expect(parseS3KeyFormat('a}{unique}')).toEqual({ problem: expect.stringMatching(/^has an unmatched \} at column 2 /) });
    expect(parseS3KeyFormat('a\n{unique}')).toEqual({ problem: expect.stringMatching(/^has a control character at column 2 /) });
    expect(parseS3KeyFormat('')).toEqual({ problem: expect.stringMatching(/^is not a key format /) });
  });
});

describe('every option of a destination is an argument, under Arguments', () => {
  const targets: Record<string, object> = {
    lambda: { Type: 'lambda', Arn: 'arn:aws:lambda:eu-west-1:123456789012:function:f' },
    stepfunctions: { Type: 'stepfunctions', Arn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:m' },
    kinesis: { Type: 'kinesis', Arn: 'arn:aws:kinesis:eu-west-1:123456789012:stream/s' },
    eventbridge: { Type: 'eventbridge', Arn: 'arn:aws:events:eu-west-1:123456789012:event-bus/default' },
    sqs: { Type: 'sqs', Arn: FIFO },
    s3: { Type: 's3', Arn: BUCKET },
    dynamodb: { Type: 'dynamodb', Arn: TABLE },
  };

  test.each<[string, string, unknown]>([
    ['lambda', 'InvocationType', 'Event'],
    ['lambda', 'UseResponseStreaming', true],
    ['lambda', 'TenantId', 'customer-123'],
    ['lambda', 'TenantIdExpression', '[0:8]'],
    ['stepfunctions', 'StateMachineType', 'EXPRESS'],
    ['kinesis', 'PartitionKeyExpression', '[0:4]'],
    ['kinesis', 'PartitionKeyFormatter', 'hex'],
    ['eventbridge', 'EventSource', 'com.example'],
    ['eventbridge', 'EventDetailType', 'reading'],
    ['sqs', 'SendRaw', true],
    ['s3', 'KeyPrefix', 'udp/'],
    ['dynamodb', 'SortKeyAttribute', 'Arrival'],
  ])('a %s destination takes %s under Arguments, and refuses it beside Type naming its new place', (type, name, value) => {
    expect(validateListenerRecord(listener({ Name: 'd', ...targets[type], Arguments: { [name]: value } }))).toEqual([]);
    const flat = listener({ Name: 'd', ...targets[type], [name]: value });
    const message = `Listener.Destinations[0].${name}: ${name} is an argument now: put it under Arguments.${name}`;
    expect(validateListenerRecord(flat)).toEqual([message]);
    // also when unknown fields are tolerated: a flat argument would otherwise be ignored, silently
    expect(validateListenerRecord(flat, 'Listener', { rejectUnknownFields: false })).toEqual([message]);
  });

  test('a flat argument of another type names the type that takes it', () => {
    expect(validateListenerRecord(listener({ Name: 'q', Type: 'sqs', Arn: QUEUE, TenantIdExpression: '[0:4]' }))).toEqual([
      'Listener.Destinations[0].TenantIdExpression: "[0:4]" is set on a destination of Type sqs (allowed: TenantIdExpression only for Type lambda, under Arguments.TenantIdExpression)',
    ]);
  });

  test.each<[string, object, string]>([
    ['lambda', targets.lambda, 'the arguments of Type lambda: InvocationType, UseResponseStreaming, TenantId, TenantIdExpression, TenantIdFormatter'],
    ['sqs', targets.sqs, 'the arguments of Type sqs: SendRaw, UseMessageAttributes, MessageGroupIdExpression, MessageGroupIdFormatter, '
      + 'MessageDeduplicationIdExpression, MessageDeduplicationIdFormatter'],
    ['stepfunctions', targets.stepfunctions, 'the arguments of Type stepfunctions: StateMachineType'],
    ['kinesis', targets.kinesis, 'the arguments of Type kinesis: PartitionKeyExpression, PartitionKeyFormatter'],
    ['eventbridge', targets.eventbridge, 'the arguments of Type eventbridge: EventSource, EventDetailType'],
    ['s3', targets.s3, 'the arguments of Type s3: KeyPrefix, KeyFormat'],
    ['dynamodb', targets.dynamodb, 'the arguments of Type dynamodb: PartitionKeyAttribute, SortKeyAttribute'],
    ['sns', { Type: 'sns', Arn: 'arn:aws:sns:eu-west-1:123456789012:t' }, 'no Arguments for Type sns'],
    ['firehose', { Type: 'firehose', Arn: 'arn:aws:firehose:eu-west-1:123456789012:deliverystream/d' }, 'no Arguments for Type firehose'],
    ['logs', { Type: 'logs', Arn: LOG_GROUP }, 'no Arguments for Type logs'],
    ['apigateway', { Type: 'apigateway', Arn: 'arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/POST/udp' }, 'no Arguments for Type apigateway'],
    ['log', { Type: 'log' }, 'no Arguments for Type log'],
  ])('an unknown argument of a %s destination is refused with the arguments of its type', (type, target, allowed) => {
    const record = listener({ Name: 'd', ...target, Arguments: { Compression: 'gzip' } });
    expect(validateListenerRecord(record)).toEqual([`Listener.Destinations[0].Arguments.Compression: unknown argument of Type ${type} (allowed: ${allowed})`]);
    expect(validateListenerRecord(record, 'Listener', { rejectUnknownFields: false })).toEqual([]);
  });

  test('an argument of another type is refused even when unknown fields are tolerated; Arguments must be an object', () => {
    expect(validateListenerRecord(listener({ Name: 'k', ...targets.kinesis, Arguments: { SendRaw: true } }), 'Listener', { rejectUnknownFields: false })).toEqual([
      'Listener.Destinations[0].Arguments.SendRaw: true is not an argument of Type kinesis, but of Type sqs (allowed: the arguments of Type kinesis: PartitionKeyExpression, PartitionKeyFormatter)',
    ]);
    expect(validateListenerRecord(listener({ Name: 'k', ...targets.kinesis, Arguments: '[0:4]' }))).toEqual([
      'Listener.Destinations[0].Arguments: "[0:4]" is not an object (allowed: an object with the arguments of Type kinesis: PartitionKeyExpression, PartitionKeyFormatter)',
    ]);
  });
});
