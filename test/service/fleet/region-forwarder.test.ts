import type { SendMessageCommand } from '@aws-sdk/client-sqs';
import { formatForwardedEntries, formatPeerDeliveryQueues, parseForwardedEntries, parsePeerDeliveryQueues, parsePeerSqsEndpoints } from '../../../lib/private/global-forwarding';
import type { Failure } from '../../../service/contracts';
import { RegionForwarder } from '../../../service/fleet/region-forwarder';

const EUROPE_QUEUE = 'https://sqs.eu-west-1.amazonaws.com/123456789012/delivery';
const ASIA_QUEUE = 'https://sqs.ap-northeast-1.amazonaws.com/123456789012/delivery';

class Counting {
  readonly counts = new Map<string, number>();
  increment(metric: string, value = 1): void {
    this.counts.set(metric, (this.counts.get(metric) ?? 0) + value);
  }
  observe(): void {
    // not counted
  }
}

function forwarder(send: (region: string, command: SendMessageCommand) => Promise<unknown>, metrics = new Counting()): RegionForwarder {
  return new RegionForwarder({
    region: 'us-east-1',
    queueUrls: new Map([['eu-west-1', EUROPE_QUEUE], ['ap-northeast-1', ASIA_QUEUE]]),
    sqs: (region) => ({ send: (command) => send(region, command) }),
    metrics,
  });
}

function forward(f: RegionForwarder, region: string, notification: object, index: number): Promise<Failure | undefined> {
  return new Promise((resolve) => f.forward(region, notification, index, resolve));
}

describe('RegionForwarder', () => {
  test('entries of one notification for one region travel in one message naming them and the sending region', async () => {
    const sent: Array<{ region: string; input: any }> = [];
    const metrics = new Counting();
    const f = forwarder(async (region, command) => { sent.push({ region, input: command.input }); }, metrics);
    const first = { Type: 'Notification', MessageId: 'one', Message: '{"Messages":[]}', Signature: 'sig' };
    const second = { Type: 'Notification', MessageId: 'two', Message: '{}' };
    const outcomes = await Promise.all([
      forward(f, 'eu-west-1', first, 0),
      forward(f, 'eu-west-1', first, 4),
      forward(f, 'ap-northeast-1', first, 2),
      forward(f, 'eu-west-1', second, 1),
    ]);
    expect(outcomes).toEqual([undefined, undefined, undefined, undefined]);
    expect(sent).toHaveLength(3);
    const europeFirst = sent.find((s) => s.region === 'eu-west-1' && JSON.parse(s.input.MessageBody).MessageId === 'one')!;
    expect(europeFirst.input).toEqual({
      QueueUrl: EUROPE_QUEUE,
      MessageBody: JSON.stringify(first),
      MessageAttributes: {
        PacketGatewayForwardedEntries: { DataType: 'String', StringValue: '0,4' },
        PacketGatewayForwardedFrom: { DataType: 'String', StringValue: 'us-east-1' },
      },
    });
    expect(sent.find((s) => s.region === 'ap-northeast-1')!.input.QueueUrl).toBe(ASIA_QUEUE);
    expect(metrics.counts.get('ForwardedToRegion')).toBe(4);
  });

  test('a send SQS refuses fails each of its entries SendFailed naming the region; nothing is counted', async () => {
    const metrics = new Counting();
    const f = forwarder(async () => { throw new Error('AccessDenied'); }, metrics);
    const n = { MessageId: 'x' };
    const outcomes = await Promise.all([forward(f, 'eu-west-1', n, 0), forward(f, 'eu-west-1', n, 1)]);
    for (const outcome of outcomes) {
      expect(outcome).toEqual({ code: 'SendFailed', reason: 'forwarding to the delivery queue of eu-west-1 failed: AccessDenied' });
    }
    expect(metrics.counts.get('ForwardedToRegion')).toBeUndefined();
  });

  test('reaches only the regions it has a queue for', () => {
    const f = forwarder(async () => undefined);
    expect(f.reaches('eu-west-1')).toBe(true);
    expect(f.reaches('us-east-1')).toBe(false);
    expect(f.reaches('sa-east-1')).toBe(false);
  });
});

describe('forwarding contract', () => {
  test('entry lists round-trip and refuse indexes past the message or other text', () => {
    expect(parseForwardedEntries(formatForwardedEntries([0, 3, 4]), 5)).toEqual(new Set([0, 3, 4]));
    expect(parseForwardedEntries('5', 5)).toBeUndefined();
    for (const bad of ['', ' 1', '1,', 'x', '-1', 1, undefined]) expect(parseForwardedEntries(bad, 5)).toBeUndefined();
  });

  test('peer queue lists round-trip; unset is none', () => {
    const arns = ['arn:aws:sqs:eu-west-1:123456789012:a', 'arn:aws:sqs:ap-northeast-1:123456789012:b'];
    expect(parsePeerDeliveryQueues(formatPeerDeliveryQueues(arns))).toEqual(arns);
    expect(parsePeerDeliveryQueues(undefined)).toEqual([]);
    expect(parsePeerDeliveryQueues('')).toEqual([]);
  });

  test('peer SQS endpoints are read per region, trailing slashes dropped; unset is none', () => {
    expect(parsePeerSqsEndpoints(' eu-west-1=http://100.64.0.1:4566/ , us-gov-west-1=https://sqs.example')).toEqual(new Map([
      ['eu-west-1', 'http://100.64.0.1:4566'],
      ['us-gov-west-1', 'https://sqs.example'],
    ]));
    expect(parsePeerSqsEndpoints(undefined)).toEqual(new Map());
    expect(parsePeerSqsEndpoints('')).toEqual(new Map());
  });

  test.each(['eu-west-1', '=http://a', 'EU-1=http://a', 'eu-west-1=ftp://a', 'eu-west-1=not a url', 'eu-west-1=http://a,eu-west-1=http://b'])(
    'peer SQS endpoints %j are refused, naming what is allowed', (value) => {
      expect(() => parsePeerSqsEndpoints(value)).toThrow('is not valid (allowed: comma-separated <region>=<http or https URL>, each region once)');
    });
});
