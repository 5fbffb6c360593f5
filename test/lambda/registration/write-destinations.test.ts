import { ACCOUNT, homeRegionTables, REGION, request } from './support';
import { handleEvent } from '../../../lambda/registration/index';
import { LISTENER_RESOURCE_TYPE } from '../../../lib/private/resource-properties';

const tables = homeRegionTables();

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
  await handleEvent(request('Create', LISTENER_RESOURCE_TYPE, props(destinations), { LogicalResourceId: 'Writes' }), tables.ctx);
  const item = await tables.item('LISTENER#writes');
  expect(item?.record.Destinations).toEqual(destinations);
});

test('a Kinesis destination naming an SNS topic is refused with the field, the value and what is allowed', async () => {
  const arn = `arn:aws:sns:${REGION}:${ACCOUNT}:telemetry`;
  await expect(handleEvent(request('Create', LISTENER_RESOURCE_TYPE, props([{ Name: 'stream', Type: 'kinesis', Arn: arn }]), { LogicalResourceId: 'Bad' }), tables.ctx))
    .rejects.toThrow(`Destinations[0].Arn: "${arn}" is not a Kinesis stream ARN (allowed: arn:<partition>:kinesis:<region>:<account>:stream/<name>)`);
});
