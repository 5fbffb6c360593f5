import type { DestinationRecord } from '../../../lib/private/records';
import { validateListenerRecord } from '../../../lib/private/validate-records';

const ARN = 'arn:aws:lambda:us-east-1:123456789012:function:counter';

function errors(destination: Record<string, unknown>): string[] {
  return validateListenerRecord({ Name: 'demo', Protocol: 'udp', Port: 5555, Destinations: [{ Name: 'fn', Type: 'lambda', ...destination }] });
}

describe('Lambda destination records: invocation type, streaming, tenants, Role, region maps', () => {
  test('a complete Lambda destination is valid', () => {
    const record: DestinationRecord = {
      Name: 'fn',
      Type: 'lambda',
      Arn: { 'us-east-1': ARN, '*': 'arn:aws:lambda:eu-west-1:123456789012:function:counter:live' },
      Arguments: { InvocationType: 'RequestResponse', UseResponseStreaming: true, TenantIdExpression: '[0:8]', TenantIdFormatter: 'hex' },
      Role: { Arn: 'arn:aws:iam::210987654321:role/gateway-delivery', ExternalId: '123456789012' },
    };
    expect(validateListenerRecord({ Name: 'demo', Protocol: 'udp', Port: 5555, Destinations: [record] })).toEqual([]);
    expect(errors({ Arn: ARN, Arguments: { InvocationType: 'Event', TenantId: 'customer-123' } })).toEqual([]);
  });

  test('InvocationType is RequestResponse or Event', () => {
    expect(errors({ Arn: ARN, Arguments: { InvocationType: 'DryRun' } })).toEqual([
      'Listener.Destinations[0].Arguments.InvocationType: "DryRun" is not a Lambda invocation type (allowed: RequestResponse, Event)',
    ]);
  });

  test('Event has no response to stream, and a smaller payload limit', () => {
    expect(errors({ Arn: ARN, Arguments: { InvocationType: 'Event', UseResponseStreaming: true } })).toEqual([
      'Listener.Destinations[0].Arguments.UseResponseStreaming: true is set with InvocationType Event (allowed: UseResponseStreaming only with InvocationType RequestResponse (asynchronous invocations have no response))',
    ]);
    expect(errors({ Arn: ARN, Arguments: { InvocationType: 'Event' }, Batching: { SizeInBytes: 2 * 1024 * 1024 } })).toEqual([
      'Listener.Destinations[0].Batching.SizeInBytes: 2097152 is more than an asynchronous invocation takes (allowed: at most 1048576 with InvocationType Event)',
    ]);
    expect(errors({ Arn: ARN, Arguments: { UseResponseStreaming: 'yes' } })).toEqual(['Listener.Destinations[0].Arguments.UseResponseStreaming: "yes" is not a boolean (allowed: true or false)']);
  });

  test('tenant ids: Lambda\'s characters, one of TenantId and TenantIdExpression, a formatter only with an expression', () => {
    expect(errors({ Arn: ARN, Arguments: { TenantId: 'tenant#1' } })).toEqual([
      'Listener.Destinations[0].Arguments.TenantId: "tenant#1" is not a Lambda tenant id (allowed: 1–256 characters of A-Z a-z 0-9 . _ : / = + - @ and space)',
    ]);
    expect(errors({ Arn: ARN, Arguments: { TenantId: 'a', TenantIdExpression: '[0:2]' } })).toEqual([
      'Listener.Destinations[0].Arguments.TenantIdExpression: "[0:2]" is set with TenantId (allowed: TenantId (one tenant) or TenantIdExpression (a tenant per packet), not both)',
    ]);
    expect(errors({ Arn: ARN, Arguments: { TenantIdFormatter: 'hex' } })).toEqual([
      'Listener.Destinations[0].Arguments.TenantIdFormatter: "hex" is set without TenantIdExpression (allowed: TenantIdFormatter only with TenantIdExpression)',
    ]);
    expect(errors({ Arn: ARN, Arguments: { TenantIdExpression: '[0:' } })).toEqual([expect.stringMatching(/^Listener\.Destinations\[0\]\.Arguments\.TenantIdExpression: .*column/)]);
    expect(errors({ Arn: ARN, Arguments: { TenantIdExpression: '[0:4]', TenantIdFormatter: 'base32' } })).toEqual([
      expect.stringMatching(/^Listener\.Destinations\[0\]\.Arguments\.TenantIdFormatter: "base32" is not a Formatter/),
    ]);
  });

  test('Lambda-only fields are refused on other types', () => {
    expect(validateListenerRecord({
      Name: 'demo',
      Protocol: 'udp',
      Port: 5555,
      Destinations: [{ Name: 'q', Type: 'sqs', Arn: 'arn:aws:sqs:us-east-1:123456789012:q', Arguments: { TenantId: 'a' } }],
    })).toEqual([
      'Listener.Destinations[0].Arguments.TenantId: "a" is not an argument of Type sqs, but of Type lambda (allowed: the arguments of Type sqs: '
        + 'SendRaw, UseMessageAttributes, MessageGroupIdExpression, MessageGroupIdFormatter, MessageDeduplicationIdExpression, MessageDeduplicationIdFormatter)',
    ]);
  });

  test('Role names an IAM role; its ExternalId follows STS\'s rules', () => {
    expect(errors({ Arn: ARN, Role: { Arn: 'arn:aws:lambda:us-east-1:123456789012:function:x' } })).toEqual([
      'Listener.Destinations[0].Role.Arn: "arn:aws:lambda:us-east-1:123456789012:function:x" is not an IAM role ARN (allowed: arn:<partition>:iam::<account>:role/<name>)',
    ]);
    expect(errors({ Arn: ARN, Role: { Arn: 'arn:aws:iam::123456789012:role/r', ExternalId: 'x' } })).toEqual([
      'Listener.Destinations[0].Role.ExternalId: "x" is not a valid external id (allowed: 2–1224 characters of A-Z a-z 0-9 + = , . @ : / _ -)',
    ]);
    expect(errors({ Arn: ARN, Role: 'arn:aws:iam::123456789012:role/r' })[0]).toMatch(/^Listener.Destinations\[0\].Role: "arn:aws:iam::123456789012:role\/r" is not an object/);
    expect(errors({ Arn: ARN, Role: { Arn: 'arn:aws:iam::123456789012:role/r', Name: 'x' } })).toEqual(['Listener.Destinations[0].Role.Name: unknown field (allowed: Arn, ExternalId)']);
  });

  test('a region map: region keys or *, each value a function ARN in its key\'s region', () => {
    expect(errors({ Arn: { 'us-east-1': 'counter' } })).toEqual([
      'Listener.Destinations[0].Arn.us-east-1: "counter" is not a lambda ARN (allowed: arn:<partition>:lambda:<region>:<account>:function:<name>[:<qualifier>])',
    ]);
    expect(errors({ Arn: { Oregon: ARN } })).toEqual([
      'Listener.Destinations[0].Arn.Oregon: is not a region key (allowed: a region name such as us-east-1, or * for every other region)',
      'Listener.Destinations[0].Arn.Oregon: "arn:aws:lambda:us-east-1:123456789012:function:counter" is in region us-east-1, not Oregon (allowed: an ARN in region Oregon)',
    ]);
    expect(errors({ Arn: { 'eu-west-1': ARN } })).toEqual([
      'Listener.Destinations[0].Arn.eu-west-1: "arn:aws:lambda:us-east-1:123456789012:function:counter" is in region us-east-1, not eu-west-1 (allowed: an ARN in region eu-west-1)',
    ]);
    expect(errors({ Arn: {} })).toEqual(['Listener.Destinations[0].Arn.(map): has no entry (allowed: at least one region name or * with an ARN)']);
    expect(errors({ Arn: { '*': ARN } })).toEqual([]);
  });

  test('a region map is refused where the type does not take one', () => {
    expect(validateListenerRecord({
      Name: 'demo',
      Protocol: 'udp',
      Port: 5555,
      Destinations: [{ Name: 'q', Type: 'sqs', Arn: { 'us-east-1': 'arn:aws:sqs:us-east-1:123456789012:q' } }],
    })).toEqual(['Listener.Destinations[0].Arn: an object is not an SQS queue ARN (allowed: arn:<partition>:sqs:<region>:<account>:<queue>)']);
  });
});
