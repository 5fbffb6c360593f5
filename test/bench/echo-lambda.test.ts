import { handlerStats } from '../../bench/fixtures/handler-stats';
import { echoLambdaClient, echoLambdaHttpClient, echoReplies } from '../../bench/lib/echo-lambda';
import { LambdaDestination } from '../../service/destinations/lambda-destination';
import { DirectLambdaInvoker } from '../../service/destinations/lambda-invoker';
import { isQueuedPacket, messagesPayloadBuffer, packetTemplate, QueuedPacket, queueDatagram } from '../../service/destinations/packet';

const ARN = 'arn:aws:lambda:us-east-1:000000000000:function:bench-echo';

function batchOf(count: number): QueuedPacket[] {
  const template = packetTemplate({ Domain: 'bench', Port: 5555, IpAddress: '127.0.0.1', Protocol: 'udp' }, 'us-east-1', 'base64');
  return Array.from({ length: count }, (_, i) => {
    const queued = queueDatagram({ data: Buffer.from(`payload ${i}`), remoteAddress: '127.0.0.1', remotePort: 40000 + i, receivedAt: 1_780_000_000_000 + i }, `tag-${i}`, template);
    if (!isQueuedPacket(queued)) throw new Error(queued.reason);
    return queued;
  });
}

const expectedReplies = (batch: QueuedPacket[]): unknown => ({ Replies: batch.map((p) => ({ Tag: p.tag, Data: p.data })) });

describe('the echoing Lambda stand-in', () => {
  test('answers a payload with one reply per packet: its Tag and its Data', () => {
    const batch = batchOf(3);
    const { answer, packets } = echoReplies(messagesPayloadBuffer(batch));
    expect(packets).toBe(3);
    expect(JSON.parse(answer.toString('utf8'))).toEqual(expectedReplies(batch));
  });

  test('through the gateway\'s Lambda destination and direct invoker, the response is the Replies contract, and each Invoke is recorded', async () => {
    const stats = handlerStats();
    stats.reset();
    const destination = new LambdaDestination({ Name: 'echo', Type: 'lambda', Arn: ARN }, new DirectLambdaInvoker(echoLambdaClient('us-east-1')));
    const batch = batchOf(5);
    const result = await destination.deliver(batch);
    expect(result.response).toEqual(expectedReplies(batch));
    expect(stats.packets).toBe(5);
    expect(stats.batches).toBe(1);
  });

  test('behind its HTTP server, reached through the SDK\'s HTTP handler, the same', async () => {
    const standIn = await echoLambdaHttpClient('us-east-1');
    try {
      let fallbacks = 0;
      const destination = new LambdaDestination({ Name: 'echo', Type: 'lambda', Arn: ARN }, new DirectLambdaInvoker(standIn.client, () => fallbacks++));
      const batch = batchOf(2);
      expect((await destination.deliver(batch)).response).toEqual(expectedReplies(batch));
      expect(fallbacks).toBe(0);
    } finally {
      await standIn.close();
    }
  });
});
