/**
 * Counting receiver: binds one UDP socket and counts datagrams and bytes, with the times of the
 * first and last arrival. Used as the receiver of every egress scenario and of the raw dgram
 * baselines, so all of them are counted the same way.
 */
import * as dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { num, serve, str } from '../lib/agent-runtime';
import { arrivalTally } from '../lib/arrival-tally';

let socket: dgram.Socket | undefined;
const tally = arrivalTally();

serve({
  bind: (args) =>
    new Promise((resolve, reject) => {
      const family = str(args, 'family', 'udp4') as 'udp4' | 'udp6';
      // recvBufferSize 0 keeps the system default (the plain receive-loop baseline)
      const recvBufferSize = num(args, 'recvBufferSize', 4 * 1024 * 1024);
      const s = dgram.createSocket(recvBufferSize > 0 ? { type: family, recvBufferSize } : { type: family });
      s.once('error', reject);
      s.on('message', tally.onMessage);
      s.bind(num(args, 'port', 0), str(args, 'address', family === 'udp4' ? '127.0.0.1' : '::1'), () => {
        s.removeListener('error', reject);
        s.on('error', () => undefined);
        socket = s;
        resolve({ port: s.address().port, recvBufferSize: s.getRecvBufferSize() });
      });
    }),
  reset: tally.reset,
  stats: tally.stats,
  /** Sends one datagram from the counting socket (opens the client's flow at a gateway Listener). */
  ping: (args) =>
    new Promise((resolve, reject) => {
      if (!socket) throw new Error('bind first');
      socket.send(Buffer.from('ping'), num(args, 'port'), str(args, 'host'), (err) => (err ? reject(err) : resolve({})));
    }),
  waitFor: (args) =>
    new Promise((resolve) => {
      const target = num(args, 'count');
      const deadline = performance.now() + num(args, 'timeoutMs', 5000);
      const check = (): void => {
        if (tally.count() >= target || performance.now() >= deadline) resolve({ count: tally.count() });
        else setTimeout(check, 10);
      };
      check();
    }),
}, () => {
  socket?.close();
});
