/**
 * The least work any gateway has to do per inbound datagram before a Lambda Invoke, as a receive
 * loop with nothing else in it: receive the datagram, base64-encode its payload, put it into
 * packet JSON (one concatenation with fixed text for the other fields), batch 100 packets into one
 * `{"Messages":[…]}` buffer and hash it with SHA-256, as SigV4 signing of the Invoke must. No tags,
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
/** A partial batch is hashed after this long, so the end of a trial is counted. */
const FLUSH_MS = 20;
const FIXED = '","Local":{"Domain":"bench","Port":5555,"IpAddress":"127.0.0.1","Protocol":"udp"},"ReceivedAt":"2026-01-01T00:00:00.000Z",' +
  '"IngressRegion":"us-east-1","Formatter":"base64","Data":"';

let socket: dgram.Socket | undefined;
let batch: string[] = [];
let flushTimer: NodeJS.Timeout | undefined;
let count = 0;
let bytes = 0;
let firstAt = 0;
let lastAt = 0;

function flush(): void {
  if (flushTimer) clearTimeout(flushTimer);
  flushTimer = undefined;
  if (batch.length === 0) return;
  const payload = Buffer.from('{"Messages":[' + batch.join(',') + ']}', 'latin1');
  createHash('sha256').update(payload).digest();
  lastAt = performance.now();
  count += batch.length;
  bytes += payload.length;
  batch = [];
}

function onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
  if (count === 0 && batch.length === 0) firstAt = performance.now();
  batch.push('{"Tag":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","Remote":{"IpAddress":"' + rinfo.address + '","Port":' + rinfo.port +
    FIXED + msg.toString('base64') + '"}');
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
