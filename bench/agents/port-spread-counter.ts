/**
 * Counting receiver with many client sockets (source ports): each opens its flow at a gateway
 * Listener with one datagram, so the kernel's SO_REUSEPORT hash spreads the clients over the
 * Listener's sockets (one per data-plane worker), and every datagram any of them receives is
 * counted. Answers `reset`/`stats` like the single-socket counter (bench/agents/udp-counter.ts).
 */
import * as dgram from 'node:dgram';
import { num, serve, str } from '../lib/agent-runtime';
import { arrivalTally } from '../lib/arrival-tally';

const sockets: dgram.Socket[] = [];
const tally = arrivalTally();

function bindOne(address: string): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 * 1024 * 1024 });
    s.once('error', reject);
    s.on('message', tally.onMessage);
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
  reset: tally.reset,
  stats: tally.stats,
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
