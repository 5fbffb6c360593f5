/**
 * `npm run fleet -- --tasks 3`: a Listener fleet on this machine (root, Linux; needs iproute2,
 * nftables, conntrack). Brings up the lab of lab.ts, prints where everything is, and tears it all
 * down on Ctrl-C / SIGTERM or when something fails.
 *
 *   --tasks <n>          gateway tasks (default 3)
 *   --prefix <p>         prefix of the run's namespaces and interfaces (default: random)
 *   --source             run tasks from TypeScript source (tsx) instead of the bundle
 *   --udp-timeout <s>    seconds of silence after which a flow is forgotten (default 120)
 *   --log-level <level>  the tasks' PACKET_GATEWAY_LOG_LEVEL (default INFO)
 *   --down <p>           only remove what a run of prefix <p> left behind (after a crash)
 */
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Fleet, startFleet, WG_LISTENER } from './lab';
import { checkPrefix, destroyNetwork, labNamespaces, labUnavailable, randomPrefix } from './network';

const ROOT = resolve(__dirname, '..', '..');

const HELP = `Usage: npm run fleet -- [options]     (root, Linux: iproute2, nftables, conntrack)

  --tasks <n>          gateway tasks (default 3)
  --prefix <p>         prefix of the run's namespaces and interfaces (1–8 of a-z 0-9; default: random)
  --source             run tasks from TypeScript source (tsx) instead of the bundle
  --udp-timeout <s>    seconds of silence after which a flow is forgotten (default 120)
  --log-level <level>  the tasks' PACKET_GATEWAY_LOG_LEVEL (default INFO)
  --down <p>           only remove what a run of prefix <p> left behind (after a crash)
`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      'tasks': { type: 'string' },
      'prefix': { type: 'string' },
      'source': { type: 'boolean' },
      'udp-timeout': { type: 'string' },
      'log-level': { type: 'string' },
      'down': { type: 'string' },
      'help': { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const unavailable = labUnavailable();
  if (unavailable) {
    process.stderr.write(`the fleet lab cannot run here: ${unavailable}\n`);
    return 1;
  }
  if (values.down) {
    const found = labNamespaces(values.down);
    destroyNetwork(values.down);
    process.stdout.write(`removed ${found.length} namespaces of prefix ${values.down}${found.length ? `: ${found.join(' ')}` : ''}\n`);
    return 0;
  }
  const tasks = Number(values.tasks ?? 3);
  if (!Number.isInteger(tasks) || tasks < 1 || tasks > 99) throw new Error(`--tasks ${JSON.stringify(values.tasks)} is not valid (allowed: integer 1–99)`);
  const udpTimeoutSeconds = values['udp-timeout'] === undefined ? undefined : Number(values['udp-timeout']);
  if (udpTimeoutSeconds !== undefined && !(Number.isInteger(udpTimeoutSeconds) && udpTimeoutSeconds > 0)) {
    throw new Error(`--udp-timeout ${JSON.stringify(values['udp-timeout'])} is not valid (allowed: integer seconds ≥ 1)`);
  }

  if (!values.source) {
    process.stderr.write('bundling the service (assets/service/index.js)…\n');
    const bundled = spawnSync(process.execPath, [require.resolve('tsx/cli'), join(ROOT, 'scripts', 'bundle.ts')], { cwd: ROOT, stdio: 'inherit' });
    if (bundled.status !== 0) throw new Error('bundling the service failed');
  }

  let fleet: Fleet | undefined;
  let stoppingSince = 0;
  const stop = async (why: string, code: number): Promise<void> => {
    // A Ctrl-C reaches npm, tsx and this process at once: repeats within 3 s are the same signal.
    if (stoppingSince > 0) {
      if (Date.now() - stoppingSince < 3_000) return;
      process.stderr.write(`exiting without finishing the teardown: run npm run fleet -- --down ${fleet?.prefix ?? '<prefix>'}\n`);
      process.exit(1);
    }
    stoppingSince = Date.now();
    process.stderr.write(`\n${why}: tearing the fleet down…\n`);
    await fleet?.stop();
    process.stderr.write('done.\n');
    process.exit(code);
  };
  // Signals arriving while the fleet comes up are handled once startFleet returns or fails.
  let pendingSignal: NodeJS.Signals | undefined;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (fleet) void stop(signal, 0);
      else pendingSignal = signal;
    });
  }
  for (const event of ['uncaughtException', 'unhandledRejection'] as const) {
    process.on(event, (err: unknown) => {
      process.stderr.write(`fleet: ${event}: ${(err as Error)?.stack ?? String(err)}\n`);
      void stop(event, 1);
    });
  }

  const prefix = values.prefix ?? randomPrefix();
  checkPrefix(prefix);
  const logDirectory = join('/tmp', `packet-gateway-fleet-${prefix}`);
  process.stderr.write(`starting ${tasks} tasks…\n`);
  fleet = await startFleet({
    tasks,
    prefix,
    service: values.source ? 'source' : 'bundle',
    udpTimeoutSeconds,
    logLevel: values['log-level'],
    logDirectory,
    retainLogs: false,
    // the load balancer's view of each task (health checks), as the target groups would show it
    onTargetChange: (task, state) => {
      if (fleet) process.stderr.write(`load balancer: task ${task} is ${state}\n`);
    },
  });
  if (pendingSignal) {
    await stop(pendingSignal, 0);
    return 0;
  }
  process.stdout.write(describe(fleet, logDirectory));

  // A task that exits on its own fails the run: tear everything down.
  const watch = setInterval(() => {
    for (let task = 1; task <= fleet!.network.taskNamespaces.length; task++) {
      if (!fleet!.isRunning(task)) void stop(`task ${task} exited (log: ${join(logDirectory, `t${task}.log`)})`, 1);
    }
  }, 1_000);
  watch.unref();
  await new Promise(() => undefined); // until a signal
  return 0;
}

/** The banner: where the fleet is and how to use it. */
function describe(fleet: Fleet, logDirectory: string): string {
  const n = fleet.network;
  const env = Object.entries(fleet.publishEnvironment).map(([k, v]) => `${k}=${v}`).join(' ');
  const udp = fleet.listeners.find((l) => l.protocol === 'udp')!;
  const lines = [
    '',
    `Packet Gateway fleet ${fleet.prefix}: ${n.taskNamespaces.length} tasks in AWS mode behind a load-balancer stand-in`,
    '',
    `VIP:           ${fleet.vip}   (clients: namespace ${n.clientNamespace}, address ${fleet.clientAddress})`,
    'Listeners:',
    ...fleet.listeners.map((l) => `  ${l.name.padEnd(10)} ${l.protocol.padEnd(4)} ${fleet.vip}:${l.port}${l.publicKey ? `  public key ${l.publicKey}` : ''}`),
    `NAT address:   ${fleet.natAddress}   (what a client sees from a task that does not own its flow)`,
    'Tasks:',
    ...n.taskNamespaces.map((ns, i) => `  t${i + 1}  namespace ${ns}  address ${n.taskAddresses[i]}  log ${join(logDirectory, `t${i + 1}.log`)}`),
    `SNS endpoint:  ${fleet.endpoints.sns}`,
    `Topic ARN:     ${fleet.topicArn}   (PacketSource of Listener ${udp.name})`,
    `WireGuard topic ARN: ${fleet.wireGuardTopicArn}   (PacketSource of Listener ${WG_LISTENER.name}: pushes by PeerKey)`,
    `Ingress queue: ${fleet.ingressQueueUrl}   (every datagram; Lambda function echo answers each)`,
    `Delivery queue: ${fleet.deliveryQueueUrl}`,
    `DynamoDB:      ${fleet.endpoints.dynamodb}  table ${fleet.tableName}, directory ${fleet.directoryTableName}`,
    `Publish with:  ${env}`,
    '',
    'Try (as root):',
    `  ip netns exec ${n.clientNamespace} npx packet-gateway send ${fleet.vip}:${udp.port} hello --wait 60000`,
    '      # echoed from the VIP; prints the client port, then prints whatever arrives for 60 s',
    `  ip netns exec ${n.balancerNamespace} conntrack -L -p udp -d ${fleet.vip}     # which task owns which flow`,
    '  # a sourced packet to that client (it arrives when the task owning the flow consumes it, 1 in',
    `  # ${n.taskNamespaces.length} today; the others log NoActiveFlow): replace <port>`,
    `  ${env} \\`,
    `    npx packet-gateway publish --endpoint ${fleet.endpoints.sns} --topic-arn ${fleet.topicArn} \\`,
    `    --message '{"Messages":[{"Data":"aGk=","Remote":{"Address":"${fleet.clientAddress}","Port":<port>}}]}'`,
    '',
    `Stop with Ctrl-C (if this process is killed: npm run fleet -- --down ${fleet.prefix}).`,
    '',
  ];
  return lines.join('\n');
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`fleet: ${(err as Error)?.message ?? String(err)}\n`);
    process.exit(1);
  },
);
