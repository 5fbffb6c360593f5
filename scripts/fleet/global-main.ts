/**
 * `npm run fleet:global` (`npx tsx scripts/fleet/global-main.ts`): the global lab (global-lab.ts) on this machine (root,
 * Linux; iproute2, nftables, conntrack): two regions of gateway tasks behind the accelerator
 * stand-in. Prints where everything is (global-banner.ts: also the WireGuard Listener's public key, its
 * anycast endpoint and how to connect a peer by hand), and tears it all down on Ctrl-C / SIGTERM.
 *
 *   --tasks <n>     gateway tasks per region (default 2)
 *   --prefix <p>    prefix of the run's namespaces and interfaces (1–7 of a-z 0-9; default: random)
 *   --source        run tasks from TypeScript source (tsx) instead of the bundle
 *   --down <p>      only remove what a run of prefix <p> left behind (after a crash)
 */
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { describeGlobalLab } from './global-banner';
import { destroyGlobalLab, GlobalLab, startGlobalLab } from './global-lab';
import { labUnavailable, randomPrefix } from './network';

const ROOT = resolve(__dirname, '..', '..');

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      tasks: { type: 'string' },
      prefix: { type: 'string' },
      source: { type: 'boolean' },
      down: { type: 'string' },
    },
  });
  const unavailable = labUnavailable();
  if (unavailable) {
    process.stderr.write(`the global lab cannot run here: ${unavailable}\n`);
    return 1;
  }
  if (values.down) {
    destroyGlobalLab(values.down);
    process.stdout.write(`removed what remained of global lab ${values.down}\n`);
    return 0;
  }
  const tasks = Number(values.tasks ?? 2);
  if (!Number.isInteger(tasks) || tasks < 1 || tasks > 99) throw new Error(`--tasks ${JSON.stringify(values.tasks)} is not valid (allowed: integer 1–99)`);
  if (!values.source) {
    process.stderr.write('bundling the service (assets/service/index.js)…\n');
    const bundled = spawnSync(process.execPath, [require.resolve('tsx/cli'), join(ROOT, 'scripts', 'bundle.ts')], { cwd: ROOT, stdio: 'inherit' });
    if (bundled.status !== 0) throw new Error('bundling the service failed');
  }
  let lab: GlobalLab | undefined;
  let stopping = false;
  const stop = async (why: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`\n${why}: tearing the global lab down…\n`);
    await lab?.stop();
    process.exit(0);
  };
  let pendingSignal: NodeJS.Signals | undefined;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (lab) void stop(signal);
      else pendingSignal = signal;
    });
  }
  const prefix = values.prefix ?? randomPrefix();
  process.stderr.write(`starting two regions of ${tasks} tasks…\n`);
  lab = await startGlobalLab({
    prefix,
    tasksPerRegion: tasks,
    fleet: { service: values.source ? 'source' : 'bundle', retainLogs: false },
    logDirectory: join('/tmp', `packet-gateway-global-${prefix}`),
  });
  if (pendingSignal) {
    await stop(pendingSignal);
    return 0;
  }
  process.stdout.write(describeGlobalLab(lab));
  await new Promise(() => undefined); // until a signal
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`global lab: ${(err as Error)?.message ?? String(err)}\n`);
    process.exit(1);
  },
);
