/**
 * Round-trip client: sends datagrams at a fixed rate, each carrying a sequence number and its
 * send time, and records the round-trip time of every reply that comes back to the same socket.
 * Used against a raw echo server (baseline) and against a gateway Listener with an echoing handler.
 */
import * as dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { num, serve, str } from '../lib/agent-runtime';
import { runSendLoop } from '../lib/load';
import { percentileSorted } from '../lib/stats';

let socket: dgram.Socket | undefined;
let rtts = new Float64Array(0);
let sentAt = new Float64Array(0);
let received = 0;
let stray = 0;

function onMessage(msg: Buffer): void {
  if (msg.length < 4) {
    stray++;
    return;
  }
  const seq = msg.readUInt32BE(0);
  if (seq >= sentAt.length || sentAt[seq] === 0 || rtts[seq] !== 0) {
    stray++;
    return;
  }
  rtts[seq] = performance.now() - sentAt[seq];
  received++;
}

serve({
  open: () =>
    new Promise((resolve, reject) => {
      const s = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 * 1024 * 1024 });
      s.once('error', reject);
      s.on('message', onMessage);
      s.bind(0, '127.0.0.1', () => {
        s.removeListener('error', reject);
        s.on('error', () => undefined);
        socket = s;
        resolve({ port: s.address().port });
      });
    }),
  run: async (args) => {
    const s = socket;
    if (!s) throw new Error('open the socket first');
    const host = str(args, 'host', '127.0.0.1');
    const port = num(args, 'port');
    const size = Math.max(8, num(args, 'size', 64));
    const count = num(args, 'count');
    const rate = num(args, 'rate');
    const warmup = num(args, 'warmup', 0);
    sentAt = new Float64Array(count);
    rtts = new Float64Array(count);
    received = 0;
    stray = 0;
    // one buffer per datagram (the gateway may still hold a sent buffer while the next is written)
    const result = await runSendLoop((i) => {
      const payload = Buffer.alloc(size, 0x41);
      payload.writeUInt32BE(i, 0);
      sentAt[i] = performance.now();
      s.send(payload, port, host);
    }, { rate, durationMs: (count / rate) * 1000 + 5000, maxCount: count });
    // wait for stragglers (bounded)
    const deadline = performance.now() + 2000;
    while (received < result.sent && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const measured: number[] = [];
    for (let i = warmup; i < result.sent; i++) if (rtts[i] > 0) measured.push(rtts[i]);
    measured.sort((a, b) => a - b);
    return {
      sent: result.sent,
      received,
      stray,
      measured: measured.length,
      offeredRate: (result.sent * 1000) / result.elapsedMs,
      p50: percentileSorted(measured, 50),
      p90: percentileSorted(measured, 90),
      p99: percentileSorted(measured, 99),
      p999: percentileSorted(measured, 99.9),
      max: measured.length > 0 ? measured[measured.length - 1] : NaN,
    };
  },
}, () => {
  socket?.close();
});
