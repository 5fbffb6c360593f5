import { Message, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { MemoryDeliveryQueue } from '../../bench/lib/memory-queue';

function receive(queue: MemoryDeliveryQueue, max: number, abortSignal?: AbortSignal): Promise<Message[]> {
  return queue.send(new ReceiveMessageCommand({ QueueUrl: 'memory', MaxNumberOfMessages: max }), { abortSignal })
    .then((answer) => (answer as { Messages: Message[] }).Messages);
}

describe('MemoryDeliveryQueue long polling', () => {
  it('answers at once with what is due, up to the receive\'s maximum', async () => {
    const queue = new MemoryDeliveryQueue();
    queue.load(['a', 'b']);
    queue.begin({ rate: 0, maxMessages: 3, durationMs: 10_000 });
    expect((await receive(queue, 2)).map((m) => m.Body)).toEqual(['a', 'b']);
    expect((await receive(queue, 10)).map((m) => m.MessageId)).toEqual(['m-2']);
    expect(queue.requests).toEqual({ receive: 2, emptyReceive: 0, deleteBatch: 0 });
  });

  it('hands a receive the messages of the run it was made in, even when the next run begins before the answer', async () => {
    const queue = new MemoryDeliveryQueue();
    queue.load(['x']);
    queue.begin({ rate: 0, maxMessages: 5, durationMs: 10_000 });
    const answer = receive(queue, 10);
    queue.begin({ rate: 0, maxMessages: 5, durationMs: 10_000 });
    expect((await answer).map((m) => m.MessageId)).toEqual(['m-0', 'm-1', 'm-2', 'm-3', 'm-4']);
    expect(queue.messagesHandedOut).toBe(0);
    expect((await receive(queue, 10)).map((m) => m.MessageId)).toEqual(['m-0', 'm-1', 'm-2', 'm-3', 'm-4']);
  });

  it('keeps waiting receives waiting until messages are due, each message going to one of them, oldest first', async () => {
    const queue = new MemoryDeliveryQueue();
    queue.load(['x']);
    // one message every 20 ms
    queue.begin({ rate: 50, maxMessages: 2, durationMs: 10_000 });
    const first = receive(queue, 10);
    const second = receive(queue, 10);
    const settled: string[] = [];
    void first.then(() => settled.push('first'));
    void second.then(() => settled.push('second'));
    expect((await first).map((m) => m.MessageId)).toEqual(['m-0']);
    expect(settled).toEqual(['first']);
    expect((await second).map((m) => m.MessageId)).toEqual(['m-1']);
    expect(queue.requests.emptyReceive).toBe(0);
  });

  it('answers a waiting receive empty when it is aborted, or once the run is over', async () => {
    const queue = new MemoryDeliveryQueue();
    queue.load(['x']);
    // the first message would be due after a second: the run ends at 60 ms, before it
    queue.begin({ rate: 1, maxMessages: 10, durationMs: 60 });
    const controller = new AbortController();
    const aborted = receive(queue, 1, controller.signal);
    controller.abort();
    expect(await aborted).toEqual([]);
    expect(await receive(queue, 1, controller.signal)).toEqual([]);
    const started = Date.now();
    expect(await receive(queue, 1)).toEqual([]);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(queue.requests.emptyReceive).toBe(3);
  });
});
