/**
 * The least work any gateway has to do per sourced packet, as a loop with nothing else in it: parse
 * the SNS envelope, parse its `Message`, decode each entry's base64 `Data` and send it with a
 * completion callback (a gateway has to learn whether each send failed). In WireGuard mode each
 * payload is also wrapped in an IPv4/UDP packet, padded and sealed with ChaCha20-Poly1305 behind a
 * transport header, with the service's own packet writer and the same AEAD the gateway's devices
 * use (bench/lib/wireguard-floor.ts), as any Node.js WireGuard sender must. No validation, egress rules, flow or
 * session bookkeeping, queue, metrics.
 *
 * It reads the same message bodies as the gateway under test (bench/lib/memory-queue.ts
 * `sourcedBodies`) and sends to a counting receiver, so "gateway ÷ this loop" is the share of the
 * floor the gateway keeps, and "this loop ÷ dgram sender loop" the ceiling the message format and
 * the runtime's crypto leave such a loop on one core.
 */
import * as dgram from 'node:dgram';
import { num, serve } from '../lib/agent-runtime';
import { BENCH_TOPIC_ARN } from '../lib/gateway-kit';
import { runSendLoop } from '../lib/load';
import { sourcedBodies, sourcedBodiesFromArgs } from '../lib/memory-queue';
import { floorSealer } from '../lib/wireguard-floor';

interface Entry {
  Data: string;
  Remote: { Address: string; Port: number };
}

let socket: dgram.Socket | undefined;
let bodies: string[] = [];
let packetsPerMessage = 1;
let completed = 0;
let errors = 0;

/** WireGuard mode: a random session key and one fixed inner addressing. */
let seal: ((payload: Buffer) => Buffer) | undefined;

function onSent(err: Error | null): void {
  if (err) errors++;
  else completed++;
}

serve({
  open: () =>
    new Promise((resolve, reject) => {
      const s = dgram.createSocket({ type: 'udp4', sendBufferSize: 4 * 1024 * 1024 });
      s.once('error', reject);
      s.bind(0, '127.0.0.1', () => {
        s.removeListener('error', reject);
        s.on('error', () => {
          errors++;
        });
        socket = s;
        resolve({ port: s.address().port });
      });
    }),
  /**
   * The bodies the gateway gets (same arguments as the sourced gateway's `load`); `wireguard` seals
   * each payload, and the answer names the AEAD that seals (`native` or `node`).
   */
  load: (args) => {
    const options = sourcedBodiesFromArgs(BENCH_TOPIC_ARN, args);
    packetsPerMessage = options.packets;
    bodies = sourcedBodies(options);
    const sealer = args.wireguard === true ? floorSealer() : undefined;
    seal = sealer?.seal;
    return { bodyBytes: bodies[0].length, ...(sealer ? { aead: sealer.aead.implementation } : {}) };
  },
  /** Floods (or sends at `rate` packets/s) for `durationMs`: one message body per step, every entry sent. Reports completed sends. */
  run: async (args) => {
    const s = socket;
    if (!s || bodies.length === 0) throw new Error('open and load first');
    completed = 0;
    errors = 0;
    const wrap = seal;
    const result = await runSendLoop((i) => {
      const envelope = JSON.parse(bodies[i % bodies.length]) as { Message: string };
      const entries = (JSON.parse(envelope.Message) as { Messages: Entry[] }).Messages;
      for (let e = 0; e < entries.length; e++) {
        const entry = entries[e];
        const data = Buffer.from(entry.Data, 'base64');
        s.send(wrap ? wrap(data) : data, entry.Remote.Port, entry.Remote.Address, onSent);
      }
    }, {
      // paced at `rate` packets per second (one message per step), or flooding
      rate: num(args, 'rate', 0) / packetsPerMessage,
      durationMs: num(args, 'durationMs'),
      maxCount: num(args, 'maxMessages', 10_000_000),
      burst: Math.max(1, Math.round(64 / packetsPerMessage)),
    });
    // let queued sends complete before reporting
    await new Promise((r) => setTimeout(r, 20));
    return { sent: result.sent * packetsPerMessage, completed, elapsedMs: result.elapsedMs, errors };
  },
}, () => {
  socket?.close();
});
