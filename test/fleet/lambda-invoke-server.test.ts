/** The fleet lab's Lambda Invoke API, called by the real SDK client and by the data plane's direct invoker. */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { echoHandler } from '../../scripts/fleet/echo-handler';
import { functionNameOf, LambdaInvokeServer, startLambdaInvokeServer } from '../../scripts/fleet/lambda-invoke-server';
import { DirectLambdaInvoker } from '../../service/destinations/lambda-invoker';

describe('Lambda Invoke API of the fleet lab', () => {
  let server: LambdaInvokeServer;
  let lambda: LambdaClient;

  beforeAll(async () => {
    server = await startLambdaInvokeServer({
      host: '127.0.0.1',
      port: 0,
      functions: {
        echo: echoHandler,
        fails: () => {
          throw new TypeError('no such thing');
        },
      },
    });
    lambda = new LambdaClient({ region: 'us-east-1', endpoint: server.url, credentials: { accessKeyId: 'lab', secretAccessKey: 'lab' }, maxAttempts: 1 });
  });

  afterAll(async () => {
    lambda.destroy();
    await server.close();
  });

  const decode = (payload: Uint8Array | undefined): unknown => JSON.parse(Buffer.from(payload ?? []).toString('utf8'));

  test('runs the function named by name or by ARN and answers its result', async () => {
    const event = { Messages: [{ Tag: 't1', Data: 'aGk=' }, { Tag: 't2', Data: 'eW8=' }] };
    const byName = await lambda.send(new InvokeCommand({ FunctionName: 'echo', Payload: JSON.stringify(event) }));
    const byArn = await lambda.send(new InvokeCommand({ FunctionName: 'arn:aws:lambda:us-east-1:000000000000:function:echo', Payload: JSON.stringify(event) }));
    for (const out of [byName, byArn]) {
      expect(out.StatusCode).toBe(200);
      expect(out.FunctionError).toBeUndefined();
      expect(decode(out.Payload)).toEqual({ Replies: [{ Tag: 't1', Data: 'aGk=' }, { Tag: 't2', Data: 'eW8=' }] });
    }
    expect(server.invocations.get('echo')).toBe(2);
  });

  test('serves the data plane\'s direct invoker (signed request on the REST path)', async () => {
    const fallbacks: string[] = [];
    const invoker = new DirectLambdaInvoker(lambda, (reason) => fallbacks.push(reason));
    const outcome = await invoker.invoke('arn:aws:lambda:us-east-1:000000000000:function:echo', Buffer.from(JSON.stringify({ Messages: [{ Tag: 'x', Data: 'AA==' }] })));
    expect(fallbacks).toEqual([]);
    expect(outcome.functionError).toBeUndefined();
    expect(decode(outcome.payload)).toEqual({ Replies: [{ Tag: 'x', Data: 'AA==' }] });
  });

  test('a function that throws answers 200 with X-Amz-Function-Error: Unhandled', async () => {
    const out = await lambda.send(new InvokeCommand({ FunctionName: 'fails', Payload: '{}' }));
    expect(out.FunctionError).toBe('Unhandled');
    expect(decode(out.Payload)).toEqual({ errorType: 'TypeError', errorMessage: 'no such thing' });
  });

  test('an unknown function is ResourceNotFoundException; a body that is not JSON is InvalidRequestContentException', async () => {
    await expect(lambda.send(new InvokeCommand({ FunctionName: 'missing', Payload: '{}' }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    await expect(lambda.send(new InvokeCommand({ FunctionName: 'echo', Payload: 'not json' }))).rejects.toMatchObject({ name: 'InvalidRequestContentException' });
  });
});

describe('echoHandler', () => {
  test('one reply per packet with a Tag and Data; anything else gives no replies', () => {
    expect(echoHandler({ Messages: [{ Tag: 'a', Data: 'AQ==' }, { Data: 'no tag' }, null] })).toEqual({ Replies: [{ Tag: 'a', Data: 'AQ==' }] });
    expect(echoHandler({})).toEqual({ Replies: [] });
    expect(echoHandler(null)).toEqual({ Replies: [] });
  });
});

describe('functionNameOf', () => {
  test.each([
    ['echo', 'echo'],
    ['arn:aws:lambda:us-east-1:000000000000:function:echo', 'echo'],
    ['arn:aws:lambda:us-east-1:000000000000:function:echo:live', 'echo'],
    ['000000000000:function:echo', 'echo'],
  ])('%s → %s', (given, name) => {
    expect(functionNameOf(given)).toBe(name);
  });
});
