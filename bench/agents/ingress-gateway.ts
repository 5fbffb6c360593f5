/**
 * Gateway under test for ingress and replies: a UDP Listener with its IngressPipeline and one
 * local-handler destination (a counting handler, or an echoing one for reply latency). Answers
 * `reset`/`stats` like the counting receiver, counting packets the handler received.
 */
import * as path from 'node:path';
import type { BatchingRecord, ListenerRecord } from '../../lib/private/records';
import { DirectLambdaInvoker } from '../../service/destinations/lambda-invoker';
import { collectHandlerStats, resetHandlerStats } from '../fixtures/handler-stats';
import { serve, str } from '../lib/agent-runtime';
import { countingCpuUsPerPacket, countingLambdaClient } from '../lib/counting-lambda';
import { echoLambdaClient, echoLambdaHttpClient } from '../lib/echo-lambda';
import { BENCH_REGION, buildKit, Kit } from '../lib/gateway-kit';
import { FIXTURES_DIR } from '../lib/paths';

let kit: Kit | undefined;
let datagramsAtReset = 0;
let droppedAtReset = 0;
let failuresAtReset = 0;
/** Whether the destination is a local handler, whose counters live in its own thread. */
let localHandler = false;
/** Stops the Lambda stand-in's HTTP server, when it has one. */
let closeStandIn: (() => Promise<void>) | undefined;

serve({
  /**
   * `destination: 'lambda'` delivers to a Lambda destination whose client counts in memory (see
   * counting-lambda.ts), `destination: 'echo-lambda'` to one whose function answers every packet
   * with its Data (echo-lambda.ts; `echo-lambda-http`: the same function behind an HTTP server on
   * loopback, reached through the SDK's HTTP handler); otherwise to the local handler module `handler`.
   */
  start: async (args) => {
    const batching = args.batching ? { Batching: args.batching as BatchingRecord } : {};
    const kind = str(args, 'destination', 'local');
    const lambda = kind === 'lambda' || kind === 'echo-lambda' || kind === 'echo-lambda-http';
    localHandler = !lambda;
    const handler = str(args, 'handler', 'counting-handler');
    const record: ListenerRecord = {
      Name: 'bench',
      Protocol: 'udp',
      Port: 0,
      BindAddress: '127.0.0.1',
      Destinations: [lambda
        ? { Name: 'counting-lambda', Type: 'lambda', Arn: `arn:aws:lambda:${BENCH_REGION}:000000000000:function:bench-counter`, ...batching }
        : { Name: handler, Type: 'local', Module: path.join(FIXTURES_DIR, `${handler}.ts`), ...batching }],
    };
    let client;
    if (kind === 'echo-lambda-http') {
      const standIn = await echoLambdaHttpClient(BENCH_REGION);
      closeStandIn = standIn.close;
      client = standIn.client;
    } else {
      client = kind === 'echo-lambda' ? echoLambdaClient(BENCH_REGION) : countingLambdaClient(BENCH_REGION);
    }
    kit = await buildKit({ listener: record, lambdaInvoker: lambda ? new DirectLambdaInvoker(client) : undefined });
    return { port: kit.listener.port };
  },
  reset: async () => {
    await resetHandlerStats(localHandler);
    datagramsAtReset = kit?.metrics.total('DatagramsIn') ?? 0;
    droppedAtReset = kit?.metrics.total('PacketsDropped') ?? 0;
    failuresAtReset = kit?.failures.total ?? 0;
    return {};
  },
  /** CPU time per packet of the Lambda stand-in's count (bench/lib/counting-lambda.ts), measured now on the last payload. */
  standIn: () => ({ cpuUsPerPacket: countingCpuUsPerPacket() }),
  stats: async () => {
    const s = await collectHandlerStats(localHandler);
    return {
      count: s.packets,
      bytes: 0,
      spanMs: s.spanMs,
      batches: s.batches,
      handlerMs: s.handlerMs,
      datagramsIn: (kit?.metrics.total('DatagramsIn') ?? 0) - datagramsAtReset,
      queueDrops: (kit?.metrics.total('PacketsDropped') ?? 0) - droppedAtReset,
      failures: (kit?.failures.total ?? 0) - failuresAtReset,
      failuresByCode: kit?.failures.countsByCode() ?? {},
      repliesOut: kit?.metrics.total('RepliesOut') ?? 0,
    };
  },
}, async () => {
  await kit?.close();
  await closeStandIn?.();
});
