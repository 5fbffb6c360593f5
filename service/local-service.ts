/**
 * The data plane in local mode, in this process, from a configuration document held in memory
 * rather than a file of the user's: what code embedding the gateway (benchmarks, tests) starts.
 * `npm start` (main.ts) reads a file instead. The document is written, as a local configuration
 * file, to a private temporary directory that the stop removes.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunningService, ServiceOptions, startService } from './runtime';
import type { GatewayConfigDocument } from '../lib/private/records';

/** What {@link startLocalService} takes: the document, and any service option but the mode and the file. */
export interface LocalServiceOptions extends Partial<Omit<ServiceOptions, 'mode' | 'configPath' | 'watchConfig'>> {
  /** The Listeners and PacketSources, as a local configuration file holds them. */
  readonly document: GatewayConfigDocument;
}

/** A service started by {@link startLocalService}. */
export interface LocalService extends RunningService {
  /** The configuration file written from the document; removed, with its directory, by `stop`. */
  readonly configPath: string;
}

/** Defaults of {@link startLocalService}: loopback, and any free port for the health server and the SNS endpoint. */
const LOCAL_SERVICE_DEFAULTS = {
  region: 'us-east-1',
  host: '127.0.0.1',
  healthPort: 0,
  snsPort: 0,
} as const;

/**
 * Starts the service in local mode with `document` as its configuration (not reloaded). Region
 * `us-east-1`, host `127.0.0.1`, health and SNS endpoint on any free port unless `options` say
 * otherwise. Rejects, leaving nothing behind, when the service cannot start.
 */
export async function startLocalService(options: LocalServiceOptions): Promise<LocalService> {
  const { document, ...serviceOptions } = options;
  const dir = mkdtempSync(join(tmpdir(), 'packet-gateway-'));
  const removeDir = (): void => rmSync(dir, { recursive: true, force: true });
  try {
    const configPath = join(dir, 'gateway.json');
    writeFileSync(configPath, JSON.stringify(document));
    const service = await startService({ ...LOCAL_SERVICE_DEFAULTS, ...serviceOptions, mode: 'local', configPath, watchConfig: false });
    let stopped: Promise<void> | undefined;
    return {
      ...service,
      configPath,
      stop: () => (stopped ??= service.stop().finally(removeDir)),
    };
  } catch (err) {
    removeDir();
    throw err;
  }
}
