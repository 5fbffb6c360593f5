/** Record validation of the Step Functions and API Gateway destinations. */
import type { DestinationRecord, ListenerRecord } from '../../../lib/private/records';
import { validateListenerRecord } from '../../../lib/private/validate-records';

const SFN = 'arn:aws:states:us-west-2:123456789012:stateMachine:packet-counter';
const API = 'arn:aws:execute-api:us-west-2:123456789012:a1b2c3d4e5/adafruit/POST/measurements';

function listenerWith(...destinations: Array<Record<string, unknown>>): ListenerRecord {
  return { Name: 'demo', Protocol: 'udp', Port: 5555, Destinations: destinations as unknown as DestinationRecord[] };
}

describe('stepfunctions destinations', () => {
  test('accept a state machine ARN, qualified or not, with or without a declared type', () => {
    expect(validateListenerRecord(listenerWith(
      { Name: 'a', Type: 'stepfunctions', Arn: SFN },
      { Name: 'b', Type: 'stepfunctions', Arn: `${SFN}:live`, Arguments: { StateMachineType: 'EXPRESS' } },
      { Name: 'c', Type: 'stepfunctions', Arn: SFN, Arguments: { StateMachineType: 'STANDARD' }, Batching: { Count: 1000, TimeoutInSeconds: 1 } },
    ))).toEqual([]);
  });

  test.each<[string, Record<string, unknown>, string]>([
    ['the ARN is missing', { Name: 'a', Type: 'stepfunctions' }, 'Listener.Destinations[0].Arn: missing (required; allowed: arn:<partition>:states:<region>:<account>:stateMachine:<name>, optionally followed by :<version> or :<alias>)'],
    ['the ARN is a Lambda function', { Name: 'a', Type: 'stepfunctions', Arn: 'arn:aws:lambda:us-west-2:123456789012:function:f' },
      'Listener.Destinations[0].Arn: "arn:aws:lambda:us-west-2:123456789012:function:f" is not a state machine ARN (allowed: arn:<partition>:states:'],
    ['the type is unknown', { Name: 'a', Type: 'stepfunctions', Arn: SFN, Arguments: { StateMachineType: 'express' } },
      'Listener.Destinations[0].Arguments.StateMachineType: "express" is not a state machine type (allowed: EXPRESS, STANDARD)'],
    ['a type is declared on another destination type', { Name: 'a', Type: 'lambda', Arn: 'f', Arguments: { StateMachineType: 'EXPRESS' } },
      'Listener.Destinations[0].Arguments.StateMachineType: "EXPRESS" is not an argument of Type lambda, but of Type stepfunctions (allowed: the arguments of Type lambda: '],
  ])('fail when %s', (_, destination, message) => {
    const errors = validateListenerRecord(listenerWith(destination));
    expect(errors).toHaveLength(1);
    expect(errors[0].startsWith(message)).toBe(true);
  });
});

describe('apigateway destinations', () => {
  test('accept the execute-api ARN of a REST or HTTP API route', () => {
    expect(validateListenerRecord(listenerWith(
      { Name: 'rest', Type: 'apigateway', Arn: API, Formatter: 'utf8' },
      { Name: 'http', Type: 'apigateway', Arn: 'arn:aws:execute-api:us-west-2:123456789012:a1b2c3d4e5/$default/POST/udp' },
    ))).toEqual([]);
  });

  test.each<[string, Record<string, unknown>, string]>([
    ['the ARN is missing', { Name: 'a', Type: 'apigateway' }, 'Listener.Destinations[0].Arn: missing (required; allowed: arn:<partition>:execute-api:'],
    ['the ARN has a wildcard path', { Name: 'a', Type: 'apigateway', Arn: 'arn:aws:execute-api:us-west-2:123456789012:a1b2c3d4e5/adafruit/POST/*' },
      'Listener.Destinations[0].Arn: "arn:aws:execute-api:us-west-2:123456789012:a1b2c3d4e5/adafruit/POST/*" is not the execute-api ARN of a stage, method and path (allowed: '],
    ['the method cannot carry a body', { Name: 'a', Type: 'apigateway', Arn: 'arn:aws:execute-api:us-west-2:123456789012:a1b2c3d4e5/adafruit/GET/x' },
      'Listener.Destinations[0].Arn: "arn:aws:execute-api:us-west-2:123456789012:a1b2c3d4e5/adafruit/GET/x" is not the execute-api ARN'],
    ['a queue URL is set', { Name: 'a', Type: 'apigateway', Arn: API, QueueUrl: 'https://sqs.us-west-2.amazonaws.com/123456789012/q' },
      'Listener.Destinations[0].QueueUrl: "https://sqs.us-west-2.amazonaws.com/123456789012/q" is set on a destination of Type apigateway (allowed: QueueUrl only for Type sqs)'],
  ])('fail when %s', (_, destination, message) => {
    const errors = validateListenerRecord(listenerWith(destination));
    expect(errors).toHaveLength(1);
    expect(errors[0].startsWith(message)).toBe(true);
  });
});
