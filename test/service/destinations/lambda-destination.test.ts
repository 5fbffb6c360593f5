import { InvokeCommand, LambdaClient, TooManyRequestsException } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { createLambdaDestination, LambdaDestination } from '../../../service/destinations/lambda-destination';
import { SdkLambdaInvoker } from '../../../service/destinations/lambda-invoker';
import type { QueuedPacket } from '../../../service/destinations/packet';

const lambda = mockClient(LambdaClient);
const ARN = 'arn:aws:lambda:us-east-1:123456789012:function:telemetry';

function packet(tag: string): QueuedPacket {
  const json = JSON.stringify({ Tag: tag, Data: 'aGk=' });
  return { json, bytes: json.length, tag, remoteAddress: '203.0.113.5', remotePort: 4000, data: 'aGk=', receivedAt: 0 };
}

function payload(value: unknown): Uint8Array {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)) as Uint8Array;
}

describe('LambdaDestination', () => {
  beforeEach(() => lambda.reset());
  const destination = (): LambdaDestination => new LambdaDestination({ Name: 'fn', Type: 'lambda', Arn: ARN }, new SdkLambdaInvoker(new LambdaClient({ region: 'us-east-1' })));

  test('invokes synchronously with {"Messages":[…]} and returns the parsed Replies', async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: payload({ Replies: [{ Tag: 'a', Data: 'b2s=' }] }) as never });
    const result = await destination().deliver([packet('a'), packet('b')]);
    expect(result).toEqual({ response: { Replies: [{ Tag: 'a', Data: 'b2s=' }] } });
    const input = lambda.commandCalls(InvokeCommand)[0].args[0].input;
    expect(input.FunctionName).toBe(ARN);
    expect(input.InvocationType).toBe('RequestResponse');
    expect(JSON.parse(Buffer.from(input.Payload as Uint8Array).toString())).toEqual({ Messages: [{ Tag: 'a', Data: 'aGk=' }, { Tag: 'b', Data: 'aGk=' }] });
  });

  test('a null or empty response means no reply', async () => {
    lambda.on(InvokeCommand).resolvesOnce({ StatusCode: 200, Payload: payload('null') as never }).resolvesOnce({ StatusCode: 200 });
    expect(await destination().deliver([packet('a')])).toEqual({ response: null });
    expect(await destination().deliver([packet('a')])).toEqual({});
  });

  test('a FunctionError fails the batch with the error type and message', async () => {
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      FunctionError: 'Unhandled',
      Payload: payload({ errorType: 'TypeError', errorMessage: 'x is undefined', trace: ['at handler'] }) as never,
    });
    await expect(destination().deliver([packet('a')])).rejects.toThrow('Lambda function error (Unhandled): TypeError: x is undefined');
  });

  test('throttling fails the batch naming the throttle', async () => {
    lambda.on(InvokeCommand).rejects(new TooManyRequestsException({ message: 'Rate Exceeded.', $metadata: {}, Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded' }));
    await expect(destination().deliver([packet('a')])).rejects.toThrow(
      'Lambda throttled the invocation (TooManyRequestsException, ReservedFunctionConcurrentInvocationLimitExceeded): Rate Exceeded.',
    );
  });

  test('other Invoke errors name the error', async () => {
    lambda.on(InvokeCommand).rejects(Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException' }));
    await expect(destination().deliver([packet('a')])).rejects.toThrow('Lambda Invoke failed (AccessDeniedException): User is not authorized');
  });

  test('a response that is not JSON is a response error, not a crash', async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: payload('<html>') as never });
    expect(await destination().deliver([packet('a')])).toEqual({ responseError: 'Lambda response of 6 bytes is not JSON (allowed: {"Replies":[…]} or null)' });
  });
});

describe('LambdaDestination: asynchronous invocation and tenants', () => {
  beforeEach(() => lambda.reset());
  const keyed = (tag: string, key?: string): QueuedPacket => ({ ...packet(tag), ...(key !== undefined ? { key } : {}) });
  const invoker = (): SdkLambdaInvoker => new SdkLambdaInvoker(new LambdaClient({ region: 'us-east-1' }));

  test('InvocationType Event invokes asynchronously and routes nothing', async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 202, Payload: payload({ Replies: [{ Tag: 'a', Data: 'b2s=' }] }) as never });
    const destination = new LambdaDestination({ Name: 'fn', Type: 'lambda', Arn: ARN, Arguments: { InvocationType: 'Event' } }, invoker());
    expect(await destination.deliver([packet('a')])).toEqual({});
    expect(lambda.commandCalls(InvokeCommand)[0].args[0].input).toMatchObject({ FunctionName: ARN, InvocationType: 'Event' });
  });

  test('TenantId goes with every invocation', async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200 });
    await new LambdaDestination({ Name: 'fn', Type: 'lambda', Arn: ARN, Arguments: { TenantId: 'customer-123' } }, invoker()).deliver([packet('a')]);
    expect(lambda.commandCalls(InvokeCommand)[0].args[0].input).toMatchObject({ TenantId: 'customer-123', InvocationType: 'RequestResponse' });
  });

  test('a per-packet tenant id: the key is computed from the payload, and a batch is invoked once per tenant', async () => {
    const tenantOf = (data: Uint8Array): string => Buffer.from(data.subarray(0, 2)).toString('hex').toUpperCase();
    const destination = new LambdaDestination({ Name: 'fn', Type: 'lambda', Arn: ARN, Arguments: { TenantIdExpression: '[0:2]' } }, invoker(), tenantOf);
    expect(destination.packetKey?.(Buffer.from([0xab, 0xcd, 0xef]))).toBe('ABCD');
    lambda.on(InvokeCommand).callsFake(async (input: { TenantId?: string; Payload: Uint8Array }) => {
      const tags = (JSON.parse(Buffer.from(input.Payload).toString()) as { Messages: Array<{ Tag: string }> }).Messages.map((m) => m.Tag);
      if (input.TenantId === 'BAD0') throw Object.assign(new Error('Rate Exceeded.'), { name: 'TooManyRequestsException' });
      return { StatusCode: 200, Payload: payload({ Replies: tags.map((Tag) => ({ Tag, Data: 'b2s=' })) }) };
    });
    const result = await destination.deliver([keyed('a', 'AAAA'), keyed('b', 'BAD0'), keyed('c', 'AAAA'), keyed('d'), keyed('e', 'no#pe'), keyed('f', 'BBBB')]);
    const calls = lambda.commandCalls(InvokeCommand).map((c) => c.args[0].input);
    expect(calls.map((c) => c.TenantId)).toEqual(['AAAA', 'BAD0', 'BBBB']);
    expect(JSON.parse(Buffer.from(calls[0].Payload as Uint8Array).toString()).Messages.map((m: { Tag: string }) => m.Tag)).toEqual(['a', 'c']);
    expect(result.responses).toEqual([
      { Replies: [{ Tag: 'a', Data: 'b2s=' }, { Tag: 'c', Data: 'b2s=' }] },
      { Replies: [{ Tag: 'f', Data: 'b2s=' }] },
    ]);
    expect(result.failed).toEqual([
      { index: 1, reason: 'tenant BAD0: Lambda throttled the invocation (TooManyRequestsException): Rate Exceeded.' },
      { index: 3, reason: 'the packet\'s tenant id (none: TenantIdFormatter cannot render the bytes TenantIdExpression selects) is not a Lambda tenant id (allowed: 1–256 characters of A-Z a-z 0-9 . _ : / = + - @ and space)' },
      { index: 4, reason: 'the packet\'s tenant id "no#pe" is not a Lambda tenant id (allowed: 1–256 characters of A-Z a-z 0-9 . _ : / = + - @ and space)' },
    ]);
  });

  test('a batch of one tenant is one plain invocation', async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: payload({ Replies: [] }) as never });
    const destination = new LambdaDestination({ Name: 'fn', Type: 'lambda', Arn: ARN, Arguments: { TenantIdExpression: '[0:2]' } }, invoker(), () => 'T');
    expect(await destination.deliver([keyed('a', 'T'), keyed('b', 'T')])).toEqual({ response: { Replies: [] } });
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(1);
  });

  test('streaming with Event, or with an invoker that cannot stream, is refused when the destination is built', () => {
    expect(() => new LambdaDestination({ Name: 'fn', Type: 'lambda', Arn: ARN, Arguments: { InvocationType: 'Event', UseResponseStreaming: true } }, invoker()))
      .toThrow('destination fn: UseResponseStreaming is not allowed with InvocationType Event (allowed: one of them)');
    expect(() => new LambdaDestination({ Name: 'fn', Type: 'lambda', Arn: ARN, Arguments: { UseResponseStreaming: true } }, { invoke: async () => ({}) }))
      .toThrow('destination fn: UseResponseStreaming needs a Lambda invoker that streams');
  });

  test('the invoker is the one for the function\'s region and the destination\'s Role', () => {
    const targets: unknown[] = [];
    const context = {
      region: 'us-east-1',
      lambdaInvoker: (target?: unknown) => { targets.push(target); return invoker(); },
    } as never;
    const role = { Arn: 'arn:aws:iam::210987654321:role/delivery', ExternalId: '123456789012' };
    createLambdaDestination({ Name: 'a', Type: 'lambda', Arn: ARN }, undefined, context);
    createLambdaDestination({ Name: 'b', Type: 'lambda', Arn: 'arn:aws:lambda:eu-west-1:123456789012:function:x' }, undefined, context);
    createLambdaDestination({ Name: 'c', Type: 'lambda', Arn: ARN, Role: role }, undefined, context);
    createLambdaDestination({ Name: 'd', Type: 'lambda', Arn: 'telemetry' }, undefined, context);
    expect(targets).toEqual([undefined, { region: 'eu-west-1' }, { role }, undefined]);
  });
});

describe('createLambdaDestination: TenantIdExpression', () => {
  test('is compiled once with its Formatter into the destination\'s packet key', () => {
    const context = { region: 'us-east-1', lambdaInvoker: () => ({ invoke: async () => ({}) }) } as never;
    const utf8 = createLambdaDestination({ Name: 'a', Type: 'lambda', Arn: ARN, Arguments: { TenantIdExpression: '[0:6]', TenantIdFormatter: 'utf8' } }, undefined, context);
    expect(utf8.packetKey?.(Buffer.from('cust-1|reading=21.5'))).toBe('cust-1');
    const hex = createLambdaDestination({ Name: 'b', Type: 'lambda', Arn: ARN, Arguments: { TenantIdExpression: '[1:3]' } }, undefined, context);
    expect(hex.packetKey?.(Buffer.from([0x00, 0xab, 0xcd, 0xef]))?.toLowerCase()).toBe('abcd');
    const ascii = createLambdaDestination({ Name: 'c', Type: 'lambda', Arn: ARN, Arguments: { TenantIdExpression: '[0:2]', TenantIdFormatter: 'ascii' } }, undefined, context);
    expect(ascii.packetKey?.(Buffer.from([0xff, 0xfe]))).toBeUndefined();
    expect(createLambdaDestination({ Name: 'd', Type: 'lambda', Arn: ARN }, undefined, context).packetKey).toBeUndefined();
  });
});
