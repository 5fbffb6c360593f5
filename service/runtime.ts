/**
 * Assembles and runs the whole data plane: configuration source, gateway (Listeners, pipelines,
 * destinations), packet sourcing (local SNS endpoint or the delivery queue), health server,
 * logs and metrics. `main.ts` turns flags and environment variables into {@link ServiceOptions}.
 */
import { hostname } from 'node:os';
import type { Logger } from '@aws-lambda-powertools/logger';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { STSClient } from '@aws-sdk/client-sts';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { configuredQueueEndpoints, hotPathClientConfig } from './aws-clients';
import type { ConfigSource } from './config/config-source';
import { DynamoDbConfigSource } from './config/dynamodb-config-source';
import { FileConfigSource } from './config/file-config-source';
import type { MetricsRecorder } from './contracts';
import { FlowTable } from './egress/flow-table';
import { Fleet } from './fleet/fleet';
import { MemberIdentity, resolveMemberIdentity } from './fleet/member';
import { RegionForwarder } from './fleet/region-forwarder';
import { Gateway, GatewayStatus } from './gateway';
import { HealthServer, startHealthServer } from './health-server';
import { receiveBufferBytes, validReceiveBufferBytes } from './listeners/listener-socket';
import { LOCAL_DESTINATION_FACTORIES } from './local/local-destination-factories';
import { LocalSnsEndpoint, startLocalSnsEndpoint } from './local/sns-endpoint';
import { DestinationErrorLogs } from './observability/destination-error-log';
import { EmfMetricsRecorder } from './observability/emf-metrics';
import { LoggingFailureReporter } from './observability/failure-reporter';
import { KernelDropMonitor } from './observability/kernel-drops';
import { createLogger } from './observability/logger';
import { parsePublicAddresses, publicAddressOfZone, taskAvailabilityZone } from './public-address';
import { CloudWatchDeliveryLogSink, CloudWatchDeliveryLogSinkOptions } from './sourcing/delivery-log-sink';
import { DeliveryQueueConsumer, inFlightMessagesFor } from './sourcing/delivery-queue-consumer';
import { SnsMessageVerifier } from './sourcing/sns-message-verifier';
import { SourcedPacketProcessor } from './sourcing/sourced-packet-processor';
import { SqsDeadLetterSink } from './sourcing/sqs-dead-letter-sink';
import type { PeerDirectory } from './wireguard/fleet-sessions';
import { selectTransportAead, TransportAeadPreference, useTransportAead } from './wireguard/transport-aead';
import { oneWorkerLogMessage, resolveWorkerCount } from './workers/worker-count';
import { WorkerFailures } from './workers/worker-failures';
import { WorkerPool, WorkerPoolOptions } from './workers/worker-pool';
import { logGroupArnOf, queueLocationFromArn } from '../lib/private/arn';
import { DEFAULT_METRICS_INTERVAL_SECONDS, METRICS_SERVICE_DIMENSION, MetricDimension, MetricName } from '../lib/private/metrics';
import { ServiceEnvironment } from '../lib/private/service-environment';

/** Account id in the ARNs of local mode (topics of the local SNS endpoint). */
export const LOCAL_ACCOUNT_ID = '000000000000';

export interface ServiceOptions {
  /** `local`: file config, local SNS endpoint, loopback egress. `aws`: DynamoDB config, delivery queue, flow ownership. */
  readonly mode: 'local' | 'aws';
  readonly region: string;
  /** Address of the health server and local SNS endpoint, and default bind address of Listeners. */
  readonly host: string;
  /** Health server port (0: any free port). */
  readonly healthPort: number;
  /** Local mode: SNS endpoint port (0: any free port). */
  readonly snsPort?: number;
  /** Local mode (required): configuration file. */
  readonly configPath?: string;
  /** Local mode: reload the file when it changes. @default true */
  readonly watchConfig?: boolean;
  /** AWS mode (required): configuration table. */
  readonly tableName?: string;
  /** AWS mode: seconds between table scans. @default 10 */
  readonly reloadIntervalSeconds?: number;
  /** AWS mode: delivery queue of PacketSource notifications. @default - packet sourcing off */
  readonly deliveryQueueUrl?: string;
  /**
   * AWS mode: act on delivery-queue notifications without a valid SNS signature (a lab's local
   * SNS/SQS server). Refused, so the service does not start, when the queue is on an AWS endpoint.
   * @default false
   */
  readonly acceptUnsignedSns?: boolean;
  /** The VPC's CIDRs, denied as egress destinations. */
  readonly deniedNetworks?: readonly string[];
  /** Reply tag key shared by tasks. @default - random per process */
  readonly tagSecret?: Buffer;
  /** @default INFO */
  readonly logLevel?: string;
  /** @default - a new logger for the mode */
  readonly logger?: Logger;
  /**
   * Longest graceful stop, milliseconds: sourcing and Listeners drain for most of it, failure
   * records of what could not be delivered are written in the rest. Keep it below the container's
   * stop timeout. @default DEFAULT_STOP_DEADLINE_MS
   */
  readonly stopDeadlineMs?: number;
  /** Visibility timeout of the delivery queue, seconds. @default DELIVERY_QUEUE_VISIBILITY_TIMEOUT_SECONDS */
  readonly deliveryQueueVisibilityTimeoutSeconds?: number;
  /** Seconds between EMF metric flushes; 0 turns metrics off. @default 60 */
  readonly metricsIntervalSeconds?: number;
  /** Receives EMF lines. @default - stdout */
  readonly metricsWrite?: (line: string) => void;
  /** The `Gateway` dimension of every metric (ServiceEnvironment.GatewayName). @default - no Gateway dimension */
  readonly gatewayName?: string;
  /** Override the DynamoDB client (tests, endpoints). */
  readonly dynamoDbClient?: DynamoDBClient;
  /** Override the SQS client (tests, endpoints). */
  readonly sqsClient?: SQSClient;
  /** AWS mode: the gateway's account and partition, where destinations' `LogGroupName` log groups are. @default - those log groups are not written */
  readonly account?: string;
  readonly partition?: string;
  /** AWS mode: how PacketSource delivery log groups (and destinations' `LogGroupName`) are written (tests, endpoints). @default - CloudWatch Logs, one stream per task */
  readonly deliveryLog?: Partial<CloudWatchDeliveryLogSinkOptions>;
  /**
   * AWS mode: UDP port of the relay between fleet members (docs/FLEET.md). Turns the fleet on:
   * sourced entries are sent by the member owning their flow. Needs `directoryTableName` and
   * `tagSecret` (the relay key is derived from it). @default - no relay: entries leave from this member only
   */
  readonly relayPort?: number;
  /** AWS mode with a relay port (required then): the fleet's directory table (flow, peer and member items). */
  readonly directoryTableName?: string;
  /**
   * AWS mode with a relay port: delivery queue ARNs of the peer regions, where entries whose flow
   * is owned in that region are forwarded (docs/FLEET.md "Global"). @default - none: such entries wait for an owner here
   */
  readonly peerDeliveryQueueArns?: readonly string[];
  /**
   * SQS endpoint per peer region (ServiceEnvironment.PeerSqsEndpoints), where the gateway's own
   * endpoint is configured and cannot reach that region's queues. @default - none
   */
  readonly peerSqsEndpoints?: ReadonlyMap<string, string>;
  /** Address the relay binds. @default `host` */
  readonly relayBindAddress?: string;
  /**
   * AWS mode: the load balancer's public address per zone (ServiceEnvironment.PublicAddresses,
   * `zone=address,…`); the task reports its zone's as `Local.IpAddress` (public-address.ts).
   * @default - no public address known: Listeners report their bound address
   */
  readonly publicAddresses?: string;
  /** This task's Availability Zone. @default - from the ECS task metadata endpoint (undefined outside ECS) */
  readonly availabilityZone?: () => Promise<string | undefined>;
  /** This member's identity. @default - from the ECS task metadata endpoint or the member variables */
  readonly memberIdentity?: () => Promise<MemberIdentity>;
  /** Longest wait of a sourced entry for its flow's owner, milliseconds. @default 20000 */
  readonly fleetRetryBudgetMs?: number;
  /** ChaCha20-Poly1305 of WireGuard transport data (ServiceEnvironment.WireGuardCrypto). @default auto */
  readonly wireGuardCrypto?: TransportAeadPreference;
  /**
   * Data-plane workers (ServiceEnvironment.Workers): the main thread and N-1 worker threads, each
   * with its own socket per Listener on the same port (SO_REUSEPORT). One, with a log line saying
   * why, where dgram has no `reusePort` (Node.js < 22.12).
   * @default 1 (main.ts: the task's vCPUs)
   */
  readonly workers?: number;
  /**
   * Receive buffer of each Listener socket, in bytes (ServiceEnvironment.ReceiveBufferBytes,
   * limits.ts `RECEIVE_BUFFER_BYTES`): checked once here, so a bad value fails the start rather
   * than each Listener's bind. @default - the kernel's cap (`net.core.rmem_max`), 4–64 MiB
   */
  readonly receiveBufferBytes?: number;
}

export interface RunningService {
  readonly gateway: Gateway;
  readonly logger: Logger;
  readonly failures: LoggingFailureReporter;
  readonly processor: SourcedPacketProcessor;
  /** AWS mode with a relay port: this member of the fleet. */
  readonly fleet?: Fleet;
  readonly healthUrl: string;
  /** Local mode: the SNS endpoint URL. */
  readonly snsUrl?: string;
  /** The graceful stop's limit, milliseconds. */
  readonly stopDeadlineMs: number;
  /** Data-plane workers running, the main thread included. */
  readonly workers: number;
  /**
   * Registers what a data-plane worker thread's failure does (an escaped exception or rejection
   * in it, or its end while the service runs: worker-pool.ts); main.ts stops the service, exit 1.
   * A failure reported before the registration is handed to it at once.
   */
  onWorkerFailed(handler: (worker: number, reason: string) => void): void;
  /**
   * Graceful stop within {@link stopDeadlineMs}: sourcing, then Listeners (flushing batches; what
   * is not delivered in time gets a failure record), then dead letters and delivery logs, metrics,
   * health. Idempotent.
   */
  stop(): Promise<void>;
}

/** Starts everything; rejects (after undoing what was started) when a part cannot start. */
export async function startService(options: ServiceOptions): Promise<RunningService> {
  const local = options.mode === 'local';
  // decided once for every Listener socket of every worker, before anything starts
  const listenerReceiveBufferBytes = receiveBufferBytes(undefined,
    options.receiveBufferBytes === undefined ? undefined : validReceiveBufferBytes(options.receiveBufferBytes));
  const logger = options.logger ?? createLogger({ level: options.logLevel, local });
  const metrics = (options.metricsIntervalSeconds ?? DEFAULT_METRICS_INTERVAL_SECONDS) > 0
    ? new EmfMetricsRecorder({
      flushIntervalSeconds: options.metricsIntervalSeconds,
      write: options.metricsWrite,
      defaultDimensions: Object.freeze({
        ...METRICS_SERVICE_DIMENSION,
        ...(options.gatewayName !== undefined ? { [MetricDimension.Gateway]: options.gatewayName } : {}),
      }),
    })
    : NO_METRICS;
  const failures = new LoggingFailureReporter(logger, metrics);
  chooseTransportAead(options.wireGuardCrypto ?? 'auto', logger, metrics);
  const owned: Array<{ destroy(): void }> = [];
  const sqs = options.sqsClient ?? (local ? undefined : own(new SQSClient(hotPathClientConfig(options.region))));

  const fleetOn = !local && options.relayPort !== undefined;
  if (fleetOn && !options.tagSecret) throw new Error(`the fleet relay needs the fleet's shared secret (${ServiceEnvironment.TagSecret})`);
  if (fleetOn && !options.directoryTableName) {
    throw new Error(`the fleet relay (${ServiceEnvironment.RelayPort} ${options.relayPort}) needs the fleet's directory table (${ServiceEnvironment.DirectoryTable}): set both or neither`);
  }
  const dynamo = local ? undefined : options.dynamoDbClient ?? own(new DynamoDBClient({ region: options.region }));
  let fleet: Fleet | undefined;
  // WireGuard sessions are recorded in the fleet directory, and peers found there by endpoint
  const fleetPeers: PeerDirectory | undefined = fleetOn ? {
    claimPeer: (listener, peerKey, address, port) => fleet?.directory.claimPeer(listener, peerKey, address, port),
    claimFlow: (listener, address, port, peerKey) => fleet?.claimFlow(listener, address, port, peerKey),
    peerAt: (listener, address, port, done) => (fleet ? fleet.directory.peerAt(listener, address, port, done) : done(undefined)),
  } : undefined;
  const workerFailures = new WorkerFailures();
  const workers = dataPlaneWorkers({ ...options, receiveBufferBytes: listenerReceiveBufferBytes }, logger, {
    // the main thread's own clients: through the fleet when it is on
    mainRouter: { send: (listener, datagram, entry, done) => (fleet ? fleet.send(listener, datagram, entry, done) : listener.send(datagram, done)) },
    onWorkerFlow: (listener, address, port, peerKey) => fleet?.claimFlow(listener, address, port, peerKey),
    peerDirectory: fleetPeers,
    draining: () => fleet?.isDraining === true,
    onWorkerFailed: (worker, reason) => workerFailures.report(worker, reason),
  });

  let config: ConfigSource;
  if (local) {
    if (!options.configPath) throw new Error(`local mode needs a configuration file (--config or ${ServiceEnvironment.Config})`);
    config = new FileConfigSource({ path: options.configPath, logger, watch: options.watchConfig ?? true });
  } else {
    if (!options.tableName) throw new Error(`AWS mode needs the configuration table name (${ServiceEnvironment.Table})`);
    config = new DynamoDbConfigSource({
      client: dynamo!,
      tableName: options.tableName,
      reloadIntervalSeconds: options.reloadIntervalSeconds,
      logger,
    });
  }

  const deliveryLog = local ? undefined : new CloudWatchDeliveryLogSink({
    failures,
    streamName: deliveryLogStreamName(),
    sts: own(new STSClient({ region: options.region, ...FAILURE_RECORD_CLIENT })),
    logsClient: (region, credentials) => own(new CloudWatchLogsClient({ region, credentials, ...FAILURE_RECORD_CLIENT })),
    ...options.deliveryLog,
  });
  // destinations with a LogGroupName: their delivery errors, in the gateway's account and region
  const destinationErrorLogs = deliveryLog && new DestinationErrorLogs({
    sink: deliveryLog,
    logGroupArn: (name) => (options.account && options.partition
      ? logGroupArnOf(options.partition, options.region, options.account, name)
      : undefined),
    warn: (message, attributes) => logger.warn(message, {
      ...attributes, variables: `${ServiceEnvironment.Account}, ${ServiceEnvironment.Partition}`,
    }),
  });
  const publicAddress = local || !options.publicAddresses
    ? undefined
    : await resolvePublicAddress(options.publicAddresses, options.availabilityZone, logger);
  // with workers, the main thread's sessions are noted too: a peer that moved here from a worker thread is pushed to here
  const peerDirectory: PeerDirectory | undefined = workers ? {
    claimPeer: (listener, peerKey, address, port) => {
      workers.notePeer(0, listener, peerKey);
      fleetPeers?.claimPeer(listener, peerKey, address, port);
    },
    claimFlow: (listener, address, port, peerKey) => fleetPeers?.claimFlow(listener, address, port, peerKey),
    peerAt: (listener, address, port, done) => (fleetPeers ? fleetPeers.peerAt(listener, address, port, done) : done(undefined)),
  } : fleetPeers;
  const gateway = new Gateway({
    config,
    region: options.region,
    logger,
    metrics,
    failures,
    local,
    deniedNetworks: options.deniedNetworks,
    defaultBindAddress: options.host,
    tagSecret: options.tagSecret,
    sqsClient: sqs,
    destinationErrorLogs,
    publicAddress,
    ...(local ? { destinationFactories: LOCAL_DESTINATION_FACTORIES } : {}),
    // a datagram that starts a flow makes this member its owner in the fleet directory, and the
    // main thread (worker 0) its owner among the workers
    ...(fleetOn || workers ? {
      flows: new FlowTable({
        onNewFlow: (listener, address, port, peerKey) => {
          workers?.noteFlow(0, listener, address, port, peerKey);
          fleet?.claimFlow(listener, address, port, peerKey);
        },
      }),
    } : {}),
    ...(workers ? { reusePort: true } : {}),
    receiveBufferBytes: listenerReceiveBufferBytes,
    peerDirectory,
  });
  if (fleetOn) {
    const identity = await (options.memberIdentity ?? (() => resolveMemberIdentity(process.env)))();
    fleet = new Fleet({
      identity,
      secret: options.tagSecret!,
      relayPort: options.relayPort!,
      relayBindAddress: options.relayBindAddress ?? options.host,
      documents: DynamoDBDocumentClient.from(dynamo!, { marshallOptions: { removeUndefinedValues: true } }),
      directoryTableName: options.directoryTableName!,
      region: options.region,
      ...(options.peerDeliveryQueueArns && options.peerDeliveryQueueArns.length > 0
        ? { forwarder: regionForwarder(options.region, options.peerDeliveryQueueArns, options.peerSqsEndpoints ?? new Map(), metrics, own) }
        : {}),
      // with workers, this member holds a flow any of its workers holds, and sends through that worker
      listeners: workers ? workers.listenersOf(gateway) : gateway,
      flows: workers
        ? { isActive: (listener, address, port) => gateway.flows.isActive(listener, address, port) || workers.holds(listener, address, port) }
        : gateway.flows,
      metrics,
      logger,
      retryBudgetMs: options.fleetRetryBudgetMs,
    });
  }
  // records for other regions and through PacketSource roles: bounded attempts and time, as the delivery log's
  const deadLetters = sqs ? new SqsDeadLetterSink({
    sqs,
    failures,
    clientForRegion: (region) => own(new SQSClient({ region, ...FAILURE_RECORD_CLIENT })),
    clientAs: (region, credentials) => own(new SQSClient({ region, credentials, ...FAILURE_RECORD_CLIENT })),
    sts: own(new STSClient({ region: options.region, ...FAILURE_RECORD_CLIENT })),
  }) : undefined;
  const processor = new SourcedPacketProcessor({
    listeners: gateway,
    bindings: gateway,
    failures,
    metrics,
    deadLetters,
    deliveryLog,
    region: options.region,
    failureLog: { logger },
    router: workers ?? fleet,
  });

  const kernelDrops = new KernelDropMonitor({ metrics, listeners: () => gateway.list() });
  let health: HealthServer | undefined;
  let sns: LocalSnsEndpoint | undefined;
  let consumer: DeliveryQueueConsumer | undefined;
  let stopping: Promise<void> | undefined;
  // from the stop's first step on, the health checks fail: the load balancer sends no new flow here
  let draining = false;
  const stopDeadlineMs = options.stopDeadlineMs ?? DEFAULT_STOP_DEADLINE_MS;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      const stopAt = Date.now() + stopDeadlineMs;
      // draining gets the stop deadline less the share kept for failure records
      const drainUntil = stopAt - Math.min(FAILURE_RECORD_FLUSH_MS, stopDeadlineMs / 4);
      draining = true;
      await sns?.close();
      // the fleet member owns no flow from now on (service/fleet/fleet.ts, draining); its entries go to the new owners
      await fleet?.drain();
      await consumer?.stop(Math.max(0, drainUntil - Date.now()));
      await Promise.all([gateway.stop(Math.max(0, drainUntil - Date.now())), workers?.stop(Math.max(0, drainUntil - Date.now()))]);
      await fleet?.stop();
      // an unreachable queue or log group must not hold the rest up
      await settledWithin(Math.max(0, stopAt - Date.now()), [deadLetters?.flush(), deliveryLog?.flush()]);
      kernelDrops.stop();
      metrics.stop();
      await health?.close();
      for (const client of owned) client.destroy();
    })();
    return stopping;
  };

  try {
    metrics.start();
    await gateway.start();
    await workers?.start();
    await fleet?.start();
    // Health is served only once the Listeners are bound: a load balancer never sees a task that has not tried to bind them.
    const status = (): GatewayStatus => drainingStatus(gateway.status(), draining);
    health = await startHealthServer({ host: options.host, port: options.healthPort, status, logger });
    kernelDrops.start();
    if (local) {
      sns = await startLocalSnsEndpoint({
        host: options.host,
        port: options.snsPort ?? 4576,
        region: options.region,
        accountId: LOCAL_ACCOUNT_ID,
        processor,
        logger,
      });
    } else if (options.deliveryQueueUrl && sqs) {
      consumer = new DeliveryQueueConsumer({
        // The long polls pass an abort signal per request, and the SDK empties its middleware
        // cache on any request with options: they get a client of their own.
        sqs: options.sqsClient ?? own(new SQSClient({ region: options.region })),
        queueUrl: options.deliveryQueueUrl,
        processor,
        bindings: gateway,
        failures,
        logger,
        acceptUnsignedSns: options.acceptUnsignedSns,
        // with workers, the RSA operation of each signature check is made on the worker threads, and
        // the in-flight window is one per worker (a routed entry holds its message until its worker answers)
        ...(workers
          ? {
            verifier: new SnsMessageVerifier(undefined, { check: workers.checkSignature }),
            maxInFlightMessages: inFlightMessagesFor(workers.count),
          }
          : {}),
        ...(options.deliveryQueueVisibilityTimeoutSeconds !== undefined
          ? { visibilityTimeoutSeconds: options.deliveryQueueVisibilityTimeoutSeconds }
          : {}),
      });
      consumer.start();
    } else {
      logger.warn(`packet sourcing is off: no delivery queue configured (${ServiceEnvironment.DeliveryQueueUrl})`);
    }
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }

  return {
    gateway,
    logger,
    failures,
    processor,
    fleet,
    healthUrl: health.url,
    snsUrl: sns?.url,
    stop,
    stopDeadlineMs,
    workers: workers?.count ?? 1,
    onWorkerFailed: (handler) => workerFailures.onWorkerFailed(handler),
  };

  function own<T extends { destroy(): void }>(client: T): T {
    owned.push(client);
    return client;
  }
}

/** The worker threads of the data plane, when it runs more than one worker (the main thread is one). */
function dataPlaneWorkers(
  options: ServiceOptions, logger: Logger,
  routing: Pick<WorkerPoolOptions, 'mainRouter' | 'onWorkerFlow' | 'peerDirectory' | 'draining' | 'onWorkerFailed'>,
): WorkerPool | undefined {
  const decided = resolveWorkerCount({ requested: options.workers ?? 1 });
  if (decided.limitedBy !== undefined) {
    logger.warn(oneWorkerLogMessage(decided), { workers: 1, requested: decided.requested });
  }
  if (decided.count === 1) return undefined;
  return new WorkerPool({
    ...routing,
    count: decided.count,
    logger,
    workerData: {
      mode: options.mode,
      region: options.region,
      host: options.host,
      configPath: options.configPath,
      watchConfig: options.watchConfig,
      tableName: options.tableName,
      reloadIntervalSeconds: options.reloadIntervalSeconds,
      deniedNetworks: options.deniedNetworks,
      tagSecret: options.tagSecret,
      logLevel: options.logLevel,
      metricsIntervalSeconds: options.metricsIntervalSeconds,
      gatewayName: options.gatewayName,
      wireGuardCrypto: options.wireGuardCrypto,
      receiveBufferBytes: options.receiveBufferBytes,
      peerLookups: routing.peerDirectory !== undefined,
    },
  });
}

/** The gateway's status, unhealthy and stopping once the service drains. */
function drainingStatus(status: GatewayStatus, draining: boolean): GatewayStatus {
  return draining && !status.stopping ? { ...status, healthy: false, stopping: true } : status;
}

/**
 * The public address this task reports: its zone's (public-address.ts). A zone that cannot be read
 * is logged, and the first zone's address is reported.
 */
async function resolvePublicAddress(
  text: string, zoneOf: (() => Promise<string | undefined>) | undefined, logger: Logger,
): Promise<string | undefined> {
  const addresses = parsePublicAddresses(text);
  let zone: string | undefined;
  try {
    zone = await (zoneOf ?? (() => taskAvailabilityZone(process.env)))();
  } catch (err) {
    logger.warn('Availability Zone unknown: Local.IpAddress is the first zone\'s public address', { error: (err as Error).message });
  }
  const address = publicAddressOfZone(addresses, zone);
  logger.info('public address', { availabilityZone: zone, publicAddress: address });
  return address;
}

/** Metrics turned off (`metricsIntervalSeconds` 0): nothing is aggregated or written. */
const NO_METRICS = {
  increment(): void {
    // off
  },
  observe(): void {
    // off
  },
  start(): void {
    // off
  },
  stop(): void {
    // off
  },
};

/** One log stream per task and start: `packet-gateway/<host>/<start time>` (log stream names allow neither ':' nor '*'). */
/** Makes the process-wide WireGuard AEAD choice; a fallback from libsodium is logged once and counted. */
function chooseTransportAead(preference: TransportAeadPreference, logger: Logger, metrics: MetricsRecorder): void {
  const selection = selectTransportAead(preference);
  useTransportAead(selection);
  if (selection.fallbackReason !== undefined) {
    logger.warn('WireGuard transport data is sealed by node:crypto: libsodium (sodium-native) could not load', { reason: selection.fallbackReason });
    metrics.increment(MetricName.WireGuardCryptoFallback, 1);
  } else {
    logger.debug('WireGuard transport data is sealed by ' + (selection.aead.implementation === 'native' ? 'libsodium (sodium-native)' : 'node:crypto'));
  }
}

function deliveryLogStreamName(): string {
  return `packet-gateway/${hostname().replace(/[:*]/g, '-')}/${new Date().toISOString().replace(/[:.]/g, '-')}`;
}

/** Delivery-log writes (and the role they assume) give up on an endpoint that does not answer. */
const FAILURE_RECORD_CLIENT = { maxAttempts: 2, requestHandler: { connectionTimeout: 3_000, requestTimeout: 5_000 } };

/** Longest share of the stop deadline kept for failure records (dead-letter queues, delivery logs). */
const FAILURE_RECORD_FLUSH_MS = 10_000;

/** Default longest graceful stop: below the 30 s ECS gives a task between SIGTERM and SIGKILL. */
export const DEFAULT_STOP_DEADLINE_MS = 25_000;

/** Time after the stop deadline at which the process exits even if the stop still hangs. */
export const STOP_EXIT_MARGIN_MS = 2_000;

/** Waits until every promise has settled, or `ms` have passed. */
async function settledWithin(ms: number, work: ReadonlyArray<Promise<void> | undefined>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
    timer.unref();
  });
  await Promise.race([Promise.allSettled(work), deadline]);
  clearTimeout(timer);
}

/**
 * Forwards entries to the peers' delivery queues, each through a client of the queue's region: on
 * that region's endpoint in `peerEndpoints` when named, else on the configured SQS endpoint.
 */
function regionForwarder(
  region: string,
  queueArns: readonly string[],
  peerEndpoints: ReadonlyMap<string, string>,
  metrics: MetricsRecorder,
  own: <T extends { destroy(): void }>(client: T) => T,
): RegionForwarder {
  const endpoint = configuredQueueEndpoints(process.env)[0];
  // a peer region's own endpoint where one is named, else the endpoint this gateway's SQS requests use
  const queueUrls = new Map(queueArns.map((arn) => {
    const peer = queueLocationFromArn(arn).region;
    const location = queueLocationFromArn(arn, peerEndpoints.get(peer) ?? endpoint);
    return [location.region, location.queueUrl] as const;
  }));
  const clients = new Map<string, SQSClient>();
  return new RegionForwarder({
    region,
    queueUrls,
    metrics,
    sqs: (peer) => {
      let client = clients.get(peer);
      if (!client) {
        const peerEndpoint = peerEndpoints.get(peer);
        client = own(new SQSClient({ region: peer, ...(peerEndpoint !== undefined ? { endpoint: peerEndpoint } : {}) }));
        clients.set(peer, client);
      }
      return client;
    },
  });
}
