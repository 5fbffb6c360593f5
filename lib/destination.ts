import { Duration, Size } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { Formatter } from './formatter';

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

  /**
   * Emit this destination's traffic metrics, as Proxylity's `MetricsEnabled`: `PacketsIn` and
   * `BytesIn` (packets the destination accepted and their payload bytes) and `PacketsOut` and
   * `BytesOut` (its replies sent to clients), dimensions Listener and Destination. Each series is a
   * CloudWatch custom metric, so they are off unless asked for.
   *
   * @default false
   */
  readonly metricsEnabled?: boolean;

  /**
   * Write this destination's delivery errors (its failure records, rate-limited) to a CloudWatch
   * Logs log group, as Proxylity's `LogGroupName`: `deliveryErrorLogGroup`, or a new one.
   *
   * @default - false, unless `deliveryErrorLogGroup` is given
   */
  readonly logDeliveryErrors?: boolean;

  /**
   * The log group that receives this destination's delivery errors, in the gateway's account and
   * region. The fleet may create log streams in it and put log events, nothing else.
   *
   * @default - a new log group (retention one month) when `logDeliveryErrors` is true; else none
   */
  readonly deliveryErrorLogGroup?: logs.ILogGroup;
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
