import { Duration, Size } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as apigatewayv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { Formatter } from './formatter';
import { bindApiRoute, ExecuteApiArnSource } from './private/destination-api-gateway';
import { bindDynamoDbDestination } from './private/destination-dynamodb';
import { EventBridgeDestinationTarget } from './private/destination-eventbridge';
import { FirehoseDestinationTarget } from './private/destination-firehose';
import { KinesisDestinationTarget } from './private/destination-kinesis';
import { bindCloudWatchLogsDestination } from './private/destination-logs';
import { bindS3Destination } from './private/destination-s3';
import { SnsDestinationTarget } from './private/destination-sns';
import { sqsDestinationArguments } from './private/destination-sqs';
import { bindStepFunctions } from './private/destination-step-functions';
import type { DestinationTarget } from './private/destination-target';
import type { ArgumentFormatterName, LambdaArgumentsRecord } from './private/records';
import { fail } from './private/validation';

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
   * Longest time a packet waits for its batch to fill (0-60 seconds). 0: a batch holds the
   * packets read together from the Listener's socket (in one turn of the worker's event loop, at
   * most `batchSize`) and never waits for more, so replies wait for no timer while packets that
   * arrive together still share an invocation.
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
   * Batches delivered to this destination at once by each data-plane worker (1-1000): Invokes,
   * executions or API calls in progress together. While that many are in progress, closed batches
   * wait (and count toward `maxQueuedPackets`). Raise it when the destination is slow and the rate
   * high: each worker delivers at most `maxInFlightBatches` × `batchSize` packets per destination
   * response time (4 × 100 packets per 50 ms Invoke is 8 k packets/s). A batch in flight to a
   * Lambda function (RequestResponse) holds one of its concurrent executions until it answers (one
   * per tenant id of the batch in tenant isolation mode), in each worker of each task.
   *
   * @default 4
   */
  readonly maxInFlightBatches?: number;

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

  /**
   * A role the gateway assumes to deliver to this destination, typically in the destination's
   * own account. The fleet is granted `sts:AssumeRole` on this role only, and the destination's
   * permissions (for instance `lambda:InvokeFunction`) are granted to the role instead of the
   * fleet. The gateway assumes it with `sts:ExternalId` set to the account id of the stack that
   * defines the Listener: the role's trust policy must allow the gateway's `accessRole` with that
   * condition.
   *
   * @default - the gateway fleet's own role delivers
   */
  readonly role?: iam.IRole;
}

/** How the gateway invokes a Lambda function. */
export enum LambdaInvocationType {
  /** Synchronous: the function's `{"Replies":[…]}` are sent back to the clients. */
  REQUEST_RESPONSE = 'RequestResponse',
  /** Asynchronous (write-only): Lambda queues each batch and the function's result is not read. Batches are at most 1 MiB. */
  EVENT = 'Event',
}

/** Options of a Lambda destination. */
export interface LambdaDestinationOptions extends DestinationOptions {
  /**
   * Synchronous (replies) or asynchronous (write-only) invocation.
   *
   * @default LambdaInvocationType.REQUEST_RESPONSE
   */
  readonly invocationType?: LambdaInvocationType;

  /**
   * Invoke with response streaming (`InvokeWithResponseStream`): every reply the function writes
   * to its response stream is sent to its client as soon as it arrives, while the function still
   * runs. The function must be a response-streaming function. Not with `LambdaInvocationType.EVENT`.
   *
   * @default false
   */
  readonly responseStreaming?: boolean;

  /**
   * Tenant id of every invocation, for a function in tenant isolation mode. Not with `tenantIdExpression`.
   *
   * @default - no tenant id
   */
  readonly tenantId?: string;

  /**
   * A binary range expression (for instance `[0:8]`) whose bytes of each packet's payload are that
   * packet's tenant id; a batch is invoked once per tenant. Not with `tenantId`.
   *
   * @default - no tenant id
   */
  readonly tenantIdExpression?: string;

  /**
   * Encoding of the `tenantIdExpression` bytes in the tenant id.
   *
   * @default Formatter.HEX
   */
  readonly tenantIdFormatter?: Formatter;
}

/** Options of a Step Functions destination. */
export interface StepFunctionsDestinationOptions extends DestinationOptions {
  /**
   * Workflow type of the state machine. EXPRESS state machines run synchronously
   * (`StartSyncExecution`) and their output `{"Replies":[…]}` is sent back to the clients; STANDARD
   * ones are started (`StartExecution`) and never reply. A declared type needs no
   * `states:DescribeStateMachine`.
   *
   * @default - the type of a `StateMachine` defined in this app; for an imported state machine,
   * detected when the gateway first delivers (`states:DescribeStateMachine` is granted then)
   */
  readonly stateMachineType?: sfn.StateMachineType;
}

/** Options of an API Gateway destination: the route each batch is sent to. */
export interface ApiGatewayDestinationOptions extends DestinationOptions {
  /** Resource path of the method or route, starting with `/` (no wildcards, no query), for instance `/measurements`. */
  readonly path: string;

  /**
   * HTTP method of the method or route: POST, PUT, PATCH, or ANY (a route of every method; sent as POST).
   *
   * @default 'POST'
   */
  readonly method?: string;

  /**
   * Stage the request goes to.
   *
   * @default - the REST API's deployment stage (`deploymentStage`); `$default` for an HTTP API
   */
  readonly stageName?: string;
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
   * Target ARN per region, `*` for every other region (instead of `arn`).
   *
   * @default - `arn`
   */
  readonly arnByRegion?: { [region: string]: string };

  /**
   * Options of the target's service, stored as the destination's `Arguments`: the arguments of
   * its type, named as the record names them (Proxylity's names where Proxylity has the option,
   * such as `SendRaw`, `TenantIdExpression` or `PartitionKeyExpression`).
   *
   * @default - none: every option keeps its default
   */
  readonly arguments?: { [key: string]: any };
}

/** Options of an SQS destination: Proxylity's SQS `Arguments`. */
export interface SqsDestinationOptions extends DestinationOptions {
  /**
   * Send the packet's `Data` alone (the payload in the destination's formatter) as the message
   * body, instead of the packet's JSON.
   *
   * @default false
   */
  readonly sendRaw?: boolean;

  /**
   * Add the message attributes `LocalDomain`, `LocalPort`, `RemoteAddress` and `RemotePort`.
   *
   * @default false
   */
  readonly useMessageAttributes?: boolean;

  /**
   * Binary range expression over the payload (such as `[0:1]`) whose value is the message group
   * id. Applies to FIFO queues, and to standard queues (fair queues).
   *
   * @default - FIFO queues: the client's address and port; standard queues: no group
   */
  readonly messageGroupIdExpression?: string;

  /**
   * Encoding of the `messageGroupIdExpression` value.
   *
   * @default Formatter.HEX
   */
  readonly messageGroupIdFormatter?: Formatter;

  /**
   * Binary range expression over the payload whose value is the deduplication id (FIFO queues
   * only).
   *
   * @default - the packet's Tag
   */
  readonly messageDeduplicationIdExpression?: string;

  /**
   * Encoding of the `messageDeduplicationIdExpression` value.
   *
   * @default Formatter.HEX
   */
  readonly messageDeduplicationIdFormatter?: Formatter;
}

/** Options of an S3 destination: where its objects go. */
export interface S3DestinationOptions extends DestinationOptions {
  /**
   * Text put before every object key; the fleet may write only keys that start with it.
   *
   * @default - none: keys start with the Listener name
   */
  readonly keyPrefix?: string;

  /**
   * Layout of the object keys after `keyPrefix`. Placeholders: `{yyyy}` `{MM}` `{dd}` `{HH}`
   * `{mm}` `{ss}` (UTC time of writing), `{listener}`, `{destination}`, `{task}` (the gateway
   * task) and `{unique}` (random; required).
   *
   * @default '{listener}/{destination}/{yyyy}/{MM}/{dd}/{HH}/{yyyy}{MM}{dd}T{HH}{mm}{ss}Z-{task}-{unique}.ndjson'
   */
  readonly keyFormat?: string;
}

/** Options of a DynamoDB destination: the names of the table's keys. */
export interface DynamoDbDestinationOptions extends DestinationOptions {
  /**
   * Name of the table's partition key attribute (type String); its value is the client's and
   * the Listener's endpoints.
   *
   * @default - the partition key of a `Table` created in this app, else `pk`
   */
  readonly partitionKeyAttribute?: string;

  /**
   * Name of the table's sort key attribute (type String); its value is the receive time and the
   * packet's Tag.
   *
   * @default - the sort key of a `Table` created in this app, else `sk`
   */
  readonly sortKeyAttribute?: string;
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
  public static lambda(fn: lambda.IFunction, options: LambdaDestinationOptions = {}): Destination {
    return new LambdaDestination(fn, options);
  }

  /**
   * A Lambda function deployed in several regions, by ARN (`{ 'us-east-1': arn, 'eu-west-1': arn,
   * '*': arn }`): a gateway invokes its own region's function, else the `*` entry's, else the
   * nearest region's (a fixed ordering by distance between the regions, not a measurement; see
   * docs/COMPATIBILITY.md). Grants `lambda:InvokeFunction` on each function (to `role` when given).
   */
  public static lambdaRegionMap(functionArnByRegion: { [region: string]: string }, options: LambdaDestinationOptions = {}): Destination {
    return new RegionMapLambdaDestination(functionArnByRegion, options);
  }

  /**
   * Write-only delivery to an SQS queue: one message per packet. Grants the fleet
   * `sqs:SendMessage` on the queue and, when the queue is encrypted with a KMS key,
   * `kms:GenerateDataKey` and `kms:Decrypt` on that key.
   */
  public static sqs(queue: sqs.IQueue, options: SqsDestinationOptions = {}): Destination {
    return new SqsDestination(queue, options);
  }

  /**
   * Write-only delivery to a CloudWatch Logs log group: one log event per packet, whose message
   * is the packet's `Data` (use `Formatter.UTF8` for text payloads), in one log stream per
   * Listener, destination and gateway task. Grants the fleet `logs:CreateLogStream` and
   * `logs:PutLogEvents` on the log group.
   */
  public static cloudWatchLogs(logGroup: logs.ILogGroup, options: DestinationOptions = {}): Destination {
    return new BoundDestination(options, (grantee) => bindCloudWatchLogsDestination(logGroup, grantee));
  }

  /**
   * Write-only delivery to an S3 bucket: one object of newline-delimited packets per batch.
   * Grants the fleet `s3:PutObject` on the keys under `keyPrefix` and, when the bucket is
   * encrypted with a KMS key, `kms:GenerateDataKey` on that key.
   */
  public static s3(bucket: s3.IBucket, options: S3DestinationOptions = {}): Destination {
    return new BoundDestination(options, (grantee, scope) => bindS3Destination(scope, bucket, options, grantee));
  }

  /**
   * Write-only delivery to a DynamoDB table: one item per packet, written with BatchWriteItem.
   * Grants the fleet `dynamodb:BatchWriteItem` on the table and, when the table is encrypted with
   * a customer managed KMS key, what writing through that key needs.
   */
  public static dynamoDb(table: dynamodb.ITable, options: DynamoDbDestinationOptions = {}): Destination {
    return new BoundDestination(options, (grantee, scope) => bindDynamoDbDestination(scope, table, options, grantee));
  }

  /**
   * Delivery to a Step Functions state machine. An EXPRESS state machine runs synchronously with
   * `{"Messages":[…]}` as input, exactly what a Lambda function receives, and its output
   * `{"Replies":[…]}` is sent back to the clients; a STANDARD one is started and never replies.
   * Grants the fleet, on that state machine only, `states:StartSyncExecution` (EXPRESS) or
   * `states:StartExecution` (STANDARD); for an imported state machine without a declared type
   * both, and `states:DescribeStateMachine` to detect it.
   */
  public static stepFunctions(stateMachine: sfn.IStateMachine, options: StepFunctionsDestinationOptions = {}): Destination {
    return new StepFunctionsDestination(stateMachine, options);
  }

  /**
   * "Inside-out" delivery to a REST API method: each batch is one SigV4-signed request of
   * `{"Messages":[…]}` to the stage, method and path given, whose integration may call anything; a
   * 2xx answer `{"Replies":[…]}` is sent back to the clients. Give the method AWS_IAM
   * authorization. Grants the fleet `execute-api:Invoke` on exactly that stage, method and path.
   */
  public static apiGateway(api: apigateway.IRestApi, options: ApiGatewayDestinationOptions): Destination {
    return new ApiGatewayDestination(api, options, () => api.deploymentStage?.stageName);
  }

  /**
   * "Inside-out" delivery to an HTTP API route, as {@link Destination.apiGateway} does for a REST
   * API: stage `$default` unless `stageName` is given. Give the route AWS_IAM authorization.
   * Grants the fleet `execute-api:Invoke` on exactly that stage, method and path.
   */
  public static httpApi(api: apigatewayv2.IHttpApi, options: ApiGatewayDestinationOptions): Destination {
    return new ApiGatewayDestination(api, options, () => '$default');
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
  constructor(private readonly fn: lambda.IFunction, options: LambdaDestinationOptions) {
    super(options);
  }

  public bind(_scope: Construct, options: DestinationBindOptions): DestinationConfig {
    this.fn.grantInvoke(options.grantee);
    return { type: 'lambda', arn: this.fn.functionArn, ...lambdaArguments(this.options) };
  }
}

class RegionMapLambdaDestination extends Destination {
  constructor(private readonly arns: { [region: string]: string }, options: LambdaDestinationOptions) {
    super(options);
  }

  public bind(_scope: Construct, options: DestinationBindOptions): DestinationConfig {
    const arns = Object.values(this.arns).filter((arn) => typeof arn === 'string');
    if (arns.length > 0) iam.Grant.addToPrincipal({ grantee: options.grantee, actions: ['lambda:InvokeFunction'], resourceArns: arns });
    return { type: 'lambda', arnByRegion: { ...this.arns }, ...lambdaArguments(this.options) };
  }
}

/** The `Arguments` of a Lambda destination's configuration, when any option is set. */
function lambdaArguments(options: LambdaDestinationOptions): Pick<DestinationConfig, 'arguments'> {
  const args: LambdaArgumentsRecord = {
    ...(options.invocationType !== undefined ? { InvocationType: options.invocationType as string as LambdaArgumentsRecord['InvocationType'] } : {}),
    ...(options.responseStreaming !== undefined ? { UseResponseStreaming: options.responseStreaming } : {}),
    ...(options.tenantId !== undefined ? { TenantId: options.tenantId } : {}),
    ...(options.tenantIdExpression !== undefined ? { TenantIdExpression: options.tenantIdExpression } : {}),
    ...(options.tenantIdFormatter !== undefined ? { TenantIdFormatter: options.tenantIdFormatter as string as ArgumentFormatterName } : {}),
  };
  return Object.keys(args).length > 0 ? { arguments: args } : {};
}

class SqsDestination extends Destination {
  constructor(private readonly queue: sqs.IQueue, private readonly sqsOptions: SqsDestinationOptions) {
    super(sqsOptions);
  }

  public bind(_scope: Construct, options: DestinationBindOptions): DestinationConfig {
    iam.Grant.addToPrincipalOrResource({ grantee: options.grantee, actions: ['sqs:SendMessage'], resourceArns: [this.queue.queueArn], resource: this.queue });
    // Sending to a queue encrypted with a KMS key needs a data key from it.
    this.queue.encryptionMasterKey?.grant(options.grantee, 'kms:GenerateDataKey', 'kms:Decrypt');
    const args = sqsDestinationArguments(this.sqsOptions);
    return { type: 'sqs', arn: this.queue.queueArn, queueUrl: this.queue.queueUrl, ...(args ? { arguments: args } : {}) };
  }
}

/** A destination whose grants and target come from a function of lib/private/destination-<type>.ts. */
class BoundDestination extends Destination {
  constructor(options: DestinationOptions, private readonly binder: (grantee: iam.IGrantable, scope: Construct) => DestinationConfig) {
    super(options);
  }

  public bind(scope: Construct, options: DestinationBindOptions): DestinationConfig {
    return this.binder(options.grantee, scope);
  }
}

class StepFunctionsDestination extends Destination {
  constructor(private readonly stateMachine: sfn.IStateMachine, private readonly props: StepFunctionsDestinationOptions) {
    super(props);
  }

  public bind(_scope: Construct, options: DestinationBindOptions): DestinationConfig {
    return bindStepFunctions(this.stateMachine, this.props.stateMachineType, options.grantee);
  }
}

class ApiGatewayDestination extends Destination {
  constructor(
    private readonly api: ExecuteApiArnSource,
    private readonly props: ApiGatewayDestinationOptions,
    /** Read when the Listener binds the destination: a REST API's deployment stage may be set after this factory ran. */
    private readonly defaultStageName: () => string | undefined,
  ) {
    super(props);
  }

  public bind(scope: Construct, options: DestinationBindOptions): DestinationConfig {
    const stageName = this.props.stageName ?? this.defaultStageName();
    if (stageName === undefined) fail(scope, 'API Gateway destination: the REST API has no deployment stage; set stageName');
    const method = (this.props.method ?? 'POST').toUpperCase();
    return bindApiRoute(scope, this.api, { stageName, method, path: this.props.path }, options.grantee);
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
      arn: typeof r.Arn === 'string' ? r.Arn : undefined,
      queueUrl: r.QueueUrl,
      ...(r.Arguments !== undefined ? { arguments: r.Arguments } : {}),
    };
  }
}
