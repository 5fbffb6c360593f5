/**
 * Step Functions and API Gateway destinations on the whole request path: UDP datagrams into a
 * Listener, batches through the gateway's own clients (configured only by the SDK's endpoint
 * variables and credentials from the environment) to a Step Functions-shaped and an API
 * Gateway-shaped server on loopback, which check each request's signature, and the replies back
 * to the client. The state machine and the stage answer as Proxylity's packet-counter-sfn and
 * udp-to-http examples do.
 */
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CapturingFailureReporter, CapturingMetrics, freePort, MemoryConfigSource, silentLogger, UdpClient } from './helpers';
import type { ListenerRecord } from '../../lib/private/records';
import { Gateway } from '../../service/gateway';
import { ReceivedRequest, signatureMatches } from '../support/sigv4';

const CREDENTIALS = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', sessionToken: 'session-token' };
const REGION = 'us-west-2';
const STATE_MACHINE = `arn:aws:states:${REGION}:123456789012:stateMachine:packet-counter`;
const ROUTE = `arn:aws:execute-api:${REGION}:123456789012:a1b2c3d4e5/adafruit/POST/measurements`;

interface Packet {
  readonly Tag: string;
  readonly Remote: { readonly IpAddress: string };
  readonly Data: string;
}

/** Answers with `respond(request)` when the request's SigV4 signature (for `service`) is right, 403 otherwise. */
interface FakeService {
  readonly server: Server;
  readonly url: string;
  readonly received: ReceivedRequest[];
}

async function serve(service: string, respond: (r: ReceivedRequest) => { status: number; body: unknown }): Promise<FakeService> {
  const received: ReceivedRequest[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
      const r = { method: req.method!, path: req.url!, headers, body: Buffer.concat(chunks) };
      received.push(r);
      void signatureMatches(r, { region: REGION, service, credentials: CREDENTIALS }).then((ok) => {
        const answer = ok ? respond(r) : { status: 403, body: { message: 'signature does not match' } };
        res.writeHead(answer.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(answer.body));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received };
}

/** Proxylity's packet-counter state machine: one reply per distinct client address, with the count of its packets in the batch. */
function packetCounter(input: { Messages: Packet[] }): { Replies: Array<{ Tag: string; Data: string }> } {
  const counts = new Map<string, { tag: string; count: number }>();
  for (const m of input.Messages) {
    const entry = counts.get(m.Remote.IpAddress) ?? { tag: m.Tag, count: 0 };
    entry.count++;
    counts.set(m.Remote.IpAddress, entry);
  }
  return { Replies: [...counts.values()].map((c) => ({ Tag: c.tag, Data: Buffer.from(`${c.count}\n`).toString('base64') })) };
}

describe('Step Functions and API Gateway destinations behind a Listener', () => {
  const saved = { ...process.env };
  let sfn: FakeService;
  let stage: FakeService;

  beforeAll(async () => {
    sfn = await serve('states', (r) => {
      const target = r.headers['x-amz-target'];
      if (target === 'AWSStepFunctions.DescribeStateMachine') return { status: 200, body: { stateMachineArn: STATE_MACHINE, type: 'EXPRESS' } };
      const { input } = JSON.parse(r.body.toString()) as { input: string };
      return { status: 200, body: { status: 'SUCCEEDED', output: JSON.stringify(packetCounter(JSON.parse(input) as { Messages: Packet[] })) } };
    });
    stage = await serve('execute-api', (r) => {
      const { Messages } = JSON.parse(r.body.toString()) as { Messages: Packet[] };
      return { status: 200, body: { Replies: Messages.map((m) => ({ Tag: m.Tag, GeneratedAt: new Date().toISOString(), Data: 'SUCCESS' })) } };
    });
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
      AWS_SESSION_TOKEN: CREDENTIALS.sessionToken,
      AWS_ENDPOINT_URL_SFN: sfn.url,
      AWS_ENDPOINT_URL_EXECUTE_API: stage.url,
    });
  });
  afterAll(async () => {
    process.env = saved;
    for (const s of [sfn.server, stage.server]) {
      s.closeAllConnections();
      await new Promise((resolve) => s.close(resolve));
    }
  });

  /** Sends `datagrams` to a Listener made by `listener` and returns the replies once `expected` arrived. */
  async function run(listener: (port: number) => ListenerRecord, datagrams: number, expected: number) {
    const port = await freePort();
    const failures = new CapturingFailureReporter();
    const gateway = new Gateway({
      config: new MemoryConfigSource({ Listeners: [listener(port)] }),
      region: REGION,
      logger: silentLogger,
      metrics: new CapturingMetrics(),
      failures,
      local: true,
    });
    await gateway.start();
    const client = await UdpClient.open();
    try {
      for (let i = 0; i < datagrams; i++) await client.send(`reading ${i} 21.5 42`, port);
      await client.waitFor(expected);
      await new Promise((r) => setTimeout(r, 50)); // nothing more arrives
      return { replies: client.received.map((r) => r.data.toString()), failures };
    } finally {
      await client.close();
      await gateway.stop();
    }
  }

  test('an EXPRESS state machine (type detected) counts a batch of three packets and its one reply reaches the client', async () => {
    const { replies, failures } = await run((port) => ({
      Name: 'counter',
      Protocol: 'udp',
      Port: port,
      Destinations: [{ Name: 'sfn', Type: 'stepfunctions', Arn: STATE_MACHINE, Batching: { Count: 3, TimeoutInSeconds: 5 } }],
    }), 3, 1);
    expect(replies).toEqual(['3\n']);
    expect(failures.records).toEqual([]);
    const targets = sfn.received.map((r) => r.headers['x-amz-target']);
    expect(targets).toEqual(['AWSStepFunctions.DescribeStateMachine', 'AWSStepFunctions.StartSyncExecution']);
    // the configured endpoint serves StartSyncExecution on its own host (no sync- prefix)
    expect(sfn.received[1].headers.host).toBe(new URL(sfn.url).host);
  });

  test('an API Gateway route answers each packet with SUCCESS', async () => {
    const { replies, failures } = await run((port) => ({
      Name: 'sensors',
      Protocol: 'udp',
      Port: port,
      Formatter: 'utf8',
      Destinations: [{ Name: 'adafruit', Type: 'apigateway', Arn: ROUTE, Batching: { Count: 2, TimeoutInSeconds: 5 } }],
    }), 2, 2);
    expect(replies).toEqual(['SUCCESS', 'SUCCESS']);
    expect(failures.records).toEqual([]);
    const [request] = stage.received;
    expect(request.path).toBe('/adafruit/measurements');
    expect((JSON.parse(request.body.toString()) as { Messages: Packet[] }).Messages.map((m) => m.Data)).toEqual(['reading 0 21.5 42', 'reading 1 21.5 42']);
  });
});
