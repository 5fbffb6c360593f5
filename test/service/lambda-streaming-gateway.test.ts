/**
 * End to end through the gateway: a UDP client's datagram reaches a response-streaming Lambda
 * (a loopback server answering InvokeWithResponseStream with real event-stream framing), and the
 * first reply the function streams reaches the client while the function is still running.
 */
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { EventStreamCodec } from '@smithy/core/event-streams';
import { CapturingFailureReporter, CapturingMetrics, eventually, freePort, MemoryConfigSource, silentLogger, UdpClient } from './helpers';
import { Gateway } from '../../service/gateway';

const codec = new EventStreamCodec((bytes) => Buffer.from(bytes).toString('utf8'), (text) => new Uint8Array(Buffer.from(text, 'utf8')));
const event = (type: string, body: string): Uint8Array => codec.encode({
  headers: {
    ':message-type': { type: 'string', value: 'event' },
    ':event-type': { type: 'string', value: type },
    ':content-type': { type: 'string', value: type === 'PayloadChunk' ? 'application/octet-stream' : 'application/json' },
  },
  body: new Uint8Array(Buffer.from(body)),
});

test('a streamed reply reaches the UDP client before the function has finished', async () => {
  const client = await UdpClient.open();
  let finished = false;
  let firstReplyBeforeEnd = false;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => void (async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const { Messages } = JSON.parse(Buffer.concat(chunks).toString()) as { Messages: Array<{ Tag: string; Data: string }> };
    res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream' });
    const [first] = Messages;
    res.write(event('PayloadChunk', `${JSON.stringify({ Tag: first.Tag, Data: `ack:${first.Data}` })}\n`));
    await eventually(() => client.received.length >= 1, 5000, 'the first streamed reply at the client');
    firstReplyBeforeEnd = !finished;
    res.write(event('PayloadChunk', `${JSON.stringify({ Tag: first.Tag, Data: 'done' })}\n`));
    finished = true;
    res.end(event('InvokeComplete', '{}'));
  })());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const port = await freePort();
  const failures = new CapturingFailureReporter();
  const gateway = new Gateway({
    config: new MemoryConfigSource({
      Listeners: [{
        Name: 'demo',
        Protocol: 'udp',
        Port: port,
        Formatter: 'utf8',
        Destinations: [{
          Name: 'streamer',
          Type: 'lambda',
          Arn: 'arn:aws:lambda:us-east-1:123456789012:function:streamer',
          Arguments: { UseResponseStreaming: true },
          Batching: { Count: 1, TimeoutInSeconds: 0 },
        }],
      }],
    }),
    region: 'us-east-1',
    logger: silentLogger,
    metrics: new CapturingMetrics(),
    failures,
    local: true,
    lambdaClient: new LambdaClient({ region: 'us-east-1', endpoint, credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' }, maxAttempts: 1 }),
  });
  await gateway.start();
  try {
    await client.send('hello', port);
    await client.waitFor(2);
    expect(client.received.map((r) => r.data.toString())).toEqual(['ack:hello', 'done']);
    expect(client.received[0].from.port).toBe(port);
    expect(firstReplyBeforeEnd).toBe(true);
    expect(failures.records).toEqual([]);
  } finally {
    await gateway.stop();
    await client.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});
