/**
 * Entry point of the data-plane service.
 *
 *   tsx service/main.ts --local        local mode (what `npm start` runs): file config, local SNS endpoint
 *   node index.js                      AWS mode (the Fargate task): DynamoDB config, delivery queue
 *
 * Flags win over environment variables, which win over defaults. SIGTERM and SIGINT stop the
 * service gracefully (batches flushed, sends finished) and exit 0; a repeated signal within 2 s
 * is the same stop, and a stop that takes longer than 20 s exits 1 anyway. In local mode the
 * service also stops when the launcher chain above it (`npm start`) is gone.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_HEALTH_PORT } from './health-server';
import { configuredReceiveBufferBytes } from './listeners/listener-socket';
import { LOG_LEVELS } from './observability/logger';
import { watchParent } from './parent-watch';
import { handleProcessErrors, handleWorkerFailures } from './process-errors';
import { RunningService, ServiceOptions, startService, STOP_EXIT_MARGIN_MS } from './runtime';
import { handleStopSignals } from './stop-signals';
import { parseTransportAeadPreference, TransportAeadPreference } from './wireguard/transport-aead';
import { isDataPlaneWorkerThread, runDataPlaneWorkerThread } from './workers/data-plane-worker';
import { parseWorkerCount, vcpuWorkerCount } from './workers/worker-count';
import { parsePeerDeliveryQueues, parsePeerSqsEndpoints } from '../lib/private/global-forwarding';
import { BIND_PORT, inIntegerRange, inNumberRange, RECEIVE_BUFFER_BYTES, SQS_VISIBILITY_TIMEOUT_SECONDS, STOP_DEADLINE_SECONDS } from '../lib/private/limits';
import { ServiceEnvironment } from '../lib/private/service-environment';

const HELP = `Packet Gateway data plane

Usage: packet-gateway-service [--local] [options]

  --local                 run on this machine: config file, local SNS endpoint, loopback allowed
  --config <file>         configuration file (local mode)      env ${ServiceEnvironment.Config}
                          default: examples/local/gateway.json
  --host <address>        address of the health server, the SNS endpoint and default Listener bind
                                                                env ${ServiceEnvironment.Host}
                          default: 127.0.0.1 (local), 0.0.0.0 (AWS)
  --health-port <port>    health server port                    env ${ServiceEnvironment.HealthPort}  default: 8080
  --sns-port <port>       local SNS endpoint port               env ${ServiceEnvironment.SnsPort}     default: 4576
  --region <region>       IngressRegion and AWS region          env ${ServiceEnvironment.Region}, AWS_REGION
                          default: us-east-1 (local)
  --log-level <level>     ${LOG_LEVELS.join(', ')}     env ${ServiceEnvironment.LogLevel}  default: INFO
  --help                  this text

AWS mode environment: ${ServiceEnvironment.Table} (configuration table, required),
${ServiceEnvironment.DeliveryQueueUrl} (PacketSource delivery queue), ${ServiceEnvironment.VpcCidrs}
(comma-separated, denied as egress destinations), ${ServiceEnvironment.TagSecret} (base64, shared reply
tag key), ${ServiceEnvironment.ConfigReloadSeconds} (default 10), ${ServiceEnvironment.MetricsIntervalSeconds}
(default 60, 0 = off), ${ServiceEnvironment.AcceptUnsignedSns} (1: accept unsigned SNS notifications from a
local SNS/SQS server; refused for a delivery queue on AWS), ${ServiceEnvironment.StopDeadlineSeconds} (graceful stop
limit, default 25; keep it below the container's stop timeout), ${ServiceEnvironment.RelayPort} (fleet relay port:
sourced packets are sent by the task owning the client's flow; needs ${ServiceEnvironment.DirectoryTable}, the fleet's
directory table), ${ServiceEnvironment.MemberAddress} /
${ServiceEnvironment.MemberId} (this task's private address and id, outside ECS), ${ServiceEnvironment.PublicAddresses}
(zone=address,…: the task reports its zone's as Local.IpAddress), ${ServiceEnvironment.Account} / ${ServiceEnvironment.Partition}
(where destinations' LogGroupName log groups are), ${ServiceEnvironment.Workers}
(data-plane worker threads, 1–16, default: the task's vCPUs in AWS mode, 1 in local mode; one where
Node.js has no dgram reusePort, before 22.12), ${ServiceEnvironment.ReceiveBufferBytes} (receive
buffer of each Listener socket, ${RECEIVE_BUFFER_BYTES.allowed} bytes, default: the kernel's
net.core.rmem_max, 4–64 MiB; also read in local mode).
`;

/** Log message (INFO, AWS mode) once the service has started: Listeners bound, health served. */
export const STARTED_LOG_MESSAGE = 'packet gateway started';

/** Configuration errors worth a one-line message rather than a stack trace. */
class UsageError extends Error {}

/** Builds the service options from flags and environment variables. */
export function optionsFromCommandLine(argv: readonly string[], env: NodeJS.ProcessEnv): ServiceOptions | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        'local': { type: 'boolean' },
        'config': { type: 'string' },
        'host': { type: 'string' },
        'health-port': { type: 'string' },
        'sns-port': { type: 'string' },
        'region': { type: 'string' },
        'log-level': { type: 'string' },
        'help': { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n\n${HELP}`);
  }
  const flags = parsed.values;
  if (flags.help) return 'help';
  const local = flags.local === true || env[ServiceEnvironment.Local] === '1' || env[ServiceEnvironment.Local] === 'true';
  const region = flags.region ?? env[ServiceEnvironment.Region] ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? (local ? 'us-east-1' : undefined);
  if (!region) throw new UsageError('no region: set AWS_REGION or pass --region');
  const logLevel = flags['log-level'] ?? env[ServiceEnvironment.LogLevel];
  if (logLevel !== undefined && !(LOG_LEVELS as readonly string[]).includes(logLevel.toUpperCase())) {
    throw new UsageError(`--log-level ${JSON.stringify(logLevel)} is not valid (allowed: ${LOG_LEVELS.join(', ')})`);
  }
  const tagSecretText = env[ServiceEnvironment.TagSecret];
  const tagSecret = tagSecretText ? Buffer.from(tagSecretText, 'base64') : undefined;
  if (tagSecret && tagSecret.length < 16) throw new UsageError(`${ServiceEnvironment.TagSecret} must be base64 of at least 16 bytes`);
  if (!local && env[ServiceEnvironment.RelayPort] !== undefined && !env[ServiceEnvironment.DirectoryTable]) {
    throw new UsageError(`${ServiceEnvironment.RelayPort} is set but ${ServiceEnvironment.DirectoryTable} is not: the fleet relay needs the fleet's directory table (set both or neither)`);
  }
  return {
    mode: local ? 'local' : 'aws',
    region,
    host: flags.host ?? env[ServiceEnvironment.Host] ?? (local ? '127.0.0.1' : '0.0.0.0'),
    healthPort: port(flags['health-port'] ?? env[ServiceEnvironment.HealthPort], DEFAULT_HEALTH_PORT, '--health-port'),
    snsPort: port(flags['sns-port'] ?? env[ServiceEnvironment.SnsPort], 4576, '--sns-port'),
    configPath: local ? resolveConfigPath(flags.config ?? env[ServiceEnvironment.Config]) : undefined,
    tableName: env[ServiceEnvironment.Table],
    deliveryQueueUrl: env[ServiceEnvironment.DeliveryQueueUrl],
    reloadIntervalSeconds: seconds(env[ServiceEnvironment.ConfigReloadSeconds], ServiceEnvironment.ConfigReloadSeconds),
    metricsIntervalSeconds: seconds(env[ServiceEnvironment.MetricsIntervalSeconds], ServiceEnvironment.MetricsIntervalSeconds),
    stopDeadlineMs: stopDeadlineMs(env[ServiceEnvironment.StopDeadlineSeconds]),
    deliveryQueueVisibilityTimeoutSeconds: visibilityTimeoutSeconds(env[ServiceEnvironment.DeliveryQueueVisibilityTimeoutSeconds]),
    deniedNetworks: env[ServiceEnvironment.VpcCidrs]?.split(',').map((s) => s.trim()).filter((s) => s.length > 0),
    tagSecret,
    logLevel,
    ...(flag(env[ServiceEnvironment.AcceptUnsignedSns]) ? { acceptUnsignedSns: true } : {}),
    wireGuardCrypto: wireGuardCrypto(env[ServiceEnvironment.WireGuardCrypto]),
    ...(env[ServiceEnvironment.GatewayName] ? { gatewayName: env[ServiceEnvironment.GatewayName] } : {}),
    ...(!local && env[ServiceEnvironment.PublicAddresses] ? { publicAddresses: env[ServiceEnvironment.PublicAddresses] } : {}),
    ...(!local && env[ServiceEnvironment.Account] ? { account: env[ServiceEnvironment.Account], partition: env[ServiceEnvironment.Partition] ?? 'aws' } : {}),
    ...(!local && env[ServiceEnvironment.DirectoryTable] ? { directoryTableName: env[ServiceEnvironment.DirectoryTable] } : {}),
    ...(!local && env[ServiceEnvironment.PeerDeliveryQueues]
      ? { peerDeliveryQueueArns: parsePeerDeliveryQueues(env[ServiceEnvironment.PeerDeliveryQueues]) }
      : {}),
    ...(!local && env[ServiceEnvironment.PeerSqsEndpoints]
      ? { peerSqsEndpoints: peerSqsEndpoints(env[ServiceEnvironment.PeerSqsEndpoints]) }
      : {}),
    relayPort: local || env[ServiceEnvironment.RelayPort] === undefined
      ? undefined
      : port(env[ServiceEnvironment.RelayPort], 0, ServiceEnvironment.RelayPort),
    workers: workers(env[ServiceEnvironment.Workers], local),
    receiveBufferBytes: receiveBuffer(env),
  };
}

/** Receive buffer of the Listener sockets (ServiceEnvironment.ReceiveBufferBytes), undefined when unset. */
function receiveBuffer(env: NodeJS.ProcessEnv): number | undefined {
  try {
    return configuredReceiveBufferBytes(env);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** Data-plane workers: the variable, else the task's vCPUs in AWS mode and one in local mode. */
function workers(text: string | undefined, local: boolean): number {
  if (text !== undefined && text.trim() !== '') {
    try {
      return parseWorkerCount(text);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  return local ? 1 : vcpuWorkerCount();
}

/** The embedded default configuration, found from the source tree or from the bundle's location. */
function resolveConfigPath(given: string | undefined): string {
  if (given) {
    const path = resolve(given);
    if (!existsSync(path)) throw new UsageError(`config file ${path} does not exist`);
    return path;
  }
  const candidates = [
    join(__dirname, '..', 'examples', 'local', 'gateway.json'),
    join(__dirname, '..', '..', 'examples', 'local', 'gateway.json'),
    join(process.cwd(), 'examples', 'local', 'gateway.json'),
  ];
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new UsageError(`no configuration file: pass --config <file> or set ${ServiceEnvironment.Config}`);
  return found;
}

/** `1` or `true` (any case) turns a setting on. */
function flag(value: string | undefined): boolean {
  return value === '1' || value?.toLowerCase() === 'true';
}

function port(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !inIntegerRange(n, BIND_PORT)) throw new UsageError(`${name} ${JSON.stringify(value)} is not a valid port (allowed: ${BIND_PORT.allowed})`);
  return n;
}

function seconds(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`${name} ${JSON.stringify(value)} is not valid (allowed: a number of seconds ≥ 0)`);
  return n;
}

function peerSqsEndpoints(value: string | undefined): Map<string, string> {
  try {
    return parsePeerSqsEndpoints(value);
  } catch (err) {
    throw new UsageError(`${ServiceEnvironment.PeerSqsEndpoints}: ${(err as Error).message}`);
  }
}

function wireGuardCrypto(value: string | undefined): TransportAeadPreference | undefined {
  try {
    return parseTransportAeadPreference(value);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** The delivery queue's visibility timeout from its environment variable (1–43200 whole seconds). */
function visibilityTimeoutSeconds(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || !inIntegerRange(n, SQS_VISIBILITY_TIMEOUT_SECONDS)) {
    throw new UsageError(`${ServiceEnvironment.DeliveryQueueVisibilityTimeoutSeconds} ${JSON.stringify(value)} is not valid (allowed: whole seconds 1–${SQS_VISIBILITY_TIMEOUT_SECONDS.max})`);
  }
  return n;
}

/** The graceful stop's limit from its environment variable, in milliseconds (limits.ts `STOP_DEADLINE_SECONDS`). */
function stopDeadlineMs(value: string | undefined): number | undefined {
  const n = seconds(value, ServiceEnvironment.StopDeadlineSeconds);
  if (n === undefined) return undefined;
  if (!inNumberRange(n, STOP_DEADLINE_SECONDS)) {
    throw new UsageError(`${ServiceEnvironment.StopDeadlineSeconds} ${JSON.stringify(value)} is not valid (allowed: ${STOP_DEADLINE_SECONDS.allowed})`);
  }
  return n * 1000;
}

/** The local-mode banner: where everything is and what to try (stderr, so stdout stays JSON). */
export function banner(service: RunningService): string {
  const status = service.gateway.status();
  const lines = ['', 'Packet Gateway is running in local mode', '', 'Listeners:'];
  const first = status.listeners.find((l) => l.bound && l.protocol === 'udp');
  for (const l of status.listeners) {
    const extra = l.error ? `  NOT RUNNING: ${l.error}` : l.publicKey ? `  public key ${l.publicKey}` : '';
    lines.push(`  ${l.name.padEnd(12)} ${l.protocol.padEnd(4)} ${l.address}:${l.port}${extra}`);
  }
  const sources = service.gateway.listPacketSources();
  lines.push('', `SNS endpoint:  ${service.snsUrl ?? '(off)'}`);
  for (const s of sources) lines.push(`  topic ${s.TopicArn} -> Listener ${s.ListenerName}`);
  lines.push(`Health:        ${service.healthUrl}/healthz   Listeners: ${service.healthUrl}/listeners`, '');
  if (first) {
    lines.push('Try:');
    lines.push(`  echo -n hello | nc -u -w1 ${first.address} ${first.port}            # a datagram in, the handler's reply out`);
    if (sources[0] && service.snsUrl) {
      lines.push(`  aws --endpoint-url ${service.snsUrl} sns publish --topic-arn ${sources[0].TopicArn} \\`);
      lines.push('      --message \'{"Messages":[{"Data":"aGk=","Remote":{"Address":"127.0.0.1","Port":40000}}]}\'   # "hi" to 127.0.0.1:40000');
    }
    lines.push(`  curl ${service.healthUrl}/listeners`);
  }
  lines.push('Stop with Ctrl-C.', '');
  return lines.join('\n');
}

async function main(): Promise<void> {
  let options: ServiceOptions | 'help';
  try {
    options = optionsFromCommandLine(process.argv.slice(2), process.env);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
  if (options === 'help') {
    process.stdout.write(HELP);
    return;
  }
  let service: RunningService;
  try {
    service = await startService(options);
  } catch (err) {
    process.stderr.write(`Packet Gateway could not start: ${(err as Error).message}\n`);
    process.exit(1);
  }
  const failed = service.gateway.status().listeners.filter((l) => l.error);
  if (options.mode === 'local' && failed.length > 0) {
    process.stderr.write(`Packet Gateway could not start:\n${failed.map((l) => `  ${l.error}`).join('\n')}\n`);
    await service.stop();
    process.exit(1);
  }
  const started = { region: options.region, listeners: service.gateway.status().listeners.length, health: service.healthUrl };
  if (options.mode === 'local') process.stderr.write(banner(service));
  else service.logger.info(STARTED_LOG_MESSAGE, started);

  // The service keeps its own deadline (drain, then failure records); this one only ends a stop that still hangs.
  const exitDeadlineMs = service.stopDeadlineMs + STOP_EXIT_MARGIN_MS;
  const stopRequest = handleStopSignals({ stop: () => service.stop(), logger: service.logger, deadlineMs: exitDeadlineMs });
  if (options.mode === 'local') {
    // `npm start` runs the gateway under npm, sh, projen (and tsx): if the top of that chain is
    // killed, the signal does not reach this process; the chain breaking does.
    watchParent({ onParentExit: (detail) => stopRequest.request(`parent-exit: ${detail}`) });
  }
  handleProcessErrors({ logger: service.logger, stop: stopRequest });
  // a data-plane worker thread's failure is the task's: the same graceful stop, exit 1
  handleWorkerFailures({ logger: service.logger, stop: stopRequest, workers: service });
}

// the bundle is also the entry of each data-plane worker thread (service/workers/worker-pool.ts)
if (isDataPlaneWorkerThread()) runDataPlaneWorkerThread();
else if (require.main === module) void main();
