/**
 * HTTP health and discovery endpoint. `GET /healthz`: 200 with the gateway status when every
 * Listener is bound, 503 otherwise (and while stopping). `GET /healthz/listeners/<name>`: the
 * health of one Listener, which its load-balancer target group checks (UDP cannot be
 * health-checked), so a Listener that is not bound takes the task out of that Listener's target
 * group only. `GET /listeners`: the running Listeners as `[{name, protocol, address, port,
 * publicKey?}]`.
 */
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { GatewayStatus } from './gateway';
import { LISTENER_HEALTH_PATH_PREFIX, LISTENERS_PATH, TASK_HEALTH_PATH } from '../lib/private/health-paths';

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
  if (path === TASK_HEALTH_PATH) {
    return send(res, status.healthy ? 200 : 503, { status: status.healthy ? 'ok' : status.stopping ? 'stopping' : 'degraded', listeners: status.listeners }, req.method === 'HEAD');
  }
  if (path.startsWith(LISTENER_HEALTH_PATH_PREFIX)) {
    const [code, body] = listenerHealth(status, path.slice(LISTENER_HEALTH_PATH_PREFIX.length));
    return send(res, code, body, req.method === 'HEAD');
  }
  if (path === LISTENERS_PATH) {
    const listeners = status.listeners
      .filter((l) => l.bound)
      .map((l) => ({ name: l.name, protocol: l.protocol, address: l.address, port: l.port, ...(l.publicKey ? { publicKey: l.publicKey } : {}) }));
    return send(res, 200, listeners, req.method === 'HEAD');
  }
  send(res, 404, { error: `no resource ${path} (allowed: ${TASK_HEALTH_PATH}, ${LISTENER_HEALTH_PATH_PREFIX}<name>, ${LISTENERS_PATH})` }, req.method === 'HEAD');
}

/**
 * One Listener's health: 503 while the task stops or when the Listener is configured but not
 * bound; 200 when it is bound. A Listener this task has no record of answers 200
 * (`not-configured`): its record is written after the fleet has rolled out (WireGuard Listeners),
 * so refusing it would hold the very deployment that makes it configured; once the record is
 * loaded, its binding decides.
 */
function listenerHealth(status: GatewayStatus, name: string): [number, unknown] {
  if (status.stopping) return [503, { listener: name, status: 'stopping' }];
  const listener = status.listeners.find((l) => l.name === name);
  if (!listener) return [200, { listener: name, status: 'not-configured' }];
  if (!listener.bound) return [503, { listener: name, status: 'unbound', ...(listener.error ? { error: listener.error } : {}) }];
  return [200, { listener: name, status: 'ok' }];
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
