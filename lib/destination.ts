import { Duration, Size } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as apigatewayv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { Formatter } from './formatter';
import { bindApiRoute, ExecuteApiArnSource } from './private/destination-api-gateway';
import { bindStepFunctions } from './private/destination-step-functions';
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
   * Workflow type of the target state machine (Step Functions): `EXPRESS` or `STANDARD`.
   *
   * @default - detected by the gateway with `states:DescribeStateMachine`
   */
  readonly stateMachineType?: string;
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
