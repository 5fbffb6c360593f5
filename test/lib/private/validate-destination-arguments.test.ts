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
      'Listener.Destinations[0].Arguments.SendRaw: true is set on a destination of Type logs (allowed: SendRaw only for Type sqs)',
      'Listener.Destinations[1].Arguments.KeyPrefix: "x/" is set on a destination of Type lambda (allowed: KeyPrefix only for Type s3)',
      expect.stringMatching(/^Listener\.Destinations\[2\]\.Arguments\.Prefix: unknown field \(allowed: SendRaw, UseMessageAttributes, .*KeyPrefix, KeyFormat, PartitionKeyAttribute, SortKeyAttribute\)$/),
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
