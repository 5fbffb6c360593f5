/**
 * Dead letters follow the SDK's endpoint configuration: a local SQS-compatible HTTP server
 * records where each request goes (host, path and the QueueUrl in the body).
 */
import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SQSClient } from '@aws-sdk/client-sqs';
import { captureReports, failureRecord } from './support';
import { SqsDestination } from '../../../service/destinations/sqs-destination';
import { SqsDeadLetterSink } from '../../../service/sourcing/sqs-dead-letter-sink';

interface Seen {
  readonly headers: IncomingHttpHeaders;
  readonly url: string;
  readonly body: Record<string, unknown>;
}

let server: Server;
let seen: Seen[];
let endpoint: string;
const saved = process.env.AWS_ENDPOINT_URL_SQS;

beforeEach(async () => {
  seen = [];
  server = createServer((req, res) => {
    let text = '';
    req.on('data', (c) => (text += c));
    req.on('end', () => {
      seen.push({ headers: req.headers, url: req.url ?? '', body: JSON.parse(text || '{}') });
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(JSON.stringify({ Successful: [], Failed: [] }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_SQS;
  else process.env.AWS_ENDPOINT_URL_SQS = saved;
  await new Promise<void>((r) => server.close(() => r()));
});

const credentials = { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local' };

test('with AWS_ENDPOINT_URL_SQS set, dead letters go to that endpoint, on a queue URL of that endpoint', async () => {
  process.env.AWS_ENDPOINT_URL_SQS = endpoint;
  const reports = captureReports();
  const sink = new SqsDeadLetterSink({ sqs: new SQSClient({ region: 'us-east-1', credentials }), failures: reports });
  const accepted = sink.enqueue('arn:aws:sqs:us-east-1:111122223333:push-dlq', failureRecord(0));
  await sink.flush();
  expect(await accepted).toBe(true);
  expect(reports.failures).toEqual([]);
  expect(seen).toHaveLength(1);
  expect(seen[0].headers.host).toBe(endpoint.slice('http://'.length));
  expect(seen[0].headers['x-amz-target']).toBe('AmazonSQS.SendMessageBatch');
  expect(seen[0].body.QueueUrl).toBe(`${endpoint}/111122223333/push-dlq`);
});

test('a client given an endpoint sends there, for a queue in another region too', async () => {
  const sink = new SqsDeadLetterSink({
    sqs: new SQSClient({ region: 'us-east-1', credentials, endpoint }),
    clientForRegion: (region) => new SQSClient({ region, credentials, endpoint }),
  });
  const accepted = sink.enqueue('arn:aws:sqs:eu-central-1:111122223333:far-dlq', failureRecord(0));
  await sink.flush();
  expect(await accepted).toBe(true);
  expect(seen.map((s) => s.body.QueueUrl)).toEqual([`${endpoint}/111122223333/far-dlq`]);
});

test('an SQS destination named by ARN sends to the configured endpoint too', async () => {
  process.env.AWS_ENDPOINT_URL_SQS = endpoint;
  const dest = new SqsDestination({ Name: 'q', Type: 'sqs', Arn: 'arn:aws:sqs:us-east-1:123456789012:telemetry' }, new SQSClient({ region: 'us-east-1', credentials }));
  const packet = { json: '{"Data":"aGk="}', bytes: 15, tag: 't'.repeat(20), remoteAddress: '203.0.113.5', remotePort: 9 };
  expect(await dest.deliver([packet as never])).toEqual({});
  expect(seen.map((s) => [s.headers.host, s.body.QueueUrl])).toEqual([[endpoint.slice('http://'.length), `${endpoint}/123456789012/telemetry`]]);
});
