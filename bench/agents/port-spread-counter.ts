/**
 * Counting receiver with many client sockets (source ports): each opens its flow at a gateway
 * Listener with one datagram, so the kernel's SO_REUSEPORT hash spreads the clients over the
 * Listener's sockets (one per data-plane worker), and every datagram any of them receives is
 * counted. Answers `reset`/`stats` like the single-socket counter (bench/agents/udp-counter.ts).
 */
import * as dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { num, serve, str } from '../lib/agent-runtime';

const sockets: dgram.Socket[] = [];
let count = 0;
let bytes = 0;
let firstAt = 0;
let lastAt = 0;

function onMessage(msg: Buffer): void {
  const now = performance.now();
  if (count === 0) firstAt = now;
  lastAt = now;
  count++;
  bytes += msg.length;
}

function bindOne(address: string): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 * 1024 * 1024 });
    s.once('error', reject);
    s.on('message', onMessage);
    s.bind(0, address, () => {
      s.removeListener('error', reject);
      s.on('error', () => undefined);
      resolve(s);
    });
  });
}

serve({
  /** Binds `clients` sockets on `address` (127.0.0.1); answers their ports. */
  bind: async (args) => {
    const address = str(args, 'address', '127.0.0.1');
    const clients = num(args, 'clients');
    for (let i = 0; i < clients; i++) sockets.push(await bindOne(address));
    return { ports: sockets.map((s) => s.address().port) };
  },
  reset: () => {
    count = 0;
    bytes = 0;
    firstAt = 0;
    lastAt = 0;
    return {};
  },
  stats: () => ({ count, bytes, spanMs: lastAt - firstAt, firstAt, lastAt, now: performance.now() }),
  /** One datagram from every socket to `host`:`port` (opens each client's flow at a gateway Listener). */
  ping: async (args) => {
    const host = str(args, 'host');
    const port = num(args, 'port');
    await Promise.all(sockets.map((s) => new Promise<void>((resolve, reject) => {
      s.send(Buffer.from('ping'), port, host, (err) => (err ? reject(err) : resolve()));
    })));
    return { clients: sockets.length };
  },
}, () => {
  for (const s of sockets) s.close();
});
