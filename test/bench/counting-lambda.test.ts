import { InvokeCommand } from '@aws-sdk/client-lambda';
import { handlerStats } from '../../bench/fixtures/handler-stats';
import { countingCpuUsPerPacket, countingLambdaClient, countPackets } from '../../bench/lib/counting-lambda';
import { isQueuedPacket, messagesPayloadBuffer, packetTemplate, QueuedPacket, queueDatagram } from '../../service/destinations/packet';

function batchOf(count: number, data: (i: number) => Buffer, formatter: 'base64' | 'utf8'): QueuedPacket[] {
  const template = packetTemplate({ Domain: 'bench', Port: 5555, IpAddress: '127.0.0.1', Protocol: 'udp' }, 'us-east-1', formatter);
  return Array.from({ length: count }, (_, i) => {
    const queued = queueDatagram({ data: data(i), remoteAddress: '127.0.0.1', remotePort: 40000 + i, receivedAt: 1_780_000_000_000 + i }, `tag-${i}`, template);
    if (!isQueuedPacket(queued)) throw new Error(queued.reason);
    return queued;
  });
}

describe('the counting Lambda stand-in', () => {
  test('counts the packets of a payload, also when utf8 Data spells a packet start or holds non-ASCII text', () => {
    expect(countPackets(messagesPayloadBuffer(batchOf(100, () => Buffer.alloc(64, 7), 'base64')))).toBe(100);
    const tricky = batchOf(7, (i) => Buffer.from(i % 2 === 0 ? '{"Tag":"x"} {"Tag":"' : 'é ✓ {"Tag":"', 'utf8'), 'utf8');
    expect(countPackets(messagesPayloadBuffer(tricky))).toBe(7);
    expect(countPackets(Buffer.from('{"Messages":[]}'))).toBe(0);
    const view = messagesPayloadBuffer(batchOf(3, () => Buffer.from('a'), 'base64'));
    expect(countPackets(new Uint8Array(view.buffer, view.byteOffset, view.byteLength))).toBe(3);
  });

  test('answers every Invoke, records its packets, and measures what counting them costs', async () => {
    const stats = handlerStats();
    stats.reset();
    const client = countingLambdaClient('us-east-1');
    const out = await client.send(new InvokeCommand({ FunctionName: 'bench-counter', Payload: messagesPayloadBuffer(batchOf(50, () => Buffer.alloc(64), 'base64')) }));
    expect(out.StatusCode).toBe(200);
    expect(stats.packets).toBe(50);
    expect(stats.batches).toBe(1);
    const us = countingCpuUsPerPacket(5);
    expect(us).toBeGreaterThan(0);
    expect(us).toBeLessThan(50);
  });
});
