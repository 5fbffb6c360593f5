import { join } from 'node:path';
import type { DestinationRecord, ListenerRecord } from '../../../lib/private/records';
import type { DestinationContext } from '../../../service/destinations/destination';
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
  sqsClient: () => { throw new Error('no SQS in local tests'); },
};
const listener = { Name: 'demo', Protocol: 'udp' as const, Port: 5555, Destinations: [] };
const createDestination = (record: DestinationRecord, l: ListenerRecord, c: DestinationContext) =>
  createAnyDestination(record, l, c, LOCAL_DESTINATION_FACTORIES);

function packet(data: string, tag = 'T1'): QueuedPacket {
  const json = JSON.stringify({ Tag: tag, Remote: { IpAddress: '127.0.0.1', Port: 4000 }, Data: Buffer.from(data).toString('base64') });
  return { json, bytes: json.length, tag, remoteAddress: '127.0.0.1', remotePort: 4000 };
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
      .rejects.toThrow(`Listener demo, destination d: Type "${type}" is not supported (allowed: lambda, sqs)`);
  });
});
