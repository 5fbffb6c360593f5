/** Where the gateway's configuration comes from: a JSON file (local mode) or the DynamoDB table (AWS). */
import type { GatewayConfigDocument } from '../../lib/private/records';

export type ConfigListener = (config: GatewayConfigDocument) => void;

export interface ConfigSource {
  /** Human-readable origin for logs (file path, table name). */
  readonly description: string;
  /** Loads the configuration and starts watching for changes. Rejects when it cannot be loaded or is invalid. */
  start(): Promise<GatewayConfigDocument>;
  /** The configuration in force (after `start`). */
  current(): GatewayConfigDocument;
  /** Calls `listener` with each new configuration that differs from the previous one. Returns an unsubscribe function. */
  onChange(listener: ConfigListener): () => void;
  /** Stops watching. */
  stop(): Promise<void>;
}

/** Keeps the subscribers of a config source. */
export class ConfigListeners {
  private readonly listeners = new Set<ConfigListener>();

  public add(listener: ConfigListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  public notify(config: GatewayConfigDocument): void {
    for (const listener of [...this.listeners]) listener(config);
  }
}
