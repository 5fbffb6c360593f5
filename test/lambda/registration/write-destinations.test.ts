import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { ACCOUNT, LocalDynamo, REGION, request, target, testContext, TestContext } from './support';
import { handleEvent } from '../../../lambda/registration/index';
import { LISTENER_RESOURCE_TYPE } from '../../../lib/private/resource-properties';

let dynamo: LocalDynamo;
let ctx: TestContext;
let table: string;

beforeAll(async () => {
  dynamo = await LocalDynamo.start();
  table = await dynamo.createTable();
  ctx = testContext(dynamo, [target(REGION, table)]);
});

afterAll(async () => {
  await dynamo.stop();
});

function props(destinations: unknown[]): Record<string, unknown> {
  return { ListenerName: 'writes', Configuration: JSON.stringify({ Name: 'writes', Protocol: 'udp', Port: 5600, Destinations: destinations }) };
}

test('a Listener with SNS, Kinesis, Firehose and EventBridge destinations is registered with their fields', async () => {
  const destinations = [
    { Name: 'topic', Type: 'sns', Arn: `arn:aws:sns:${REGION}:${ACCOUNT}:telemetry` },
    { Name: 'stream', Type: 'kinesis', Arn: `arn:aws:kinesis:${REGION}:${ACCOUNT}:stream/packets`, Arguments: { PartitionKeyExpression: '[0:4]', PartitionKeyFormatter: 'hex' } },
    { Name: 'firehose', Type: 'firehose', Arn: `arn:aws:firehose:${REGION}:${ACCOUNT}:deliverystream/packets` },
    { Name: 'bus', Type: 'eventbridge', Arn: `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/default`, Arguments: { EventSource: 'com.example', EventDetailType: 'reading' } },
  ];
  await handleEvent(request('Create', LISTENER_RESOURCE_TYPE, props(destinations), { LogicalResourceId: 'Writes' }), ctx);
  const item = (await dynamo.documents.send(new GetCommand({ TableName: table, Key: { pk: 'LISTENER#writes' }, ConsistentRead: true }))).Item;
  expect(item?.record.Destinations).toEqual(destinations);
});

test('a Kinesis destination naming an SNS topic is refused with the field, the value and what is allowed', async () => {
  const arn = `arn:aws:sns:${REGION}:${ACCOUNT}:telemetry`;
  await expect(handleEvent(request('Create', LISTENER_RESOURCE_TYPE, props([{ Name: 'stream', Type: 'kinesis', Arn: arn }]), { LogicalResourceId: 'Bad' }), ctx))
    .rejects.toThrow(`Destinations[0].Arn: "${arn}" is not a Kinesis stream ARN (allowed: arn:<partition>:kinesis:<region>:<account>:stream/<name>)`);
});
