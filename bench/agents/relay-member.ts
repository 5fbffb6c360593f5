/**
 * One fleet member's relay endpoint (service/fleet/relay.ts) for the relay-hop scenario: the owner
 * answers every request Sent (the send itself is the owner's Listener's, measured by the other
 * scenarios); the holder relays 64-byte entries to it, one at a time for latency, or paced for the
 * CPU time per relayed packet of each side. Both on loopback, each in its own process.
 */
import { performance } from 'node:perf_hooks';
import { RelayEndpoint, RelayPeer, RelayResult } from '../../service/fleet/relay';
import { RelayOutcome } from '../../service/fleet/relay-codec';
import { num, serve, str } from '../lib/agent-runtime';
import { runSendLoop } from '../lib/load';

const NO_METRICS = { increment: (): void => undefined, observe: (): void => undefined };
/** The fleet's shared relay key (both members derive the same one). */
const SECRET = Buffer.alloc(32, 1);
const OWNER_ID = 'owner';

let endpoint: RelayEndpoint | undefined;
/** Datagrams this endpoint refused, by reason (MAC, skew, replay…). */
const refusals = new Map<string, number>();
let answered = 0;
let failed = 0;

function request(size: number): Parameters<RelayEndpoint['request']>[1] {
  return { deadline: 0, listener: 'udp-main', address: '198.51.100.2', port: 40000, messageId: 'message', index: 0, data: Buffer.alloc(size, 0x5a) };
}

function peer(args: Record<string, unknown>): RelayPeer {
  return { memberId: OWNER_ID, address: '127.0.0.1', port: num(args, 'port') };
}

serve({
  /** `role: owner` answers Sent; `role: holder` only asks. Resolves with the relay port. */
  start: async (args) => {
    const owner = str(args, 'role') === 'owner';
    endpoint = new RelayEndpoint({
      memberId: owner ? OWNER_ID : 'holder',
      secret: SECRET,
      port: 0,
      bindAddress: '127.0.0.1',
      serve: owner ? (_request, _sender, answer) => answer({ outcome: RelayOutcome.Sent }) : () => undefined,
      metrics: NO_METRICS,
      refused: (reason) => refusals.set(reason, (refusals.get(reason) ?? 0) + 1),
    });
    await endpoint.start();
    return { port: endpoint.port };
  },
  /** Datagrams refused so far, by reason. */
  refusals: () => Object.fromEntries(refusals),
  /** `count` round trips one at a time (after `warmup` unrecorded ones); resolves with the sorted round-trip times, ms. */
  latency: async (args) => {
    const e = endpoint;
    if (!e) throw new Error('start first');
    const to = peer(args);
    const entry = request(num(args, 'size', 64));
    const one = (): Promise<number> => new Promise((resolve, reject) => {
      const started = performance.now();
      e.request(to, entry, (result) => (result.outcome === RelayOutcome.Sent ? resolve(performance.now() - started) : reject(new Error(`relay answered ${String(result.outcome)}`))));
    });
    for (let i = 0; i < num(args, 'warmup', 1000); i++) await one();
    const times: number[] = [];
    for (let i = 0; i < num(args, 'count'); i++) times.push(await one());
    return { times: times.sort((a, b) => a - b) };
  },
  /** Relays at `rate` per second (0: as fast as the in-flight window allows) for `durationMs`; resolves once every request settled. */
  run: async (args) => {
    const e = endpoint;
    if (!e) throw new Error('start first');
    const to = peer(args);
    const entry = request(num(args, 'size', 64));
    answered = 0;
    failed = 0;
    let settled = 0;
    let allSent = false;
    let sent = 0;
    let finish: () => void = () => undefined;
    const done = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const onResult = (result: RelayResult): void => {
      if (result.outcome === RelayOutcome.Sent) answered++;
      else failed++;
      if (++settled === sent && allSent) finish();
    };
    const result = await runSendLoop(() => e.request(to, entry, onResult), {
      rate: num(args, 'rate', 0),
      durationMs: num(args, 'durationMs'),
      maxCount: num(args, 'maxCount', 10_000_000),
    });
    sent = result.sent;
    allSent = true;
    if (settled === sent) finish();
    await done;
    return { sent, answered, failed, elapsedMs: result.elapsedMs };
  },
  /**
   * Relays `count` requests keeping `window` in flight (a new one as each settles); resolves with
   * how many were answered Sent and the time until the last settled.
   */
  pipeline: async (args) => {
    const e = endpoint;
    if (!e) throw new Error('start first');
    const to = peer(args);
    const entry = request(num(args, 'size', 64));
    const count = num(args, 'count');
    const window = Math.min(count, num(args, 'window', 512));
    let issued = 0;
    let settled = 0;
    let sent = 0;
    const started = performance.now();
    await new Promise<void>((resolve) => {
      const onResult = (result: RelayResult): void => {
        if (result.outcome === RelayOutcome.Sent) sent++;
        if (++settled === count) resolve();
        else if (issued < count) next();
      };
      const next = (): void => {
        issued++;
        e.request(to, entry, onResult);
      };
      while (issued < window) next();
    });
    return { count, answered: sent, elapsedMs: performance.now() - started };
  },
}, async () => {
  await endpoint?.stop();
});
