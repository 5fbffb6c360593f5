import { execFile, spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { connect } from 'node:net';
import {
  BatchEntryIdsNotDistinctException,
  CreateTopicCommand,
  EmptyBatchRequestException,
  GetTopicAttributesCommand,
  InvalidParameterException,
  InvalidParameterValueException,
  ListTopicsCommand,
  NotFoundException,
  PublishBatchCommand,
  PublishCommand,
  SNSClient,
  TooManyEntriesInBatchRequestException,
} from '@aws-sdk/client-sns';
import { LocalSnsEndpoint, startLocalSnsEndpoint } from '../../../service/local/sns-endpoint';
import { SourcedPacketProcessor } from '../../../service/sourcing/sourced-packet-processor';
import { CapturingFailures, CapturingMetrics, LoopbackListener, Receiver, Registry, StaticBindings } from '../sourcing/support';

const TOPIC = 'arn:aws:sns:us-east-1:000000000000:packet-source';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

let listener: LoopbackListener;
let receiver: Receiver;
let failures: CapturingFailures;
let metrics: CapturingMetrics;
let endpoint: LocalSnsEndpoint;
let sns: SNSClient;

beforeAll(async () => {
  listener = new LoopbackListener('demo');
  await listener.start();
  failures = new CapturingFailures();
  metrics = new CapturingMetrics();
  const processor = new SourcedPacketProcessor({
    listeners: new Registry().add(listener),
    bindings: new StaticBindings([{ TopicArn: TOPIC, ListenerName: 'demo' }]),
    failures,
    metrics,
    region: 'us-east-1',
  });
  endpoint = await startLocalSnsEndpoint({ host: '127.0.0.1', port: 0, region: 'us-east-1', accountId: '000000000000', processor, logger: silent });
  sns = new SNSClient({ endpoint: endpoint.url, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
});

afterAll(async () => {
  sns.destroy();
  await endpoint.close();
  await listener.close();
});

beforeEach(async () => {
  receiver = await Receiver.open();
  failures.records.length = 0;
  metrics.counters.clear();
});

afterEach(async () => {
  await receiver.close();
});

function packet(port: number, text: string): Record<string, unknown> {
  return { Data: Buffer.from(text).toString('base64'), Remote: { Address: '127.0.0.1', Port: port } };
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!check()) throw new Error(`never happened: ${what}`);
}

describe('with the AWS SDK for JavaScript v3 SNSClient', () => {
  test('Publish with message attributes delivers the datagram from the Listener port', async () => {
    const out = await sns.send(
      new PublishCommand({
        TopicArn: TOPIC,
        Message: JSON.stringify({ Messages: [packet(receiver.port, 'hi')] }),
        MessageAttributes: { EgressRegion: { DataType: 'String', StringValue: 'us-east-1' }, Trace: { DataType: 'Binary', BinaryValue: Buffer.from([1, 2]) } },
      }),
    );
    expect(out.MessageId).toMatch(UUID);
    const [got] = await receiver.waitFor(1);
    expect(got.data.toString()).toBe('hi');
    expect(got.from.address).toBe('127.0.0.1');
    expect(got.from.port).toBe(listener.port);
  });

  test('message attributes reach the gateway: EgressRegion of another region is not sent here', async () => {
    await sns.send(
      new PublishCommand({
        TopicArn: TOPIC,
        Message: JSON.stringify({ Messages: [packet(receiver.port, 'elsewhere')] }),
        MessageAttributes: { EgressRegion: { DataType: 'String', StringValue: 'eu-west-1' } },
      }),
    );
    await until(() => metrics.get('SourcedSkipped') === 1, 'skip counted');
    expect(receiver.received).toEqual([]);
  });

  test('PublishBatch delivers every entry and reports invalid entries as Failed', async () => {
    const out = await sns.send(
      new PublishBatchCommand({
        TopicArn: TOPIC,
        PublishBatchRequestEntries: [
          { Id: 'one', Message: JSON.stringify(packet(receiver.port, 'b1')), MessageAttributes: { EgressRegion: { DataType: 'String', StringValue: 'us-east-1' } } },
          { Id: 'two', Message: JSON.stringify({ Messages: [packet(receiver.port, 'b2'), packet(receiver.port, 'b3')] }) },
          { Id: 'empty', Message: '' },
          { Id: 'badattr', Message: 'x', MessageAttributes: { n: { DataType: 'Number', StringValue: 'twelve' } } },
        ],
      }),
    );
    expect(out.Successful!.map((s) => s.Id)).toEqual(['one', 'two']);
    for (const s of out.Successful!) expect(s.MessageId).toMatch(UUID);
    expect(out.Failed!.map((f) => [f.Id, f.Code, f.SenderFault])).toEqual([
      ['empty', 'InvalidParameter', true],
      ['badattr', 'ParameterValueInvalid', true],
    ]);
    expect(out.Failed![1].Message).toContain('twelve');
    const got = await receiver.waitFor(3);
    expect(got.map((g) => g.data.toString()).sort()).toEqual(['b1', 'b2', 'b3']);
  });

  test('a 50-entry Messages array to 50 ports delivers 50 datagrams', async () => {
    const receivers = await Promise.all(Array.from({ length: 50 }, () => Receiver.open()));
    try {
      await sns.send(new PublishCommand({ TopicArn: TOPIC, Message: JSON.stringify({ Messages: receivers.map((r, i) => packet(r.port, `p${i}`)) }) }));
      const got = await Promise.all(receivers.map((r) => r.waitFor(1)));
      expect(got.map(([g]) => g.data.toString())).toEqual(receivers.map((_r, i) => `p${i}`));
      for (const [g] of got) expect(g.from.port).toBe(listener.port);
    } finally {
      await Promise.all(receivers.map((r) => r.close()));
    }
  });

  test('an unknown topic is a NotFound error (HTTP 404)', async () => {
    const err = await sns.send(new PublishCommand({ TopicArn: 'arn:aws:sns:us-east-1:000000000000:nobody', Message: '{}' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundException);
    expect((err as NotFoundException).$metadata.httpStatusCode).toBe(404);
    expect((err as Error).message).toContain('nobody');
  });

  test.each([
    ['a malformed topic ARN', { TopicArn: 'packet-source', Message: '{}' }, InvalidParameterException, /not a topic ARN/],
    ['a missing message', { TopicArn: TOPIC }, InvalidParameterException, /Message is required/],
    ['a phone number', { PhoneNumber: '+15550100', Message: 'x' }, InvalidParameterException, /SMS is not supported/],
    ['an attribute without a value', { TopicArn: TOPIC, Message: 'x', MessageAttributes: { a: { DataType: 'String' } } }, InvalidParameterValueException, /StringValue/],
    ['an attribute of an unknown type', { TopicArn: TOPIC, Message: 'x', MessageAttributes: { a: { DataType: 'Blob', StringValue: 'x' } } }, InvalidParameterValueException, /DataType "Blob"/],
    ['a reserved attribute name', { TopicArn: TOPIC, Message: 'x', MessageAttributes: { 'AWS.x': { DataType: 'String', StringValue: 'x' } } }, InvalidParameterValueException, /AWS\./],
    ['a message over 256 KiB', { TopicArn: TOPIC, Message: 'x'.repeat(262_145) }, InvalidParameterException, /too long/],
    ['MessageStructure json without default', { TopicArn: TOPIC, Message: '{"sqs":"x"}', MessageStructure: 'json' }, InvalidParameterException, /"default"/],
  ])('%s is rejected as the SDK expects', async (_name, input, type, message) => {
    const err = await sns.send(new PublishCommand(input as ConstructorParameters<typeof PublishCommand>[0])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(type);
    expect((err as Error).message).toMatch(message);
  });

  test.each([
    ['no entries', [], EmptyBatchRequestException],
    ['11 entries', Array.from({ length: 11 }, (_x, i) => ({ Id: `e${i}`, Message: 'x' })), TooManyEntriesInBatchRequestException],
    ['duplicate ids', [{ Id: 'a', Message: 'x' }, { Id: 'a', Message: 'y' }], BatchEntryIdsNotDistinctException],
  ])('PublishBatch with %s is rejected', async (_name, entries, type) => {
    const err = await sns.send(new PublishBatchCommand({ TopicArn: TOPIC, PublishBatchRequestEntries: entries })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(type);
  });

  test('MessageStructure json sends the sqs (or default) message', async () => {
    await sns.send(new PublishCommand({ TopicArn: TOPIC, MessageStructure: 'json', Message: JSON.stringify({ default: JSON.stringify(packet(receiver.port, 'structured')) }) }));
    const [got] = await receiver.waitFor(1);
    expect(got.data.toString()).toBe('structured');
  });

  test('a malformed sourced message is accepted like SNS does, then reported with its code', async () => {
    await sns.send(new PublishCommand({ TopicArn: TOPIC, Message: JSON.stringify({ Messages: [{ Data: 'aGk=', Remote: { Address: '127.0.0.1', Port: 70000 } }, packet(receiver.port, 'ok')] }) }));
    await receiver.waitFor(1);
    await until(() => failures.records.length === 1, 'failure reported');
    expect(failures.records[0]).toMatchObject({ code: 'InvalidPort', topicArn: TOPIC, index: 0, listener: 'demo' });
  });

  test('ListTopics, CreateTopic and GetTopicAttributes serve the bound topics', async () => {
    const topics = await sns.send(new ListTopicsCommand({}));
    expect(topics.Topics).toEqual([{ TopicArn: TOPIC }]);
    expect((await sns.send(new CreateTopicCommand({ Name: 'packet-source' }))).TopicArn).toBe(TOPIC);
    await expect(sns.send(new CreateTopicCommand({ Name: 'other' }))).rejects.toThrow(/not bound to a Listener/);
    const attrs = await sns.send(new GetTopicAttributesCommand({ TopicArn: TOPIC }));
    expect(attrs.Attributes).toMatchObject({ TopicArn: TOPIC, Owner: '000000000000' });
    await expect(sns.send(new GetTopicAttributesCommand({ TopicArn: `${TOPIC}-x` }))).rejects.toBeInstanceOf(NotFoundException);
  });
});

describe('raw HTTP', () => {
  test('JSON protocol Publish (X-Amz-Target) delivers, and its errors carry the query error code', async () => {
    const ok = await fetch(endpoint.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'AmazonSNS.Publish' },
      body: JSON.stringify({ TopicArn: TOPIC, Message: JSON.stringify(packet(receiver.port, 'json')), MessageAttributes: { EgressRegion: { DataType: 'String', StringValue: 'us-east-1' } } }),
    });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { MessageId: string }).MessageId).toMatch(UUID);
    expect((await receiver.waitFor(1))[0].data.toString()).toBe('json');

    const missing = await fetch(endpoint.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'AmazonSNS.Publish' },
      body: JSON.stringify({ TopicArn: `${TOPIC}-gone`, Message: 'x' }),
    });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('x-amzn-query-error')).toBe('NotFound;Sender');
    expect(((await missing.json()) as { __type: string }).__type).toBe('com.amazonaws.sns#NotFoundException');
  });

  test('query errors are ErrorResponse XML in the SNS namespace', async () => {
    const res = await fetch(endpoint.url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'Action=DeleteTopic&TopicArn=x' });
    expect(res.status).toBe(400);
    const xml = await res.text();
    expect(xml).toContain('<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">');
    expect(xml).toContain('<Code>InvalidAction</Code>');
    expect(xml).toContain('DeleteTopic');
  });

  test('a Publish response is PublishResponse XML with the MessageId', async () => {
    const body = new URLSearchParams({ Action: 'Publish', Version: '2010-03-31', TopicArn: TOPIC, Message: JSON.stringify(packet(receiver.port, 'xml')) });
    const res = await fetch(endpoint.url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    const xml = await res.text();
    expect(xml).toMatch(/<PublishResponse xmlns="http:\/\/sns\.amazonaws\.com\/doc\/2010-03-31\/"><PublishResult><MessageId>[0-9a-f-]{36}<\/MessageId><\/PublishResult>/);
    await receiver.waitFor(1);
  });

  test('an oversized request is refused with 413 and the endpoint keeps serving', async () => {
    const res = await fetch(endpoint.url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `Action=Publish&Message=${'x'.repeat(1_100_000)}` });
    expect(res.status).toBe(413);
    await res.text();
    await sns.send(new PublishCommand({ TopicArn: TOPIC, Message: JSON.stringify(packet(receiver.port, 'still')) }));
    expect((await receiver.waitFor(1))[0].data.toString()).toBe('still');
  });
});

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP request with exactly the given method and headers (Host and Origin included), as a web page could make it. */
function rawRequest(method: string, path: string, headers: Record<string, string>, body?: string): Promise<RawResponse> {
  const url = new URL(endpoint.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method, path, headers, setHost: !('host' in headers) }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function publishForm(port: number, text: string): string {
  return new URLSearchParams({ Action: 'Publish', TopicArn: TOPIC, Message: JSON.stringify(packet(port, text)) }).toString();
}

/** No datagram arrives on the receiver within a short wait (the refused request sent nothing). */
async function nothingSent(): Promise<void> {
  await new Promise((r) => setTimeout(r, 150));
  expect(receiver.received).toHaveLength(0);
}

describe('requests a web page can make are refused, and send nothing', () => {
  const FORM = 'application/x-www-form-urlencoded';

  test('a cross-site GET with the publish in the query string is 405 (only POST)', async () => {
    const url = new URL(endpoint.url);
    const res = await rawRequest('GET', `/?${publishForm(receiver.port, 'get')}`, { host: 'evil.example', origin: 'http://evil.example' });
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('POST');
    expect(res.body).toContain('<Code>MethodNotAllowed</Code>');
    const sameHost = await rawRequest('GET', `/?${publishForm(receiver.port, 'get')}`, { host: url.host });
    expect(sameHost.status).toBe(405);
    await nothingSent();
  });

  test('a text/plain POST (a form a page can send without preflight) is 415', async () => {
    const url = new URL(endpoint.url);
    const res = await rawRequest('POST', '/', { 'host': url.host, 'content-type': 'text/plain' }, publishForm(receiver.port, 'plain'));
    expect(res.status).toBe(415);
    expect(res.body).toContain('<Code>UnsupportedMediaType</Code>');
    expect(res.body).toContain('text/plain');
    const none = await rawRequest('POST', '/', { host: url.host }, publishForm(receiver.port, 'none'));
    expect(none.status).toBe(415);
    await nothingSent();
  });

  test('the text/plain POST of evil.example (Origin and Host) is refused', async () => {
    const res = await rawRequest('POST', '/', { 'host': 'evil.example', 'origin': 'http://evil.example', 'content-type': 'text/plain' }, publishForm(receiver.port, 'evil'));
    expect([403, 415]).toContain(res.status);
    await nothingSent();
  });

  test.each([
    ['a foreign Origin', { origin: 'http://evil.example' }, /Origin "http:\/\/evil\.example"/],
    ['Origin null (sandboxed frame, file: page)', { origin: 'null' }, /Origin "null"/],
    ['Sec-Fetch-Site cross-site', { 'sec-fetch-site': 'cross-site' }, /Sec-Fetch-Site "cross-site"/],
    ['Sec-Fetch-Site same-site', { 'sec-fetch-site': 'same-site' }, /Sec-Fetch-Site "same-site"/],
    ['a Host that is a name other than localhost (DNS rebinding)', { host: 'evil.example:4576' }, /Host "evil\.example:4576"/],
    ['a Host with another port', { host: '127.0.0.1:1' }, /Host "127\.0\.0\.1:1"/],
  ])('a form POST with %s is 403 AuthorizationError', async (_name, extra, reason) => {
    const url = new URL(endpoint.url);
    const res = await rawRequest('POST', '/', { 'host': url.host, 'content-type': FORM, ...extra }, publishForm(receiver.port, 'refused'));
    expect(res.status).toBe(403);
    expect(res.body).toContain('<Code>AuthorizationError</Code>');
    expect(res.body.replace(/&quot;/g, '"')).toMatch(reason);
    await nothingSent();
  });

  test('a refused JSON-protocol request gets the JSON error the SDK reads', async () => {
    const url = new URL(endpoint.url);
    const res = await rawRequest(
      'POST',
      '/',
      { 'host': url.host, 'origin': 'http://evil.example', 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'AmazonSNS.Publish' },
      JSON.stringify({ TopicArn: TOPIC, Message: JSON.stringify(packet(receiver.port, 'json')) }),
    );
    expect(res.status).toBe(403);
    expect(res.headers['x-amzn-query-error']).toBe('AuthorizationError;Sender');
    expect(JSON.parse(res.body).__type).toBe('com.amazonaws.sns#AuthorizationErrorException');
    await nothingSent();
  });

  test('the forms AWS clients send are accepted: Host localhost or the bound address, Sec-Fetch-Site none or same-origin, Origin of the endpoint itself', async () => {
    const url = new URL(endpoint.url);
    const cases: Array<Record<string, string>> = [
      { 'host': url.host, 'content-type': FORM },
      { 'host': `localhost:${url.port}`, 'content-type': `${FORM}; charset=utf-8` },
      { 'host': url.host, 'content-type': FORM, 'sec-fetch-site': 'none' },
      { 'host': url.host, 'content-type': FORM, 'sec-fetch-site': 'same-origin', 'origin': endpoint.url },
    ];
    for (const [i, headers] of cases.entries()) {
      const res = await rawRequest('POST', '/', headers, publishForm(receiver.port, `ok${i}`));
      expect(res.status).toBe(200);
    }
    expect((await receiver.waitFor(cases.length)).map((r) => r.data.toString()).sort()).toEqual(cases.map((_c, i) => `ok${i}`));
  });
});

describe('oversized bodies stop at the limit (413, connection closed)', () => {
  /** Opens a raw connection, writes `head`, then calls `feed` until the server answers or closes. */
  function upload(head: string, feed?: (write: (chunk: string) => boolean) => void): Promise<{ response: string; closedAfterMs: number }> {
    const url = new URL(endpoint.url);
    return new Promise((resolve, reject) => {
      const started = Date.now();
      const socket = connect(Number(url.port), url.hostname);
      let response = '';
      let timer: NodeJS.Timeout | undefined;
      socket.setEncoding('utf8');
      socket.on('data', (d: string) => (response += d));
      socket.on('error', () => undefined);
      socket.on('close', () => {
        clearInterval(timer);
        resolve({ response, closedAfterMs: Date.now() - started });
      });
      socket.on('connect', () => {
        socket.write(head);
        if (feed) timer = setInterval(() => feed((c) => !socket.destroyed && socket.write(c)), 1);
      });
      setTimeout(() => {
        socket.destroy();
        reject(new Error(`the endpoint kept reading for 10 s; got ${JSON.stringify(response.slice(0, 200))}`));
      }, 10_000).unref();
    });
  }

  test('an endless chunked upload is answered 413 and the connection closes', async () => {
    const url = new URL(endpoint.url);
    const chunk = `Message=${'x'.repeat(65_536)}`;
    const framed = `${Buffer.byteLength(chunk).toString(16)}\r\n${chunk}\r\n`;
    const head = `POST / HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n`;
    const { response } = await upload(head, (write) => {
      for (let i = 0; i < 4; i++) if (!write(framed)) break;
    });
    expect(response).toMatch(/^HTTP\/1\.1 413 /);
    expect(response).toMatch(/connection: close/i);
    expect(response).toContain('<Code>RequestEntityTooLarge</Code>');
  });

  test('a Content-Length over the limit is answered 413 before the body is sent', async () => {
    const url = new URL(endpoint.url);
    const head = `POST / HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 338000000\r\n\r\n`;
    const { response } = await upload(head);
    expect(response).toMatch(/^HTTP\/1\.1 413 /);
    expect(response).toContain('338000000');
  });

  test('50 endless uploads at once are each cut off, and the endpoint keeps serving', async () => {
    const url = new URL(endpoint.url);
    const chunk = 'x'.repeat(65_536);
    const framed = `${chunk.length.toString(16)}\r\n${chunk}\r\n`;
    const head = `POST / HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n`;
    const results = await Promise.all(Array.from({ length: 50 }, () => upload(head, (write) => void write(framed))));
    for (const r of results) expect(r.response).toMatch(/^HTTP\/1\.1 413 /);
    await sns.send(new PublishCommand({ TopicArn: TOPIC, Message: JSON.stringify(packet(receiver.port, 'after')) }));
    expect((await receiver.waitFor(1))[0].data.toString()).toBe('after');
  });
});

/** Tools outside node_modules: tested when present, skipped with the reason in the test name otherwise. */
const toolEnv = {
  PATH: process.env.PATH ?? '',
  HOME: process.env.HOME ?? '/tmp',
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  AWS_DEFAULT_REGION: 'us-east-1',
  AWS_REGION: 'us-east-1',
  AWS_CONFIG_FILE: '/nonexistent/packet-gateway-test-config',
  AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/packet-gateway-test-credentials',
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_PAGER: '',
};
const hasAwsCli = spawnSync('aws', ['--version'], { env: toolEnv }).status === 0;
const hasBoto3 = spawnSync('python3', ['-c', 'import boto3'], { env: toolEnv }).status === 0;

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, { env: toolEnv, timeout: 30_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${cmd} failed: ${stderr || err.message}`)) : resolve(stdout))),
  );
}

const cliTest = hasAwsCli ? test : test.skip;
cliTest(`AWS CLI sns publish --message delivers${hasAwsCli ? '' : ' (skipped: the aws command is not installed)'}`, async () => {
  const message = JSON.stringify({ Messages: [{ Data: 'aGk=', Remote: { Address: '127.0.0.1', Port: receiver.port } }] });
  const out = await run('aws', ['--endpoint-url', endpoint.url, 'sns', 'publish', '--topic-arn', TOPIC, '--message', message, '--output', 'json']);
  expect(JSON.parse(out).MessageId).toMatch(UUID);
  const [got] = await receiver.waitFor(1);
  expect(got.data.toString()).toBe('hi');
  expect(got.from.port).toBe(listener.port);
});

const botoTest = hasBoto3 ? test : test.skip;
botoTest(`boto3 publish of a single packet with Remote.IP delivers${hasBoto3 ? '' : ' (skipped: python3 with boto3 is not installed)'}`, async () => {
  const script = [
    'import boto3, json, sys',
    "sns = boto3.client('sns', endpoint_url=sys.argv[1], region_name='us-east-1')",
    "msg = json.dumps({'Data': 'Ym90bw==', 'Remote': {'IP': '127.0.0.1', 'Port': int(sys.argv[3])}})",
    "attrs = {'EgressRegion': {'DataType': 'String', 'StringValue': 'us-east-1'}}",
    "print(sns.publish(TopicArn=sys.argv[2], Message=msg, MessageAttributes=attrs)['MessageId'])",
  ].join('\n');
  const out = await run('python3', ['-c', script, endpoint.url, TOPIC, String(receiver.port)]);
  expect(out.trim()).toMatch(UUID);
  const [got] = await receiver.waitFor(1);
  expect(got.data.toString()).toBe('boto');
  expect(got.from.port).toBe(listener.port);
});
