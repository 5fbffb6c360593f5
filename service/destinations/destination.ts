/**
 * The one interface every destination implements. Adding an AWS service means one module that
 * implements {@link Destination} and one line in the factory table (destination-factory.ts).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { FirehoseClient } from '@aws-sdk/client-firehose';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import type { ApiGatewayInvoker } from './api-gateway-invoker';
import type { LambdaInvoker } from './lambda-invoker';
import type { QueuedPacket } from './packet';
import type { DestinationRoleRecord, DestinationTypeName, ListenerRecord, ResolvedDestinationRecord } from '../../lib/private/records';

/** A packet of the batch that the destination did not accept. */
export interface PacketDeliveryFailure {
  /** Index in the delivered batch. */
  readonly index: number;
  readonly reason: string;
}

/** Outcome of delivering one batch. A rejected `deliver` means the whole batch failed. */
export interface DeliveryResult {
  /** Request/response destinations: the parsed response (`{"Replies": […]}`). */
  readonly response?: unknown;
  /**
   * The response exists but cannot be read (not JSON): reported once as ReplyInvalid. A batch
   * delivered in several requests may have both: `response` holds the replies that could be read.
   */
  readonly responseError?: string;
  /** Packets that failed while the rest of the batch was accepted. */
  readonly failed?: readonly PacketDeliveryFailure[];
  /** A batch delivered in parts (one Lambda invocation per tenant): each part's response, routed like `response`. */
  readonly responses?: readonly unknown[];
}

/** Where a streaming destination hands each reply as soon as it has it (routed at once, not at the end of the batch). */
export interface ReplySink {
  /** One reply entry (`{Tag, Data, …}`, or null for none). */
  reply(entry: unknown): void;
  /** A streamed value that cannot be a reply (reported as ReplyInvalid). */
  invalid(reason: string): void;
}

export interface Destination {
  readonly name: string;
  readonly type: DestinationTypeName;
  /**
   * The key of a packet, from its payload, computed when the packet is queued (Lambda: the tenant
   * id of TenantIdExpression); the destination receives it as `QueuedPacket.key` (absent when
   * the payload gives none).
   */
  readonly packetKey?: (payload: Uint8Array) => string | undefined;
  /**
   * Delivers a batch. Rejects with a {@link DestinationError} (or any Error) when the batch failed
   * as a whole. A streaming destination hands replies to `replies` as they arrive.
   */
  deliver(batch: readonly QueuedPacket[], replies?: ReplySink): Promise<DeliveryResult>;
  /** Releases what the destination holds (clients are shared and stay open). */
  close?(): Promise<void>;
}

/** A whole-batch delivery failure with a reason fit for the DestinationFailed record. */
export class DestinationError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'DestinationError';
  }
}

/** What a destination may use; AWS clients are created on first use and shared. */
export interface DestinationContext {
  readonly region: string;
  readonly logger: Logger;
  /** Local handlers: directory that relative `Module` paths resolve against. @default process.cwd() */
  readonly baseDirectory?: string;
  /** Local handlers: how long one invocation may take. @default 30000 */
  readonly localHandlerTimeoutMs?: number;
  /** CloudWatch Logs in `region` (a log group is written in its own region). */
  cloudWatchLogsClient(region: string): CloudWatchLogsClient;
  /** S3; requests follow a bucket to its region. */
  s3Client(): S3Client;
  /** DynamoDB in `region` (a table is written in its own region). */
  dynamoDbClient(region: string): DynamoDBClient;
  /**
   * Lambda Invoke (a shared Lambda client underneath): in the gateway's region with its own
   * credentials by default; `target` names another region and/or a destination Role.
   */
  lambdaInvoker(target?: LambdaTarget): LambdaInvoker;
  /**
   * The context of a destination with a `Role`: every client and invoker it gives signs with the
   * role's credentials (assumed with its ExternalId, cached, renewed before expiry). The factory
   * (destination-factory.ts) hands it to every destination whose record has a Role, so a
   * destination module supports `Role` without naming it.
   */
  forRole(role: DestinationRoleRecord): DestinationContext;
  /**
   * Credentials of a destination's Role (assumed with its ExternalId, cached, renewed before
   * expiry); undefined without a Role (in a Role's context: that role's).
   */
  roleCredentials(role: DestinationRoleRecord | undefined): AwsCredentialIdentityProvider | undefined;
  /** The SQS client; with a destination Role (or in a Role's context), one that signs with the role's assumed credentials. */
  sqsClient(role?: DestinationRoleRecord): SQSClient;
  /** Step Functions (StartSyncExecution, StartExecution, DescribeStateMachine). */
  sfnClient(): SFNClient;
  /** SigV4-signed (`execute-api`) requests to API Gateway stages. */
  apiGatewayInvoker(): ApiGatewayInvoker;
  snsClient(): SNSClient;
  kinesisClient(): KinesisClient;
  firehoseClient(): FirehoseClient;
  eventBridgeClient(): EventBridgeClient;
}

/** Where a Lambda client sends and as whom. */
export interface LambdaTarget {
  /** @default - the gateway's region */
  readonly region?: string;
  /** @default - the gateway fleet's own credentials */
  readonly role?: DestinationRoleRecord;
}

/** Creates a destination for one record of a Listener (a region-map `Arn` already resolved for the gateway's region). */
export type DestinationConstructor = (
  record: ResolvedDestinationRecord,
  listener: ListenerRecord,
  context: DestinationContext,
) => Destination | Promise<Destination>;
