/** The registration function accepts Step Functions and API Gateway destinations, and refuses malformed ones. */
import { homeRegionTables, request } from './support';
import { handleEvent } from '../../../lambda/registration/index';
import { LISTENER_RESOURCE_TYPE } from '../../../lib/private/resource-properties';

const SFN = 'arn:aws:states:eu-west-1:123456789012:stateMachine:packet-counter';
const API = 'arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/adafruit/POST/measurements';

const tables = homeRegionTables();

function create(destinations: unknown[]): Promise<unknown> {
  const configuration = JSON.stringify({ Name: 'telemetry', Protocol: 'udp', Port: 5555, Destinations: destinations });
  return handleEvent(request('Create', LISTENER_RESOURCE_TYPE, { ListenerName: 'telemetry', Configuration: configuration }, { LogicalResourceId: 'Telemetry' }), tables.ctx);
}

test('a Listener with stepfunctions and apigateway destinations is stored as given', async () => {
  const destinations = [
    { Name: 'counter', Type: 'stepfunctions', Arn: SFN, Arguments: { StateMachineType: 'EXPRESS' } },
    { Name: 'detected', Type: 'stepfunctions', Arn: `${SFN}:live` },
    { Name: 'adafruit', Type: 'apigateway', Arn: API, Formatter: 'utf8' },
  ];
  await create(destinations);
  const stored = await tables.item('LISTENER#telemetry');
  expect(stored?.record.Destinations).toEqual(destinations);
});

test.each([
  // values longer than 80 characters are shortened in messages
  [{ Name: 'c', Type: 'stepfunctions', Arn: API }, /Configuration\.Destinations\[0\]\.Arn: "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5\/adafruit\/POST\/measure\S*… is not a state machine ARN/],
  [{ Name: 'c', Type: 'stepfunctions', Arn: SFN, Arguments: { StateMachineType: 'SYNC' } }, 'Configuration.Destinations[0].Arguments.StateMachineType: "SYNC" is not a state machine type (allowed: EXPRESS, STANDARD)'],
  [{ Name: 'a', Type: 'apigateway', Arn: SFN }, 'Configuration.Destinations[0].Arn: "arn:aws:states:eu-west-1:123456789012:stateMachine:packet-counter" is not the execute-api ARN of a stage, method and path'],
  // an option beside Type instead of under Arguments
  [{ Name: 'c', Type: 'stepfunctions', Arn: SFN, StateMachineType: 'EXPRESS' },
    'Configuration.Destinations[0].StateMachineType: StateMachineType is an argument now: put it under Arguments.StateMachineType'],
  [{ Name: 'c', Type: 'stepfunctions', Arn: SFN, Arguments: { InvocationType: 'Event' } },
    'Configuration.Destinations[0].Arguments.InvocationType: "Event" is not an argument of Type stepfunctions, but of Type lambda (allowed: the arguments of Type stepfunctions: StateMachineType)'],
])('a malformed destination is refused with the field, the value and what is allowed (%j)', async (destination, message) => {
  await expect(create([destination])).rejects.toThrow(message);
  const stored = await tables.item('LISTENER#telemetry');
  expect(stored).toBeUndefined();
});
