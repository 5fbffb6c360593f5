/**
 * Assembles the data plane's own classes for a benchmark agent: one Listener (from the listener
 * factory), its IngressPipeline with DestinationLanes, the ReplyRouter, the SourcedPacketProcessor
 * and the DeliveryQueueConsumer fed by an in-memory queue. Nothing here decides anything about a
 * packet; every decision is the service code's.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { MemoryDeliveryQueue } from './memory-queue';
import type { ListenerRecord, PacketSourceRecord } from '../../lib/private/records';
import type { ListenerHandle, ListenerRegistry, ManagedListener, MetricsRecorder } from '../../service/contracts';
import { createDestination } from '../../service/destinations/destination-factory';
import { DestinationLane } from '../../service/destinations/destination-lane';
import { FlowTable } from '../../service/egress/flow-table';
import { destinationFormatter, IngressPipeline } from '../../service/ingress/ingress-pipeline';
import { ReplyTagCodec } from '../../service/ingress/reply-tags';
import { createListener } from '../../service/listeners/listener-factory';
import { EmfMetricsRecorder } from '../../service/observability/emf-metrics';
import { LoggingFailureReporter } from '../../service/observability/failure-reporter';
import { createLogger } from '../../service/observability/logger';
import { ReplyRouter } from '../../service/replies';
import { DeliveryQueueConsumer } from '../../service/sourcing/delivery-queue-consumer';
import { SourcedPacketProcessor } from '../../service/sourcing/sourced-packet-processor';

/** Topic bound to the benchmark Listener. */
export const BENCH_TOPIC_ARN = 'arn:aws:sns:us-east-1:000000000000:bench-packet-source';
export const BENCH_REGION = 'us-east-1';

/** Forwards to the real EMF recorder and keeps a total per metric name (for the agent's reports). */
export class TallyingMetrics implements MetricsRecorder {
  readonly totals = new Map<string, number>();
  constructor(private readonly inner: MetricsRecorder) {}
  increment(metric: string, value = 1, dimensions?: Readonly<Record<string, string>>): void {
    this.totals.set(metric, (this.totals.get(metric) ?? 0) + value);
    this.inner.increment(metric, value, dimensions);
  }
  observe(metric: string, value: number, dimensions?: Readonly<Record<string, string>>): void {
    this.inner.observe(metric, value, dimensions);
  }
  total(metric: string): number {
    return this.totals.get(metric) ?? 0;
  }
}

/** How to build the gateway pieces. */
export interface KitOptions {
  readonly listener: ListenerRecord;
  /** AWS mode: egress only to clients with a live flow. @default true */
  readonly requireActiveFlow?: boolean;
  /** The VPC's CIDRs (denied egress). @default ['10.0.0.0/16'] */
  readonly deniedNetworks?: readonly string[];
  /** Local mode allows loopback egress. @default true (the benchmark runs on loopback) */
  readonly allowLoopbackEgress?: boolean;
  /** Build the sourced path (processor, consumer, in-memory queue). @default false */
  readonly sourced?: boolean;
  /** Directory that relative handler Module paths resolve against. */
  readonly baseDirectory?: string;
}

/** The assembled pieces. */
export interface Kit {
  readonly logger: Logger;
  readonly metrics: TallyingMetrics;
  readonly failures: LoggingFailureReporter;
  readonly flows: FlowTable;
  readonly tags: ReplyTagCodec;
  readonly listener: ManagedListener;
  readonly pipeline: IngressPipeline;
  readonly queue?: MemoryDeliveryQueue;
  readonly processor?: SourcedPacketProcessor;
  readonly consumer?: DeliveryQueueConsumer;
  close(): Promise<void>;
}

/** Builds and starts the Listener and everything around it. */
export async function buildKit(options: KitOptions): Promise<Kit> {
  const logger = createLogger({ level: 'SILENT' });
  const metrics = new TallyingMetrics(new EmfMetricsRecorder({ write: () => undefined }));
  const failures = new LoggingFailureReporter(logger, metrics);
  const flows = new FlowTable();
  const tags = new ReplyTagCodec();
  const listeners = new Map<string, ManagedListener>();
  const registry: ListenerRegistry = {
    get: (name: string): ListenerHandle | undefined => listeners.get(name),
    list: (): readonly ListenerHandle[] => [...listeners.values()],
  };
  const replies = new ReplyRouter({ listeners: registry, tags, failures, metrics });
  const record = options.listener;
  const lanes: DestinationLane[] = [];
  for (const d of record.Destinations) {
    const destination = await createDestination(d, record, {
      region: BENCH_REGION,
      logger,
      lambdaClient: (): LambdaClient => {
        throw new Error('the benchmark uses local destinations only');
      },
      sqsClient: (): SQSClient => {
        throw new Error('the benchmark uses local destinations only');
      },
      baseDirectory: options.baseDirectory,
    });
    lanes.push(new DestinationLane({
      listener: record.Name,
      record: d,
      formatter: destinationFormatter(record, d.Formatter),
      destination,
      replies,
      failures,
      metrics,
      logger,
    }));
  }
  const pipeline = new IngressPipeline({ record, region: BENCH_REGION, tags, lanes, failures, metrics, flows });
  const listener = createListener(record, {
    sink: pipeline,
    logger,
    failures,
    metrics,
    flows,
    requireActiveFlow: options.requireActiveFlow ?? true,
    allowLoopbackEgress: options.allowLoopbackEgress ?? true,
    deniedNetworks: options.deniedNetworks ?? ['10.0.0.0/16'],
    defaultBindAddress: '127.0.0.1',
    local: false,
  });
  await listener.start();
  listeners.set(record.Name, listener);

  let queue: MemoryDeliveryQueue | undefined;
  let processor: SourcedPacketProcessor | undefined;
  let consumer: DeliveryQueueConsumer | undefined;
  if (options.sourced) {
    const binding: PacketSourceRecord = { TopicArn: BENCH_TOPIC_ARN, ListenerName: record.Name, Enabled: true, SubscriptionState: 'Confirmed' };
    const bindings = { getPacketSource: (arn: string): PacketSourceRecord | undefined => (arn === BENCH_TOPIC_ARN ? binding : undefined) };
    processor = new SourcedPacketProcessor({ listeners: registry, bindings, failures, metrics, region: BENCH_REGION });
    queue = new MemoryDeliveryQueue();
    consumer = new DeliveryQueueConsumer({
      sqs: queue as unknown as SQSClient,
      queueUrl: 'https://sqs.us-east-1.amazonaws.com/000000000000/bench-delivery',
      processor,
      bindings,
      failures,
      logger,
    });
  }
  return {
    logger,
    metrics,
    failures,
    flows,
    tags,
    listener,
    pipeline,
    queue,
    processor,
    consumer,
    async close(): Promise<void> {
      await consumer?.stop();
      listener.stopReceiving();
      await pipeline.close();
      await listener.close();
      flows.stop();
    },
  };
}
