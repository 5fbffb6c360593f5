/**
 * Raw dgram sender: the baseline "Node dgram sender loop", and the load generator of the ingress
 * scenarios. Sends one pre-built payload per datagram from an unconnected socket (as a gateway
 * Listener does: it serves many remotes), flooding or paced.
 */
import * as dgram from 'node:dgram';
import { num, serve, str } from '../lib/agent-runtime';
import { runPayloadSends } from '../lib/load';

let socket: dgram.Socket | undefined;
let errors = 0;

serve({
  open: (args) =>
    new Promise((resolve, reject) => {
      const family = str(args, 'family', 'udp4') as 'udp4' | 'udp6';
      const s = dgram.createSocket({ type: family, sendBufferSize: num(args, 'sendBufferSize', 4 * 1024 * 1024) });
      s.once('error', reject);
      s.bind(num(args, 'port', 0), str(args, 'address', family === 'udp4' ? '127.0.0.1' : '::1'), () => {
        s.removeListener('error', reject);
        s.on('error', () => {
          errors++;
        });
        socket = s;
        resolve({ port: s.address().port });
      });
    }),
  run: async (args) => {
    const s = socket;
    if (!s) throw new Error('open the socket first');
    errors = 0;
    const result = await runPayloadSends(args, (payload, port, host) => s.send(payload, port, host));
    return { ...result, errors };
  },
}, () => {
  socket?.close();
});
