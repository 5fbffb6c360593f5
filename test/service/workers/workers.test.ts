/**
 * Data-plane workers end to end, in local mode. With two workers (Node.js 22.12 or later: run
 * `npx -y -p node@22 node node_modules/jest/bin/jest.js test/service/workers`), clients spread over
 * both workers' sockets and replies and sourced packets reach every client from the Listener's
 * port; on an older Node.js the service runs one worker and says why.
 */
import { resolve } from 'node:path';
import { PublishBatchCommand, SNSClient } from '@aws-sdk/client-sns';
import { startLocalService } from '../../../service/local-service';
import type { RunningService } from '../../../service/runtime';
import { dgramHasReusePort, oneWorkerLogMessage, resolveWorkerCount } from '../../../service/workers/worker-count';
import { capturingLogger, freePort, UdpClient } from '../helpers';

const HANDLER = resolve(__dirname, '..', 'fixtures', 'thread-echo-handler.cjs');
const TOPIC = 'arn:aws:sns:us-east-1:000000000000:workers';
const CLIENTS = 24;

async function start(workers: number, logger = capturingLogger().logger): Promise<RunningService> {
  return startLocalService({
    document: {
      Listeners: [{
        Name: 'spread',
        Protocol: 'udp',
        Port: await freePort(),
        BindAddress: '127.0.0.1',
        Formatter: 'base64',
        Destinations: [{ Name: 'echo', Type: 'local', Module: HANDLER, Batching: { Count: 1, TimeoutInSeconds: 0.01 } }],
      }],
      PacketSources: [{ TopicArn: TOPIC, ListenerName: 'spread' }],
    },
    logger,
    metricsIntervalSeconds: 0,
    workers,
  });
}

const withReusePort = dgramHasReusePort() ? describe : describe.skip;
const withoutReusePort = dgramHasReusePort() ? describe.skip : describe;

withReusePort(`two data-plane workers${dgramHasReusePort() ? '' : ' (skipped: dgram has no reusePort on this Node.js, before 22.12; CI runs it on Node 22)'}`, () => {
  let service: RunningService;
  let clients: UdpClient[];
  let port: number;

  beforeAll(async () => {
    service = await start(2);
    port = service.gateway.get('spread')!.port;
    clients = await Promise.all(Array.from({ length: CLIENTS }, () => UdpClient.open()));
  }, 60_000);

  afterAll(async () => {
    await Promise.all((clients ?? []).map((c) => c.close()));
    await service?.stop();
  });

  test('the service runs two workers', () => {
    expect(service.workers).toBe(2);
  });

  test('clients spread over both workers, and each gets its reply from the Listener port', async () => {
    await Promise.all(clients.map((c, i) => c.send(`hello ${i}`, port)));
    await Promise.all(clients.map((c) => c.waitFor(1, 10_000)));
    const threads = new Set<string>();
    clients.forEach((c, i) => {
      expect(c.received[0].from).toMatchObject({ address: '127.0.0.1', port });
      const [thread, text] = c.received[0].data.toString().split(':');
      expect(text).toBe(`hello ${i}`);
      threads.add(thread);
    });
    // the main thread and the worker thread both served clients (two thread ids)
    expect(threads.size).toBe(2);
    // the main thread owns only the flows hashed to its socket
    expect(service.gateway.flows.size).toBeGreaterThan(0);
    expect(service.gateway.flows.size).toBeLessThan(CLIENTS);
  });

  test('a sourced packet reaches every client, from the Listener port', async () => {
    const sns = new SNSClient({ endpoint: service.snsUrl, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    try {
      for (let first = 0; first < clients.length; first += 10) {
        const batch = clients.slice(first, first + 10);
        await sns.send(new PublishBatchCommand({
          TopicArn: TOPIC,
          PublishBatchRequestEntries: batch.map((c, i) => ({
            Id: `e${first + i}`,
            Message: JSON.stringify({ Messages: [{ Data: Buffer.from(`push ${first + i}`).toString('base64'), Remote: { Address: '127.0.0.1', Port: c.port } }] }),
          })),
        }));
      }
      await Promise.all(clients.map((c) => c.waitFor(2, 10_000)));
      clients.forEach((c, i) => {
        expect(c.received[1].data.toString()).toBe(`push ${i}`);
        expect(c.received[1].from).toMatchObject({ address: '127.0.0.1', port });
      });
    } finally {
      sns.destroy();
    }
  });
});

withoutReusePort(`workers on a Node.js without dgram reusePort${dgramHasReusePort() ? ' (skipped: this Node.js has reusePort)' : ''}`, () => {
  test('the service starts with one worker and says so', async () => {
    const { logger, records } = capturingLogger();
    const service = await start(2, logger);
    try {
      expect(service.workers).toBe(1);
      expect(records).toContainEqual(expect.objectContaining({
        level: 'WARN',
        message: oneWorkerLogMessage(resolveWorkerCount({ requested: 2 })),
      }));
    } finally {
      await service.stop();
    }
  });
});
