/**
 * The one interface every destination implements. Adding an AWS service means one module that
 * implements {@link Destination} and one line in the factory table (destination-factory.ts).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { FirehoseClient } from '@aws-sdk/client-firehose';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { LambdaInvoker } from './lambda-invoker';
import type { QueuedPacket } from './packet';
import type { DestinationRecord, DestinationTypeName, ListenerRecord } from '../../lib/private/records';

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
  /** The response exists but cannot be read (not JSON): reported once as ReplyInvalid. */
  readonly responseError?: string;
  /** Packets that failed while the rest of the batch was accepted. */
  readonly failed?: readonly PacketDeliveryFailure[];
}

export interface Destination {
  readonly name: string;
  readonly type: DestinationTypeName;
  /** Delivers a batch. Rejects with a {@link DestinationError} (or any Error) when the batch failed as a whole. */
  deliver(batch: readonly QueuedPacket[]): Promise<DeliveryResult>;
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
  /** Synchronous Lambda Invoke (the shared Lambda client underneath). */
  lambdaInvoker(): LambdaInvoker;
  sqsClient(): SQSClient;
  snsClient(): SNSClient;
  kinesisClient(): KinesisClient;
  firehoseClient(): FirehoseClient;
  eventBridgeClient(): EventBridgeClient;
}

/** Creates a destination for one record of a Listener. */
export type DestinationConstructor = (
  record: DestinationRecord,
  listener: ListenerRecord,
  context: DestinationContext,
) => Destination | Promise<Destination>;
