/**
 * Configuration from the gateway's DynamoDB table (AWS mode): one Scan loads every Listener and
 * PacketSource record (layout in records.ts), repeated every `reloadIntervalSeconds`. Each record
 * is validated on its own: an invalid record is logged and left out while the others apply, and a
 * failed Scan keeps the configuration in force. A record that was valid and becomes invalid keeps
 * its last valid version (logged): a bad edit never takes a running Listener or PacketSource down;
 * deleting the item does.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { ConfigListener, ConfigListeners, ConfigSource } from './config-source';
import { deepEqual } from './deep-equal';
import { withListenerProtocol } from '../../lib/private/listener-protocol';
import { localOnlyDestinationErrors } from '../../lib/private/local-only-destinations';
import {
  GatewayConfigDocument,
  LISTENER_KEY_PREFIX,
  ListenerRecord,
  PacketSourceRecord,
  RECORD_ATTRIBUTE,
  SOURCE_KEY_PREFIX,
  TABLE_PARTITION_KEY,
} from '../../lib/private/records';
import { validateListenerRecord, validatePacketSourceRecord } from '../../lib/private/validate-records';

export const DEFAULT_RELOAD_INTERVAL_SECONDS = 10;

/** Log message (ERROR) of an invalid record with no earlier valid version: it is not applied. */
export const RECORD_IGNORED_LOG_MESSAGE = 'configuration record ignored';

/** Log message (ERROR) of a record that became invalid: its last valid version stays in force. */
export const RECORD_KEPT_LOG_MESSAGE = 'configuration record invalid; its last valid version stays in force';

export interface DynamoDbConfigSourceOptions {
  readonly client: DynamoDBClient | DynamoDBDocumentClient;
  readonly tableName: string;
  /** @default 10 */
  readonly reloadIntervalSeconds?: number;
  readonly logger?: Logger;
}

export class DynamoDbConfigSource implements ConfigSource {
  public readonly description: string;
  private readonly documents: DynamoDBDocumentClient;
  private readonly intervalMs: number;
  private config?: GatewayConfigDocument;
  private readonly listeners = new ConfigListeners();
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private loading?: Promise<boolean>;
  /** Problems already logged, by item key, so an invalid record is reported once, not every reload. */
  private reported = new Map<string, string>();
  /** The last valid version of each record in force, by item key. */
  private lastGood = new Map<string, ListenerRecord | PacketSourceRecord>();

  public constructor(private readonly options: DynamoDbConfigSourceOptions) {
    this.description = `table ${options.tableName}`;
    this.documents = options.client instanceof DynamoDBDocumentClient
      ? options.client
      : DynamoDBDocumentClient.from(options.client, { marshallOptions: { removeUndefinedValues: true } });
    this.intervalMs = Math.max(1, options.reloadIntervalSeconds ?? DEFAULT_RELOAD_INTERVAL_SECONDS) * 1000;
  }

  public async start(): Promise<GatewayConfigDocument> {
    this.stopped = false;
    try {
      this.config = await this.scan();
    } catch (err) {
      throw new Error(`${this.description}: cannot load the configuration: ${(err as Error).message}`);
    }
    this.schedule();
    return this.config;
  }

  public current(): GatewayConfigDocument {
    if (!this.config) throw new Error(`${this.description}: configuration not loaded yet (call start first)`);
    return this.config;
  }

  public onChange(listener: ConfigListener): () => void {
    return this.listeners.add(listener);
  }

  /** Scans the table now; returns true when the configuration changed. A failed Scan is logged and keeps the current configuration. */
  public reload(): Promise<boolean> {
    if (!this.loading) {
      this.loading = this.reloadOnce().finally(() => {
        this.loading = undefined;
      });
    }
    return this.loading;
  }

  public async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.loading;
  }

  private async reloadOnce(): Promise<boolean> {
    let next: GatewayConfigDocument;
    try {
      next = await this.scan();
    } catch (err) {
      this.options.logger?.warn('configuration reload failed; keeping the current configuration', { source: this.description, error: (err as Error).message });
      return false;
    }
    if (this.stopped || deepEqual(next, this.config)) return false;
    this.config = next;
    this.options.logger?.info('configuration changed', { source: this.description, listeners: next.Listeners.length, packetSources: next.PacketSources?.length ?? 0 });
    this.listeners.notify(next);
    return true;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.reload().finally(() => this.schedule());
    }, this.intervalMs);
    this.timer.unref();
  }

  private async scan(): Promise<GatewayConfigDocument> {
    const candidates: Array<{ key: string; record: ListenerRecord; errors: string[] }> = [];
    const sources: PacketSourceRecord[] = [];
    const seen = new Set<string>();
    let startKey: Record<string, unknown> | undefined;
    do {
      const scan = new ScanCommand({ TableName: this.options.tableName, ExclusiveStartKey: startKey, ConsistentRead: true });
      const page = await this.documents.send(scan);
      for (const item of page.Items ?? []) {
        const key = item[TABLE_PARTITION_KEY];
        if (typeof key !== 'string') continue;
        seen.add(key);
        const record = item[RECORD_ATTRIBUTE];
        if (key.startsWith(LISTENER_KEY_PREFIX)) {
          const errors = validateListenerRecord(record, `${key} ${RECORD_ATTRIBUTE}`, { rejectUnknownFields: false });
          const name = key.slice(LISTENER_KEY_PREFIX.length);
          // local handlers and `log` exist only in local mode
          if (errors.length === 0) errors.push(...localOnlyDestinationErrors(record as ListenerRecord, `${key} ${RECORD_ATTRIBUTE}`));
          if (errors.length === 0 && (record as ListenerRecord).Name !== name) errors.push(`${key} ${RECORD_ATTRIBUTE}.Name: ${JSON.stringify((record as ListenerRecord).Name)} does not match the item key (allowed: ${JSON.stringify(name)})`);
          candidates.push({ key, record: errors.length === 0 ? withListenerProtocol(record as ListenerRecord) : record as ListenerRecord, errors });
        } else if (key.startsWith(SOURCE_KEY_PREFIX)) {
          const errors = validatePacketSourceRecord(record, `${key} ${RECORD_ATTRIBUTE}`, { rejectUnknownFields: false });
          const topic = key.slice(SOURCE_KEY_PREFIX.length);
          if (errors.length === 0 && (record as PacketSourceRecord).TopicArn !== topic) errors.push(`${key} ${RECORD_ATTRIBUTE}.TopicArn: ${JSON.stringify((record as PacketSourceRecord).TopicArn)} does not match the item key (allowed: ${JSON.stringify(topic)})`);
          const used = this.accept(key, errors) ? record as PacketSourceRecord : this.lastGood.get(key) as PacketSourceRecord | undefined;
          if (used) sources.push(used);
        }
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    for (const key of this.reported.keys()) if (!seen.has(key)) this.reported.delete(key);
    candidates.sort((a, b) => compare(a.key, b.key));
    // Two Listeners cannot share a port: the first by name keeps it.
    const byPort = new Map<number, string>();
    const listeners: ListenerRecord[] = [];
    const lastGood = new Map<string, ListenerRecord | PacketSourceRecord>();
    for (const { key, record, errors } of candidates) {
      if (errors.length === 0) {
        const holder = byPort.get(record.Port);
        if (holder !== undefined) errors.push(`${key} ${RECORD_ATTRIBUTE}.Port: ${record.Port} is used by Listener ${holder} (allowed: one Listener per port)`);
        else byPort.set(record.Port, record.Name);
      }
      if (this.accept(key, errors)) {
        listeners.push(record);
        lastGood.set(key, record);
        continue;
      }
      const previous = this.lastGood.get(key) as ListenerRecord | undefined;
      if (previous && !byPort.has(previous.Port)) {
        byPort.set(previous.Port, previous.Name);
        listeners.push(previous);
        lastGood.set(key, previous);
      }
    }
    for (const s of sources) lastGood.set(`${SOURCE_KEY_PREFIX}${s.TopicArn}`, s);
    this.lastGood = lastGood;
    listeners.sort((a, b) => compare(a.Name, b.Name));
    sources.sort((a, b) => compare(a.TopicArn, b.TopicArn));
    return { Listeners: listeners, PacketSources: sources };
  }

  /** Logs a record's problems once; returns true when it has none. */
  private accept(key: string, errors: readonly string[]): boolean {
    if (errors.length === 0) {
      this.reported.delete(key);
      return true;
    }
    const signature = errors.join('\n');
    if (this.reported.get(key) !== signature) {
      this.reported.set(key, signature);
      if (this.lastGood.has(key)) {
        this.options.logger?.error(RECORD_KEPT_LOG_MESSAGE, { source: this.description, item: key, errors });
      } else {
        this.options.logger?.error(RECORD_IGNORED_LOG_MESSAGE, { source: this.description, item: key, errors });
      }
    }
    return false;
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
