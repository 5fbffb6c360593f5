/**
 * Configuration from a JSON file of shape GatewayConfigDocument (local mode). Relative `Module`
 * paths of local handlers resolve against the file's directory. With `watch`, the file is polled
 * and a valid new version replaces the old one; an invalid edit is logged and ignored.
 */
import { unwatchFile, watchFile } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { Logger } from '@aws-lambda-powertools/logger';
import { ConfigListener, ConfigListeners, ConfigSource } from './config-source';
import { deepEqual } from './deep-equal';
import { withListenerProtocol } from '../../lib/private/listener-protocol';
import type { GatewayConfigDocument, ListenerRecord } from '../../lib/private/records';
import { assertValidConfigDocument } from '../../lib/private/validate-records';
import { configuredQueueEndpoints } from '../aws-clients';

export interface FileConfigSourceOptions {
  readonly path: string;
  readonly logger?: Logger;
  /** Poll the file for changes. @default false */
  readonly watch?: boolean;
  /** Poll interval in ms. @default 1000 */
  readonly watchIntervalMs?: number;
}

export class FileConfigSource implements ConfigSource {
  public readonly description: string;
  private readonly path: string;
  private config?: GatewayConfigDocument;
  private readonly listeners = new ConfigListeners();
  private watching = false;

  public constructor(private readonly options: FileConfigSourceOptions) {
    this.path = resolve(options.path);
    this.description = `file ${this.path}`;
  }

  public async start(): Promise<GatewayConfigDocument> {
    this.config = await loadConfigFile(this.path);
    if (this.options.watch && !this.watching) {
      this.watching = true;
      const watcher = watchFile(this.path, { interval: this.options.watchIntervalMs ?? 1000, persistent: false }, (curr, prev) => {
        if (curr.mtimeMs !== prev.mtimeMs || curr.size !== prev.size) void this.reload();
      });
      watcher.unref?.();
    }
    return this.config;
  }

  public current(): GatewayConfigDocument {
    if (!this.config) throw new Error(`${this.description}: configuration not loaded yet (call start first)`);
    return this.config;
  }

  public onChange(listener: ConfigListener): () => void {
    return this.listeners.add(listener);
  }

  /** Reads the file again; returns true when a changed, valid configuration was applied. */
  public async reload(): Promise<boolean> {
    let next: GatewayConfigDocument;
    try {
      next = await loadConfigFile(this.path);
    } catch (err) {
      this.options.logger?.error('configuration change ignored', { source: this.description, error: (err as Error).message });
      return false;
    }
    if (deepEqual(next, this.config)) return false;
    this.config = next;
    this.options.logger?.info('configuration changed', { source: this.description });
    this.listeners.notify(next);
    return true;
  }

  public async stop(): Promise<void> {
    if (this.watching) unwatchFile(this.path);
    this.watching = false;
  }
}

/** Reads, parses, validates a config file and resolves local handler paths against its directory. */
export async function loadConfigFile(path: string): Promise<GatewayConfigDocument> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`config file ${path} cannot be read: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new Error(`config file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  assertValidConfigDocument(doc, `config file ${path}`, { queueEndpoints: configuredQueueEndpoints(process.env) });
  return resolveModulePaths(doc, dirname(path));
}

/** Local handler `Module` paths made absolute against `directory`. */
export function resolveModulePaths(doc: GatewayConfigDocument, directory: string): GatewayConfigDocument {
  const listeners: ListenerRecord[] = doc.Listeners.map((l) => ({
    ...withListenerProtocol(l),
    Destinations: l.Destinations.map((d) => (d.Type === 'local' && d.Module && !isAbsolute(d.Module) ? { ...d, Module: resolve(directory, d.Module) } : d)),
  }));
  return { ...doc, Listeners: listeners };
}
