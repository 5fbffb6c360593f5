import { BINARY_EXPRESSION_ALLOWED } from '../../../lib/private/binary-expression';
import type { DestinationRecord, ListenerRecord } from '../../../lib/private/records';
import { validateListenerRecord } from '../../../lib/private/validate-records';

function listener(...destinations: Array<Record<string, unknown>>): ListenerRecord {
  return { Name: 'demo', Protocol: 'udp', Port: 5555, Destinations: destinations as unknown as DestinationRecord[] };
}

const TOPIC = 'arn:aws:sns:us-east-1:123456789012:telemetry';
const STREAM = 'arn:aws:kinesis:us-east-1:123456789012:stream/packets';
const DELIVERY_STREAM = 'arn:aws:firehose:us-east-1:123456789012:deliverystream/packets';
const BUS = 'arn:aws:events:us-east-1:123456789012:event-bus/default';

test('SNS, Kinesis, Firehose and EventBridge destinations with their fields are valid', () => {
  expect(validateListenerRecord(listener(
    { Name: 'topic', Type: 'sns', Arn: TOPIC },
    { Name: 'fifo', Type: 'sns', Arn: `${TOPIC}.fifo` },
    { Name: 'stream', Type: 'kinesis', Arn: STREAM, Arguments: { PartitionKeyExpression: '[0:4]', PartitionKeyFormatter: 'hex' } },
    { Name: 'firehose', Type: 'firehose', Arn: DELIVERY_STREAM, Formatter: 'utf8' },
    { Name: 'bus', Type: 'eventbridge', Arn: BUS, Arguments: { EventSource: 'com.example.telemetry', EventDetailType: 'Sensor reading' } },
    { Name: 'partner', Type: 'eventbridge', Arn: 'arn:aws:events:us-east-1:123456789012:event-bus/aws.partner/example.com/123/bus' },
  ))).toEqual([]);
});

test.each([
  [{ Name: 'd', Type: 'sns' }, 'Listener.Destinations[0].Arn: missing (required; allowed: arn:<partition>:sns:<region>:<account>:<topic>)'],
  [{ Name: 'd', Type: 'sns', Arn: STREAM }, `Listener.Destinations[0].Arn: "${STREAM}" is not an SNS topic ARN (allowed: arn:<partition>:sns:<region>:<account>:<topic>)`],
  [{ Name: 'd', Type: 'kinesis', Arn: TOPIC }, `Listener.Destinations[0].Arn: "${TOPIC}" is not a Kinesis stream ARN (allowed: arn:<partition>:kinesis:<region>:<account>:stream/<name>)`],
  [{ Name: 'd', Type: 'firehose', Arn: STREAM }, `Listener.Destinations[0].Arn: "${STREAM}" is not a Firehose delivery stream ARN (allowed: arn:<partition>:firehose:<region>:<account>:deliverystream/<name>)`],
  [{ Name: 'd', Type: 'eventbridge', Arn: TOPIC }, `Listener.Destinations[0].Arn: "${TOPIC}" is not an EventBridge event bus ARN (allowed: arn:<partition>:events:<region>:<account>:event-bus/<name>)`],
  [{ Name: 'd', Type: 'kinesis', Arn: STREAM, Arguments: { PartitionKeyFormatter: 'octal' } }, 'Listener.Destinations[0].Arguments.PartitionKeyFormatter: "octal" is not a Formatter for an argument (allowed: base64, hex, ascii, utf8)'],
  [{ Name: 'd', Type: 'kinesis', Arn: STREAM, Arguments: { PartitionKeyFormatter: 'coap' } }, 'Listener.Destinations[0].Arguments.PartitionKeyFormatter: "coap" is not a Formatter for an argument (allowed: base64, hex, ascii, utf8)'],
  [{ Name: 'd', Type: 'kinesis', Arn: STREAM, Arguments: { PartitionKeyExpression: 7 } }, `Listener.Destinations[0].Arguments.PartitionKeyExpression: 7 is not a string (allowed: ${BINARY_EXPRESSION_ALLOWED})`],
  [{ Name: 'd', Type: 'kinesis', Arn: STREAM, Arguments: { PartitionKeyExpression: '[0:' } }, 'Listener.Destinations[0].Arguments.PartitionKeyExpression: "[0:" at column 4: expected'],
  [{ Name: 'd', Type: 'eventbridge', Arn: BUS, Arguments: { EventSource: 'aws.ec2' } }, 'Listener.Destinations[0].Arguments.EventSource: "aws.ec2" is not an event source (allowed: 1–256 printable characters, not starting with aws.)'],
  [{ Name: 'd', Type: 'eventbridge', Arn: BUS, Arguments: { EventDetailType: 'x'.repeat(129) } }, `Listener.Destinations[0].Arguments.EventDetailType: "${'x'.repeat(76)}… is not an event detail-type (allowed: 1–128 printable characters)`],
  [{ Name: 'd', Type: 'sns', Arn: TOPIC, Arguments: { PartitionKeyExpression: '[0]' } }, 'Listener.Destinations[0].Arguments.PartitionKeyExpression: "[0]" is not an argument of Type sns, but of Type kinesis (allowed: no Arguments for Type sns)'],
  [{ Name: 'd', Type: 'kinesis', Arn: STREAM, Arguments: { EventSource: 'x' } }, 'Listener.Destinations[0].Arguments.EventSource: "x" is not an argument of Type kinesis, but of Type eventbridge (allowed: the arguments of Type kinesis: PartitionKeyExpression, PartitionKeyFormatter)'],
  [{ Name: 'd', Type: 'firehose', Arn: DELIVERY_STREAM, QueueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/q' }, 'Listener.Destinations[0].QueueUrl: "https://sqs.us-east-1.amazonaws.com/123456789012/q" is set on a destination of Type firehose (allowed: QueueUrl only for Type sqs)'],
])('%j is refused: %s', (destination, message) => {
  expect(validateListenerRecord(listener(destination))).toContainEqual(expect.stringContaining(message));
});
