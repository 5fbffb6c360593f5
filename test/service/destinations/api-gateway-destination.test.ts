/**
 * API Gateway destinations against an API Gateway-shaped server on loopback that checks each
 * request's SigV4 signature (recomputed with the same credentials, service execute-api) and
 * answers Replies or errors as a stage would.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ResolvedDestinationRecord } from '../../../lib/private/records';
import { ApiGatewayDestination } from '../../../service/destinations/api-gateway-destination';
import { SignedApiGatewayInvoker } from '../../../service/destinations/api-gateway-invoker';
import type { QueuedPacket } from '../../../service/destinations/packet';
import { LoopbackAwsEndpoint } from '../../support/loopback-aws-endpoint';
import { ReceivedRequest, Sha256, signatureMatches } from '../../support/sigv4';

const CREDENTIALS = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', sessionToken: 'session-token' };
const REST_ARN = 'arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/POST/measurements';
const HTTP_ARN = 'arn:aws:execute-api:us-east-2:123456789012:f6g7h8i9j0/$default/PUT/devices/d-1';

type Answer = { status: number; headers?: Record<string, string>; body?: string } | 'hang' | 'huge' | 'reset-reused';

/** A stage: checks the signature like API Gateway's AWS_IAM authorization (403 when it does not match), then answers. */
class FakeStage extends LoopbackAwsEndpoint {
  answer: Answer = { status: 200, body: '' };
  region = 'eu-west-1';
  /** Connections that have carried a request. */
  private readonly used = new WeakSet<object>();

  protected async respond(received: ReceivedRequest, res: ServerResponse, req: IncomingMessage): Promise<void> {
    if (!(await signatureMatches(received, { region: this.region, service: 'execute-api', credentials: CREDENTIALS }))) {
      res.writeHead(403, { 'x-amzn-ErrorType': 'InvalidSignatureException:http://internal.amazon.com/coral/com.amazon.coral.service/', 'content-type': 'application/json' });
      res.end('{"message":"The request signature we calculated does not match the signature you provided."}');
      return;
    }
    const answer = this.answer;
    if (answer === 'hang') return;
    if (answer === 'reset-reused' && this.used.has(req.socket)) {
      // as a server that closed an idle kept-alive connection: the request is lost, no answer
      req.socket.destroy();
      return;
    }
    this.used.add(req.socket);
    if (answer === 'reset-reused') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"Replies":[]}');
      return;
    }
    if (answer === 'huge') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('x'.repeat(4096));
      return;
    }
    res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
    res.end(answer.body ?? '');
  }
}

function packet(tag: string): QueuedPacket {
  const json = JSON.stringify({ Tag: tag, Data: 'MjEuNSA0Mg==' });
  return { json, bytes: json.length, tag, remoteAddress: '203.0.113.5', remotePort: 4000, data: 'MjEuNSA0Mg==', receivedAt: 0 };
}

function record(arn = REST_ARN): ResolvedDestinationRecord {
  return { Name: 'adafruit', Type: 'apigateway', Arn: arn };
}

describe('ApiGatewayDestination', () => {
  const stage = new FakeStage();
  let endpoint: string;
  const invokers: SignedApiGatewayInvoker[] = [];
  const invoker = (options: { timeoutMs?: number; maxAnswerBytes?: number; secretAccessKey?: string } = {}): SignedApiGatewayInvoker => {
    const credentials = { ...CREDENTIALS, ...(options.secretAccessKey ? { secretAccessKey: options.secretAccessKey } : {}) };
    const made = new SignedApiGatewayInvoker({ credentials: async () => credentials, sha256: Sha256, endpoint, ...options });
    invokers.push(made);
    return made;
  };

  beforeAll(async () => {
    endpoint = await stage.start();
  });
  afterAll(async () => {
    for (const i of invokers) i.destroy();
    await stage.stop();
  });
  beforeEach(() => {
    stage.received.length = 0;
    stage.answer = { status: 200, body: '' };
    stage.region = 'eu-west-1';
  });

  test('POSTs {"Messages":[…]} to the stage route, signed for execute-api, and returns the Replies of a 2xx answer', async () => {
    stage.answer = { status: 200, body: '{"Replies":[{"Tag":"a","Data":"U1VDQ0VTUw=="}]}' };
    const result = await new ApiGatewayDestination(record(), invoker()).deliver([packet('a'), packet('b')]);
    expect(result).toEqual({ response: { Replies: [{ Tag: 'a', Data: 'U1VDQ0VTUw==' }] } });
    const [sent] = stage.received;
    expect(stage.received).toHaveLength(1);
    expect(sent.method).toBe('POST');
    expect(sent.path).toBe('/prod/measurements');
    expect(sent.headers['content-type']).toBe('application/json');
    expect(JSON.parse(sent.body.toString())).toEqual({ Messages: [JSON.parse(packet('a').json), JSON.parse(packet('b').json)] });
    expect(sent.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=[^,]*host[^,]*x-amz-security-token/);
    expect(await signatureMatches(sent, { region: 'eu-west-1', service: 'execute-api', credentials: CREDENTIALS })).toBe(true);
  });

  test('the signature check can fail: a wrong key is refused by the stage, and that fails the batch with the status and error type', async () => {
    const sent = new ApiGatewayDestination(record(), invoker({ secretAccessKey: 'not-the-key' })).deliver([packet('a')]);
    await expect(sent).rejects.toThrow(
      'API Gateway answered POST a1b2c3d4e5/prod/measurements with HTTP 403 (InvalidSignatureException): '
      + '"{\\"message\\":\\"The request signature we calculated does not match the signature you provided.\\"}"',
    );
    expect(await signatureMatches(stage.received[0], { region: 'eu-west-1', service: 'execute-api', credentials: CREDENTIALS })).toBe(false);
  });

  test('an HTTP API $default stage has no stage segment; the ARN\'s method and region are used', async () => {
    stage.region = 'us-east-2';
    stage.answer = { status: 202, body: 'null' };
    expect(await new ApiGatewayDestination(record(HTTP_ARN), invoker()).deliver([packet('a')])).toEqual({ response: null });
    expect(stage.received[0].method).toBe('PUT');
    expect(stage.received[0].path).toBe('/devices/d-1');
    expect(stage.received[0].headers.authorization).toContain('/us-east-2/execute-api/aws4_request');
  });

  test('an empty 2xx body is no reply; a body that is not JSON is a response error', async () => {
    stage.answer = { status: 204 };
    expect(await new ApiGatewayDestination(record(), invoker()).deliver([packet('a')])).toEqual({});
    stage.answer = { status: 200, body: '<html>ok</html>' };
    expect(await new ApiGatewayDestination(record(), invoker()).deliver([packet('a')])).toEqual({
      responseError: 'API Gateway answer of 15 bytes to POST a1b2c3d4e5/prod/measurements is not JSON (allowed: {"Replies":[…]} or null)',
    });
  });

  test('an error answer fails the batch with the status and a bounded excerpt of the body', async () => {
    const body = `{"message": "Internal server error",\n "detail": "${'y'.repeat(5000)}"}`;
    stage.answer = { status: 502, body };
    const error = (await new ApiGatewayDestination(record(), invoker()).deliver([packet('a')]).catch((e: Error) => e)) as Error;
    expect(error.name).toBe('DestinationError');
    expect(error.message).toMatch(/^API Gateway answered POST a1b2c3d4e5\/prod\/measurements with HTTP 502: "\{\\"message\\": \\"Internal server error\\", \\"detail\\": \\"y+"… \(5051 bytes\)$/);
    expect(Buffer.byteLength(body)).toBe(5051);
    expect(error.message.length).toBeLessThan(400);
  });

  test('a stage that does not answer in time fails the batch, and the time is bounded', async () => {
    stage.answer = 'hang';
    const started = Date.now();
    await expect(new ApiGatewayDestination(record(), invoker({ timeoutMs: 200 })).deliver([packet('a')]))
      .rejects.toThrow('API Gateway request POST a1b2c3d4e5/prod/measurements failed: no complete answer within 200 ms');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  test('an answer larger than the limit fails the batch', async () => {
    stage.answer = 'huge';
    await expect(new ApiGatewayDestination(record(), invoker({ maxAnswerBytes: 1024 })).deliver([packet('a')]))
      .rejects.toThrow('failed: the answer is larger than 1024 bytes');
  });

  test('a request lost on a kept-alive connection the stage had closed is sent once more on a new one', async () => {
    stage.answer = 'reset-reused';
    const destination = new ApiGatewayDestination(record(), invoker());
    expect(await destination.deliver([packet('a')])).toEqual({ response: { Replies: [] } });
    expect(await destination.deliver([packet('b')])).toEqual({ response: { Replies: [] } });
    // the second batch reached the stage twice: on the kept-alive connection (reset), then on a new one
    expect(stage.received).toHaveLength(3);
    expect(stage.received[1].body).toEqual(stage.received[2].body);
  });

  test('a stage that cannot be reached fails the batch naming the route', async () => {
    const closed = new SignedApiGatewayInvoker({ credentials: async () => CREDENTIALS, sha256: Sha256, endpoint: 'http://127.0.0.1:1' });
    await expect(new ApiGatewayDestination(record(), closed).deliver([packet('a')])).rejects.toThrow(/^API Gateway request POST a1b2c3d4e5\/prod\/measurements failed: connect ECONNREFUSED/);
    closed.destroy();
  });

  test('a record without an execute-api ARN of a route cannot be built', () => {
    expect(() => new ApiGatewayDestination(record('arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/*/*'), invoker()))
      .toThrow('destination adafruit: Arn "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/*/*" is not the execute-api ARN of a stage, method and path');
  });
});
