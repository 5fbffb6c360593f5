import { InvokeCommand, LambdaClient, TooManyRequestsException } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { LambdaDestination } from '../../../service/destinations/lambda-destination';
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
