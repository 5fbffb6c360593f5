import type { EgressDatagram, Failure, ListenerHandle, SendCallback } from '../../../service/contracts';
import { SendDeadlines } from '../../../service/sourcing/send-deadlines';
import { SourcedDelivery, SourcedResult } from '../../../service/sourcing/sourced-delivery';

/** A Listener that keeps each send's callback for the test to complete. */
class HeldListener implements ListenerHandle {
  public readonly name = 'demo';
  public readonly protocol = 'udp' as const;
  public readonly address = '127.0.0.1';
  public readonly port = 5555;
  public readonly callbacks: SendCallback[] = [];
  public send(_datagram: EgressDatagram, done?: SendCallback): void {
    this.callbacks.push(done!);
  }
}

const datagram = (port: number): EgressDatagram => ({ data: Buffer.from('x'), address: '203.0.113.5', port });

function delivery(entryCount: number, sendTimeoutMs = 1000) {
  const failed: Array<[number, string | undefined, Failure]> = [];
  const finished: SourcedResult[] = [];
  const run = new SourcedDelivery({
    entryCount,
    deadlines: new SendDeadlines(sendTimeoutMs),
    entryFailed: (index, remote, failure) => failed.push([index, remote, failure]),
    finished: (result) => finished.push(result),
  });
  return { run, failed, finished };
}

describe('SourcedDelivery', () => {
  test('resolves once every entry is sent or reported; each failure reaches the callback once', async () => {
    const { run, failed, finished } = delivery(3);
    const listener = new HeldListener();
    run.fail(0, undefined, { code: 'InvalidMessage', reason: 'bad' });
    run.send(listener, 1, datagram(1));
    run.send(listener, 2, datagram(2));
    const result = run.finish();
    listener.callbacks[0](undefined);
    listener.callbacks[1]({ code: 'NoActiveFlow', reason: 'no flow' });
    listener.callbacks[1]({ code: 'SendFailed', reason: 'again' });
    expect(await result).toEqual({ sent: 1, failed: 2 });
    expect(finished).toEqual([{ sent: 1, failed: 2 }]);
    expect(failed).toEqual([
      [0, undefined, { code: 'InvalidMessage', reason: 'bad' }],
      [2, '203.0.113.5:2', { code: 'NoActiveFlow', reason: 'no flow' }],
    ]);
  });

  test("a failure naming the Listener's real target (a WireGuard peer's endpoint) is recorded with that target, not the requested address", async () => {
    const { run, failed } = delivery(1);
    const listener = new HeldListener();
    run.send(listener, 0, datagram(7));
    const result = run.finish();
    listener.callbacks[0]({ code: 'NoSession', reason: 'no session', target: '198.51.100.2:40000' });
    await result;
    expect(failed).toEqual([[0, '198.51.100.2:40000', { code: 'NoSession', reason: 'no session' }]]);
  });

  test('a Listener that throws fails that entry with SendFailed', async () => {
    const { run, failed } = delivery(1);
    const throwing: ListenerHandle = { ...new HeldListener(), send: () => { throw new Error('boom'); } };
    run.send(throwing, 0, datagram(9));
    expect(await run.finish()).toEqual({ sent: 0, failed: 1 });
    expect(failed).toEqual([[0, '203.0.113.5:9', { code: 'SendFailed', reason: "Listener 'demo' could not send: boom" }]]);
  });

  test('sends that never complete fail with SendFailed after the send timeout', async () => {
    const { run, failed } = delivery(2, 20);
    const listener = new HeldListener();
    run.send(listener, 0, datagram(1));
    run.send(listener, 1, datagram(2));
    listener.callbacks[0](undefined);
    expect(await run.finish()).toEqual({ sent: 1, failed: 1 });
    expect(failed).toEqual([[1, '203.0.113.5:2', { code: 'SendFailed', reason: 'send did not complete within 20 ms' }]]);
    listener.callbacks[1](undefined);
    expect(failed).toHaveLength(1);
  });
});

describe('SourcedDelivery.finishThen', () => {
  test('calls back at once when nothing is pending, otherwise once when the last send completes', () => {
    const none = delivery(1);
    none.run.fail(0, undefined, { code: 'InvalidMessage', reason: 'bad' });
    const atOnce: SourcedResult[] = [];
    none.run.finishThen((r) => atOnce.push(r));
    expect(atOnce).toEqual([{ sent: 0, failed: 1 }]);

    const { run, failed } = delivery(2);
    const listener = new HeldListener();
    run.send(listener, 0, datagram(1));
    run.send(listener, 1, datagram(2));
    const later: SourcedResult[] = [];
    run.finishThen((r) => later.push(r));
    listener.callbacks[1]({ code: 'SendFailed', reason: 'send to 203.0.113.5:2 failed: EPERM' });
    expect(later).toEqual([]);
    listener.callbacks[0](undefined);
    listener.callbacks[0](undefined);
    expect(later).toEqual([{ sent: 1, failed: 1 }]);
    expect(failed).toEqual([[1, '203.0.113.5:2', { code: 'SendFailed', reason: 'send to 203.0.113.5:2 failed: EPERM' }]]);
  });

  test('a callback that throws does not escape the Listener\'s completion', () => {
    const { run } = delivery(1);
    const listener = new HeldListener();
    run.send(listener, 0, datagram(1));
    run.finishThen(() => {
      throw new Error('receiver broke');
    });
    expect(() => listener.callbacks[0](undefined)).not.toThrow();
  });

  test('sends still pending at the send timeout fail with SendFailed, and the callback comes once', async () => {
    const { run, failed } = delivery(1, 20);
    const listener = new HeldListener();
    run.send(listener, 0, datagram(3));
    const outcomes: SourcedResult[] = [];
    run.finishThen((r) => outcomes.push(r));
    await new Promise((r) => setTimeout(r, 60));
    listener.callbacks[0](undefined);
    expect(outcomes).toEqual([{ sent: 0, failed: 1 }]);
    expect(failed).toEqual([[0, '203.0.113.5:3', { code: 'SendFailed', reason: 'send did not complete within 20 ms' }]]);
  });
});
