/**
 * An AWS API endpoint stand-in on loopback: an HTTP server that records every request as it
 * arrived (method, path, headers, body: what a SigV4 check with `sigv4.ts` needs) and answers
 * through the subclass's {@link LoopbackAwsEndpoint.respond}.
 */
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ReceivedRequest } from './sigv4';

export abstract class LoopbackAwsEndpoint {
  /** Every request, in arrival order (tests may empty it with `received.length = 0`). */
  readonly received: ReceivedRequest[] = [];
  private server?: Server;

  /** Listens on a free port of 127.0.0.1; resolves with the endpoint URL, `http://127.0.0.1:<port>`. */
  async start(): Promise<string> {
    const server = createServer((req, res) => void this.receive(req, res));
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${this.port}`;
  }

  /** The port it listens on (once started). */
  get port(): number {
    return (this.server!.address() as AddressInfo).port;
  }

  /** Closes every connection and the server. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }

  /** Answers `request` (already recorded); `req` gives the socket, for answers that hang up. */
  protected abstract respond(request: ReceivedRequest, res: ServerResponse, req: IncomingMessage): void | Promise<void>;

  private async receive(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
    const request: ReceivedRequest = { method: req.method!, path: req.url!, headers, body: Buffer.concat(chunks) };
    this.received.push(request);
    await this.respond(request, res, req);
  }
}
