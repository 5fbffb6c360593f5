import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { packetTemplate, queueDatagram, QueuedPacket } from '../../../service/destinations/packet';
import { createS3Destination, NDJSON_CONTENT_TYPE, S3Destination } from '../../../service/destinations/s3-destination';
import { LocalFauxqs } from '../../support/local-fauxqs';

const template = packetTemplate({ Domain: 'telemetry', Port: 5555, IpAddress: '192.0.2.1', Protocol: 'udp' }, 'us-east-1', 'base64');

function packets(n: number): QueuedPacket[] {
  return Array.from({ length: n }, (_, i) => {
    const q = queueDatagram({ data: Buffer.from(`reading ${i}`), remoteAddress: '203.0.113.5', remotePort: 4000 + i, receivedAt: 1_780_000_000_000 + i }, `tag${i}`, template);
    if (!('json' in q)) throw new Error('not queued');
    return q;
  });
}

const AT = Date.UTC(2026, 2, 11, 14, 23, 1, 412);

describe('S3Destination against a real S3 API (fauxqs)', () => {
  let fauxqs: LocalFauxqs;
  beforeAll(async () => {
    fauxqs = await LocalFauxqs.start();
    await fauxqs.s3.send(new CreateBucketCommand({ Bucket: 'packets' }));
  });
  afterAll(() => fauxqs?.stop());

  async function objects(prefix: string): Promise<Array<{ key: string; body: string; contentType?: string }>> {
    const list = await fauxqs.s3.send(new ListObjectsV2Command({ Bucket: 'packets', Prefix: prefix }));
    return Promise.all((list.Contents ?? []).map(async ({ Key }) => {
      const out = await fauxqs.s3.send(new GetObjectCommand({ Bucket: 'packets', Key }));
      return { key: Key!, body: await out.Body!.transformToString(), contentType: out.ContentType };
    }));
  }

  test('writes one object of newline-delimited packets per batch, under the default key layout', async () => {
    const batch = packets(3);
    const dest = new S3Destination({ Name: 'archive', Type: 's3', Arn: 'arn:aws:s3:::packets' }, 'telemetry', fauxqs.s3, { now: () => AT, task: 'ip-10-0-1-2-20260311T140000Z' });
    expect(await dest.deliver(batch)).toEqual({});
    const [object, ...others] = await objects('telemetry/');
    expect(others).toEqual([]);
    expect(object.key).toMatch(/^telemetry\/archive\/2026\/03\/11\/14\/20260311T142301Z-ip-10-0-1-2-20260311T140000Z-[0-9a-f]{16}\.ndjson$/);
    expect(object.body).toBe(batch.map((p) => p.json + '\n').join(''));
    expect(object.body.trimEnd().split('\n').map((line) => JSON.parse(line).Data)).toEqual(['cmVhZGluZyAw', 'cmVhZGluZyAx', 'cmVhZGluZyAy']);
    expect(object.contentType).toBe(NDJSON_CONTENT_TYPE);
  });

  test('the key prefix and key format are configurable; every batch gets its own object', async () => {
    const record = { Name: 'raw', Type: 's3' as const, Arn: 'arn:aws:s3:::packets', Arguments: { KeyPrefix: 'incoming/', KeyFormat: 'dt={yyyy}-{MM}-{dd}/{destination}-{HH}{mm}{ss}-{unique}.jsonl' } };
    const dest = new S3Destination(record, 'telemetry', fauxqs.s3, { now: () => AT });
    await dest.deliver(packets(1));
    await dest.deliver(packets(2));
    const written = await objects('incoming/');
    expect(written.map((o) => o.key.replace(/-[0-9a-f]{16}\.jsonl$/, '')).sort()).toEqual(['incoming/dt=2026-03-11/raw-142301', 'incoming/dt=2026-03-11/raw-142301']);
    expect(written.map((o) => o.body.split('\n').length - 1).sort()).toEqual([1, 2]);
  });

  test('the factory uses the shared S3 client', async () => {
    const dest = createS3Destination({ Name: 'f', Type: 's3', Arn: 'arn:aws:s3:::packets', Arguments: { KeyPrefix: 'factory/' } }, { Name: 'l', Protocol: 'udp', Port: 1, Destinations: [] }, {
      s3Client: () => fauxqs.s3,
    } as never);
    expect(await dest.deliver(packets(1))).toEqual({});
    expect(await objects('factory/l/f/')).toHaveLength(1);
  });
});

describe('S3Destination failures', () => {
  // mocks every S3Client while this block runs: the real API above is reached through one
  let s3: ReturnType<typeof mockClient>;
  beforeAll(() => {
    s3 = mockClient(S3Client);
  });
  afterAll(() => s3.restore());
  beforeEach(() => s3.reset());

  test('a PutObject that fails fails every packet of the batch, naming the key and the error', async () => {
    s3.on(PutObjectCommand).rejects(Object.assign(new Error('Access Denied'), { name: 'AccessDenied' }));
    const dest = new S3Destination({ Name: 'archive', Type: 's3', Arn: 'arn:aws:s3:::packets' }, 'telemetry', new S3Client({ region: 'us-east-1' }), { now: () => AT, task: 't' });
    const result = await dest.deliver(packets(2));
    expect(result.failed?.map((f) => f.index)).toEqual([0, 1]);
    expect(result.failed?.[0].reason).toMatch(/^S3 PutObject of telemetry\/archive\/2026\/03\/11\/14\/20260311T142301Z-t-[0-9a-f]{16}\.ndjson failed \(AccessDenied\): Access Denied$/);
  });

  test('a record without a bucket ARN, or with a bad key format, cannot be built', () => {
    const client = new S3Client({ region: 'us-east-1' });
    expect(() => new S3Destination({ Name: 'a', Type: 's3', Arn: 'arn:aws:sqs:us-east-1:123456789012:q' }, 'l', client))
      .toThrow('Arn "arn:aws:sqs:us-east-1:123456789012:q" is not an S3 bucket ARN (allowed: arn:<partition>:s3:::<bucket>)');
    expect(() => new S3Destination({ Name: 'a', Type: 's3', Arn: 'arn:aws:s3:::packets', Arguments: { KeyFormat: '{yyyy}/{day}' } }, 'l', client))
      .toThrow('KeyFormat "{yyyy}/{day}" has an unknown placeholder {day} at column 8');
  });
});
