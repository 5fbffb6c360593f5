/**
 * `npx tsx bench/reply-path-probe.ts [--destination local|echo-lambda] [--count N] [--timeout-ms N] [--rate N] [--trial-ms N] [--runs N]`:
 * round-trip times and the gateway process's CPU time per round trip of one reply-path
 * configuration (scenario 4's agents: the latency client on one core, the gateway on the other),
 * with a raw dgram echo run before each gateway run. For A/B comparisons of a change run it twice
 * back to back; `PGB_PROFILE=ingress-gateway` writes the gateway's CPU profile. Prints only.
 */
import { Agent, useAgentBundles } from './lib/agent';
import { bundleAgents, removeAgentBundles } from './lib/bundle';
import { nonNegativeInteger, oneOf, positiveInteger } from './lib/cli-option';

/** Destinations of the ingress gateway agent this probe can measure (see bench/agents/ingress-gateway.ts). */
const DESTINATIONS = ['local', 'echo-lambda', 'echo-lambda-http'] as const;

interface Options {
  destination: (typeof DESTINATIONS)[number];
  count: number;
  timeoutMs?: number;
  rate: number;
  trialMs: number;
  runs: number;
}

interface RoundTrips {
  sent: number;
  received: number;
  p50: number;
  p99: number;
}

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { destination: 'echo-lambda', count: 1, rate: 2000, trialMs: 2000, runs: 3 };
  for (let i = 0; i < argv.length; i += 2) {
    const v = argv[i + 1];
    if (argv[i] === '--destination') o.destination = oneOf('destination', v, DESTINATIONS);
    else if (argv[i] === '--count') o.count = positiveInteger('count', v);
    else if (argv[i] === '--timeout-ms') o.timeoutMs = nonNegativeInteger('timeout-ms', v);
    else if (argv[i] === '--rate') o.rate = positiveInteger('rate', v);
    else if (argv[i] === '--trial-ms') o.trialMs = positiveInteger('trial-ms', v);
    else if (argv[i] === '--runs') o.runs = positiveInteger('runs', v);
    else throw new Error(`unknown option ${argv[i]}; allowed: --destination, --count, --timeout-ms, --rate, --trial-ms, --runs`);
  }
  return o;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  useAgentBundles(bundleAgents());
  const echo = await Agent.start('udp-echo', { cpus: [0] });
  const gateway = await Agent.start('ingress-gateway', { cpus: [0] });
  const client = await Agent.start('latency-client', { cpus: [1] });
  try {
    const { port: echoPort } = await echo.request<{ port: number }>('bind');
    const batching = o.timeoutMs === undefined ? { Count: o.count } : { Count: o.count, TimeoutInSeconds: o.timeoutMs / 1000 };
    const { port } = await gateway.request<{ port: number }>('start', { handler: 'echo-handler', destination: o.destination, batching });
    await client.request('open');
    const n = Math.round((o.rate * o.trialMs) / 1000);
    const run = (p: number, count: number): Promise<RoundTrips> =>
      client.request<RoundTrips>('run', { port: p, rate: o.rate, count, warmup: Math.min(1000, Math.floor(count / 4)) }, 60_000);
    await run(echoPort, 1000);
    await run(port, 4 * o.rate);
    for (let i = 0; i < o.runs; i++) {
      const base = await run(echoPort, n);
      const before = (await gateway.request<{ us: number }>('cpu')).us;
      const trips = await run(port, n);
      const cpu = ((await gateway.request<{ us: number }>('cpu')).us - before) / trips.sent;
      console.log(`echo p50 ${base.p50.toFixed(3)} p99 ${base.p99.toFixed(3)} | gateway p50 ${trips.p50.toFixed(3)} p99 ${trips.p99.toFixed(3)} ms, `
        + `received ${trips.received}/${trips.sent}, CPU ${cpu.toFixed(1)} µs per round trip`);
    }
    const stats = await gateway.request<{ batches: number; handlerMs: number; failures: number; failuresByCode: unknown }>('stats');
    console.log(`handler: ${stats.batches} calls, ${(stats.batches > 0 ? (stats.handlerMs * 1000) / stats.batches : 0).toFixed(1)} µs per call; failures ${stats.failures} ${JSON.stringify(stats.failuresByCode)}`);
  } finally {
    await client.stop();
    await gateway.stop();
    await echo.stop();
    removeAgentBundles();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
