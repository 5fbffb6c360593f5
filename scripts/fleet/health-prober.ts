/**
 * Health checks of the fleet lab's load-balancer stand-in, run inside the load balancer's
 * namespace (the only one that reaches every task): one HTTP GET per target every interval, as an
 * NLB target group checks each registered target on the Listener's health path.
 *
 *   tsx scripts/fleet/health-prober.ts --interval-ms <ms>
 *
 * Protocol (JSON lines): reads `{"targets":[{"id":s,"url":u}…]}` on stdin (replacing the targets
 * probed); prints `{"ready":true}` at start, then after each round
 * `{"round":[[id, healthy]…]}`, healthy being true for an HTTP 200 within the interval. Exits when
 * stdin closes.
 */
import { request } from 'node:http';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

interface Target {
  readonly id: string;
  readonly url: string;
}

function probe(url: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'GET', timeout: timeoutMs, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(false));
    req.end();
  });
}

function main(): void {
  const { values } = parseArgs({ options: { 'interval-ms': { type: 'string' } } });
  const intervalMs = Number(values['interval-ms'] ?? 1000);
  if (!Number.isInteger(intervalMs) || intervalMs < 100) throw new Error('usage: health-prober --interval-ms <ms ≥ 100>');
  let targets: readonly Target[] = [];
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    const command = JSON.parse(line) as { targets?: Target[] };
    if (command.targets) targets = command.targets;
  });
  lines.on('close', () => process.exit(0));
  const round = async (): Promise<void> => {
    const probed = targets;
    const results = await Promise.all(probed.map((t) => probe(t.url, Math.min(intervalMs, 1000))));
    process.stdout.write(`${JSON.stringify({ round: probed.map((t, i) => [t.id, results[i]]) })}\n`);
  };
  const loop = (): void => {
    const started = Date.now();
    void round().finally(() => setTimeout(loop, Math.max(0, intervalMs - (Date.now() - started))));
  };
  process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
  loop();
}

try {
  main();
} catch (err) {
  process.stderr.write(`health prober failed: ${(err as Error)?.message ?? String(err)}\n`);
  process.exit(1);
}
