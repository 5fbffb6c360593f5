import { join } from 'node:path';
import { capturingLogger, freePort, UdpClient } from './helpers';
import { startLocalService } from '../../service/local-service';
import { FAILURE_LOG_MESSAGE } from '../../service/observability/failure-reporter';

const SLOW_HANDLER = join(__dirname, 'fixtures', 'slow-handler.cjs');

test('a slow handler: the graceful stop ends at its deadline and every accepted packet not delivered gets a failure record', async () => {
  // A handler that takes 10 s per batch, one batch of 2 at a time.
  const port = await freePort();
  const { logger, records } = capturingLogger();
  const service = await startLocalService({
    document: {
      Listeners: [{
        Name: 'slow',
        Protocol: 'udp',
        Port: port,
        Destinations: [{ Name: 'handler', Type: 'local', Module: SLOW_HANDLER, Batching: { Count: 2, TimeoutInSeconds: 0.01 }, MaxInFlightBatches: 1 }],
      }],
    },
    logger,
    metricsIntervalSeconds: 0,
    stopDeadlineMs: 1_000,
  });
  const client = await UdpClient.open();
  try {
    for (let i = 0; i < 10; i++) await client.send(`p${i}`, port);
    await new Promise((r) => setTimeout(r, 200));
    const started = Date.now();
    await service.stop();
    const took = Date.now() - started;
    expect(took).toBeLessThan(2_000);
    const failed = records.filter((r) => r.message === FAILURE_LOG_MESSAGE);
    expect(failed).toHaveLength(10);
    expect(failed.every((r) => r.attributes.code === 'DestinationFailed' && r.attributes.listener === 'slow')).toBe(true);
    expect(failed.filter((r) => String(r.attributes.reason).includes('outcome unknown'))).toHaveLength(2);
    expect(new Set(failed.map((r) => r.attributes.tag)).size).toBe(10);
  } finally {
    await client.close();
    await service.stop();
  }
}, 20_000);
