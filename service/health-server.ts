/**
 * HTTP health and discovery endpoint. `GET /healthz`: 200 with the gateway status when every
 * Listener is bound, 503 otherwise (and while stopping). `GET /listeners`: the running Listeners
 * as `[{name, protocol, address, port, publicKey?}]`. The load balancer health-checks this port
 * over TCP, since UDP cannot be health-checked.
 */
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { GatewayStatus } from './gateway';

export const DEFAULT_HEALTH_PORT = 8080;

export interface HealthServerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly status: () => GatewayStatus;
  readonly logger?: Logger;
}

export interface HealthServer {
  /** Base URL, e.g. http://127.0.0.1:8080 */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Starts the health server; rejects with a message naming host and port when it cannot listen. */
export function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const server = createServer((req, res) => handle(req, res, options));
  server.keepAliveTimeout = 5000;
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(new Error(`health server cannot listen on ${options.host}:${options.port}: ${err.code === 'EADDRINUSE' ? 'the port is already in use' : err.message}`));
    });
    server.listen(options.port, options.host, () => {
      server.on('error', (err) => options.logger?.error('health server error', { error: err.message }));
      const address = server.address() as AddressInfo;
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      resolve({ url: `http://${host}:${address.port}`, port: address.port, close: () => closeServer(server) });
    });
  });
}

function handle(req: IncomingMessage, res: ServerResponse, options: HealthServerOptions): void {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return send(res, 405, { error: `method ${req.method} is not allowed (allowed: GET, HEAD)` }, req.method === 'HEAD');
  }
  let status: GatewayStatus;
  try {
    status = options.status();
  } catch (err) {
    return send(res, 500, { error: (err as Error).message }, req.method === 'HEAD');
  }
  if (path === '/healthz') {
    return send(res, status.healthy ? 200 : 503, { status: status.healthy ? 'ok' : status.stopping ? 'stopping' : 'degraded', listeners: status.listeners }, req.method === 'HEAD');
  }
  if (path === '/listeners') {
    const listeners = status.listeners
      .filter((l) => l.bound)
      .map((l) => ({ name: l.name, protocol: l.protocol, address: l.address, port: l.port, ...(l.publicKey ? { publicKey: l.publicKey } : {}) }));
    return send(res, 200, listeners, req.method === 'HEAD');
  }
  send(res, 404, { error: `no resource ${path} (allowed: /healthz, /listeners)` }, req.method === 'HEAD');
}

function send(res: ServerResponse, code: number, body: unknown, headOnly: boolean): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(headOnly ? undefined : text);
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
