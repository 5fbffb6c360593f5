import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { capturingLogger, freePort, UdpClient } from './helpers';
import { FAILURE_LOG_MESSAGE } from '../../service/observability/failure-reporter';
import { startService } from '../../service/runtime';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pg-stop-deadline-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('a slow handler: the graceful stop ends at its deadline and every accepted packet not delivered gets a failure record', async () => {
  // A handler that takes 10 s per batch, one batch of 2 at a time.
  writeFileSync(join(dir, 'slow.cjs'), 'exports.handler = () => new Promise((resolve) => setTimeout(() => resolve(undefined), 10_000).unref());\n');
  const port = await freePort();
  writeFileSync(join(dir, 'gateway.json'), JSON.stringify({
    Listeners: [{
      Name: 'slow',
      Protocol: 'udp',
      Port: port,
      Destinations: [{ Name: 'handler', Type: 'local', Module: join(dir, 'slow.cjs'), Batching: { Count: 2, TimeoutInSeconds: 0.01 }, MaxInFlightBatches: 1 }],
    }],
  }));
  const { logger, records } = capturingLogger();
  const service = await startService({
    mode: 'local',
    region: 'us-east-1',
    host: '127.0.0.1',
    healthPort: 0,
    snsPort: 0,
    configPath: join(dir, 'gateway.json'),
    watchConfig: false,
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
