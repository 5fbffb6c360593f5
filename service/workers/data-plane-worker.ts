/**
 * The data plane of one worker thread: its own Gateway (Listeners on sockets sharing their ports
 * with the other workers' through SO_REUSEPORT, pipelines, destinations), owning the flows and
 * WireGuard sessions of the clients the kernel hashes to it. It tells the main thread of each new
 * flow and of each WireGuard session established here (the fleet directory's claims go through
 * the main thread, and so do its lookups of a peer by endpoint: worker-peer-directory.ts), and
 * sends the sourced datagrams the main thread hands it for the clients it owns (in batches, one
 * per turn of the main thread's event loop; their outcomes go back in batches too). It also makes
 * the RSA operation of the SNS signature checks the main thread gives it (the main thread consumes
 * the delivery queue for the task; the checks are spread over the workers). Replies need
 * nothing from the main thread: the worker that received a packet delivers it and sends its reply.
 */
import { MessagePort, parentPort, workerData } from 'node:worker_threads';
import type { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { forEachSend, SendBatch } from './send-batch';
import {
  CheckBatch, DATA_PLANE_WORKER_ROLE, DataPlaneWorkerData, FLOW_RENEW_MS, FLOW_RENEW_TICK_MS, MainToWorker,
  SendFailure, SignatureCheckResult, WorkerToMain,
} from './worker-messages';
import { WorkerPeerDirectory } from './worker-peer-directory';
import { reportWorkerThreadErrors } from './worker-thread-errors';
import { DEFAULT_METRICS_INTERVAL_SECONDS, METRICS_SERVICE_DIMENSION, MetricDimension, MetricName } from '../../lib/private/metrics';
import type { ConfigSource } from '../config/config-source';
import { DynamoDbConfigSource } from '../config/dynamodb-config-source';
import { FileConfigSource } from '../config/file-config-source';
import type { EgressDatagram, Failure, MetricsRecorder } from '../contracts';
import { FlowTable } from '../egress/flow-table';
import { ClaimRefresh } from '../fleet/claim-refresh';
import { Gateway } from '../gateway';
import { LOCAL_DESTINATION_FACTORIES } from '../local/local-destination-factories';
import { EmfMetricsRecorder } from '../observability/emf-metrics';
import { LoggingFailureReporter } from '../observability/failure-reporter';
import { createLogger } from '../observability/logger';
import { checkSignature } from '../sourcing/sns-message-verifier';
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
  const results = new SendResults(port);
  port.on('message', (message: MainToWorker) => {
    if (message.kind === 'send') {
      sendAll(gateway, message, results);
    } else if (message.kind === 'check') {
      post(port, { kind: 'checked', results: checkAll(message) });
    } else if (message.kind === 'peer-at') {
      peers.answered(message);
    } else if (message.kind === 'stop') {
      void (async () => {
        renewals.stop();
        await gateway.stop(message.deadlineMs).catch(() => undefined);
        peers.close();
        metrics.stop();
        dynamo?.destroy();
        results.flush(); // the outcomes of the drained sends reach the main thread before the end
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

/**
 * The outcomes of this worker's sends, posted to the main thread together: one message per turn of
 * the event loop (the turn's send completions arrive together), not one per datagram; the ids of
 * the sends that succeeded travel as one transferred array.
 */
class SendResults {
  private sent: number[] = [];
  private failures: SendFailure[] = [];
  private scheduled = false;

  constructor(private readonly port: MessagePort) {}

  succeeded(id: number): void {
    this.sent.push(id);
    this.schedule();
  }

  failed(failure: SendFailure): void {
    this.failures.push(failure);
    this.schedule();
  }

  private schedule(): void {
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  /** Posts the outcomes gathered so far. */
  readonly flush = (): void => {
    this.scheduled = false;
    if (this.sent.length === 0 && this.failures.length === 0) return;
    const sent = Float64Array.from(this.sent);
    const failures = this.failures;
    this.sent = [];
    this.failures = [];
    this.port.postMessage({ kind: 'sent', sent, failures } satisfies WorkerToMain, [sent.buffer]);
  };
}

/**
 * Sends each datagram of a batch, in order. A datagram that cannot even be handed to its Listener
 * (a defect) fails alone: the others are still sent, and its exception escapes afterwards (the
 * main thread stops the task, worker-thread-errors.ts).
 */
function sendAll(gateway: Gateway, batch: SendBatch, results: SendResults): void {
  let defect: unknown;
  forEachSend(batch, (id, listenerName, datagram) => {
    try {
      send(gateway, id, listenerName, datagram, results);
    } catch (err) {
      defect ??= err;
      results.failed({ id, code: 'SendFailed', reason: `the data-plane worker could not send: ${(err as Error)?.message ?? String(err)}` });
    }
  });
  if (defect !== undefined) throw defect;
}

/** The RSA operations of a batch of SNS signature checks the main thread gives this worker. */
function checkAll(batch: CheckBatch): SignatureCheckResult[] {
  return batch.checks.map((check) => {
    try {
      return { id: check.id, valid: checkSignature(check.digest, check.text, batch.keys[check.key], check.signature) };
    } catch (err) {
      return { id: check.id, error: (err as Error)?.message ?? String(err) };
    }
  });
}

function send(gateway: Gateway, id: number, listenerName: string, datagram: EgressDatagram, results: SendResults): void {
  const listener = gateway.get(listenerName);
  if (!listener) {
    results.failed({ id, code: 'SendFailed', reason: `Listener '${listenerName}' is not running on this worker` });
    return;
  }
  listener.send(datagram, (failure: Failure | undefined) => {
    if (failure === undefined) results.succeeded(id);
    else results.failed({ id, code: failure.code, reason: failure.reason, ...(failure.target !== undefined ? { target: failure.target } : {}) });
  });
}

function post(port: MessagePort, message: WorkerToMain): void {
  port.postMessage(message);
}
