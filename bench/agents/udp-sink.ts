/**
 * A UDP socket that (almost) never reads: the kernel drops whatever overflows its buffer. Used as
 * the destination of the scale-up scenario, where a counting receiver would take one of the cores
 * being scaled; there the gateways count their own completed sends.
 */
import * as dgram from 'node:dgram';
import { num, serve } from '../lib/agent-runtime';

let socket: dgram.Socket | undefined;
let blocking = false;
const gate = new Int32Array(new SharedArrayBuffer(4));

/** Blocks the event loop in slices (no reads), letting it run briefly between them for IPC. */
function blockSlice(): void {
  if (!blocking) return;
  Atomics.wait(gate, 0, 0, 200);
  setTimeout(blockSlice, 1);
}

serve({
  bind: () =>
    new Promise((resolve, reject) => {
      const s = dgram.createSocket({ type: 'udp4', recvBufferSize: 256 * 1024 });
      s.once('error', reject);
      s.bind(0, '127.0.0.1', () => {
        s.removeListener('error', reject);
        s.on('error', () => undefined);
        socket = s;
        resolve({ port: s.address().port });
      });
    }),
  /** Sends one datagram to `port` (opens this client's flow at a gateway Listener). */
  ping: (args) =>
    new Promise((resolve, reject) => {
      if (!socket) throw new Error('bind first');
      socket.send(Buffer.from('ping'), num(args, 'port'), '127.0.0.1', (err) => (err ? reject(err) : resolve({})));
    }),
  block: () => {
    blocking = true;
    setTimeout(blockSlice, 1);
    return {};
  },
}, () => {
  blocking = false;
  socket?.close();
});
