import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import { canonicalPathOf, InvokeSigner } from '../../../service/destinations/invoke-signer';

const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'token' };
const SIGNING = { credentials: CREDENTIALS, region: 'eu-west-1', service: 'lambda', sha256: Sha256 };

function request(path: string) {
  return {
    method: 'POST',
    protocol: 'https:',
    hostname: 'lambda.eu-west-1.amazonaws.com',
    path,
    query: {},
    headers: { 'host': 'lambda.eu-west-1.amazonaws.com', 'content-type': 'application/octet-stream', 'x-amz-invocation-type': 'RequestResponse' },
    body: Buffer.from('{"Messages":[]}'),
  };
}

describe('InvokeSigner', () => {
  test('signs as the SDK\'s signer does, within a second, across seconds and days, and back', async () => {
    const ours = new InvokeSigner(SIGNING);
    const sdk = new SignatureV4(SIGNING);
    const times = ['2026-12-06T23:59:59.001Z', '2026-12-06T23:59:59.999Z', '2026-12-07T00:00:00.000Z', '2026-12-07T00:00:00.500Z', '2026-12-06T23:59:59.500Z', '2027-01-01T12:00:00.000Z'];
    for (const time of times) {
      const signingDate = new Date(time);
      const actual = await ours.sign(request('/2015-03-31/functions/telemetry/invocations'), { signingDate });
      const expected = await sdk.sign(request('/2015-03-31/functions/telemetry/invocations'), { signingDate });
      expect([time, actual.headers]).toEqual([time, expected.headers]);
    }
    // dates given as text or epoch seconds are the SDK's to read
    for (const signingDate of ['2026-12-07T00:00:01Z', 1_796_601_601]) {
      const actual = await ours.sign(request('/'), { signingDate });
      const expected = await sdk.sign(request('/'), { signingDate });
      expect(actual.headers).toEqual(expected.headers);
    }
  });

  test('formats the date once per second signed in', async () => {
    const formatDate = jest.spyOn(SignatureV4.prototype as unknown as { formatDate: (now: Date) => unknown }, 'formatDate');
    try {
      const signer = new InvokeSigner(SIGNING);
      for (const time of ['2026-12-07T00:00:00.100Z', '2026-12-07T00:00:00.900Z', '2026-12-07T00:00:01.000Z', '2026-12-07T00:00:01.200Z']) {
        await signer.sign(request('/'), { signingDate: new Date(time) });
      }
      expect(formatDate).toHaveBeenCalledTimes(2);
    } finally {
      formatDate.mockRestore();
    }
  });
});

describe('canonicalPathOf', () => {
  test('is the path SigV4 signs: dot segments resolved, each segment escaped again', () => {
    const signer = new SignatureV4(SIGNING);
    expect(canonicalPathOf(signer, '/2015-03-31/functions/arn%3Aaws%3Alambda%3Aeu-west-1%3A1%3Afunction%3Af/invocations'))
      .toBe('/2015-03-31/functions/arn%253Aaws%253Alambda%253Aeu-west-1%253A1%253Afunction%253Af/invocations');
    expect(canonicalPathOf(signer, '/a/./b/../c d/')).toBe('/a/c%20d/');
  });

  test('a request signed over it without escaping carries the signature of the path as sent', async () => {
    const path = '/proxy/2015-03-31/functions/my%20fn%3Alive/invocations';
    const signingDate = new Date('2026-12-07T03:00:00Z');
    const expected = await new SignatureV4(SIGNING).sign(request(path), { signingDate });
    const canonical = canonicalPathOf(new SignatureV4(SIGNING), path)!;
    const actual = await new SignatureV4({ ...SIGNING, uriEscapePath: false }).sign(request(canonical), { signingDate });
    expect(actual.headers.authorization).toBe(expected.headers.authorization);
  });
});
