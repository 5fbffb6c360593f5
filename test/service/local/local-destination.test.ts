import { join } from 'node:path';
import type { DestinationRecord, ListenerRecord } from '../../../lib/private/records';
import type { Destination, DestinationContext } from '../../../service/destinations/destination';
import { createDestination as createAnyDestination } from '../../../service/destinations/destination-factory';
import type { QueuedPacket } from '../../../service/destinations/packet';
import { LOCAL_DESTINATION_FACTORIES } from '../../../service/local/local-destination-factories';
import { silentLogger } from '../helpers';

const fixtures = join(__dirname, 'fixtures');
const context: DestinationContext = {
  region: 'us-east-1',
  logger: silentLogger,
  baseDirectory: fixtures,
  localHandlerTimeoutMs: 500,
  lambdaInvoker: () => { throw new Error('no Lambda in local tests'); },
  forRole: () => { throw new Error('no destination roles in local tests'); },
  roleCredentials: () => undefined,
  sqsClient: () => { throw new Error('no SQS in local tests'); },
  cloudWatchLogsClient: () => { throw new Error('no CloudWatch Logs in local tests'); },
  s3Client: () => { throw new Error('no S3 in local tests'); },
  dynamoDbClient: () => { throw new Error('no DynamoDB in local tests'); },
  sfnClient: () => { throw new Error('no Step Functions in local tests'); },
  apiGatewayInvoker: () => { throw new Error('no API Gateway in local tests'); },
  snsClient: () => { throw new Error('no SNS in local tests'); },
  kinesisClient: () => { throw new Error('no Kinesis in local tests'); },
  firehoseClient: () => { throw new Error('no Firehose in local tests'); },
  eventBridgeClient: () => { throw new Error('no EventBridge in local tests'); },
};
const listener = { Name: 'demo', Protocol: 'udp' as const, Port: 5555, Destinations: [] };
/** Destinations created by a test, closed after it (their handler threads end). */
const created: Destination[] = [];
const createDestination = async (record: DestinationRecord, l: ListenerRecord, c: DestinationContext): Promise<Destination> => {
  const destination = await createAnyDestination(record, l, c, LOCAL_DESTINATION_FACTORIES);
  created.push(destination);
  return destination;
};
afterEach(async () => {
  await Promise.all(created.splice(0).map((d) => d.close?.()));
});

function packet(data: string, tag = 'T1'): QueuedPacket {
  const json = JSON.stringify({ Tag: tag, Remote: { IpAddress: '127.0.0.1', Port: 4000 }, Data: Buffer.from(data).toString('base64') });
  return { json, bytes: json.length, tag, remoteAddress: '127.0.0.1', remotePort: 4000, data: Buffer.from(data).toString('base64'), receivedAt: 0 };
}

describe('local handler destination', () => {
  test('a TypeScript module is compiled at load time, with its own imports and packages', async () => {
    const dest = await createDestination({ Name: 'echo', Type: 'local', Module: 'echo-handler.ts' }, listener, context);
    const result = await dest.deliver([packet('hi', 'A'), packet('yo', 'B')]);
    expect(result).toEqual({
      response: {
        Replies: [
          { Tag: 'A', Data: Buffer.from('echo:hi:68').toString('base64') },
          { Tag: 'B', Data: Buffer.from('echo:yo:79').toString('base64') },
        ],
      },
    });
  });

  test('Handler selects another export', async () => {
    const dest = await createDestination({ Name: 'n', Type: 'local', Module: join(fixtures, 'echo-handler.ts'), Handler: 'named' }, listener, context);
    expect(await dest.deliver([packet('x', 'Z')])).toEqual({ response: { Replies: [{ Tag: 'Z', Data: Buffer.from('x').toString('base64') }] } });
  });

  test('a CommonJS callback-style handler works, with a Lambda-like context', async () => {
    const dest = await createDestination({ Name: 'cb', Type: 'local', Module: 'callback-handler.cjs' }, listener, context);
    expect(await dest.deliver([packet('q', 'Q')])).toEqual({ response: { Replies: [{ Tag: 'Q', Data: Buffer.from('q').toString('base64') }], fn: 'cb' } });
  });

  test.each([
    ['handler', 'local handler throwing-handler.ts#handler failed: TypeError: cannot read properties of undefined'],
    ['syncThrow', 'local handler throwing-handler.ts#syncThrow failed: Error: sync failure'],
    ['rejectsWithString', 'local handler throwing-handler.ts#rejectsWithString failed: plain string'],
    ['neverReturns', 'local handler throwing-handler.ts#neverReturns failed: Error: did not finish within 0.5 s'],
  ])('a failing handler (%s) fails the batch, never the gateway', async (handler, message) => {
    const dest = await createDestination({ Name: 'bad', Type: 'local', Module: 'throwing-handler.ts', Handler: handler }, listener, context);
    await expect(dest.deliver([packet('x')])).rejects.toThrow(message);
  });

  test('a return value that is not JSON is a response error', async () => {
    const dest = await createDestination({ Name: 'c', Type: 'local', Module: 'throwing-handler.ts', Handler: 'circular' }, listener, context);
    const result = await dest.deliver([packet('x')]);
    expect(result.responseError).toMatch(/^local handler throwing-handler\.ts#circular returned a value that cannot be serialized as JSON: TypeError: Converting circular structure/);
  });

  test.each([
    [{ Module: 'missing.ts' }, /^Listener demo, destination m: local handler .*missing\.ts: cannot load module: /],
    [{ Module: 'callback-handler.cjs', Handler: 'notAFunction' }, /^Listener demo, destination m: local handler .*callback-handler\.cjs: no function export "notAFunction" \(exports: handler, notAFunction\)$/],
    [{ Module: 'echo-handler.ts', Handler: 'nope' }, /no function export "nope" \(exports: handler, named\)$/],
  ])('a module that cannot be used is a clear error at load time (%j)', async (fields, message) => {
    await expect(createDestination({ Name: 'm', Type: 'local', ...fields }, listener, context)).rejects.toThrow(message);
  });
});

describe('local destination types outside local mode', () => {
  test.each(['local', 'log'] as const)('the AWS destination table cannot build a %s destination', async (type) => {
    await expect(createAnyDestination({ Name: 'd', Type: type, Module: 'echo-handler.ts' }, listener, context))
      .rejects.toThrow(`Listener demo, destination d: Type "${type}" is not supported (allowed: lambda, sqs, stepfunctions, apigateway, logs, s3, dynamodb, sns, kinesis, firehose, eventbridge)`);
  });
});

describe('local handlers run in their own worker thread', () => {
  test('a handler that blocks its event loop does not stall this thread, times out, and the next batch gets a fresh worker', async () => {
    const blocking = await createDestination({ Name: 'b', Type: 'local', Module: 'blocking-handler.cjs', Handler: 'blocks' }, listener, context);
    const ticks: number[] = [];
    const interval = setInterval(() => ticks.push(Date.now()), 20);
    const started = Date.now();
    await expect(blocking.deliver([packet('x')])).rejects.toThrow('local handler blocking-handler.cjs#blocks failed: Error: did not finish within 0.5 s');
    clearInterval(interval);
    expect(Date.now() - started).toBeLessThan(5_000);
    // This thread kept running its timers while the handler spun.
    expect(ticks.length).toBeGreaterThan(10);
    await expect(blocking.deliver([packet('y')])).rejects.toThrow('did not finish within 0.5 s');
    await blocking.close?.();
  }, 20_000);

  test('another local destination answers while one handler is blocked', async () => {
    const blocking = await createDestination({ Name: 'b', Type: 'local', Module: 'blocking-handler.cjs', Handler: 'blocks' }, listener, context);
    const quick = await createDestination({ Name: 'q', Type: 'local', Module: 'blocking-handler.cjs', Handler: 'quick' }, listener, context);
    const blocked = blocking.deliver([packet('x')]).catch((err: Error) => err.message);
    expect(await quick.deliver([packet('hi', 'H')])).toEqual({ response: { Replies: [{ Tag: 'H', Data: Buffer.from('hi').toString('base64') }] } });
    expect(await blocked).toContain('did not finish');
    await Promise.all([blocking.close?.(), quick.close?.()]);
  }, 20_000);

  test('handler error text is cut to 200 characters in the failure reason (it may quote the payload)', async () => {
    const leaking = await createDestination({ Name: 'l', Type: 'local', Module: 'blocking-handler.cjs', Handler: 'leaksPayload' }, listener, context);
    const error = String(await leaking.deliver([packet('secret-payload')]).catch((err: Error) => err.message));
    expect(error).toMatch(/^local handler blocking-handler\.cjs#leaksPayload failed: Error: bad payload x+… \(\d+ characters\)$/);
    expect(error).not.toContain('secret-payload');
    expect(error.length).toBeLessThan(320);
    await leaking.close?.();
  }, 20_000);
});
