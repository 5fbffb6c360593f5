/**
 * Runs the data plane's own `Gateway` for a benchmark agent, wired as the service runtime wires it
 * in AWS mode (flow ownership, VPC networks denied): configuration from an in-memory source, the
 * SourcedPacketProcessor and a DeliveryQueueConsumer reading an in-memory delivery queue instead
 * of SQS. Nothing here decides anything about a packet; every decision is the service code's.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { BENCH_SIGNING_CERT_URL, MemoryDeliveryQueue } from './memory-queue';
import { ProbeWorkerPool, startProbeWorkerPool } from './probe-worker-pool';
import type { GatewayConfigDocument, ListenerRecord, PacketSourceRecord } from '../../lib/private/records';
import type { ConfigListener, ConfigSource } from '../../service/config/config-source';
import type { ManagedListener, MetricsRecorder } from '../../service/contracts';
import type { LambdaInvoker } from '../../service/destinations/lambda-invoker';
import { FlowTable } from '../../service/egress/flow-table';
import { Gateway } from '../../service/gateway';
import { LOCAL_DESTINATION_FACTORIES } from '../../service/local/local-destination-factories';
import { EmfMetricsRecorder } from '../../service/observability/emf-metrics';
import { LoggingFailureReporter } from '../../service/observability/failure-reporter';
import { createLogger } from '../../service/observability/logger';
import { DeliveryQueueConsumer, DeliveryQueueConsumerOptions, inFlightMessagesFor } from '../../service/sourcing/delivery-queue-consumer';
import { SnsCertificateStore } from '../../service/sourcing/sns-certificates';
import { SnsMessageVerifier } from '../../service/sourcing/sns-message-verifier';
import { SourcedPacketProcessor } from '../../service/sourcing/sourced-packet-processor';
import { FakeCertificateHost } from '../../test/service/sourcing/sns-signing';

/** Topic bound to the benchmark Listener. */
export const BENCH_TOPIC_ARN = 'arn:aws:sns:us-east-1:000000000000:bench-packet-source';
export const BENCH_REGION = 'us-east-1';

/** Forwards to the real EMF recorder and keeps a total per metric name (for the agent's reports). */
export class TallyingMetrics implements MetricsRecorder {
  private readonly totals = new Map<string, { value: number }>();
  /** The total of the last metric counted: the gateway counts DatagramsIn call after call, and the tally should cost it little. */
  private lastMetric = '';
  private lastTotal?: { value: number };
  constructor(private readonly inner: MetricsRecorder) {}
  increment(metric: string, value = 1, dimensions?: Readonly<Record<string, string>>): void {
    let total = metric === this.lastMetric ? this.lastTotal : undefined;
    if (total === undefined) {
      total = this.totals.get(metric);
      if (total === undefined) this.totals.set(metric, (total = { value: 0 }));
      this.lastMetric = metric;
      this.lastTotal = total;
    }
    total.value += value;
    this.inner.increment(metric, value, dimensions);
  }
  observe(metric: string, value: number, dimensions?: Readonly<Record<string, string>>): void {
    this.inner.observe(metric, value, dimensions);
  }
  total(metric: string): number {
    return this.totals.get(metric)?.value ?? 0;
  }
}

/** A configuration that never changes (the benchmark's Listener and PacketSource). */
class StaticConfigSource implements ConfigSource {
  readonly description = 'benchmark configuration';
  constructor(private readonly doc: GatewayConfigDocument) {}
  start(): Promise<GatewayConfigDocument> {
    return Promise.resolve(this.doc);
  }
  current(): GatewayConfigDocument {
    return this.doc;
  }
  onChange(_listener: ConfigListener): () => void {
    return () => undefined;
  }
  stop(): Promise<void> {
    return Promise.resolve();
  }
}

/** How to run the gateway. */
export interface KitOptions {
  readonly listener: ListenerRecord;
  /** AWS mode: egress only to clients with a live flow. @default true */
  readonly requireActiveFlow?: boolean;
  /** The VPC's CIDRs (denied egress). @default ['10.0.0.0/16'] */
  readonly deniedNetworks?: readonly string[];
  /**
   * Local mode allows loopback egress (the benchmark's clients are on loopback); AWS mode does not.
   * @default true
   */
  readonly local?: boolean;
  /** Build the sourced path (processor, consumer, in-memory queue). @default false */
  readonly sourced?: boolean;
  /** Client for Lambda destinations. @default - the gateway's own */
  /** How Lambda destinations invoke (bench/lib/counting-lambda.ts). */
  readonly lambdaInvoker?: LambdaInvoker;
  /**
   * Data-plane workers in all, the main thread included (Node.js 22.12 or later above 1): worker
   * threads with their own socket on the Listener's port (SO_REUSEPORT), the kernel spreading the
   * clients over them, and the sourced path routing each entry to the thread that owns its client,
   * as the service runtime wires them. @default 1
   */
  readonly workers?: number;
}

/** The running pieces. */
export interface Kit {
  readonly logger: Logger;
  readonly metrics: TallyingMetrics;
  readonly failures: LoggingFailureReporter;
  readonly gateway: Gateway;
  readonly listener: ManagedListener;
  readonly queue?: MemoryDeliveryQueue;
  readonly processor?: SourcedPacketProcessor;
  /** With more than one worker: the pool of worker threads. */
  readonly workers?: ProbeWorkerPool;
  /** Takes unsigned notifications (the headline trials: the figure leaves the signature check out). */
  readonly consumer?: DeliveryQueueConsumer;
  /**
   * A consumer of the same queue and processor that checks every notification's SNS signature, as
   * the gateway does in AWS: with `certificatePem` served from memory at BENCH_SIGNING_CERT_URL
   * (fetched once, then cached, as in AWS). Made on the first call; sourced kits only.
   */
  verifyingConsumer(certificatePem: string): DeliveryQueueConsumer;
  /**
   * Another consumer like `consumer` (the same queue, processor and bindings, unsigned
   * notifications) with a window of `maxInFlightMessages`; sourced kits only. Stopped by the
   * caller.
   */
  consumerWithWindow(maxInFlightMessages: number): DeliveryQueueConsumer;
  close(): Promise<void>;
}

/** Starts the gateway with one Listener (and, for sourced scenarios, one PacketSource bound to it). */
export async function buildKit(options: KitOptions): Promise<Kit> {
  const logger = createLogger({ level: 'SILENT' });
  const metrics = new TallyingMetrics(new EmfMetricsRecorder({ write: () => undefined }));
  const failures = new LoggingFailureReporter(logger, metrics);
  const record = options.listener;
  const binding: PacketSourceRecord = { TopicArn: BENCH_TOPIC_ARN, ListenerName: record.Name, Enabled: true, SubscriptionState: 'Confirmed', HomeRegion: BENCH_REGION };
  const gateway = new Gateway({
    destinationFactories: LOCAL_DESTINATION_FACTORIES,
    config: new StaticConfigSource({ Listeners: [record], PacketSources: options.sourced ? [binding] : [] }),
    region: BENCH_REGION,
    logger,
    metrics,
    failures,
    local: options.local ?? true,
    requireActiveFlow: options.requireActiveFlow ?? true,
    deniedNetworks: options.deniedNetworks ?? ['10.0.0.0/16'],
    lambdaInvoker: options.lambdaInvoker,
    // with workers, the main thread (worker 0) owns the flows its socket receives, as in the service runtime
    ...(options.workers !== undefined && options.workers > 1
      ? { reusePort: true, flows: new FlowTable({ onNewFlow: (name, address, port, key) => workers?.pool.noteFlow(0, name, address, port, key) }) }
      : {}),
  });
  let workers: ProbeWorkerPool | undefined;
  await gateway.start();
  const status = gateway.status().listeners.find((l) => l.name === record.Name);
  if (!status?.bound) {
    await gateway.stop();
    throw new Error(`the gateway did not start Listener ${record.Name}: ${status?.error ?? 'unknown reason'}`);
  }
  const listener = gateway.get(record.Name) as ManagedListener;
  if (options.workers !== undefined && options.workers > 1) {
    try {
      workers = await startProbeWorkerPool(options.workers, [{ ...record, Port: listener.port }]);
    } catch (err) {
      await gateway.stop();
      throw err;
    }
  }

  let queue: MemoryDeliveryQueue | undefined;
  let processor: SourcedPacketProcessor | undefined;
  let consumer: DeliveryQueueConsumer | undefined;
  /** Options both consumers share: the same queue, processor and bindings. */
  let shared: DeliveryQueueConsumerOptions | undefined;
  if (options.sourced) {
    processor = new SourcedPacketProcessor({
      listeners: gateway, bindings: gateway, failures, metrics, region: BENCH_REGION, ...(workers ? { router: workers.pool } : {}),
    });
    queue = new MemoryDeliveryQueue();
    shared = {
      sqs: queue as unknown as SQSClient,
      // an in-memory queue of envelopes (memory-queue.ts), named like a local SQS server's
      queueUrl: 'http://127.0.0.1:9324/000000000000/bench-delivery',
      processor,
      bindings: gateway,
      failures,
      logger,
      // with workers, a window of messages in flight per worker, as the service runtime gives its consumer
      ...(workers ? { maxInFlightMessages: inFlightMessagesFor(workers.pool.count) } : {}),
    };
    consumer = new DeliveryQueueConsumer({ ...shared, acceptUnsignedSns: true });
  }
  let verifying: DeliveryQueueConsumer | undefined;
  return {
    logger,
    metrics,
    failures,
    gateway,
    listener,
    queue,
    processor,
    workers,
    consumer,
    verifyingConsumer(certificatePem: string): DeliveryQueueConsumer {
      if (!shared) throw new Error('a verifying consumer needs a sourced kit');
      verifying ??= new DeliveryQueueConsumer({
        ...shared,
        verifier: new SnsMessageVerifier(new SnsCertificateStore({
          fetcher: new FakeCertificateHost().serve(BENCH_SIGNING_CERT_URL, certificatePem).fetcher,
        })),
      });
      return verifying;
    },
    consumerWithWindow(maxInFlightMessages: number): DeliveryQueueConsumer {
      if (!shared) throw new Error('a consumer needs a sourced kit');
      return new DeliveryQueueConsumer({ ...shared, acceptUnsignedSns: true, maxInFlightMessages });
    },
    async close(): Promise<void> {
      await consumer?.stop();
      await verifying?.stop();
      await workers?.close();
      await gateway.stop();
    },
  };
}
