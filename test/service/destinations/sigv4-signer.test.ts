/**
 * The direct Invoke path's signer gives exactly the headers of the SDK's SigV4 signer for the same
 * request, date and credentials.
 */
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SignatureV4 } from '@smithy/signature-v4';
import { SignableRequest, SigningCredentials, SigV4Signer } from '../../../service/destinations/sigv4-signer';

const LONG_LIVED: SigningCredentials = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
const SESSION: SigningCredentials = { ...LONG_LIVED, sessionToken: 'FwoGZXIvYXdzEBYaDH session token ==' };
const sha256 = new LambdaClient({ region: 'eu-west-1' }).config.sha256;

function request(overrides: Partial<SignableRequest> = {}): SignableRequest {
  const body = Buffer.from('{"Messages":[{"Tag":"t","Data":"AQID"}]}');
  return {
    method: 'POST',
    protocol: 'https:',
    hostname: 'lambda.eu-west-1.amazonaws.com',
    path: `/2015-03-31/functions/${encodeURIComponent('arn:aws:lambda:eu-west-1:123456789012:function:telemetry:live')}/invocations`,
    query: {},
    headers: {
      'host': 'lambda.eu-west-1.amazonaws.com',
      'content-type': 'application/octet-stream',
      'content-length': String(body.length),
      'x-amz-invocation-type': 'RequestResponse',
      'user-agent': 'packet-gateway lambda-invoke',
    },
    body,
    ...overrides,
  };
}

async function both(req: SignableRequest, credentials: SigningCredentials, date: Date, region = 'eu-west-1'): Promise<[Record<string, string>, Record<string, string>]> {
  const ours = await new SigV4Signer({ credentials: () => Promise.resolve(credentials), region, service: 'lambda' }).sign(req, date);
  const sdk = await new SignatureV4({ credentials, region, service: 'lambda', sha256 }).sign({ ...req, headers: { ...req.headers } } as never, { signingDate: date });
  return [ours.headers, (sdk as unknown as { headers: Record<string, string> }).headers];
}

describe('SigV4Signer', () => {
  const date = new Date('2026-12-06T18:59:07.123Z');

  test.each([
    ['long-lived credentials', request(), LONG_LIVED],
    ['session credentials (x-amz-security-token is signed)', request(), SESSION],
    ['a tenant header and an endpoint header', request({ headers: { ...request().headers, 'x-amz-tenant-id': 'tenant 1', 'X-Custom': '  a   b  ' } }), SESSION],
    ['a custom endpoint with a port, a base path and a query', request({
      hostname: '127.0.0.1',
      port: 9001,
      path: '/base/./x/../2015-03-31/functions/f%20n/invocations/',
      query: { 'b': 'two words', 'a': ['z', 'y*'], 'X-Amz-Signature': 'ignored' },
      headers: { ...request().headers, host: '127.0.0.1:9001' },
    }), LONG_LIVED],
    ['an empty body', request({ body: new Uint8Array(0), headers: { ...request().headers, 'content-length': '0' } }), SESSION],
  ])('same headers as the SDK signer: %s', async (_label, req, credentials) => {
    const [ours, sdk] = await both(req, credentials, date);
    expect(ours).toEqual(sdk);
    expect(ours.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE\/20261206\/eu-west-1\/lambda\/aws4_request, SignedHeaders=\S+, Signature=[0-9a-f]{64}$/);
  });

  test('a new day and new credentials derive a new signing key', async () => {
    const signer = new SigV4Signer({ credentials: () => Promise.resolve(current), region: 'eu-west-1', service: 'lambda' });
    let current: SigningCredentials = SESSION;
    for (const [when, credentials] of [
      [date, SESSION], [new Date('2026-12-07T00:00:01Z'), SESSION], [new Date('2026-12-07T00:00:02Z'), { ...SESSION, secretAccessKey: 'rotated' }],
    ] as const) {
      current = credentials;
      const ours = await signer.sign(request(), when);
      const sdk = await new SignatureV4({ credentials, region: 'eu-west-1', service: 'lambda', sha256 }).sign(request() as never, { signingDate: when });
      expect(ours.headers.authorization).toBe((sdk as unknown as { headers: Record<string, string> }).headers.authorization);
    }
  });

  test('the request is not changed; a date or authorization header of its own is replaced', async () => {
    const req = request({ headers: { ...request().headers, 'Authorization': 'old', 'X-Amz-Date': '20000101T000000Z' } });
    const before = JSON.stringify(req.headers);
    const [ours, sdk] = await both(req, LONG_LIVED, date);
    expect(JSON.stringify(req.headers)).toBe(before);
    expect(ours).toEqual(sdk);
    expect(ours.Authorization).toBeUndefined();
    expect(ours['x-amz-date']).toBe('20261206T185907Z');
  });

  test('fails if the credentials are not valid', async () => {
    const signer = new SigV4Signer({ credentials: () => Promise.resolve({ accessKeyId: 'A' } as SigningCredentials), region: 'eu-west-1', service: 'lambda' });
    await expect(signer.sign(request(), date)).rejects.toThrow('Resolved credential object is not valid');
  });
});
