import { createSocket } from 'node:dgram';
import { join } from 'node:path';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { CapturingFailureReporter, CapturingMetrics, freePort, MemoryConfigSource, silentLogger, UdpClient } from './helpers';
import type { GatewayConfigDocument, ListenerRecord } from '../../lib/private/records';
import { Gateway } from '../../service/gateway';
import { LOCAL_DESTINATION_FACTORIES } from '../../service/local/local-destination-factories';
import { DestinationErrorLogs } from '../../service/observability/destination-error-log';

const ECHO = join(__dirname, 'fixtures', 'echo-handler.cjs');

function listener(name: string, port: number, extra: Partial<ListenerRecord> = {}): ListenerRecord {
  return {
    Name: name,
    Protocol: 'udp',
    Port: port,
    Formatter: 'utf8',
    Destinations: [{ Name: 'echo', Type: 'local', Module: ECHO, Batching: { Count: 10, TimeoutInSeconds: 0.01 } }],
    ...extra,
  };
}

async function startGateway(config: GatewayConfigDocument) {
  const source = new MemoryConfigSource(config);
  const failures = new CapturingFailureReporter();
  const gateway = new Gateway({ destinationFactories: LOCAL_DESTINATION_FACTORIES, config: source, region: 'us-east-1', logger: silentLogger, metrics: new CapturingMetrics(), failures, local: true });
  await gateway.start();
  return { gateway, source, failures };
}

async function echo(client: UdpClient, port: number, text: string): Promise<string> {
  const before = client.received.length;
  await client.send(text, port);
  await client.waitFor(before + 1);
  const reply = client.received[before];
  expect(reply.from.port).toBe(port);
  return reply.data.toString();
}

async function canBind(port: number): Promise<boolean> {
  const socket = createSocket('udp4');
  return new Promise((resolve) => {
    socket.once('error', () => resolve(false));
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
  });
}

describe('Gateway configuration changes', () => {
  test('unchanged Listeners keep their socket; changed ports rebind; removed Listeners close', async () => {
    const [pa, pb, pc] = [await freePort(), await freePort(), await freePort()];
    const { gateway, source } = await startGateway({ Listeners: [listener('a', pa), listener('b', pb)] });
    const client = await UdpClient.open();
    try {
      const a = gateway.get('a')!;
      const b = gateway.get('b')!;
      expect(await echo(client, pa, 'one')).toBe('echo:one');

      // Add a Listener: the others are untouched.
      await gateway.apply({ Listeners: [listener('a', pa), listener('b', pb), listener('c', pc)] });
      expect(gateway.get('a')).toBe(a);
      expect(gateway.get('b')).toBe(b);
      expect(await echo(client, pc, 'three')).toBe('echo:three');

      // Change only a's destinations: same socket, new pipeline.
      await gateway.apply({ Listeners: [listener('a', pa, { Formatter: 'base64' }), listener('b', pb), listener('c', pc)] });
      expect(gateway.get('a')).toBe(a);
      expect(await echo(client, pa, 'two')).toBe('echo64:two');

      // Move b to another port: rebound; the old port is free again.
      const moved = await freePort();
      source.set({ Listeners: [listener('a', pa, { Formatter: 'base64' }), listener('b', moved), listener('c', pc)] });
      await gateway.apply(source.current());
      const b2 = gateway.get('b')!;
      expect(b2).not.toBe(b);
      expect(b2.port).toBe(moved);
      expect(await echo(client, moved, 'moved')).toBe('echo:moved');
      expect(await canBind(pb)).toBe(true);

      // Remove c.
      await gateway.apply({ Listeners: [listener('a', pa, { Formatter: 'base64' }), listener('b', moved)] });
      expect(gateway.get('c')).toBeUndefined();
      expect(gateway.status().listeners.map((l) => l.name)).toEqual(['a', 'b']);
      expect(await canBind(pc)).toBe(true);
      expect(gateway.status().healthy).toBe(true);
    } finally {
      await client.close();
      await gateway.stop();
    }
  });

  test('a Listener that cannot be built is reported unhealthy while the others run, and the old one keeps running', async () => {
    const [pa, pb] = [await freePort(), await freePort()];
    const { gateway } = await startGateway({ Listeners: [listener('a', pa)] });
    const client = await UdpClient.open();
    try {
      const broken = listener('b', pb, { Destinations: [{ Name: 'h', Type: 'local', Module: '/nonexistent/handler.js' }] });
      await gateway.apply({ Listeners: [listener('a', pa, { Destinations: [{ Name: 'h', Type: 'local', Module: '/nonexistent/handler.js' }] }), broken] });
      const status = gateway.status();
      expect(status.healthy).toBe(false);
      expect(status.listeners.find((l) => l.name === 'b')?.error).toMatch(/^Listener b, destination h: local handler \/nonexistent\/handler\.js: cannot load module/);
      // a's change failed to build: the running version stays.
      expect(status.listeners.find((l) => l.name === 'a')).toMatchObject({ bound: true });
      expect(await echo(client, pa, 'still')).toBe('echo:still');
    } finally {
      await client.close();
      await gateway.stop();
    }
  });

  test('a destination with LogGroupName copies its delivery errors to its log group; the others do not', async () => {
    const port = await freePort();
    const writes: Array<{ logGroupArn: string; code: unknown }> = [];
    const failures = new CapturingFailureReporter();
    const hostile = join(__dirname, 'fixtures', 'hostile-handler.cjs');
    const gateway = new Gateway({
      config: new MemoryConfigSource({
        Listeners: [listener('logged', port, {
          Destinations: [
            { Name: 'with-log', Type: 'local', Module: hostile, LogGroupName: '/udp/errors', Batching: { Count: 1 } },
            { Name: 'without', Type: 'local', Module: hostile, Batching: { Count: 1 } },
          ],
        })],
      }),
      destinationFactories: LOCAL_DESTINATION_FACTORIES,
      region: 'us-east-1',
      logger: silentLogger,
      metrics: new CapturingMetrics(),
      failures,
      local: true,
      destinationErrorLogs: new DestinationErrorLogs({
        sink: { write: (target, record) => writes.push({ logGroupArn: target.logGroupArn, code: record.code }), flush: async () => undefined },
        logGroupArn: (name) => `arn:aws:logs:us-east-1:123456789012:log-group:${name}`,
      }),
    });
    await gateway.start();
    const client = await UdpClient.open();
    try {
      await client.send('throw', port);
      await failures.waitFor(2);
      expect(failures.records.map((r) => r.context.destination).sort()).toEqual(['with-log', 'without']);
      expect(writes).toEqual([{ logGroupArn: 'arn:aws:logs:us-east-1:123456789012:log-group:/udp/errors', code: 'DestinationFailed' }]);
    } finally {
      await client.close();
      await gateway.stop();
    }
  });

  test('without local mode\'s destination table, a Listener naming a local or log destination is not built', async () => {
    const port = await freePort();
    const gateway = new Gateway({
      config: new MemoryConfigSource({ Listeners: [listener('aws', port, { Destinations: [{ Name: 'print', Type: 'log' }] })] }),
      region: 'us-east-1',
      logger: silentLogger,
      metrics: new CapturingMetrics(),
      failures: new CapturingFailureReporter(),
      local: false,
    });
    await gateway.start();
    try {
      expect(gateway.status().listeners[0]).toMatchObject({
        name: 'aws',
        bound: false,
        error: 'Listener aws, destination print: Type "log" is not supported (allowed: lambda, sqs, stepfunctions, apigateway, logs, s3, dynamodb, sns, kinesis, firehose, eventbridge)',
      });
    } finally {
      await gateway.stop();
    }
  });

  test('a port already in use is reported with the Listener, address and port', async () => {
    const holder = createSocket('udp4');
    await new Promise<void>((resolve) => holder.bind(0, '127.0.0.1', () => resolve()));
    const port = holder.address().port;
    const { gateway } = await startGateway({ Listeners: [listener('busy', port)] });
    try {
      expect(gateway.status().listeners[0]).toMatchObject({
        name: 'busy',
        bound: false,
        error: `Listener busy: cannot bind udp 127.0.0.1:${port}: the port is already in use (another process or Listener holds it)`,
      });
    } finally {
      await gateway.stop();
      await new Promise<void>((resolve) => holder.close(() => resolve()));
    }
  });

  test('moving a Listener to a port in use leaves it running on its old port; the move succeeds once the port is free', async () => {
    const holder = createSocket('udp4');
    await new Promise<void>((resolve) => holder.bind(0, '127.0.0.1', () => resolve()));
    const busy = holder.address().port;
    const pa = await freePort();
    const { gateway } = await startGateway({ Listeners: [listener('a', pa)] });
    const client = await UdpClient.open();
    try {
      const a = gateway.get('a')!;
      await gateway.apply({ Listeners: [listener('a', busy)] });
      expect(gateway.get('a')).toBe(a);
      expect(await echo(client, pa, 'kept')).toBe('echo:kept');
      expect(gateway.status().listeners[0]).toMatchObject({ name: 'a', port: pa, bound: true, error: expect.stringContaining(`${busy}: the port is already in use`) });
      expect(gateway.status().healthy).toBe(true);

      await new Promise<void>((resolve) => holder.close(() => resolve()));
      await gateway.apply({ Listeners: [listener('a', busy)] });
      expect(gateway.get('a')!.port).toBe(busy);
      expect(gateway.status().listeners[0].error).toBeUndefined();
      expect(await echo(client, busy, 'moved')).toBe('echo:moved');
      expect(await canBind(pa)).toBe(true);
    } finally {
      await client.close();
      await gateway.stop();
    }
  });

  test('PacketSource bindings follow the configuration', async () => {
    const topic = 'arn:aws:sns:us-east-1:000000000000:t';
    const { gateway } = await startGateway({ Listeners: [listener('a', await freePort())], PacketSources: [{ TopicArn: topic, ListenerName: 'a' }] });
    try {
      expect(gateway.getPacketSource(topic)).toEqual({ TopicArn: topic, ListenerName: 'a' });
      await gateway.apply({ Listeners: gateway.status().listeners.map((l) => listener(l.name, l.port)) });
      expect(gateway.getPacketSource(topic)).toBeUndefined();
    } finally {
      await gateway.stop();
    }
  });
});

describe('Gateway graceful stop', () => {
  test('stop flushes the pending batch, delivers it and sends its replies before closing', async () => {
    const port = await freePort();
    const { gateway } = await startGateway({
      Listeners: [listener('slow', port, { Destinations: [{ Name: 'echo', Type: 'local', Module: ECHO, Batching: { Count: 1000, TimeoutInSeconds: 60 } }] })],
    });
    const client = await UdpClient.open();
    try {
      await client.send('pending-1', port);
      await client.send('pending-2', port);
      // The batch would wait 60 s; give the datagrams time to reach the queue.
      await new Promise((r) => setTimeout(r, 100));
      expect(client.received).toHaveLength(0);
      await gateway.stop();
      // The Listener socket is closed now: replies can only arrive if they were sent before closing.
      await client.waitFor(2);
      expect(client.received.map((r) => r.data.toString()).sort()).toEqual(['echo:pending-1', 'echo:pending-2']);
      expect(await canBind(port)).toBe(true);
      expect(gateway.status()).toMatchObject({ healthy: false, stopping: true });
    } finally {
      await client.close();
      await gateway.stop();
    }
  });
});

describe('Gateway Lambda destinations', () => {
  test('a Lambda client given to the gateway is used through send(), so its middleware and mocks apply', async () => {
    const client = new LambdaClient({ region: 'us-east-1', credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'x' } });
    const mock = mockClient(client);
    mock.on(InvokeCommand).callsFake((input: { Payload: Uint8Array }) => {
      const { Messages } = JSON.parse(Buffer.from(input.Payload).toString()) as { Messages: Array<{ Tag: string; Data: string }> };
      const replies = Messages.map((m) => ({ Tag: m.Tag, Data: Buffer.from(`lambda:${Buffer.from(m.Data, 'base64').toString()}`).toString('base64') }));
      return { StatusCode: 200, Payload: Buffer.from(JSON.stringify({ Replies: replies })) };
    });
    const port = await freePort();
    const arn = 'arn:aws:lambda:us-east-1:123456789012:function:echo';
    const gateway = new Gateway({
      destinationFactories: LOCAL_DESTINATION_FACTORIES,
      config: new MemoryConfigSource({
        Listeners: [{ Name: 'l', Protocol: 'udp', Port: port, Destinations: [{ Name: 'fn', Type: 'lambda', Arn: arn, Batching: { Count: 1, TimeoutInSeconds: 0.01 } }] }],
      }),
      region: 'us-east-1',
      logger: silentLogger,
      metrics: new CapturingMetrics(),
      failures: new CapturingFailureReporter(),
      local: true,
      lambdaClient: client,
    });
    await gateway.start();
    const udp = await UdpClient.open();
    try {
      await udp.send('hi', port);
      await udp.waitFor(1);
      expect(udp.received[0].data.toString()).toBe('lambda:hi');
      expect(mock.commandCalls(InvokeCommand)[0].args[0].input.FunctionName).toBe(arn);
    } finally {
      await udp.close();
      await gateway.stop();
      mock.restore();
    }
  });
});
