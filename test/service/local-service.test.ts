/** startLocalService: the data plane in local mode from a configuration document, with nothing left behind. */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { freePort, silentLogger } from './helpers';
import { startLocalService } from '../../service/local-service';

describe('startLocalService', () => {
  test('runs the document\'s Listeners on loopback; the stop removes the configuration it wrote', async () => {
    const port = await freePort();
    const service = await startLocalService({
      document: { Listeners: [{ Name: 'echo', Protocol: 'udp', Port: port, Destinations: [{ Name: 'log', Type: 'log' }] }] },
      logger: silentLogger,
      metricsIntervalSeconds: 0,
    });
    try {
      expect(service.gateway.status().listeners).toEqual([expect.objectContaining({ name: 'echo', address: '127.0.0.1', port, bound: true })]);
      expect(service.healthUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(existsSync(service.configPath)).toBe(true);
    } finally {
      await service.stop();
    }
    expect(existsSync(dirname(service.configPath))).toBe(false);
    // a second stop is the same stop
    await expect(service.stop()).resolves.toBeUndefined();
  });

  test('a start that fails leaves no configuration behind', async () => {
    const saved = process.env.TMPDIR;
    const scratch = mkdtempSync(join(tmpdir(), 'pg-local-service-'));
    process.env.TMPDIR = scratch;
    try {
      await expect(startLocalService({
        document: { Listeners: [{ Name: 'bad name', Protocol: 'udp', Port: 5555, Destinations: [] }] },
        logger: silentLogger,
        metricsIntervalSeconds: 0,
      })).rejects.toThrow(/Name/);
      expect(readdirSync(scratch)).toEqual([]);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});
