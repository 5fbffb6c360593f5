import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import { canonicalPathOf, InvokeSigner, SigningCredentials } from '../../../service/destinations/invoke-signer';

const KEYS = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };

/** An Invoke as the direct path builds it. */
function invokeRequest(overrides: { path?: string; headers?: Record<string, string>; body?: Uint8Array } = {}) {
  const body = overrides.body ?? Buffer.from('{"Messages":[{"Tag":"t","Data":"AQID"}]}');
  return {
    method: 'POST',
    protocol: 'https:',
    hostname: 'lambda.eu-west-1.amazonaws.com',
    path: overrides.path ?? `/2015-03-31/functions/${encodeURIComponent('arn:aws:lambda:eu-west-1:123456789012:function:telemetry:live')}/invocations`,
    query: {},
    headers: <Record<string, string>>{
      'host': 'lambda.eu-west-1.amazonaws.com',
      'content-type': 'application/octet-stream',
      'content-length': String(body.byteLength),
      'x-amz-invocation-type': 'RequestResponse',
      'user-agent': 'packet-gateway lambda-invoke',
      ...overrides.headers,
    },
    body,
  };
}

/** Both signers over the same request, credentials and date: the headers they write. */
async function signBoth(request: ReturnType<typeof invokeRequest>, credentials: SigningCredentials, date: Date, signer?: InvokeSigner) {
  const sdk = new SignatureV4({ credentials, region: 'eu-west-1', service: 'lambda', sha256: Sha256 });
  const ours = signer ?? new InvokeSigner({ credentials: () => Promise.resolve(credentials), region: 'eu-west-1', service: 'lambda' });
  const expected = await sdk.sign(request, { signingDate: date });
  const actual = await ours.sign(request, { signingDate: date });
  return { expected: expected.headers, actual: actual.headers };
}

describe('InvokeSigner', () => {
  test('writes the headers and signature the SDK\'s signer writes, with and without a session token', async () => {
    const date = new Date('2026-12-06T22:15:07.123Z');
    for (const credentials of [KEYS, { ...KEYS, sessionToken: 'session-token' }]) {
      const { expected, actual } = await signBoth(invokeRequest(), credentials, date);
      expect(actual).toEqual(expected);
      expect(actual.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE\/20261206\/eu-west-1\/lambda\/aws4_request, SignedHeaders=.*host.*, Signature=[0-9a-f]{64}$/);
    }
  });

  test('the same across headers that need cleaning or are never signed, tenant ids, odd paths, empty bodies and a given payload hash', async () => {
    const date = new Date('2026-03-11T14:23:01.412Z');
    const requests = [
      invokeRequest({ headers: { 'x-amz-tenant-id': 'tenant-7', 'X-Custom': '  a \t b\r\nc  ', 'proxy-authorization': 'x', 'sec-fetch': 'y', 'x-amzn-trace-id': 'z' } }),
      invokeRequest({ headers: { 'Content-Type': 'text/plain', 'x-amz-date': '19990101T000000Z', 'Authorization': 'stale' } }),
      invokeRequest({ path: "/prefix/./a/../2015-03-31/functions/it's(*)!/invocations/" }),
      invokeRequest({ path: '/' }),
      invokeRequest({ body: new Uint8Array(0) }),
      invokeRequest({ headers: { 'X-Amz-Content-Sha256': 'UNSIGNED-PAYLOAD' } }),
      // the same names as a request above with other values, then a name without a value (not signed)
      invokeRequest({ headers: { 'x-amz-tenant-id': 'tenant-8', 'X-Custom': 'plain', 'proxy-authorization': 'x', 'sec-fetch': 'y', 'x-amzn-trace-id': 'z' } }),
      invokeRequest({ headers: { 'x-amz-tenant-id': undefined as unknown as string, 'X-Custom': 'plain', 'proxy-authorization': 'x', 'sec-fetch': 'y', 'x-amzn-trace-id': 'z' } }),
      invokeRequest({ headers: { 'x-custom': 'lower', 'X-Custom': 'upper' } }),
    ];
    for (const request of requests) {
      const { expected, actual } = await signBoth(request, { ...KEYS, sessionToken: 'tok' }, date);
      expect(actual).toEqual(expected);
    }
  });

  test('one signer follows new days, seconds and credentials, as a new SDK signer would', async () => {
    let credentials: SigningCredentials = KEYS;
    const signer = new InvokeSigner({ credentials: () => Promise.resolve(credentials), region: 'eu-west-1', service: 'lambda' });
    const dates = ['2026-12-06T23:59:59.900Z', '2026-12-06T23:59:59.999Z', '2026-12-07T00:00:00.000Z', '2026-12-07T00:00:01.500Z'].map((d) => new Date(d));
    const signatures = new Set<string>();
    for (const next of [KEYS, { ...KEYS, secretAccessKey: 'another-secret' }, { ...KEYS, sessionToken: 'a' }, { ...KEYS, sessionToken: 'b' }]) {
      credentials = next;
      for (const date of dates) {
        const { expected, actual } = await signBoth(invokeRequest(), credentials, date, signer);
        expect(actual).toEqual(expected);
        signatures.add(actual.authorization);
      }
    }
    // the two dates within one second sign alike; every other pair differs
    expect(signatures.size).toBe(4 * 3);
  });

  test('does not change the request it signs', async () => {
    const request = invokeRequest();
    const before = JSON.stringify(request.headers);
    await new InvokeSigner({ credentials: () => Promise.resolve(KEYS), region: 'eu-west-1', service: 'lambda' }).sign(request, { signingDate: new Date() });
    expect(JSON.stringify(request.headers)).toBe(before);
  });

  test('fails for credentials that are not resolved, and for a request with a query string, naming what is allowed', async () => {
    const broken = new InvokeSigner({ credentials: () => Promise.resolve({} as SigningCredentials), region: 'eu-west-1', service: 'lambda' });
    await expect(broken.sign(invokeRequest(), { signingDate: new Date() })).rejects.toThrow(/credential/);
    const signer = new InvokeSigner({ credentials: () => Promise.resolve(KEYS), region: 'eu-west-1', service: 'lambda' });
    await expect(signer.sign({ ...invokeRequest(), query: { a: 'b' } }, { signingDate: new Date() })).rejects.toThrow(/allowed: an empty query/);
    expect(InvokeSigner.signs({})).toBe(true);
    expect(InvokeSigner.signs({ a: 'b' })).toBe(false);
  });

  test('canonical paths resolve dot segments and escape twice, as the SDK\'s', () => {
    expect(canonicalPathOf('/2015-03-31/functions/arn%3Aaws%3Alambda/invocations')).toBe('/2015-03-31/functions/arn%253Aaws%253Alambda/invocations');
    expect(canonicalPathOf('/a/./b/../c/')).toBe('/a/c/');
    expect(canonicalPathOf('/')).toBe('/');
  });
});
