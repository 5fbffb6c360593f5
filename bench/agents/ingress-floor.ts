/**
 * The least work any gateway has to do per inbound datagram before a Lambda Invoke, as a receive
 * loop with nothing else in it: receive the datagram, base64-encode its payload, put it into
 * packet JSON (one concatenation with fixed text for the other fields), batch 100 packets into one
 * `{"Messages":[…]}` buffer (joined then copied for short packets, copied packet by packet for long
 * ones, whichever is cheaper) and hash it with SHA-256, as SigV4 signing of the Invoke must. No tags,
 * flows, metrics, queue bounds, SDK or signing beyond the payload hash.
 *
 * Answers `reset`/`stats` like the counting receiver, counting packets whose batch was hashed, so
 * "gateway ÷ this loop" is the share of the floor the gateway keeps, and "this loop ÷ dgram
 * receive loop" what the packet contract and SigV4 leave such a loop on one core.
 */
import { createHash } from 'node:crypto';
import * as dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { serve } from '../lib/agent-runtime';

const BATCH = 100;
/** Average packet text length up to which a batch is joined before the copy (as the gateway's Invoke payload does). */
const JOIN_UP_TO_AVERAGE_BYTES = 512;
/** A partial batch is hashed after this long, so the end of a trial is counted. */
const FLUSH_MS = 20;
const FIXED = '","Local":{"Domain":"bench","Port":5555,"IpAddress":"127.0.0.1","Protocol":"udp"},"ReceivedAt":"2026-01-01T00:00:00.000Z",' +
  '"IngressRegion":"us-east-1","Formatter":"base64","Data":"';

let socket: dgram.Socket | undefined;
let batch: string[] = [];
/** Characters (= bytes: every text here is ASCII) of the packets in `batch`. */
let batchBytes = 0;
let flushTimer: NodeJS.Timeout | undefined;
let count = 0;
let bytes = 0;
let firstAt = 0;
let lastAt = 0;

function flush(): void {
  if (flushTimer) clearTimeout(flushTimer);
  flushTimer = undefined;
  if (batch.length === 0) return;
  const payload = batchBytes <= batch.length * JOIN_UP_TO_AVERAGE_BYTES ? joined() : writtenPerPacket();
  createHash('sha256').update(payload).digest();
  lastAt = performance.now();
  count += batch.length;
  bytes += payload.length;
  batch = [];
  batchBytes = 0;
}

/** The batch joined into one text and copied once: the cheaper way for short packets. */
function joined(): Buffer {
  return Buffer.from('{"Messages":[' + batch.join(',') + ']}', 'latin1');
}

/**
 * Each packet's text copied into the payload buffer in turn: the cheaper way for long packets,
 * whose joined text (≈ 190 KB for 100 packets of 1200 B) costs several times more to build and copy.
 */
function writtenPerPacket(): Buffer {
  const payload = Buffer.allocUnsafe(batchBytes + 15 + batch.length - 1);
  let at = payload.write('{"Messages":[', 0, 'latin1');
  for (let i = 0; i < batch.length; i++) {
    if (i > 0) payload[at++] = 0x2c;
    at += payload.write(batch[i], at, 'latin1');
  }
  payload.write(']}', at, 'latin1');
  return payload;
}

function onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
  if (count === 0 && batch.length === 0) firstAt = performance.now();
  const packet = '{"Tag":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","Remote":{"IpAddress":"' + rinfo.address + '","Port":' + rinfo.port +
    FIXED + msg.toString('base64') + '"}';
  batch.push(packet);
  batchBytes += packet.length;
  if (batch.length >= BATCH) flush();
  else flushTimer ??= setTimeout(flush, FLUSH_MS);
}

serve({
  bind: () =>
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
  reset: () => {
    if (flushTimer) clearTimeout(flushTimer);
    flushTimer = undefined;
    batch = [];
    batchBytes = 0;
    count = 0;
    bytes = 0;
    firstAt = 0;
    lastAt = 0;
    return {};
  },
  stats: () => ({ count, bytes, spanMs: lastAt - firstAt }),
}, () => {
  socket?.close();
});
