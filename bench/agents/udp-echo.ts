/**
 * Raw dgram echo server: the latency baseline. Whatever the gateway adds to a round trip is
 * measured against what Node's own socket round trip costs on this machine.
 */
import * as dgram from 'node:dgram';
import { serve } from '../lib/agent-runtime';

let socket: dgram.Socket | undefined;

serve({
  bind: () =>
    new Promise((resolve, reject) => {
      const s = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 * 1024 * 1024 });
      s.once('error', reject);
      s.on('message', (msg, rinfo) => s.send(msg, rinfo.port, rinfo.address));
      s.bind(0, '127.0.0.1', () => {
        s.removeListener('error', reject);
        s.on('error', () => undefined);
        socket = s;
        resolve({ port: s.address().port });
      });
    }),
}, () => {
  socket?.close();
});
