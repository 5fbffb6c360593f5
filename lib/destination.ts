import { Duration, Size } from 'aws-cdk-lib';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { Formatter } from './formatter';
import { EventBridgeDestinationTarget } from './private/destination-eventbridge';
import { FirehoseDestinationTarget } from './private/destination-firehose';
import { KinesisDestinationTarget } from './private/destination-kinesis';
import { SnsDestinationTarget } from './private/destination-sns';
import type { DestinationTarget } from './private/destination-target';

/** Options every destination accepts: its name, the encoding of `Data`, batching and queueing. */
export interface DestinationOptions {
  /**
   * Name of the destination within its Listener, used in logs and metrics (dimension `Destination`).
   * 1-64 characters of A-Z, a-z, 0-9, _ and -.
   *
   * @default - the destination type and its position, for instance `lambda-0`
   */
  readonly destinationName?: string;

  /**
   * Encoding of `Data` in the packets this destination receives and in its Replies.
   *
   * @default - the Listener's formatter
   */
  readonly formatter?: Formatter;

  /**
   * Most packets in one batch (1-10000). SQS destinations send at most 10 messages per call and
   * split larger batches.
   *
   * @default 100
   */
  readonly batchSize?: number;

  /**
   * Longest time a packet waits for its batch to fill (0-60 seconds).
   *
   * @default Duration.millis(50)
   */
  readonly maxBatchingWindow?: Duration;

  /**
   * Largest serialized batch (1 KiB-6 MiB; 6 MiB is Lambda's synchronous payload limit).
   *
   * @default Size.mebibytes(1)
   */
  readonly maxBatchPayloadSize?: Size;

  /**
   * Packets that may wait for this destination before new ones are dropped (and counted in the
   * `PacketsDropped` metric).
   *
   * @default 10000
   */
  readonly maxQueuedPackets?: number;
}

/** Options of a Kinesis Data Streams destination. */
export interface KinesisDestinationOptions extends DestinationOptions {
  /**
   * Binary range expression over the payload whose bytes make each record's partition key, such
   * as `[0:4]` (Proxylity's `PartitionKeyExpression`). An expression that gives no bytes for a
   * packet gives it a random key.
   *
   * @default - a random partition key per record (records spread evenly over the shards)
   */
  readonly partitionKeyExpression?: string;

  /**
   * Encoding of the expression's bytes in the partition key (Proxylity's `PartitionKeyFormatter`).
   *
   * @default Formatter.HEX
   */
  readonly partitionKeyFormatter?: Formatter;
}

/** Options of an EventBridge destination. */
export interface EventBridgeDestinationOptions extends DestinationOptions {
  /**
   * `source` of the events (1-256 characters, not starting with `aws.`).
   *
   * @default 'proxylity' - what Proxylity sends, so rules written for it match
   */
  readonly source?: string;

  /**
   * `detail-type` of the events (1-128 characters).
   *
   * @default 'udp-gateway-packet-ingress' - what Proxylity sends
   */
  readonly detailType?: string;
}

/** What a destination needs when its Listener is created. */
export interface DestinationBindOptions {
  /** The identity the gateway fleet runs as; the destination grants it exactly what delivery needs. */
  readonly grantee: iam.IGrantable;

  /** Name of the Listener the destination belongs to. */
  readonly listenerName: string;
}

/** How the data plane reaches a destination: its type and target, as stored in the Listener record. */
export interface DestinationConfig {
  /** Destination type understood by the data plane (`lambda`, `sqs`, …). */
  readonly type: string;

  /**
   * ARN of the target (Lambda function ARN, SQS queue ARN).
   *
   * @default - none
   */
  readonly arn?: string;

  /**
   * URL of the target queue (SQS).
   *
   * @default - none
   */
  readonly queueUrl?: string;

  /**
   * Partition key expression (Kinesis).
   *
   * @default - a random key per record
   */
  readonly partitionKeyExpression?: string;

  /**
   * Encoding of the partition key expression's bytes (Kinesis).
   *
   * @default - hex
   */
  readonly partitionKeyFormatter?: string;

  /**
   * `source` of the events (EventBridge).
   *
   * @default - proxylity
   */
  readonly eventSource?: string;

  /**
   * `detail-type` of the events (EventBridge).
   *
   * @default - udp-gateway-packet-ingress
   */
  readonly eventDetailType?: string;
}

/**
 * Where a Listener delivers the packets it receives. Create one with a static factory such as
 * `Destination.lambda(fn)` or `Destination.sqs(queue)`; each grants the gateway fleet exactly the
 * permission delivery needs. A new destination type is a new factory here plus a data-plane module.
 */
export abstract class Destination {
  /**
   * Request/response delivery to a Lambda function: the function receives `{"Messages":[…]}` and
   * may return `{"Replies":[…]}`, which the gateway sends back to each client. Grants the fleet
   * `lambda:InvokeFunction` on the function.
   */
  public static lambda(fn: lambda.IFunction, options: DestinationOptions = {}): Destination {
    return new LambdaDestination(fn, options);
  }

  /**
   * Write-only delivery to an SQS queue: one message per packet. Grants the fleet
   * `sqs:SendMessage` on the queue and, when the queue is encrypted with a KMS key,
   * `kms:GenerateDataKey` and `kms:Decrypt` on that key.
   */
  public static sqs(queue: sqs.IQueue, options: DestinationOptions = {}): Destination {
    return new SqsDestination(queue, options);
  }

  /**
   * Write-only delivery to an SNS topic: one message per packet (`PublishBatch`), the packet JSON
   * as the message. FIFO topics get the client's address and port as message group and the
   * packet's Tag as deduplication id. Grants the fleet `sns:Publish` on the topic and, when the
   * topic is encrypted with a KMS key, use of that key.
   */
  public static sns(topic: sns.ITopic, options: DestinationOptions = {}): Destination {
    return new TargetDestination(new SnsDestinationTarget(topic), options);
  }

  /**
   * Write-only delivery to a Kinesis data stream: one record per packet (`PutRecords`), the packet
   * JSON as the data. The stream must be in the gateway's account and region. Grants the fleet
   * `kinesis:PutRecords` on the stream and, when it is encrypted with a customer-managed KMS key,
   * `kms:GenerateDataKey` on that key.
   */
  public static kinesis(stream: kinesis.IStream, options: KinesisDestinationOptions = {}): Destination {
    return new TargetDestination(new KinesisDestinationTarget(stream, options.partitionKeyExpression, options.partitionKeyFormatter), options);
  }

  /**
   * Write-only delivery to a Firehose delivery stream: one record per packet (`PutRecordBatch`),
   * the packet JSON followed by a newline, so what Firehose writes is newline-delimited JSON. The
   * delivery stream must be in the gateway's account and region. Grants the fleet
   * `firehose:PutRecordBatch` on it.
   */
  public static firehose(deliveryStream: firehose.IDeliveryStream, options: DestinationOptions = {}): Destination {
    return new TargetDestination(new FirehoseDestinationTarget(deliveryStream), options);
  }

  /**
   * Write-only delivery to an EventBridge event bus: one event per packet (`PutEvents`), the packet
   * as the event's `detail`, with `source` `proxylity` and `detail-type`
   * `udp-gateway-packet-ingress` unless set. Grants the fleet `events:PutEvents` on the bus.
   */
  public static eventBridge(bus: events.IEventBus, options: EventBridgeDestinationOptions = {}): Destination {
    return new TargetDestination(new EventBridgeDestinationTarget(bus, options.source, options.detailType), options);
  }

  /** Name, formatter, batching and queueing of this destination. */
  public readonly options: DestinationOptions;

  protected constructor(options: DestinationOptions) {
    this.options = options;
  }

  /** Grants the fleet what delivery needs and describes the target for the Listener record. */
  public abstract bind(scope: Construct, options: DestinationBindOptions): DestinationConfig;
}

class LambdaDestination extends Destination {
  constructor(private readonly fn: lambda.IFunction, options: DestinationOptions) {
    super(options);
  }

  public bind(_scope: Construct, options: DestinationBindOptions): DestinationConfig {
    this.fn.grantInvoke(options.grantee);
    return { type: 'lambda', arn: this.fn.functionArn };
  }
}

class SqsDestination extends Destination {
  constructor(private readonly queue: sqs.IQueue, options: DestinationOptions) {
    super(options);
  }

  public bind(_scope: Construct, options: DestinationBindOptions): DestinationConfig {
    iam.Grant.addToPrincipalOrResource({ grantee: options.grantee, actions: ['sqs:SendMessage'], resourceArns: [this.queue.queueArn], resource: this.queue });
    // Sending to a queue encrypted with a KMS key needs a data key from it.
    this.queue.encryptionMasterKey?.grant(options.grantee, 'kms:GenerateDataKey', 'kms:Decrypt');
    return { type: 'sqs', arn: this.queue.queueArn, queueUrl: this.queue.queueUrl };
  }
}

/** A destination whose target (lib/private/destination-<type>.ts) grants and describes itself. */
class TargetDestination extends Destination {
  constructor(private readonly target: DestinationTarget, options: DestinationOptions) {
    super(options);
  }

  public bind(_scope: Construct, options: DestinationBindOptions): DestinationConfig {
    const r = this.target.bind(options.grantee);
    return {
      type: r.Type,
      arn: r.Arn,
      queueUrl: r.QueueUrl,
      partitionKeyExpression: r.PartitionKeyExpression,
      partitionKeyFormatter: r.PartitionKeyFormatter,
      eventSource: r.EventSource,
      eventDetailType: r.EventDetailType,
    };
  }
}
