/**
 * The direct Invoke path against a Lambda-shaped HTTP server on loopback: the request it sends is
 * the SDK's request (method, path, headers that matter, body), correctly signed with SigV4, and
 * every answer but a 2xx goes through the SDK client, whose errors and retries then apply.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SignatureV4 } from '@smithy/signature-v4';
import { DirectLambdaInvoker, SdkLambdaInvoker } from '../../../service/destinations/lambda-invoker';
import { RoleCredentials } from '../../../service/destinations/role-credentials';
import { LoopbackAwsEndpoint } from '../../support/loopback-aws-endpoint';
import { ReceivedRequest, signatureMatches as signedAs } from '../../support/sigv4';

const ARN = 'arn:aws:lambda:eu-west-1:123456789012:function:telemetry:live';
const CREDENTIALS = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', sessionToken: 'session-token' };

type Answer = { status: number; headers?: Record<string, string>; body?: string } | 'hang-up';

class FakeLambda extends LoopbackAwsEndpoint {
  answers: Answer[] = [];

  protected respond(_request: ReceivedRequest, res: ServerResponse, req: IncomingMessage): void {
    const answer = this.answers.length > 1 ? this.answers.shift()! : this.answers[0] ?? { status: 200, body: '' };
    if (answer === 'hang-up') {
      req.socket.destroy();
      return;
    }
    res.writeHead(answer.status, answer.headers ?? {});
    res.end(answer.body ?? '');
  }
}

/** The request's SigV4 signature, recomputed from what arrived on the wire, is the one it carries (and its body the signed one). */
function signatureMatches(r: ReceivedRequest, region: string, credentials: typeof CREDENTIALS = CREDENTIALS): Promise<boolean> {
  return signedAs(r, { region, service: 'lambda', credentials });
}

/** The Invoke path of `functionName` as sent. */
function invokePath(functionName: string): string {
  return `/2015-03-31/functions/${encodeURIComponent(functionName)}/invocations`;
}

describe('DirectLambdaInvoker', () => {
  const lambda = new FakeLambda();
  let endpoint: string;
  const client = (extra: Record<string, unknown> = {}): LambdaClient =>
    new LambdaClient({ region: 'eu-west-1', endpoint, credentials: CREDENTIALS, maxAttempts: 1, ...extra });

  beforeAll(async () => {
    endpoint = await lambda.start();
  });
  afterAll(() => lambda.stop());
  beforeEach(() => {
    lambda.received.length = 0;
    lambda.answers = [];
  });

  test('sends the request the SDK sends, signed, and returns the function\'s payload', async () => {
    const payload = Buffer.from('{"Messages":[{"Tag":"t","Data":"aGk="}]}');
    lambda.answers = [{ status: 200, body: '{"Replies":[{"Tag":"t","Data":"b2s="}]}' }];
    const c = client();
    const direct = await new DirectLambdaInvoker(c).invoke(ARN, payload);
    expect(Buffer.from(direct.payload!).toString()).toBe('{"Replies":[{"Tag":"t","Data":"b2s="}]}');
    expect(direct.functionError).toBeUndefined();
    await new SdkLambdaInvoker(c).invoke(ARN, payload);

    const [ours, sdk] = lambda.received;
    expect(lambda.received).toHaveLength(2);
    expect(ours.method).toBe(sdk.method);
    expect(ours.path).toBe(sdk.path);
    expect(ours.path).toBe('/2015-03-31/functions/arn%3Aaws%3Alambda%3Aeu-west-1%3A123456789012%3Afunction%3Atelemetry%3Alive/invocations');
    expect(ours.body).toEqual(sdk.body);
    for (const name of ['host', 'content-type', 'content-length', 'x-amz-invocation-type', 'x-amz-security-token', 'x-amz-content-sha256']) {
      expect([name, ours.headers[name]]).toEqual([name, sdk.headers[name]]);
    }
    expect(ours.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE\/\d{8}\/eu-west-1\/lambda\/aws4_request, SignedHeaders=[^,]*x-amz-security-token/);
    expect(await signatureMatches(ours, 'eu-west-1')).toBe(true);
    expect(await signatureMatches(sdk, 'eu-west-1')).toBe(true);
  });

  test('signs the SDK\'s signable headers, content-type and content-length included; user-agent is sent unsigned, as SigV4 leaves it', async () => {
    await new DirectLambdaInvoker(client()).invoke(ARN, Buffer.from('{"Messages":[]}'));
    const sent = lambda.received[0];
    expect(sent.headers['user-agent']).toBe('packet-gateway lambda-invoke');
    expect(/SignedHeaders=([^,]*),/.exec(sent.headers.authorization)?.[1])
      .toBe('content-length;content-type;host;x-amz-content-sha256;x-amz-date;x-amz-invocation-type;x-amz-security-token');
    expect(await signatureMatches(sent, 'eu-west-1')).toBe(true);
  });

  test('a tampered body no longer matches its signature (the check above can fail)', async () => {
    await new DirectLambdaInvoker(client()).invoke(ARN, Buffer.from('{"Messages":[]}'));
    const sent = lambda.received[0];
    expect(await signatureMatches(sent, 'eu-west-1')).toBe(true);
    expect(await signatureMatches({ ...sent, body: Buffer.from('{"Messages":[1]}') }, 'eu-west-1')).toBe(false);
    expect(await signatureMatches({ ...sent, path: sent.path.replace('telemetry', 'other') }, 'eu-west-1')).toBe(false);
  });

  test('signs with the client\'s clock offset, as the SDK does after a clock-skew correction', async () => {
    const c = client();
    c.config.systemClockOffset = 3_600_000;
    await new DirectLambdaInvoker(c).invoke(ARN, Buffer.from('{}'));
    const amzDate = lambda.received[0].headers['x-amz-date'];
    const fields = [[0, 4], [4, 6], [6, 8], [9, 11], [11, 13], [13, 15]];
    const [year, month, day, hour, minute, second] = fields.map(([a, b]) => Number(amzDate.slice(a, b)));
    const sent = Date.UTC(year, month - 1, day, hour, minute, second);
    expect(Math.abs(sent - (Date.now() + 3_600_000))).toBeLessThan(5_000);
    expect(await signatureMatches(lambda.received[0], 'eu-west-1')).toBe(true);
  });

  test('a function error comes back with its payload', async () => {
    lambda.answers = [{ status: 200, headers: { 'X-Amz-Function-Error': 'Unhandled' }, body: '{"errorType":"TypeError","errorMessage":"x is undefined"}' }];
    const out = await new DirectLambdaInvoker(client()).invoke(ARN, Buffer.from('{}'));
    expect(out.functionError).toBe('Unhandled');
    expect(JSON.parse(Buffer.from(out.payload!).toString())).toEqual({ errorType: 'TypeError', errorMessage: 'x is undefined' });
    expect(lambda.received).toHaveLength(1);
  });

  test('a throttle is sent again through the SDK, whose error names it', async () => {
    lambda.answers = [{
      status: 429,
      headers: { 'x-amzn-ErrorType': 'TooManyRequestsException', 'content-type': 'application/json' },
      body: '{"Reason":"ReservedFunctionConcurrentInvocationLimitExceeded","Type":"User","message":"Rate Exceeded."}',
    }];
    const invoke = new DirectLambdaInvoker(client()).invoke(ARN, Buffer.from('{}'));
    await expect(invoke).rejects.toMatchObject({ name: 'TooManyRequestsException', message: 'Rate Exceeded.', Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded' });
    expect(lambda.received).toHaveLength(2);
    expect(lambda.received[0].headers['amz-sdk-request']).toBeUndefined();
    expect(lambda.received[1].headers['amz-sdk-request']).toBe('attempt=1; max=1');
  });

  test('an error answer the SDK then gets past (a retried 5xx) returns the SDK\'s result', async () => {
    lambda.answers = [
      { status: 503, headers: { 'x-amzn-ErrorType': 'ServiceException' }, body: '{"message":"busy"}' },
      { status: 200, body: '{"Replies":[]}' },
    ];
    const out = await new DirectLambdaInvoker(client()).invoke(ARN, Buffer.from('{}'));
    expect(Buffer.from(out.payload!).toString()).toBe('{"Replies":[]}');
    expect(lambda.received).toHaveLength(2);
  });

  test('a missing function is the SDK\'s ResourceNotFoundException', async () => {
    lambda.answers = [{ status: 404, headers: { 'x-amzn-ErrorType': 'ResourceNotFoundException' }, body: '{"Type":"User","Message":"Function not found: telemetry"}' }];
    await expect(new DirectLambdaInvoker(client()).invoke(ARN, Buffer.from('{}'))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  test('a connection that breaks is retried through the SDK', async () => {
    lambda.answers = ['hang-up', { status: 200, body: 'null' }];
    const out = await new DirectLambdaInvoker(client()).invoke(ARN, Buffer.from('{}'));
    expect(Buffer.from(out.payload!).toString()).toBe('null');
    expect(lambda.received).toHaveLength(2);
  });

  test('credentials that cannot be loaded fail through the SDK with its error', async () => {
    const c = client({ credentials: () => Promise.reject(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' })) });
    await expect(new DirectLambdaInvoker(c).invoke(ARN, Buffer.from('{}'))).rejects.toThrow('Could not load credentials');
    expect(lambda.received).toHaveLength(0);
  });

  test('function names, partial ARNs and qualifiers take the SDK\'s path', async () => {
    const c = client();
    for (const name of ['telemetry', '123456789012:function:telemetry', 'telemetry:$LATEST', 'arn:aws:lambda:eu-west-1:123456789012:function:telemetry:7']) {
      lambda.received.length = 0;
      await new DirectLambdaInvoker(c).invoke(name, Buffer.from('{}'));
      await new SdkLambdaInvoker(c).invoke(name, Buffer.from('{}'));
      expect(lambda.received[0].path).toBe(lambda.received[1].path);
      expect(await signatureMatches(lambda.received[0], 'eu-west-1')).toBe(true);
    }
  });

  test('the SDK\'s signer canonicalizes a function\'s path once, and the requests still carry the path and signature the SDK writes', async () => {
    const canonicalize = jest.spyOn(SignatureV4.prototype as unknown as { getCanonicalPath: (request: { path: string }) => string }, 'getCanonicalPath');
    try {
      const c = client();
      const invoker = new DirectLambdaInvoker(c);
      for (let i = 0; i < 3; i++) await invoker.invoke(ARN, Buffer.from(`{"Messages":[${i}]}`));
      await invoker.invoke('telemetry', Buffer.from('{}'));
      /** Paths canonicalized with escaping (the signer handed the canonical form does not escape it again). */
      const escaped = (): string[] => canonicalize.mock.calls
        .filter((_, i) => (canonicalize.mock.contexts[i] as { uriEscapePath?: boolean }).uriEscapePath !== false)
        .map(([request]) => request.path);
      // one call to find the signer has it, then one per function name, none per request
      expect(escaped()).toEqual(['/', invokePath(ARN), invokePath('telemetry')]);
      canonicalize.mockClear();
      await new SdkLambdaInvoker(c).invoke(ARN, Buffer.from('{"Messages":[0]}'));
      expect(escaped()).toEqual([invokePath(ARN)]); // the SDK's own path canonicalizes at every request
      const direct = lambda.received.slice(0, 4);
      const sdk = lambda.received[4];
      expect(direct[0].path).toBe(sdk.path);
      expect(direct[3].path).toBe(invokePath('telemetry'));
      for (const sent of direct) expect(await signatureMatches(sent, 'eu-west-1')).toBe(true);
      expect(direct.map((r) => r.headers['x-amz-content-sha256'])).toEqual(direct.map((r) => createHash('sha256').update(r.body).digest('hex')));
      expect(direct[0].headers['x-amz-content-sha256']).toBe(sdk.headers['x-amz-content-sha256']);
    } finally {
      canonicalize.mockRestore();
    }
  });

  test('when the SDK\'s signer does not give its canonical path, it canonicalizes at every request, as in the SDK', async () => {
    type Canonicalizing = { getCanonicalPath: (request: { path: string }) => unknown };
    const prototype = SignatureV4.prototype as unknown as Canonicalizing;
    const original = prototype.getCanonicalPath;
    // the probe made once per route gets no answer; the signer's own calls are answered
    const canonicalize = jest.spyOn(prototype, 'getCanonicalPath').mockImplementation(function (this: unknown, request: { path: string }) {
      return request.path === '/' ? undefined : original.call(this, request);
    });
    try {
      const invoker = new DirectLambdaInvoker(client());
      await invoker.invoke(ARN, Buffer.from('{}'));
      await invoker.invoke(ARN, Buffer.from('{}'));
      expect(canonicalize.mock.calls.map(([request]) => request.path)).toEqual(['/', invokePath(ARN), invokePath(ARN)]);
    } finally {
      canonicalize.mockRestore();
    }
    for (const sent of lambda.received) expect(await signatureMatches(sent, 'eu-west-1')).toBe(true);
  });

  test('an endpoint with a path prefix keeps it, as the SDK does', async () => {
    const c = client({ endpoint: `${endpoint}/lambda-proxy` });
    await new DirectLambdaInvoker(c).invoke(ARN, Buffer.from('{}'));
    await new SdkLambdaInvoker(c).invoke(ARN, Buffer.from('{}'));
    expect(lambda.received[0].path).toMatch(/^\/lambda-proxy\/2015-03-31\/functions\//);
    expect(lambda.received[0].path).toBe(lambda.received[1].path);
    expect(await signatureMatches(lambda.received[0], 'eu-west-1')).toBe(true);
  });

  test('an endpoint configured in the environment (AWS_ENDPOINT_URL_LAMBDA) is used, as by the SDK', async () => {
    process.env.AWS_ENDPOINT_URL_LAMBDA = endpoint;
    try {
      const c = new LambdaClient({ region: 'eu-west-1', credentials: CREDENTIALS, maxAttempts: 1 });
      lambda.answers = [{ status: 200, body: '{"Replies":[]}' }];
      const out = await new DirectLambdaInvoker(c).invoke(ARN, Buffer.from('{}'));
      expect(Buffer.from(out.payload!).toString()).toBe('{"Replies":[]}');
      expect(lambda.received).toHaveLength(1);
      expect(lambda.received[0].headers['amz-sdk-request']).toBeUndefined();
    } finally {
      delete process.env.AWS_ENDPOINT_URL_LAMBDA;
    }
  });

  test('credentials are read for every request, so refreshed credentials are used', async () => {
    let issued = 0;
    const c = client({
      credentials: async () => ({ accessKeyId: `AKIAIOSFODNN7EXAMPL${issued++}`, secretAccessKey: CREDENTIALS.secretAccessKey, expiration: new Date(Date.now() + 60_000) }),
    });
    const invoker = new DirectLambdaInvoker(c);
    await invoker.invoke(ARN, Buffer.from('{}'));
    await invoker.invoke(ARN, Buffer.from('{}'));
    const keys = lambda.received.map((r) => /Credential=([^/]+)\//.exec(r.headers.authorization)?.[1]);
    // credentials expiring within minutes are fetched again for each request (the SDK's refresh window)
    expect(keys).toHaveLength(2);
    expect(keys[0]).toMatch(/^AKIAIOSFODNN7EXAMPL\d+$/);
    expect(keys[1]).not.toBe(keys[0]);
  });

  test('after a fallback the next Invokes go through the SDK for a while, and the fallback is reported', async () => {
    lambda.answers = [{ status: 429, headers: { 'x-amzn-ErrorType': 'TooManyRequestsException' }, body: '{"message":"Rate Exceeded."}' }, { status: 200, body: 'null' }];
    const reasons: string[] = [];
    const invoker = new DirectLambdaInvoker(client({ maxAttempts: 2 }), (reason) => reasons.push(reason));
    await invoker.invoke(ARN, Buffer.from('{}'));
    await invoker.invoke(ARN, Buffer.from('{}'));
    expect(lambda.received.map((r) => r.headers['amz-sdk-request'])).toEqual([undefined, 'attempt=1; max=2', 'attempt=1; max=2']);
    expect(reasons).toHaveLength(1); // one fallback: the second Invoke went to the SDK for the cool-down, not as a fallback
    expect(reasons).toEqual(['HTTP 429 TooManyRequestsException']);
  });

  test('the cool-down after a fallback is per function: other functions still go direct', async () => {
    const notFound = { status: 404, headers: { 'x-amzn-ErrorType': 'ResourceNotFoundException' }, body: '{"Message":"Function not found"}' };
    lambda.answers = [notFound, notFound, { status: 200, body: 'null' }];
    const invoker = new DirectLambdaInvoker(client());
    await expect(invoker.invoke('missing', Buffer.from('{}'))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    lambda.received.length = 0;
    await invoker.invoke(ARN, Buffer.from('{}'));
    expect(lambda.received.map((r) => r.headers['amz-sdk-request'])).toEqual([undefined]);
  });

  test('a client the direct path cannot reproduce (an HTTP/2 handler) is used through the SDK, and says so once', async () => {
    const seen: string[] = [];
    const h2 = {
      metadata: { handlerProtocol: 'h2' },
      handle: async (request: { headers: Record<string, string> }) => {
        seen.push(request.headers['amz-sdk-request'] ?? 'direct');
        return { response: { statusCode: 200, headers: {}, body: new Uint8Array(0) } };
      },
    };
    const reasons: string[] = [];
    const invoker = new DirectLambdaInvoker(new LambdaClient({ region: 'eu-west-1', credentials: CREDENTIALS, requestHandler: h2 as never }), (r) => reasons.push(r));
    await invoker.invoke(ARN, Buffer.from('{}'));
    await invoker.invoke(ARN, Buffer.from('{}'));
    expect(seen).toEqual(['attempt=1; max=3', 'attempt=1; max=3']);
    expect(reasons).toEqual(['direct Invoke path not used: the client\'s HTTP handler speaks h2']);
  });

  test('the clock offset is sampled from each answer\'s Date header, as the SDK does', async () => {
    const ahead = new Date(Date.now() + 3_600_000);
    lambda.answers = [{ status: 200, headers: { Date: ahead.toUTCString() }, body: 'null' }];
    const c = client();
    await new DirectLambdaInvoker(c).invoke(ARN, Buffer.from('{}'));
    expect(Math.abs(c.config.systemClockOffset - 3_600_000)).toBeLessThan(2_000);
  });

  test('FIPS and dual-stack settings pick the endpoint the SDK would', async () => {
    const seen: string[] = [];
    const capture = {
      handle: async (request: { hostname: string; path: string }) => {
        seen.push(`${request.hostname}${request.path}`);
        return { response: { statusCode: 200, headers: {}, body: new Uint8Array(0) } };
      },
    };
    const c = new LambdaClient({ region: 'us-east-1', credentials: CREDENTIALS, useFipsEndpoint: true, useDualstackEndpoint: true, requestHandler: capture as never });
    await new DirectLambdaInvoker(c).invoke(ARN, Buffer.from('{}'));
    await new SdkLambdaInvoker(c).invoke(ARN, Buffer.from('{}'));
    expect(seen).toHaveLength(2);
    expect(seen[0]).toBe(seen[1]);
    expect(seen[0]).toMatch(/^lambda-fips\.us-east-1\.api\.aws\//);
  });
  test('an asynchronous invocation with a tenant id: the SDK\'s headers, signed, and the 202 answer taken as success', async () => {
    lambda.answers = [{ status: 202, body: '' }];
    const c = client();
    const payload = Buffer.from('{"Messages":[]}');
    const out = await new DirectLambdaInvoker(c).invoke(ARN, payload, { invocationType: 'Event', tenantId: 'customer-123' });
    expect(out.functionError).toBeUndefined();
    await new SdkLambdaInvoker(c).invoke(ARN, payload, { invocationType: 'Event', tenantId: 'customer-123' });
    const [ours, sdk] = lambda.received;
    expect(lambda.received).toHaveLength(2);
    for (const name of ['x-amz-invocation-type', 'x-amz-tenant-id']) expect([name, ours.headers[name]]).toEqual([name, sdk.headers[name]]);
    expect(ours.headers['x-amz-invocation-type']).toBe('Event');
    expect(ours.headers['x-amz-tenant-id']).toBe('customer-123');
    expect(ours.headers.authorization).toMatch(/SignedHeaders=[^,]*x-amz-tenant-id/);
    expect(await signatureMatches(ours, 'eu-west-1')).toBe(true);
  });

  test('a client with a destination Role signs with the role\'s assumed credentials', async () => {
    const assumed = { accessKeyId: 'ASIAASSUMEDEXAMPLE01', secretAccessKey: 'assumed-secret', sessionToken: 'assumed-token' };
    const inputs: unknown[] = [];
    const sts = {
      send: async (command: { input: unknown }) => {
        inputs.push(command.input);
        const expiration = new Date(Date.now() + 3_600_000);
        const { accessKeyId, secretAccessKey, sessionToken } = assumed;
        return { Credentials: { AccessKeyId: accessKeyId, SecretAccessKey: secretAccessKey, SessionToken: sessionToken, Expiration: expiration } };
      },
    };
    const role = { Arn: 'arn:aws:iam::210987654321:role/delivery', ExternalId: '123456789012' };
    const provider = new RoleCredentials({ sts: () => sts as never }).provider(role);
    const c = new LambdaClient({ region: 'eu-west-1', endpoint, credentials: provider, maxAttempts: 1 });
    await new DirectLambdaInvoker(c).invoke(ARN, Buffer.from('{}'));
    await new DirectLambdaInvoker(c).invoke(ARN, Buffer.from('{}'));
    expect(inputs).toEqual([expect.objectContaining({ RoleArn: role.Arn, ExternalId: '123456789012' })]);
    expect(lambda.received[0].headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=ASIAASSUMEDEXAMPLE01\//);
    expect(lambda.received[0].headers['x-amz-security-token']).toBe('assumed-token');
    expect(await signatureMatches(lambda.received[0], 'eu-west-1', assumed)).toBe(true);
    expect(await signatureMatches(lambda.received[0], 'eu-west-1')).toBe(false);
  });
});
