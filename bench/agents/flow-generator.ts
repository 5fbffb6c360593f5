/**
 * Opens client flows: sends one datagram to a Listener from each of `count` distinct loopback
 * addresses (127.1.0.0 upwards; all of 127/8 is local on Linux), each from its own short-lived
 * socket. Bounded in count and time.
 */
import * as dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { loopbackAddress } from '../lib/addresses';
import { num, serve, str } from '../lib/agent-runtime';

/** The i-th client address: 127.1.0.0 upwards. */
export function clientAddress(i: number): string {
  return loopbackAddress(1, i);
}

function sendFrom(address: string, host: string, port: number, payload: Buffer): Promise<boolean> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.once('error', () => {
      s.close();
      resolve(false);
    });
    s.bind(0, address, () => {
      s.send(payload, port, host, (err) => {
        s.close();
        resolve(!err);
      });
    });
  });
}

serve({
  open: async (args) => {
    const host = str(args, 'host', '127.0.0.1');
    const port = num(args, 'port');
    const first = num(args, 'first', 0);
    const count = num(args, 'count');
    const concurrency = num(args, 'concurrency', 64);
    const deadline = performance.now() + num(args, 'timeoutMs', 120_000);
    const payload = Buffer.alloc(num(args, 'size', 32), 0x42);
    let next = 0;
    let sent = 0;
    const worker = async (): Promise<void> => {
      while (next < count && performance.now() < deadline) {
        const i = next++;
        if (await sendFrom(clientAddress(first + i), host, port, payload)) sent++;
        // let the loop breathe so the gateway process is never starved of CPU by a tight loop here
        if (i % 256 === 0) await new Promise((r) => setImmediate(r));
      }
    };
    const started = performance.now();
    await Promise.all(Array.from({ length: concurrency }, () => worker()));
    return { sent, elapsedMs: performance.now() - started };
  },
});
