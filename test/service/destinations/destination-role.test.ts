/**
 * A destination with a `Role` is delivered to with the role's credentials, whatever its type: every
 * request reaches a local HTTP endpoint that records the access key of its SigV4 signature.
 */
import { createServer, IncomingMessage, Server } from 'node:http';
import { createServer as createHttp2Server, Http2ServerRequest, Http2Server } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { AwsModeGateway, awsModeGateway } from './aws-mode-gateway';
import type { DestinationRecord, ListenerRecord } from '../../../lib/private/records';
import type { DestinationContext } from '../../../service/destinations/destination';
import { createDestination } from '../../../service/destinations/destination-factory';
import type { QueuedPacket } from '../../../service/destinations/packet';

const ROLE = { Arn: 'arn:aws:iam::210987654321:role/delivery', ExternalId: '123456789012' };
const ROLE_KEY = 'ASIAROLEDELIVERY';
const FLEET_KEY = 'AKIAFLEETOWN';
const listener: ListenerRecord = { Name: 'demo', Protocol: 'udp', Port: 5555, Destinations: [] };

/** One record per type whose service module builds its own client (Lambda and SQS have their own tests). */
const RECORDS: readonly DestinationRecord[] = [
  { Name: 's3', Type: 's3', Arn: 'arn:aws:s3:::packets-bucket' },
  { Name: 'sfn', Type: 'stepfunctions', Arn: 'arn:aws:states:us-east-1:210987654321:stateMachine:flow', Arguments: { StateMachineType: 'STANDARD' } },
  { Name: 'api', Type: 'apigateway', Arn: 'arn:aws:execute-api:us-east-1:210987654321:a1b2c3d4e5/prod/POST/measurements' },
  { Name: 'ddb', Type: 'dynamodb', Arn: 'arn:aws:dynamodb:us-east-1:210987654321:table/packets' },
  { Name: 'kinesis', Type: 'kinesis', Arn: 'arn:aws:kinesis:us-east-1:210987654321:stream/packets' },
  { Name: 'firehose', Type: 'firehose', Arn: 'arn:aws:firehose:us-east-1:210987654321:deliverystream/packets' },
  { Name: 'sns', Type: 'sns', Arn: 'arn:aws:sns:us-east-1:210987654321:packets' },
  { Name: 'events', Type: 'eventbridge', Arn: 'arn:aws:events:us-east-1:210987654321:event-bus/packets' },
  { Name: 'logs', Type: 'logs', Arn: 'arn:aws:logs:us-east-1:210987654321:log-group:packets' },
];

function packet(): QueuedPacket {
  const json = JSON.stringify({
    Tag: 't1',
    Remote: { IpAddress: '203.0.113.5', Port: 4000 },
    Local: { Domain: 'demo', Port: 5555, IpAddress: '198.51.100.7', Protocol: 'udp' },
    ReceivedAt: new Date().toISOString(),
    IngressRegion: 'us-east-1',
    Formatter: 'base64',
    Data: 'AQID',
  });
  return { json, bytes: json.length, tag: 't1', remoteAddress: '203.0.113.5', remotePort: 4000, data: 'AQID', receivedAt: Date.now() };
}

/** The access key id of a request's SigV4 `Authorization` header. */
function accessKeyOf(req: IncomingMessage | Http2ServerRequest): string {
  return /Credential=([^/]+)\//.exec(req.headers.authorization ?? '')?.[1] ?? '(unsigned)';
}

describe('destinations with a Role sign with the role\'s credentials', () => {
  const saved = { ...process.env };
  const keys: string[] = [];
  let server: Server;
  /** Kinesis clients speak HTTP/2. */
  let http2Server: Http2Server;

  beforeAll(async () => {
    server = createServer((req, res) => {
      keys.push(accessKeyOf(req));
      req.resume();
      // 403: refused, and not retried by the SDK
      res.writeHead(403, { 'content-type': 'application/json' }).end('{"__type":"AccessDeniedException","message":"recorded"}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    http2Server = createHttp2Server((req, res) => {
      keys.push(accessKeyOf(req));
      req.resume();
      res.writeHead(403, { 'content-type': 'application/x-amz-json-1.1' }).end('{"__type":"AccessDeniedException","message":"recorded"}');
    });
    await new Promise<void>((resolve) => http2Server.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: endpoint,
      AWS_ENDPOINT_URL_KINESIS: `http://127.0.0.1:${(http2Server.address() as AddressInfo).port}`,
      AWS_ENDPOINT_URL_EXECUTE_API: endpoint,
      AWS_ACCESS_KEY_ID: FLEET_KEY,
      AWS_SECRET_ACCESS_KEY: 'fleet-secret',
      AWS_REGION: 'us-east-1',
    });
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_PROFILE;
  });

  afterAll(async () => {
    process.env = saved;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await new Promise<void>((resolve) => http2Server.close(() => resolve()));
  });

  const gateway = (): AwsModeGateway => awsModeGateway(ROLE_KEY);

  async function signerOf(record: DestinationRecord, context: DestinationContext): Promise<string[]> {
    keys.length = 0;
    const destination = await createDestination(record, listener, context);
    try {
      await destination.deliver([packet()]);
    } catch {
      // the endpoint refuses every request; only who signed it matters here
    }
    await destination.close?.();
    return [...new Set(keys)];
  }

  test.each(RECORDS.map((r) => [r.Type, r] as const))('%s: with a Role, every request is signed with the assumed role\'s key', async (_type, record) => {
    const { gateway: g, context, sts } = gateway();
    try {
      expect(await signerOf({ ...record, Role: ROLE }, context)).toEqual([ROLE_KEY]);
      expect(sts).toEqual([expect.objectContaining({ RoleArn: ROLE.Arn, ExternalId: ROLE.ExternalId })]);
    } finally {
      await g.stop();
    }
  });

  test.each(RECORDS.map((r) => [r.Type, r] as const))('%s: without a Role, requests are signed with the fleet\'s own key', async (_type, record) => {
    const { gateway: g, context, sts } = gateway();
    try {
      expect(await signerOf(record, context)).toEqual([FLEET_KEY]);
      expect(sts).toEqual([]);
    } finally {
      await g.stop();
    }
  });

  test('one context per role and ExternalId; its clients are created once and sign as the role', async () => {
    const { gateway: g, context } = gateway();
    try {
      const asRole = context.forRole(ROLE);
      expect(context.forRole({ ...ROLE })).toBe(asRole);
      expect(context.forRole({ ...ROLE, ExternalId: 'another' })).not.toBe(asRole);
      expect(asRole.snsClient()).toBe(asRole.snsClient());
      expect(asRole.snsClient()).not.toBe(context.snsClient());
      expect(asRole.dynamoDbClient('eu-west-1')).not.toBe(asRole.dynamoDbClient('us-east-1'));
      expect((await asRole.kinesisClient().config.credentials()).accessKeyId).toBe(ROLE_KEY);
      expect(asRole.sqsClient()).toBe(context.sqsClient(ROLE));
      expect(asRole.lambdaInvoker()).toBe(context.lambdaInvoker({ role: ROLE }));
    } finally {
      await g.stop();
    }
  });
});
