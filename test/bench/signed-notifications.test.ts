/**
 * The sourced scenario's "signed" rows measure a signature check that passes: the bench's signed
 * bodies are authentic to the verifying consumer, which sends their packets, and a body changed
 * after signing is refused without a packet sent.
 */
import * as dgram from 'node:dgram';
import { BENCH_TOPIC_ARN, buildKit, Kit } from '../../bench/lib/gateway-kit';
import { BENCH_SIGNING_CERT_URL, sourcedBodies } from '../../bench/lib/memory-queue';
import { makeSigningIdentity, signEnvelope } from '../service/sourcing/sns-signing';

const PACKETS = 10;

describe('bench signed notifications', () => {
  let kit: Kit;
  let client: dgram.Socket;
  let received = 0;
  const identity = makeSigningIdentity();

  beforeAll(async () => {
    kit = await buildKit({ listener: { Name: 'bench', Protocol: 'udp', Port: 0, BindAddress: '127.0.0.1', Destinations: [] }, sourced: true });
    client = dgram.createSocket('udp4');
    client.on('message', () => received++);
    await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', resolve));
    // the client's flow: egress goes only to clients with one
    client.send(Buffer.from('ping'), kit.listener.port, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 50));
  });

  afterAll(async () => {
    client.close();
    await kit.close();
  });

  /** Loads `bodies`, runs the verifying consumer over `messages` of them, and answers what it did. */
  async function consume(bodies: string[], messages: number): Promise<{ sent: number; received: number; failures: number; handled: number }> {
    const consumer = kit.verifyingConsumer(identity.certificatePem);
    received = 0;
    const failuresBefore = kit.failures.total;
    const sentBefore = kit.metrics.total('SourcedSent');
    kit.queue!.load(bodies);
    kit.queue!.begin({ rate: 0, maxMessages: messages, durationMs: 10_000 });
    consumer.start();
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && !(kit.queue!.exhausted && kit.queue!.messagesDeleted >= kit.queue!.messagesHandedOut)) {
      await new Promise((r) => setTimeout(r, 5));
    }
    await consumer.stop();
    await new Promise((r) => setTimeout(r, 50)); // the last datagrams reach the client
    // handled = deleted: a receive still open at the stop hands out messages nobody handles (in AWS
    // they stay on the queue); the queue's counts restart with each run
    return { sent: kit.metrics.total('SourcedSent') - sentBefore, received, failures: kit.failures.total - failuresBefore, handled: kit.queue!.messagesDeleted };
  }

  function signedBodies(): string[] {
    const port = client.address().port;
    return sourcedBodies({ topicArn: BENCH_TOPIC_ARN, size: 64, packets: PACKETS, address: '127.0.0.1', port })
      .map((body) => JSON.stringify(signEnvelope(JSON.parse(body) as Record<string, unknown>, identity, BENCH_SIGNING_CERT_URL, '2')));
  }

  test('signed bodies are authentic: every packet is sent, nothing is refused', async () => {
    const outcome = await consume(signedBodies(), 20);
    expect(outcome.handled).toBeGreaterThanOrEqual(20);
    expect(outcome.sent).toBe(outcome.handled * PACKETS);
    expect(outcome.failures).toBe(0);
    // what the client's socket held (its default buffer may drop part of a flood from one process)
    expect(outcome.received).toBeGreaterThan(0);
  });

  test('a body changed after it was signed is refused, and none of its packets is sent', async () => {
    const forged = signedBodies().map((body) => {
      const envelope = JSON.parse(body) as Record<string, string>;
      return JSON.stringify({ ...envelope, MessageId: `${envelope.MessageId}0` });
    });
    const outcome = await consume(forged, 5);
    expect(outcome.handled).toBeGreaterThanOrEqual(5);
    expect(outcome.sent).toBe(0);
    expect(outcome.received).toBe(0);
    expect(outcome.failures).toBe(outcome.handled);
  });
});
