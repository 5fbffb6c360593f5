import { certUrl, documentedStringToSign, FakeCertificateHost, makeSigningIdentity, signEnvelope, SigningIdentity } from './sns-signing';
import { SnsCertificateStore } from '../../../service/sourcing/sns-certificates';
import { checkSignature, SignatureCheck, SignatureCheckUnavailable, SnsMessageVerifier } from '../../../service/sourcing/sns-message-verifier';
import { signingCertUrlProblem, stringToSign } from '../../../service/sourcing/sns-signature';

const TOPIC = 'arn:aws:sns:eu-west-1:111122223333:push';
const OTHER_TOPIC = 'arn:aws:sns:eu-west-1:444455556666:victim';
const URL_EU = certUrl('eu-west-1');

let sns: SigningIdentity;
let host: FakeCertificateHost;
let now: number;

beforeAll(() => {
  sns = makeSigningIdentity();
});

beforeEach(() => {
  host = new FakeCertificateHost().serve(URL_EU, sns.certificatePem);
  now = Date.now();
});

function verifier(extra: Partial<ConstructorParameters<typeof SnsCertificateStore>[0]> = {}): SnsMessageVerifier {
  return new SnsMessageVerifier(new SnsCertificateStore({ fetcher: host.fetcher, now: () => now, ...extra }));
}

function notification(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    Type: 'Notification',
    MessageId: '22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324',
    TopicArn: TOPIC,
    Message: '{"Messages":[{"Data":"aGk=","Remote":{"Address":"203.0.113.7","Port":4000}}]}\nsecond line',
    Timestamp: '2026-12-06T13:00:00.000Z',
    UnsubscribeURL: 'https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe',
    MessageAttributes: { EgressRegion: { Type: 'String', Value: 'eu-west-1' } },
    ...extra,
  };
}

function confirmation(type: 'SubscriptionConfirmation' | 'UnsubscribeConfirmation'): Record<string, unknown> {
  return {
    Type: type,
    MessageId: '165545c9-2a5c-472c-8df2-7ff2be2b3b1b',
    Token: '2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba6f3beb71854e285d6ad02428b09ceece29417f1f02d609c582afbacc99c583a916b9981dd2728f4ae6fdb82efd087cc3b7849e05798d2d2785c03b0879594eeac82c01f235d0e717736',
    TopicArn: TOPIC,
    Message: `You have chosen to subscribe to the topic ${TOPIC}.\nTo confirm the subscription, visit the SubscribeURL included in this message.`,
    SubscribeURL: `https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=${TOPIC}&Token=2336412f`,
    Timestamp: '2026-12-06T13:00:00.000Z',
  };
}

describe('the string SNS signs', () => {
  test('is the documented fields, name and value each followed by a newline, Subject only when present', () => {
    const n = notification();
    expect(stringToSign(n)).toEqual({
      text: `Message\n${n.Message as string}\nMessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\nTimestamp\n2026-12-06T13:00:00.000Z\nTopicArn\n${TOPIC}\nType\nNotification\n`,
    });
    expect(stringToSign(notification({ Subject: 'hello' }))).toEqual({ text: documentedStringToSign(notification({ Subject: 'hello' })) });
    expect((stringToSign(notification({ Subject: 'hello' })) as { text: string }).text).toContain('\nSubject\nhello\nTimestamp\n');
    const c = confirmation('SubscriptionConfirmation');
    expect(stringToSign(c)).toEqual({
      text: `Message\n${c.Message as string}\nMessageId\n${c.MessageId as string}\nSubscribeURL\n${c.SubscribeURL as string}\n` +
        `Timestamp\n${c.Timestamp as string}\nToken\n${c.Token as string}\nTopicArn\n${TOPIC}\nType\nSubscriptionConfirmation\n`,
    });
  });

  test('a missing signed field or an unknown type is a problem, not an empty value', () => {
    expect(stringToSign(notification({ Timestamp: undefined }))).toEqual({ problem: expect.stringContaining('field Timestamp is missing') });
    expect(stringToSign({ ...confirmation('SubscriptionConfirmation'), Token: undefined })).toEqual({ problem: expect.stringContaining('field Token is missing') });
    expect(stringToSign(notification({ Type: 'SomethingElse' }))).toEqual({ problem: expect.stringContaining('allowed: Notification, SubscriptionConfirmation, UnsubscribeConfirmation') });
    expect(stringToSign(notification({ Message: 42 }))).toEqual({ problem: 'SNS envelope field Message must be a string, got number' });
  });
});

describe('SigningCertURL', () => {
  test('only the SNS host of the topic region and partition, https, a .pem path and nothing else', () => {
    expect(signingCertUrlProblem(URL_EU, TOPIC)).toBeUndefined();
    expect(signingCertUrlProblem(certUrl('cn-north-1', 'abc', 'amazonaws.com.cn'), 'arn:aws-cn:sns:cn-north-1:111122223333:push')).toBeUndefined();
    expect(signingCertUrlProblem(certUrl('us-gov-west-1'), 'arn:aws-us-gov:sns:us-gov-west-1:111122223333:push')).toBeUndefined();
    expect(signingCertUrlProblem(certUrl('eusc-de-east-1', 'abc', 'amazonaws.eu'), 'arn:aws-eusc:sns:eusc-de-east-1:111122223333:push')).toBeUndefined();
    const refused = [
      'http://sns.eu-west-1.amazonaws.com/SimpleNotificationService-abc.pem',
      'https://sns.eu-west-1.amazonaws.com.evil.example/SimpleNotificationService-abc.pem',
      'https://sns.eu-west-1.amazonaws.com:8443/SimpleNotificationService-abc.pem',
      'https://user@sns.eu-west-1.amazonaws.com/SimpleNotificationService-abc.pem',
      'https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-abc.pem?x=1',
      'https://sns.eu-west-1.amazonaws.com/other/SimpleNotificationService-abc.pem',
      'https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-abc.crt',
      'https://s3.eu-west-1.amazonaws.com/SimpleNotificationService-abc.pem',
      'https://evil.example/SimpleNotificationService-abc.pem',
      certUrl('us-east-1'), // another region than the topic's
      certUrl('eu-west-1', 'abc', 'amazonaws.com.cn'), // another partition than the topic's
    ];
    for (const url of refused) expect([url, signingCertUrlProblem(url, TOPIC)]).toEqual([url, expect.stringContaining('allowed: https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-<id>.pem')]);
    expect(signingCertUrlProblem(undefined, TOPIC)).toContain('SigningCertURL is missing');
    expect(signingCertUrlProblem(URL_EU, 'arn:aws:sqs:eu-west-1:111122223333:queue')).toContain('is not an SNS topic ARN');
  });
});

describe('SnsMessageVerifier', () => {
  test.each(['1', '2'] as const)('SignatureVersion %s: a notification signed by SNS is authentic', async (version) => {
    const v = verifier();
    expect(await v.verify(signEnvelope(notification({ Subject: 'with subject' }), sns, URL_EU, version))).toEqual({ verdict: 'authentic' });
    expect(await v.verify(signEnvelope(notification(), sns, URL_EU, version))).toEqual({ verdict: 'authentic' });
  });

  test.each(['1', '2'] as const)('SignatureVersion %s: a Message of 16 KB with characters outside ASCII is verified over its UTF-8 bytes', async (version) => {
    const v = verifier();
    const text = JSON.stringify({ Messages: Array.from({ length: 10 }, (_, i) => ({ Data: `Grüße ${i} ✓ ${'x'.repeat(1600)}`, Remote: { Address: '198.51.100.9', Port: 53 } })) });
    const signed = signEnvelope(notification({ Message: text }), sns, URL_EU, version);
    expect(await v.verify(signed)).toEqual({ verdict: 'authentic' });
    // the same characters' Latin-1 bytes, or one character changed, are not what SNS signed
    expect(await v.verify({ ...signed, Message: text.replace('✓', '✔') })).toMatchObject({ verdict: 'forged' });
    expect(await v.verify({ ...signed, Message: Buffer.from(text, 'utf8').toString('latin1') })).toMatchObject({ verdict: 'forged' });
  });

  test.each(['SubscriptionConfirmation', 'UnsubscribeConfirmation'] as const)('a signed %s is authentic, and its Token and SubscribeURL are signed', async (type) => {
    const v = verifier();
    const signed = signEnvelope(confirmation(type), sns, URL_EU, '2');
    expect(await v.verify(signed)).toEqual({ verdict: 'authentic' });
    expect(await v.verify({ ...signed, Token: 'forged-token' })).toMatchObject({ verdict: 'forged' });
    expect(await v.verify({ ...signed, SubscribeURL: 'https://evil.example/confirm' })).toMatchObject({ verdict: 'forged' });
  });

  test.each([
    ['Message', { Message: '{"Messages":[{"Data":"aGk=","Remote":{"Address":"198.51.100.9","Port":53}}]}' }],
    ['MessageId', { MessageId: 'another-id' }],
    ['Timestamp', { Timestamp: '2026-12-06T13:00:01.000Z' }],
    ['Subject', { Subject: 'added' }],
    ['Type', { Type: 'SubscriptionConfirmation' }],
    ['SignatureVersion', { SignatureVersion: '2' }],
    ['Signature', { Signature: Buffer.alloc(256, 1).toString('base64') }],
  ])('a tampered %s is forged', async (_field, change) => {
    const signed = signEnvelope(notification(), sns, URL_EU, '1');
    expect(await verifier().verify({ ...signed, ...change })).toMatchObject({ verdict: 'forged' });
  });

  test('a notification naming another tenant\'s topic is forged, with or without that topic\'s region host', async () => {
    const signed = signEnvelope(notification(), sns, URL_EU);
    expect(await verifier().verify({ ...signed, TopicArn: OTHER_TOPIC })).toEqual({
      verdict: 'forged',
      reason: expect.stringContaining('does not match the signed fields of this Notification message'),
    });
    const otherRegion = signEnvelope(notification({ TopicArn: 'arn:aws:sns:us-east-1:444455556666:victim' }), sns, URL_EU);
    expect(await verifier().verify(otherRegion)).toEqual({ verdict: 'forged', reason: expect.stringContaining('not on the SNS host of the topic\'s region') });
  });

  test('a certificate from any other host is never fetched', async () => {
    const evil = 'https://evil.example/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem';
    host.serve(evil, sns.certificatePem);
    expect(await verifier().verify(signEnvelope(notification(), sns, evil))).toMatchObject({ verdict: 'forged' });
    expect(host.requests).toEqual([]);
  });

  test('a signature by another key than the certificate\'s is forged', async () => {
    const attacker = makeSigningIdentity();
    expect(await verifier().verify(signEnvelope(notification(), attacker, URL_EU))).toMatchObject({ verdict: 'forged' });
  });

  test('unsigned or unsupported envelopes are forged without a fetch', async () => {
    const signed = signEnvelope(notification(), sns, URL_EU);
    expect(await verifier().verify({ ...signed, Signature: undefined })).toEqual({ verdict: 'forged', reason: expect.stringContaining('Signature is missing') });
    expect(await verifier().verify({ ...signed, SignatureVersion: '3' })).toEqual({ verdict: 'forged', reason: expect.stringContaining('SignatureVersion "3" is not supported') });
    expect(await verifier().verify({ ...signed, SigningCertURL: undefined })).toEqual({ verdict: 'forged', reason: expect.stringContaining('SigningCertURL is missing') });
    expect(host.requests).toEqual([]);
  });

  test('an expired or not yet valid certificate is refused', async () => {
    const v = verifier();
    const signed = signEnvelope(notification(), sns, URL_EU);
    expect(await v.verify(signed)).toEqual({ verdict: 'authentic' });
    now += 3 * 86_400_000; // the certificate is valid for 2 days
    expect(await v.verify(signed)).toEqual({ verdict: 'forged', reason: expect.stringContaining('expired at') });
    now -= 5 * 86_400_000;
    expect(await v.verify(signed)).toEqual({ verdict: 'forged', reason: expect.stringContaining('is not valid before') });
  });

  test.each([
    ['evil.example', URL_EU],
    ['sns.amazonaws.com.evil.example', URL_EU],
    ['sns.amazonaws.com.cn', URL_EU], // the China domain on a certificate served from amazonaws.com
    ['sns.amazonaws.com', certUrl('cn-north-1', 'abc', 'amazonaws.com.cn')],
  ])('a certificate with subject CN %s from %s is refused', async (cn, url) => {
    const impostor = makeSigningIdentity(`/C=US/O=Example/CN=${cn}`);
    host.serve(url, impostor.certificatePem);
    expect(await new SnsCertificateStore({ fetcher: host.fetcher }).keyFor(url)).toEqual({
      kind: 'refused',
      reason: expect.stringContaining(`has subject CN "${cn}" (allowed: sns.`),
    });
  });

  test.each([
    ['sns.amazonaws.com', URL_EU],
    ['sns-signing.me-south-1.amazonaws.com', certUrl('me-south-1')],
    ['sns-us-gov-west-1.amazonaws.com', certUrl('us-gov-east-1')],
    ['sns-cn-north-1.amazonaws.com.cn', certUrl('cn-north-1', 'abc', 'amazonaws.com.cn')],
    ['sns-signing.eusc-de-east-1.amazonaws.eu', certUrl('eusc-de-east-1', 'abc', 'amazonaws.eu')],
  ])('a certificate with subject CN %s from %s is accepted (the names SNS uses by region)', async (cn, url) => {
    const regional = makeSigningIdentity(`/C=US/O=Amazon.com, Inc./CN=${cn}`);
    host.serve(url, regional.certificatePem);
    expect(await new SnsCertificateStore({ fetcher: host.fetcher }).keyFor(url)).toMatchObject({ kind: 'key' });
  });

  test('a certificate whose subject is not an SNS host is refused for the message it signs', async () => {
    const impostor = makeSigningIdentity('/C=US/O=Example/CN=evil.example');
    host.serve(URL_EU, impostor.certificatePem);
    expect(await verifier().verify(signEnvelope(notification(), impostor, URL_EU))).toEqual({
      verdict: 'forged',
      reason: expect.stringContaining('has subject CN "evil.example" (allowed: sns.amazonaws.com'),
    });
  });

  test('a certificate URL that SNS does not serve is refused, and remembered', async () => {
    const unknown = certUrl('eu-west-1', '0000');
    const v = verifier();
    const signed = signEnvelope(notification(), sns, unknown);
    expect(await v.verify(signed)).toEqual({ verdict: 'forged', reason: expect.stringContaining('answered HTTP 404') });
    expect(await v.verify(signed)).toMatchObject({ verdict: 'forged' });
    expect(host.requests).toEqual([unknown]);
  });

  test('a body that is not a certificate is refused', async () => {
    host.serve(URL_EU, '<html>hello</html>');
    expect(await verifier().verify(signEnvelope(notification(), sns, URL_EU))).toEqual({ verdict: 'forged', reason: expect.stringContaining('is not a PEM certificate') });
  });
});

describe('where the RSA operation is made', () => {
  function verifierWith(check: SignatureCheck): SnsMessageVerifier {
    return new SnsMessageVerifier(new SnsCertificateStore({ fetcher: host.fetcher, now: () => now }), { check });
  }

  test('a check made elsewhere (asynchronously) gets the digest, the string SNS signs, the certificate\'s key and the signature, and its answer is the verdict', async () => {
    const calls: Array<{ digest: string; text: string; keyType?: string; signature: string }> = [];
    const v = verifierWith(async (digest, text, key, signature) => {
      calls.push({ digest, text, keyType: key.asymmetricKeyType, signature });
      await new Promise((resolve) => setImmediate(resolve));
      return checkSignature(digest, text, key, signature);
    });
    const signed = signEnvelope(notification(), sns, URL_EU, '2');
    expect(await v.verify(signed)).toEqual({ verdict: 'authentic' });
    expect(calls).toEqual([{ digest: 'sha256', text: documentedStringToSign(signed), keyType: 'rsa', signature: signed.Signature }]);
    expect(await v.verify({ ...signed, MessageId: 'another' })).toMatchObject({ verdict: 'forged', reason: expect.stringContaining('does not match the signed fields') });
  });

  test('a check that could not be made now leaves the message unverifiable (received again later); one that fails on its inputs makes it forged', async () => {
    const signed = signEnvelope(notification(), sns, URL_EU, '2');
    const stopped = verifierWith(() => Promise.reject(new SignatureCheckUnavailable('data-plane worker 1 stopped before checking')));
    expect(await stopped.verify(signed)).toEqual({ verdict: 'unverifiable', reason: 'SNS signature could not be checked: data-plane worker 1 stopped before checking' });
    const broken = verifierWith(() => {
      throw new Error('unsupported key type');
    });
    expect(await broken.verify(signed)).toEqual({ verdict: 'forged', reason: 'SNS signature could not be checked: unsupported key type' });
  });
});

describe('SnsCertificateStore', () => {
  test('fetches each certificate once, also for concurrent verifications', async () => {
    const v = verifier();
    const messages = Array.from({ length: 20 }, (_x, i) => signEnvelope(notification({ MessageId: `m-${i}` }), sns, URL_EU, i % 2 ? '1' : '2'));
    const verdicts = await Promise.all(messages.map((m) => v.verify(m)));
    expect(verdicts.every((x) => x.verdict === 'authentic')).toBe(true);
    expect(await v.verify(messages[0])).toEqual({ verdict: 'authentic' });
    expect(host.requests).toEqual([URL_EU]);
  });

  test('a fetch that does not answer in time is unverifiable (retried later), and a later fetch succeeds', async () => {
    let hang = true;
    const signals: AbortSignal[] = [];
    const store = new SnsCertificateStore({
      fetchTimeoutMs: 30,
      fetcher: async (url, signal) => {
        signals.push(signal);
        if (hang) return new Promise(() => undefined); // ignores its signal: the store's own timer must win
        return host.fetcher(url, signal);
      },
    });
    const v = new SnsMessageVerifier(store);
    const signed = signEnvelope(notification(), sns, URL_EU);
    const started = Date.now();
    expect(await v.verify(signed)).toEqual({ verdict: 'unverifiable', reason: expect.stringContaining('not fetched within 30 ms') });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(signals[0].aborted).toBe(true);
    hang = false;
    expect(await v.verify(signed)).toEqual({ verdict: 'authentic' });
  });

  test('network errors and 5xx answers are unverifiable and not remembered', async () => {
    let answer: 'error' | 503 | 'ok' = 'error';
    const store = new SnsCertificateStore({
      fetcher: async (url, signal) => {
        if (answer === 'error') throw Object.assign(new Error('getaddrinfo EAI_AGAIN'), { name: 'TypeError' });
        if (answer === 503) return { status: 503, body: '' };
        return host.fetcher(url, signal);
      },
    });
    const v = new SnsMessageVerifier(store);
    const signed = signEnvelope(notification(), sns, URL_EU);
    expect(await v.verify(signed)).toEqual({ verdict: 'unverifiable', reason: expect.stringContaining('EAI_AGAIN') });
    answer = 503;
    expect(await v.verify(signed)).toEqual({ verdict: 'unverifiable', reason: expect.stringContaining('HTTP 503') });
    answer = 'ok';
    expect(await v.verify(signed)).toEqual({ verdict: 'authentic' });
  });

  test('the cache is bounded, dropping the oldest certificate first', async () => {
    const urls = ['a', 'b', 'c'].map((id) => certUrl('eu-west-1', id));
    for (const url of urls) host.serve(url, sns.certificatePem);
    const store = new SnsCertificateStore({ fetcher: host.fetcher, maxEntries: 2 });
    for (const url of urls) expect((await store.keyFor(url)).kind).toBe('key');
    expect(store.size).toBe(2);
    await store.keyFor(urls[2]);
    await store.keyFor(urls[1]);
    expect(host.requests).toEqual(urls);
    await store.keyFor(urls[0]);
    expect(host.requests).toEqual([...urls, urls[0]]);
  });
});
