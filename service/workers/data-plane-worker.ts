/**
 * The data plane of one worker thread: its own Gateway (Listeners on sockets sharing their ports
 * with the other workers' through SO_REUSEPORT, pipelines, destinations), owning the flows and
 * WireGuard sessions of the clients the kernel hashes to it. It tells the main thread of each new
 * flow and of each WireGuard session established here (the fleet directory's claims go through
 * the main thread, and so do its lookups of a peer by endpoint: worker-peer-directory.ts), and
 * sends the sourced datagrams the main thread hands it for the clients it owns. Replies need
 * nothing from the main thread: the worker that received a packet delivers it and sends its reply.
 */
import { MessagePort, parentPort, workerData } from 'node:worker_threads';
import type { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DATA_PLANE_WORKER_ROLE, DataPlaneWorkerData, FLOW_RENEW_MS, FLOW_RENEW_TICK_MS, MainToWorker, SendRequest, WorkerToMain } from './worker-messages';
import { WorkerPeerDirectory } from './worker-peer-directory';
import { reportWorkerThreadErrors } from './worker-thread-errors';
import { DEFAULT_METRICS_INTERVAL_SECONDS, METRICS_SERVICE_DIMENSION, MetricDimension, MetricName } from '../../lib/private/metrics';
import type { ConfigSource } from '../config/config-source';
import { DynamoDbConfigSource } from '../config/dynamodb-config-source';
import { FileConfigSource } from '../config/file-config-source';
import type { Failure, MetricsRecorder } from '../contracts';
import { FlowTable } from '../egress/flow-table';
import { ClaimRefresh } from '../fleet/claim-refresh';
import { Gateway } from '../gateway';
import { LOCAL_DESTINATION_FACTORIES } from '../local/local-destination-factories';
import { EmfMetricsRecorder } from '../observability/emf-metrics';
import { LoggingFailureReporter } from '../observability/failure-reporter';
import { createLogger } from '../observability/logger';
import { selectTransportAead, useTransportAead } from '../wireguard/transport-aead';

/** Whether this thread was started as a data-plane worker. */
export function isDataPlaneWorkerThread(): boolean {
  return parentPort !== null && (workerData as Partial<DataPlaneWorkerData> | undefined)?.role === DATA_PLANE_WORKER_ROLE;
}

/**
 * Runs this thread's data plane until the main thread asks it to stop. An exception or rejection
 * that escapes in the thread is logged and reported to the main thread, which stops the task
 * (worker-thread-errors.ts); the thread runs on until that stop drains it.
 */
export function runDataPlaneWorkerThread(): void {
  const port = parentPort!;
  const data = workerData as DataPlaneWorkerData;
  const logger = createLogger({ level: data.logLevel, local: data.mode === 'local' });
  logger.appendKeys({ worker: data.index });
  reportWorkerThreadErrors({ logger, report: (failure) => post(port, failure) });
  startDataPlaneWorker(data, port, logger).catch((err: Error) => {
    post(port, { kind: 'start-failed', error: err?.message ?? String(err) });
  });
}

async function startDataPlaneWorker(data: DataPlaneWorkerData, port: MessagePort, logger: Logger): Promise<void> {
  const local = data.mode === 'local';
  const metrics: MetricsRecorder & { start(): void; stop(): void } = (data.metricsIntervalSeconds ?? DEFAULT_METRICS_INTERVAL_SECONDS) > 0
    ? new EmfMetricsRecorder({
      flushIntervalSeconds: data.metricsIntervalSeconds,
      defaultDimensions: Object.freeze({
        ...METRICS_SERVICE_DIMENSION,
        ...(data.gatewayName !== undefined ? { [MetricDimension.Gateway]: data.gatewayName } : {}),
      }),
    })
    : { increment: () => undefined, observe: () => undefined, start: () => undefined, stop: () => undefined };
  const selection = selectTransportAead(data.wireGuardCrypto ?? 'auto');
  useTransportAead(selection);
  if (selection.fallbackReason !== undefined) metrics.increment(MetricName.WireGuardCryptoFallback, 1);
  const failures = new LoggingFailureReporter(logger, metrics);
  let dynamo: DynamoDBClient | undefined;
  let config: ConfigSource;
  if (local) {
    config = new FileConfigSource({ path: data.configPath!, logger, watch: data.watchConfig ?? true });
  } else {
    dynamo = new DynamoDBClient({ region: data.region });
    config = new DynamoDbConfigSource({ client: dynamo, tableName: data.tableName!, reloadIntervalSeconds: data.reloadIntervalSeconds, logger });
  }
  // the main thread learns each new flow, and hears again every FLOW_RENEW_MS of each one that lives on
  const renewals: ClaimRefresh = new ClaimRefresh({
    holds: (listener, address, remotePort) => flows.isActive(listener, address, remotePort),
    reclaim: (listener, address, remotePort, peerKey) => post(port, {
      kind: 'flow', listener, address, port: remotePort, renewed: true, ...(peerKey !== undefined ? { peerKey } : {}),
    }),
    refreshAfterMs: FLOW_RENEW_MS,
    tickMs: FLOW_RENEW_TICK_MS,
  });
  const flows = new FlowTable({
    onNewFlow: (listener, address, remotePort, peerKey) => {
      post(port, { kind: 'flow', listener, address, port: remotePort, ...(peerKey !== undefined ? { peerKey } : {}) });
      renewals.claim(listener, address, remotePort, peerKey);
    },
  });
  // the WireGuard sessions established here are reported, and peers looked up, through the main thread
  const peers = new WorkerPeerDirectory({
    post: (message) => post(port, message),
    lookups: data.peerLookups === true,
    flowClaimed: (listener, address, remotePort, peerKey) => renewals.claim(listener, address, remotePort, peerKey),
  });
  const gateway = new Gateway({
    config,
    region: data.region,
    logger,
    metrics,
    failures,
    local,
    deniedNetworks: data.deniedNetworks,
    defaultBindAddress: data.host,
    tagSecret: data.tagSecret ? Buffer.from(data.tagSecret) : undefined,
    reusePort: true,
    receiveBufferBytes: data.receiveBufferBytes,
    ...(local ? { destinationFactories: LOCAL_DESTINATION_FACTORIES } : {}),
    flows,
    peerDirectory: peers,
  });
  port.on('message', (message: MainToWorker) => {
    if (message.kind === 'send') {send(gateway, port, message);} else if (message.kind === 'peer-at') {peers.answered(message);} else if (message.kind === 'stop') {
      void (async () => {
        renewals.stop();
        await gateway.stop(message.deadlineMs).catch(() => undefined);
        peers.close();
        metrics.stop();
        dynamo?.destroy();
        post(port, { kind: 'stopped' });
        port.close();
      })();
    }
  });
  metrics.start();
  await gateway.start();
  renewals.start();
  post(port, { kind: 'ready' });
}

function send(gateway: Gateway, port: MessagePort, request: SendRequest): void {
  const listener = gateway.get(request.listener);
  if (!listener) {
    post(port, { kind: 'sent', id: request.id, code: 'SendFailed', reason: `Listener '${request.listener}' is not running on this worker` });
    return;
  }
  const data = Buffer.from(request.data.buffer, request.data.byteOffset, request.data.byteLength);
  const datagram = { data, address: request.address, port: request.port, peerKey: request.peerKey, inner: request.inner };
  listener.send(datagram, (failure: Failure | undefined) => {
    post(port, failure
      ? { kind: 'sent', id: request.id, code: failure.code, reason: failure.reason, ...(failure.target !== undefined ? { target: failure.target } : {}) }
      : { kind: 'sent', id: request.id });
  });
}

function post(port: MessagePort, message: WorkerToMain): void {
  port.postMessage(message);
}
