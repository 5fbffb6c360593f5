/** A real Kinesis API on loopback for tests: kinesalite, in memory. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, Http2Server } from 'node:http2';
import type { AddressInfo } from 'node:net';

/** A running kinesalite: its endpoint URL. */
export interface LocalKinesis {
  readonly url: string;
  close(): Promise<void>;
}

interface KinesaliteServer {
  listeners(event: 'request'): Array<(req: IncomingMessage, res: ServerResponse) => void>;
  close(done: (err?: Error) => void): void;
}
// kinesalite ships no type declarations.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const kinesalite = require('kinesalite') as (options: Record<string, unknown>) => KinesaliteServer;

/**
 * kinesalite's API served over cleartext HTTP/2, which the Kinesis client speaks (kinesalite
 * itself serves HTTP/1.1 only; its request handler works unchanged on Node's HTTP/2 compatibility API).
 */
export async function startKinesalite(): Promise<LocalKinesis> {
  const api = kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 100 });
  const [handler] = api.listeners('request');
  const server: Http2Server = createServer((req, res) => handler(req as unknown as IncomingMessage, res as unknown as ServerResponse));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => api.close(() => resolve()));
    },
  };
}
