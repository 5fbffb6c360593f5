/**
 * A WorkerPool of real data-plane worker threads for the in-process probes (bench/worker-*.ts) and
 * the gateway kit's workers (bench/lib/gateway-kit.ts):
 * local mode, the Listeners given written to a configuration file made for the run, metrics and
 * logs off. Node.js 22.12 or later (the workers' sockets use dgram `reusePort`).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ListenerRecord } from '../../lib/private/records';
import { createLogger } from '../../service/observability/logger';
import { dgramHasReusePort } from '../../service/workers/worker-count';
import { WorkerPool } from '../../service/workers/worker-pool';

/** A started pool, and how to stop it and remove its files. */
export interface ProbeWorkerPool {
  readonly pool: WorkerPool;
  close(): Promise<void>;
}

/** Starts `count` workers in all (the main thread included) with `listeners`; throws on a Node.js without dgram `reusePort`. */
export async function startProbeWorkerPool(count: number, listeners: readonly ListenerRecord[]): Promise<ProbeWorkerPool> {
  if (!dgramHasReusePort()) throw new Error(`Node.js ${process.version} has no dgram reusePort: run this probe on Node.js 22.12 or later`);
  const dir = mkdtempSync(join(tmpdir(), 'pgb-probe-'));
  const configPath = join(dir, 'gateway.json');
  writeFileSync(configPath, JSON.stringify({ Listeners: listeners }));
  const pool = new WorkerPool({
    count,
    logger: createLogger({ level: 'SILENT' }),
    workerData: { mode: 'local', region: 'us-east-1', host: '127.0.0.1', configPath, watchConfig: false, metricsIntervalSeconds: 0, logLevel: 'SILENT' },
  });
  const close = async (): Promise<void> => {
    await pool.stop(2_000);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await pool.start();
  } catch (err) {
    await close();
    throw err;
  }
  return { pool, close };
}
