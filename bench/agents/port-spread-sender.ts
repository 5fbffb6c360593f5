/**
 * Load generator of the worker-scaling scenario: the raw dgram sender loop of udp-sender.ts, but
 * from many client sockets (one source port each, taking turns), so the kernel's SO_REUSEPORT hash
 * spreads the clients over every worker's socket of a Listener. Flooding or paced.
 */
import * as dgram from 'node:dgram';
import { num, serve } from '../lib/agent-runtime';
import { runPayloadSends } from '../lib/load';

let sockets: dgram.Socket[] = [];
let errors = 0;

function open(): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket({ type: 'udp4', sendBufferSize: 1024 * 1024 });
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      s.removeListener('error', reject);
      s.on('error', () => {
        errors++;
      });
      resolve(s);
    });
  });
}

serve({
  /** Opens `clients` sockets (default 64). */
  open: async (args) => {
    const clients = num(args, 'clients', 64);
    if (!Number.isInteger(clients) || clients < 1 || clients > 4096) throw new Error(`clients must be an integer 1–4096, got ${clients}`);
    sockets = await Promise.all(Array.from({ length: clients }, () => open()));
    return { ports: sockets.map((s) => s.address().port) };
  },
  run: async (args) => {
    if (sockets.length === 0) throw new Error('open the sockets first');
    const clients = sockets;
    errors = 0;
    const result = await runPayloadSends(args, (payload, port, host, i) => clients[i % clients.length].send(payload, port, host));
    return { ...result, errors };
  },
}, () => {
  for (const s of sockets) s.close();
});
