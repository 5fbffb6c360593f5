import { createHash, createHmac } from 'node:crypto';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import { REMEMBERED_DATA_BYTES, sha256Hex, SigningSha256 } from '../../../service/destinations/signing-hash';

async function digestOf(hash: { update(data: Uint8Array): void; digest(): Promise<Uint8Array> }, ...chunks: string[]): Promise<string> {
  for (const chunk of chunks) hash.update(Buffer.from(chunk));
  return Buffer.from(await hash.digest()).toString('hex');
}

describe('sha256Hex', () => {
  test('is node:crypto\'s SHA-256 in lower-case hex, for empty, short and long data and views into larger buffers', () => {
    const large = Buffer.alloc(40_000, 9);
    for (const data of [Buffer.alloc(0), Buffer.from('{"Messages":[]}'), large, large.subarray(3, 1003), new Uint8Array([0, 255, 7])]) {
      expect(sha256Hex(data)).toBe(createHash('sha256').update(data).digest('hex'));
    }
  });
});

describe('SigningSha256', () => {
  test('plain SHA-256 and HMAC-SHA256 give node:crypto\'s digests, over one chunk or several, after a reset', async () => {
    const payload = Buffer.alloc(25_000, 7).toString('latin1');
    expect(await digestOf(new SigningSha256(), payload)).toBe(createHash('sha256').update(payload, 'latin1').digest('hex'));
    expect(await digestOf(new SigningSha256(), 'ab', 'c')).toBe(createHash('sha256').update('abc').digest('hex'));
    expect(await digestOf(new SigningSha256())).toBe(createHash('sha256').digest('hex'));
    const reset = new SigningSha256();
    reset.update(Buffer.from('discarded'));
    reset.reset();
    expect(await digestOf(reset, 'abc')).toBe(createHash('sha256').update('abc').digest('hex'));
    expect(await digestOf(new SigningSha256('key'), 'data')).toBe(createHmac('sha256', 'key').update('data').digest('hex'));
    expect(await digestOf(new SigningSha256(Buffer.from([1, 2, 3])), 'da', 'ta')).toBe(createHmac('sha256', Buffer.from([1, 2, 3])).update('data').digest('hex'));
  });

  test('a remembered HMAC is given only for the same text key and the same data', async () => {
    const long = 'x'.repeat(REMEMBERED_DATA_BYTES + 1);
    const cases: Array<[string | Uint8Array, string]> = [
      ['secret-1', 'AKIDEXAMPLE'], ['secret-1', 'AKIDEXAMPLE'], ['secret-2', 'AKIDEXAMPLE'], ['secret-1', 'AKIDEXAMPLF'],
      ['secret-1', 'AKIDEXAMPLE'], [Buffer.from('secret-1'), 'AKIDEXAMPLE'], ['secret-1', long], ['secret-1', long + 'y'], ['secret-1', ''],
    ];
    for (const [key, data] of cases) {
      expect(await digestOf(new SigningSha256(key), data)).toBe(createHmac('sha256', key).update(data).digest('hex'));
    }
    // a digest handed out cannot change the remembered one
    const first = await new SigningSha256('secret-3').digest();
    first.fill(0);
    expect(Buffer.from(await new SigningSha256('secret-3').digest()).toString('hex')).toBe(createHmac('sha256', 'secret-3').digest('hex'));
  });

  test('the SDK\'s signer writes the same signature with it as with the SDK\'s own SHA-256, across credentials and days', async () => {
    const request = {
      method: 'POST',
      protocol: 'https:',
      hostname: 'lambda.eu-west-1.amazonaws.com',
      path: '/2015-03-31/functions/my%20fn/invocations',
      query: {},
      headers: { 'host': 'lambda.eu-west-1.amazonaws.com', 'content-type': 'application/octet-stream', 'x-amz-invocation-type': 'RequestResponse' },
      body: Buffer.from('{"Messages":[' + '{"Tag":"abc","Data":"AAAA"},'.repeat(99) + '{"Tag":"abc","Data":"AAAA"}]}'),
    };
    const credentials = [
      { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
      { accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'other/secret', sessionToken: 'token' },
    ];
    for (const creds of [...credentials, ...credentials]) {
      for (const signingDate of [new Date('2026-12-06T21:00:00Z'), new Date('2026-12-07T00:00:01Z')]) {
        const withSdk = new SignatureV4({ credentials: creds, region: 'eu-west-1', service: 'lambda', sha256: Sha256 });
        const withOurs = new SignatureV4({ credentials: creds, region: 'eu-west-1', service: 'lambda', sha256: SigningSha256 });
        const expected = await withSdk.sign(request, { signingDate });
        const actual = await withOurs.sign(request, { signingDate });
        expect(actual.headers).toEqual(expected.headers);
      }
    }
  });
});
